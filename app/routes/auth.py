"""OAuth2 password flow: exchange username and password for a JWT access token."""

import logging
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, status
from fastapi.security import OAuth2PasswordRequestForm
from sqlalchemy import select

from app.deps import SessionDep, SettingsDep
from app.models import User
from app.schemas import Token
from app.security import burn_verification, create_access_token, verify_password

router = APIRouter(tags=["auth"])
log = logging.getLogger(__name__)


@router.post("/token", response_model=Token)
def login(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: SessionDep,
    settings: SettingsDep,
) -> Token:
    """Return a bearer token; 401 with the same message for any wrong username or password."""
    user = session.scalar(select(User).where(User.username == form.username))
    if user is None:
        burn_verification(form.password)
        ok, new_hash = False, None
    else:
        ok, new_hash = verify_password(form.password, user.hashed_password)
    if user is None or not ok or not user.is_active:
        log.info("login failed")
        raise HTTPException(
            status_code=status.HTTP_401_UNAUTHORIZED,
            detail="Incorrect username or password",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if new_hash:
        user.hashed_password = new_hash
        session.commit()
    expires = timedelta(minutes=settings.access_token_expire_minutes)
    token = create_access_token(str(user.id), settings.jwt_key, expires)
    log.info("login succeeded", extra={"user_id": user.id})
    return Token(access_token=token, expires_in=int(expires.total_seconds()))
