"""Credit repair (信用修复): when a record may be repaired, and the application's state
machine. Pure.

Conditions (第36号令; DOMAIN §12): the record is negative and in use; its minimum display
period has passed (for 轻微 records: none, once the legal duty is performed); the person
has performed the duties the decision imposed and made a public credit commitment; and is
not on the serious dishonesty list for the same matter until they exit it (Zhejiang).
The department that made the finding decides (谁认定谁修复), then — if configured — the
credit office.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field

from xinyong.actors import Role
from xinyong.workflows.machine import Machine


class RepairMethod(enum.StrEnum):
    PERFORMANCE = "performance"  # 履约（事后主动履约、按时履约）
    VOLUNTEER = "volunteer"  # 志愿服务
    DONATION = "donation"  # 慈善捐助
    TRAINING = "training"  # 信用培训
    OTHER = "other"  # 其他


METHOD_NAMES = {
    RepairMethod.PERFORMANCE: "履约",
    RepairMethod.VOLUNTEER: "志愿服务",
    RepairMethod.DONATION: "慈善捐助",
    RepairMethod.TRAINING: "信用培训",
    RepairMethod.OTHER: "其他",
}


def parse_method(text: str) -> RepairMethod | None:
    for method, name in METHOD_NAMES.items():
        if text in (method.value, name):
            return method
    return None


class RepairState(enum.StrEnum):
    SUBMITTED = "submitted"  # 已提交，待认定部门审核
    DEPT_APPROVED = "dept_approved"  # 认定部门同意，待信用办复核
    APPROVED = "approved"  # 修复完成
    REJECTED = "rejected"  # 不予修复
    WITHDRAWN = "withdrawn"  # 已撤回


class RepairAction(enum.StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    WITHDRAW = "withdraw"


STATE_NAMES = {
    RepairState.SUBMITTED: "待认定部门审核",
    RepairState.DEPT_APPROVED: "待信用办复核",
    RepairState.APPROVED: "已修复",
    RepairState.REJECTED: "不予修复",
    RepairState.WITHDRAWN: "已撤回",
}
ACTION_NAMES = {
    RepairAction.APPROVE: "同意修复",
    RepairAction.REJECT: "不予修复",
    RepairAction.WITHDRAW: "撤回申请",
}
OPEN_STATES = frozenset({RepairState.SUBMITTED.value, RepairState.DEPT_APPROVED.value})
_DEPARTMENT = {Role.REVIEWER.value}  # the deciding department's reviewer
_OFFICE = {Role.ADMIN.value}
_APPLICANT = {Role.PERSON.value, Role.INSTITUTION.value, Role.ADMIN.value}


def repair_machine(office_review: bool) -> Machine:
    """With ``office_review`` the department's approval goes to the credit office; without,
    it is final."""
    S, A = RepairState, RepairAction
    after_department = S.DEPT_APPROVED if office_review else S.APPROVED
    table: dict[tuple[str, str], tuple[str, set[str]]] = {
        (S.SUBMITTED, A.APPROVE): (after_department, _DEPARTMENT),
        (S.SUBMITTED, A.REJECT): (S.REJECTED, _DEPARTMENT),
        (S.SUBMITTED, A.WITHDRAW): (S.WITHDRAWN, _APPLICANT),
    }
    if office_review:
        table[(S.DEPT_APPROVED, A.APPROVE)] = (S.APPROVED, _OFFICE)
        table[(S.DEPT_APPROVED, A.REJECT)] = (S.REJECTED, _OFFICE)
        table[(S.DEPT_APPROVED, A.WITHDRAW)] = (S.WITHDRAWN, _APPLICANT)
    return Machine(
        "信用修复申请",
        {s.value: n for s, n in STATE_NAMES.items()},
        {a.value: n for a, n in ACTION_NAMES.items()},
        table,
        terminal=[S.APPROVED, S.REJECTED, S.WITHDRAWN],
    )


@dataclass(frozen=True, slots=True)
class RepairFacts:
    """What the platform knows about one record when asked whether it may be repaired."""

    nature: str
    state: str
    grade: str | None
    grade_name: str | None
    min_period_ends: dt.date | None  # first day after the minimum display period
    black_list_until: dt.date | None  # planned end of a black-list entry for this matter
    on_black_list: bool
    has_commitment: bool
    open_application: int | None
    last_rejection_on: dt.date | None
    rejections: int


@dataclass(frozen=True, slots=True)
class Missing:
    code: str
    message: str
    until: dt.date | None = None  # the day this condition will be met by itself, if known
    at_application: bool = False  # satisfied by what the application itself provides


@dataclass(frozen=True, slots=True)
class Eligibility:
    eligible: bool  # an application may be made now
    eligible_from: dt.date | None  # the first day one may be made, if time alone decides
    missing: list[Missing] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "eligible": self.eligible,
            "eligible_from": self.eligible_from.isoformat() if self.eligible_from else None,
            "missing": [
                {
                    "code": m.code,
                    "message": m.message,
                    "until": m.until.isoformat() if m.until else None,
                    "at_application": m.at_application,
                }
                for m in self.missing
            ],
        }


def eligibility(
    facts: RepairFacts,
    on: dt.date,
    *,
    reapply_after_days: int,
    max_rejections: int,
) -> Eligibility:
    """Whether the record may be repaired now; if not, from when and what is missing."""
    missing: list[Missing] = []
    dated: list[dt.date] = []
    undated = False
    if facts.nature != "negative":
        return Eligibility(False, None, [Missing("not_negative", "只有失信信息可以申请信用修复")])
    if facts.state != "active":
        names = {
            "disputed": "该记录正在异议处理中，异议办结后再申请",
            "repaired": "该记录已修复",
            "revoked": "该记录已撤销，无需修复",
            "expired": "该记录公示期已满，不再公示和使用，无需修复",
            "corrected": "该记录已更正",
        }
        return Eligibility(
            False, None, [Missing("state", names.get(facts.state, "该记录当前不能修复"))]
        )
    if facts.open_application is not None:
        missing.append(
            Missing("pending_application", f"已有办理中的修复申请（编号 {facts.open_application}）")
        )
        undated = True
    if facts.min_period_ends is not None and on < facts.min_period_ends:
        missing.append(
            Missing(
                "min_period",
                f"{facts.grade_name or ''}失信信息最短公示期未满，"
                f"{facts.min_period_ends:%Y年%m月%d日} 起可申请",
                facts.min_period_ends,
            )
        )
        dated.append(facts.min_period_ends)
    if facts.on_black_list:
        until = facts.black_list_until + dt.timedelta(days=1) if facts.black_list_until else None
        missing.append(
            Missing(
                "black_list",
                "因同一事项仍在严重失信主体名单内，移出名单后方可申请修复",
                until,
            )
        )
        if until:
            dated.append(until)
        else:
            undated = True
    if facts.rejections >= max_rejections:
        missing.append(
            Missing("max_rejections", f"该记录已 {facts.rejections} 次不予修复，请到信用办窗口申请")
        )
        undated = True
    elif facts.last_rejection_on is not None and reapply_after_days:
        again = facts.last_rejection_on + dt.timedelta(days=reapply_after_days)
        if on < again:
            missing.append(
                Missing(
                    "reapply_wait", f"上次申请不予修复，{again:%Y年%m月%d日} 起可再次申请", again
                )
            )
            dated.append(again)
    if not facts.has_commitment:
        missing.append(
            Missing("commitment", "须作出信用修复承诺（可在申请时一并作出）", at_application=True)
        )
    missing.append(
        Missing(
            "duties",
            "须已履行行政处罚等决定规定的义务，申请时提交履行证明（如缴款凭证）",
            at_application=True,
        )
    )
    blocking = [m for m in missing if not m.at_application]
    if not blocking:
        return Eligibility(True, on, missing)
    eligible_from = None if undated else max(dated)
    return Eligibility(False, eligible_from, missing)
