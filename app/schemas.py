"""Request and response bodies (pydantic). Inputs are bounded; unknown fields are rejected."""

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints

Username = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9_.-]{3,50}$")
]
# Upper bound keeps hashing cost bounded; argon2 itself accepts any length.
Password = Annotated[str, Field(min_length=8, max_length=128)]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Description = Annotated[str, Field(max_length=5000)]


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class UserCreate(Input):
    username: Username
    email: EmailStr
    password: Password
    full_name: Annotated[str, Field(max_length=200)] | None = None


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    email: str
    full_name: str | None
    is_active: bool
    created_at: datetime


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_in: int


class ItemCreate(Input):
    title: Title
    description: Description | None = None


class ItemUpdate(Input):
    title: Title | None = None
    description: Description | None = None


class ItemOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    description: str | None
    owner_id: int
    created_at: datetime
    updated_at: datetime


class ItemPage(BaseModel):
    items: list[ItemOut]
    total: int
    skip: int
    limit: int


class Health(BaseModel):
    status: str
    version: str


class Readiness(BaseModel):
    status: str
    version: str
    database: str
