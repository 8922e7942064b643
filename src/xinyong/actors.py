"""Who is acting: passed explicitly to every service that reads or writes."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Role(enum.StrEnum):
    """The platform's roles (DOMAIN §2)."""

    ADMIN = "admin"  # 信用办管理员
    CLERK = "clerk"  # 部门数据报送员
    REVIEWER = "reviewer"  # 部门审核员
    DEPARTMENT = "department"  # 部门业务系统 (API key)
    PERSON = "person"  # 信息主体本人
    INSTITUTION = "institution"  # 经授权查询机构
    AUDITOR = "auditor"  # 审计员
    SYSTEM = "system"  # the platform's own jobs
    PLATFORM = "platform"  # a lower credit platform pushing changes (共享交换)


ROLE_LABELS: dict[str, str] = {
    Role.ADMIN: "信用办管理员",
    Role.CLERK: "部门数据报送员",
    Role.REVIEWER: "部门审核员",
    Role.DEPARTMENT: "部门业务系统",
    Role.PERSON: "信息主体",
    Role.INSTITUTION: "授权查询机构",
    Role.AUDITOR: "审计员",
    Role.SYSTEM: "系统",
    Role.PLATFORM: "下级信用平台",
}

# Roles that act for a department and are scoped to it.
DEPARTMENT_ROLES = frozenset({Role.CLERK, Role.REVIEWER, Role.DEPARTMENT})


@dataclass(frozen=True, slots=True)
class Actor:
    name: str
    role: str  # a Role value
    department_id: int | None = None
    department_code: str | None = None
    channel: str = "api"
    user_id: int | None = None  # the account, when a person is logged in
    subject_id: int | None = None  # for Role.PERSON: the person's own archive
    organisation: str | None = None  # for Role.INSTITUTION: the institution's name
    institution_id: int | None = None  # for Role.INSTITUTION

    @property
    def is_admin(self) -> bool:
        return self.role in (Role.ADMIN, Role.SYSTEM)

    @property
    def is_department(self) -> bool:
        """Acts for a department (clerk, reviewer or the department's system)."""
        return self.role in DEPARTMENT_ROLES

    @property
    def organisation_name(self) -> str | None:
        return self.organisation or self.department_code


SYSTEM = Actor(name="system", role=Role.SYSTEM, channel="cli")


def actor_label(name: str | None) -> str:
    """An actor's name (``Actor.name``) as pages show it to people: an account by its
    username, the server's console as 信用办（命令行）, an API key by its prefix, the
    platform's own jobs as 系统 — never the internal ``kind:`` code."""
    if not name:
        return "—"
    kind, _, rest = name.partition(":")
    if kind == "user" and rest:
        return rest
    if kind == "cli":
        return "信用办（命令行）"
    if kind == "apikey" and rest:
        return f"接口密钥 {rest}"
    if kind == "system" or name == "system":
        return "系统"
    return name


def cli_operator(name: str = "cli") -> Actor:
    """The operator at the server's console: acts with the credit office's authority."""
    return Actor(name=f"cli:{name}", role=Role.ADMIN, channel="cli")
