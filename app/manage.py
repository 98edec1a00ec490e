"""Operator commands run beside the service, e.g. on a host through `deployer exec`:

    python -m app.manage create-user USERNAME EMAIL     (the password is read from stdin)
    python -m app.manage stats                          (counts, e.g. from a scheduled job)

They use the same settings, models and password hashing as the service.
"""

import argparse
import sys

from sqlalchemy import func, or_, select

from app.config import load_settings
from app.db import make_engine, make_sessionmaker
from app.models import Item, User
from app.schemas import UserCreate
from app.security import hash_password


def create_user(username: str, email: str, password: str) -> int:
    """Add an account (validated like a registration); returns the new user's id."""
    body = UserCreate(username=username, email=email, password=password)
    engine = make_engine(load_settings().database_url)
    with make_sessionmaker(engine)() as session:
        clash = select(User.id).where(
            or_(User.username == body.username, User.email == body.email.lower())
        )
        if session.scalar(clash) is not None:
            raise SystemExit(f"user {body.username!r} or that email already exists")
        user = User(
            username=body.username,
            email=body.email.lower(),
            hashed_password=hash_password(body.password),
        )
        session.add(user)
        session.commit()
        return user.id


def stats() -> str:
    """One line of counts: users and items."""
    engine = make_engine(load_settings().database_url)
    with make_sessionmaker(engine)() as session:
        users = session.scalar(select(func.count()).select_from(User))
        items = session.scalar(select(func.count()).select_from(Item))
    return f"users={users} items={items}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m app.manage")
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create-user", help="add an account; password on stdin")
    create.add_argument("username")
    create.add_argument("email")
    commands.add_parser("stats", help="print how many users and items there are")
    args = parser.parse_args(argv)
    if args.command == "stats":
        print(stats())
        return
    password = sys.stdin.readline().rstrip("\n")
    user_id = create_user(args.username, args.email, password)
    print(f"created user {args.username} (id {user_id})")


if __name__ == "__main__":
    main()
