"""User registration and the current user's profile."""

from fastapi import APIRouter, HTTPException, status
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from app.deps import CurrentUser, SessionDep
from app.models import User
from app.schemas import UserCreate, UserOut
from app.security import hash_password

router = APIRouter(prefix="/users", tags=["users"])

TAKEN = HTTPException(status.HTTP_409_CONFLICT, detail="Username or email already registered")


@router.post("", response_model=UserOut, status_code=status.HTTP_201_CREATED)
def register(body: UserCreate, session: SessionDep) -> User:
    """Create an account. 409 when the username or email is taken."""
    email = body.email.lower()
    clash = select(User.id).where(or_(User.username == body.username, User.email == email))
    if session.scalar(clash) is not None:
        raise TAKEN
    user = User(
        username=body.username,
        email=email,
        full_name=body.full_name,
        hashed_password=hash_password(body.password),
    )
    session.add(user)
    try:
        session.commit()
    except IntegrityError:  # a concurrent registration won the race
        session.rollback()
        raise TAKEN from None
    session.refresh(user)
    return user


@router.get("/me", response_model=UserOut)
def read_me(user: CurrentUser) -> User:
    return user
