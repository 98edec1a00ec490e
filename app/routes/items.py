"""Items CRUD. Every item belongs to its creator; other users get 403."""

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Response, status
from sqlalchemy import func, select

from app.deps import CurrentUser, SessionDep
from app.models import Item, User
from app.schemas import ItemCreate, ItemOut, ItemPage, ItemUpdate

router = APIRouter(prefix="/items", tags=["items"])

MAX_PAGE = 100
ItemId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def owned_item(session: SessionDep, item_id: int, user: User) -> Item:
    """The item, if it exists (404) and belongs to the user (403)."""
    item = session.get(Item, item_id)
    if item is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="Item not found")
    if item.owner_id != user.id:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="Not the owner of this item")
    return item


@router.post("", response_model=ItemOut, status_code=status.HTTP_201_CREATED)
def create_item(body: ItemCreate, session: SessionDep, user: CurrentUser) -> Item:
    item = Item(title=body.title, description=body.description, owner_id=user.id)
    session.add(item)
    session.commit()
    session.refresh(item)
    return item


@router.get("", response_model=ItemPage)
def list_items(
    session: SessionDep,
    user: CurrentUser,
    skip: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 20,
) -> ItemPage:
    """The current user's items, oldest first, `limit` (1..100) at a time after `skip`."""
    mine = Item.owner_id == user.id
    total = session.scalar(select(func.count()).select_from(Item).where(mine)) or 0
    rows = session.scalars(select(Item).where(mine).order_by(Item.id).offset(skip).limit(limit))
    items = [ItemOut.model_validate(row) for row in rows]
    return ItemPage(items=items, total=total, skip=skip, limit=limit)


@router.get("/{item_id}", response_model=ItemOut)
def read_item(item_id: ItemId, session: SessionDep, user: CurrentUser) -> Item:
    return owned_item(session, item_id, user)


@router.patch("/{item_id}", response_model=ItemOut)
def update_item(item_id: ItemId, body: ItemUpdate, session: SessionDep, user: CurrentUser) -> Item:
    """Change the fields present in the body; `title` cannot be set to null."""
    item = owned_item(session, item_id, user)
    changes = body.model_dump(exclude_unset=True)
    if "title" in changes and changes["title"] is None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail="title cannot be null")
    for field, value in changes.items():
        setattr(item, field, value)
    session.commit()
    session.refresh(item)
    return item


@router.delete("/{item_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_item(item_id: ItemId, session: SessionDep, user: CurrentUser) -> Response:
    session.delete(owned_item(session, item_id, user))
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
