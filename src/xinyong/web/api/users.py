"""Account management by the credit office."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlalchemy import select

from xinyong.accounts import services as accounts
from xinyong.accounts.models import Institution, User
from xinyong.actors import ROLE_LABELS
from xinyong.catalog.models import Department
from xinyong.web.deps import AccountsAdminDep, SessionDep

router = APIRouter(tags=["账号 accounts"])


class UserRead(BaseModel):
    id: int
    username: str
    display_name: str
    role: str
    role_name: str
    department: str | None
    institution: str | None
    is_active: bool
    locked: bool
    last_login_at: str | None


def user_as_dict(session: SessionDep, user: User) -> dict[str, Any]:
    dept = session.get(Department, user.department_id) if user.department_id else None
    inst = session.get(Institution, user.institution_id) if user.institution_id else None
    return {
        "id": user.id,
        "username": user.username,
        "display_name": user.display_name,
        "role": user.role,
        "role_name": ROLE_LABELS.get(user.role, user.role),
        "department": dept.code if dept else None,
        "institution": inst.name if inst else None,
        "is_active": user.is_active,
        "locked": user.locked_until is not None,
        "last_login_at": user.last_login_at.isoformat() if user.last_login_at else None,
    }


@router.get("/users", response_model=list[UserRead])
def list_users(session: SessionDep, actor: AccountsAdminDep) -> Any:
    return [user_as_dict(session, u) for u in session.scalars(select(User).order_by(User.id))]


class UserCreate(BaseModel):
    username: str = Field(min_length=3, max_length=64)
    password: str = Field(min_length=1, max_length=256)
    role: str = Field(description="admin, clerk, reviewer, institution, auditor")
    display_name: str | None = Field(default=None, max_length=100)
    department: str | None = Field(default=None, description="部门代码（部门账号必填）")
    institution: str | None = Field(default=None, description="机构名称（机构账号必填）")


@router.post("/users", response_model=UserRead, status_code=201)
def create_user(body: UserCreate, session: SessionDep, actor: AccountsAdminDep) -> Any:
    """Create a staff, institution or auditor account (persons sign up themselves)."""
    user = accounts.create_user(
        session,
        username=body.username,
        password=body.password,
        role=body.role,
        display_name=body.display_name,
        department_code=body.department,
        institution_name=body.institution,
        by=actor,
    )
    return user_as_dict(session, user)


@router.post("/users/{username}/disable", response_model=UserRead)
def disable_user(username: str, session: SessionDep, actor: AccountsAdminDep) -> Any:
    """停用: the account can no longer log in and its sessions end at once."""
    return user_as_dict(session, accounts.set_active(session, username, False, by=actor))


@router.post("/users/{username}/enable", response_model=UserRead)
def enable_user(username: str, session: SessionDep, actor: AccountsAdminDep) -> Any:
    return user_as_dict(session, accounts.set_active(session, username, True, by=actor))
