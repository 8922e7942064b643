"""Who may do what: one table for the whole platform (DOMAIN §2).

Department scoping (a department's users see only what their department submitted or must
answer) is applied by the services on top of these permissions.
"""

from __future__ import annotations

import enum

from xinyong.actors import Actor, Role
from xinyong.errors import Forbidden


class Permission(enum.StrEnum):
    SUBMIT_RECORDS = "submit_records"  # 报送
    VIEW_SUBMISSIONS = "view_submissions"
    LOOKUP_SUBJECT = "lookup_subject"  # 政务共享查询（按开放等级）
    READ_ARCHIVE = "read_archive"  # 信用办档案管理
    RUN_CHECK = "run_check"  # 联合奖惩核查
    CHECK_FEEDBACK = "check_feedback"
    MANAGE_RECORDS = "manage_records"  # 变更等级、名单决定
    REVIEW = "review"  # 审核异议、修复
    MANAGE_CATALOG = "manage_catalog"
    MANAGE_ACCOUNTS = "manage_accounts"
    READ_AUDIT = "read_audit"
    OWN_ARCHIVE = "own_archive"  # 本人档案、查询记录、授权
    AUTHORIZED_QUERY = "authorized_query"  # 经授权查询
    EXCHANGE = "exchange"  # 共享交换：接收下级平台推送、向下级平台下发名单
    ISSUE_REPORT = "issue_report"  # 出具信用报告 (which version: reports.services.report_basis)
    # 档案管理: the office's whole archive, every state (expired, repaired, revoked…) and
    # every version, each read logged with its stated purpose (records.services.read_archive).
    READ_FULL_ARCHIVE = "read_full_archive"


ROLE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    Role.ADMIN: frozenset(
        {
            Permission.SUBMIT_RECORDS,
            Permission.VIEW_SUBMISSIONS,
            Permission.LOOKUP_SUBJECT,
            Permission.READ_ARCHIVE,
            Permission.RUN_CHECK,
            Permission.CHECK_FEEDBACK,
            Permission.MANAGE_RECORDS,
            Permission.REVIEW,
            Permission.MANAGE_CATALOG,
            Permission.MANAGE_ACCOUNTS,
            Permission.READ_AUDIT,
            Permission.ISSUE_REPORT,
            Permission.READ_FULL_ARCHIVE,
        }
    ),
    Role.SYSTEM: frozenset(Permission),
    Role.CLERK: frozenset(
        {
            Permission.SUBMIT_RECORDS,
            Permission.VIEW_SUBMISSIONS,
            Permission.LOOKUP_SUBJECT,
            Permission.RUN_CHECK,
            Permission.CHECK_FEEDBACK,
            Permission.ISSUE_REPORT,
        }
    ),
    Role.REVIEWER: frozenset(
        {
            Permission.VIEW_SUBMISSIONS,
            Permission.LOOKUP_SUBJECT,
            Permission.RUN_CHECK,
            Permission.CHECK_FEEDBACK,
            Permission.REVIEW,
            Permission.ISSUE_REPORT,
        }
    ),
    Role.DEPARTMENT: frozenset(
        {
            Permission.SUBMIT_RECORDS,
            Permission.VIEW_SUBMISSIONS,
            Permission.LOOKUP_SUBJECT,
            Permission.RUN_CHECK,
            Permission.CHECK_FEEDBACK,
            Permission.ISSUE_REPORT,
        }
    ),
    Role.PERSON: frozenset({Permission.OWN_ARCHIVE, Permission.ISSUE_REPORT}),
    Role.INSTITUTION: frozenset({Permission.AUTHORIZED_QUERY, Permission.ISSUE_REPORT}),
    Role.AUDITOR: frozenset({Permission.READ_AUDIT}),
    Role.PLATFORM: frozenset({Permission.EXCHANGE}),
}

PERMISSION_DENIED: dict[Permission, str] = {
    Permission.SUBMIT_RECORDS: "无权报送信用信息",
    Permission.VIEW_SUBMISSIONS: "无权查看报送批次",
    Permission.LOOKUP_SUBJECT: "无权查询信用主体",
    Permission.READ_ARCHIVE: "仅信用办可以查看完整档案",
    Permission.RUN_CHECK: "无权进行联合奖惩核查",
    Permission.CHECK_FEEDBACK: "无权反馈核查结果",
    Permission.MANAGE_RECORDS: "仅信用办可以变更记录",
    Permission.REVIEW: "无权审核",
    Permission.MANAGE_CATALOG: "仅信用办可以管理目录",
    Permission.MANAGE_ACCOUNTS: "仅信用办可以管理账号",
    Permission.READ_AUDIT: "无权查看审计记录",
    Permission.OWN_ARCHIVE: "仅信息主体本人可以访问",
    Permission.AUTHORIZED_QUERY: "仅授权查询机构可以访问",
    Permission.EXCHANGE: "仅经登记的下级信用平台可以推送或拉取名单",
    Permission.ISSUE_REPORT: "无权出具或下载信用报告",
    Permission.READ_FULL_ARCHIVE: "仅信用办档案管理可以查看含已过期、已修复、已撤销记录的完整档案",
}


def can(actor: Actor, permission: Permission) -> bool:
    return permission in ROLE_PERMISSIONS.get(actor.role, frozenset())


def require(actor: Actor, permission: Permission) -> Actor:
    if not can(actor, permission):
        raise Forbidden(PERMISSION_DENIED[permission], code=f"forbidden:{permission.value}")
    return actor
