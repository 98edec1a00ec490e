"""Password hashing (argon2 via pwdlib) and JWT access tokens (pyjwt, HS256)."""

import os
import threading
import uuid
from datetime import UTC, datetime, timedelta
from functools import cache

import jwt
from pwdlib import PasswordHash

ALGORITHM = "HS256"
_hasher = PasswordHash.recommended()
# argon2 uses 64 MiB per hash: bound how many run at once so a login burst cannot exhaust RAM.
_hash_slots = threading.BoundedSemaphore(max(1, os.cpu_count() or 1))


class InvalidToken(Exception):
    """The token is missing a claim, expired, or not signed with our key."""


def hash_password(password: str) -> str:
    with _hash_slots:
        return _hasher.hash(password)


def verify_password(password: str, hashed: str) -> tuple[bool, str | None]:
    """Check a password; also return a new hash when the stored one uses outdated parameters."""
    with _hash_slots:
        return _hasher.verify_and_update(password, hashed)


@cache
def _dummy_hash() -> str:
    return hash_password(uuid.uuid4().hex)


def burn_verification(password: str) -> None:
    """Spend the time of a real check, so unknown usernames cannot be told apart by timing."""
    verify_password(password, _dummy_hash())


def create_access_token(subject: str, key: str, expires: timedelta) -> str:
    now = datetime.now(UTC)
    claims = {"sub": subject, "iat": now, "exp": now + expires, "jti": uuid.uuid4().hex}
    return jwt.encode(claims, key, algorithm=ALGORITHM)


def decode_access_token(token: str, key: str) -> str:
    """Return the token's subject; raise InvalidToken for any defect."""
    try:
        claims = jwt.decode(
            token, key, algorithms=[ALGORITHM], options={"require": ["exp", "iat", "sub"]}
        )
    except jwt.PyJWTError as error:
        raise InvalidToken(str(error)) from None
    subject = claims["sub"]
    if not isinstance(subject, str) or not subject:
        raise InvalidToken("bad subject")
    return subject
