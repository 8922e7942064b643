"""List membership services: entries from records, the black-list procedure, exits.

Entries that follow directly from a record (national lists such as 失信被执行人, red-list
honours, watch-list behaviours) are created set-based when records land. Local
black-listing follows 国办发〔2020〕49号: notice (告知) with reasons, basis and rights, a
defence period (陈述申辩) in working days, then a decision or a withdrawal.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable

from sqlalchemy import and_, column, exists, func, insert, or_, select, table, update
from sqlalchemy.orm import Session, aliased

from xinyong.actors import Actor, Role
from xinyong.audit.services import record_event
from xinyong.catalog.catalog import Catalog
from xinyong.catalog.services import current_catalog
from xinyong.config import get_settings
from xinyong.db import affected, fill_id_table, utcnow
from xinyong.errors import Forbidden, InvalidInput, InvalidTransition, NotFound
from xinyong.lists.models import LIST_NAMES, EndReason, EntryStatus, ListEntry, ListKind
from xinyong.notices.services import queue_notice
from xinyong.records.display_sql import used_clause
from xinyong.records.models import Record, RecordState
from xinyong.subjects.models import Subject, SubjectLink
from xinyong.workdays import WorkdayCalendar
from xinyong.workdays.services import calendar_for
from xinyong.workflows.evidence import Upload, store_evidence

DEFAULT_TEXTS = {
    ListKind.BLACK: {
        "measures": "依法依规实施联合惩戒措施（见措施清单）",
        "exit": "公示期满或经信用修复、决定撤销后移出；符合条件的可申请提前移出",
        "remedies": "对列入决定不服的，可依法申请行政复议或提起行政诉讼；可提出异议或申请信用修复",
    },
    ListKind.RED: {
        "measures": "依法依规实施守信联合激励措施（见措施清单）",
        "exit": "有效期满或出现失信行为后移出",
        "remedies": "对认定结果有异议的，可向认定部门提出",
    },
    ListKind.WATCH: {
        "measures": "列为重点监管对象，加大日常监督检查频次",
        "exit": "公示期满或经信用修复、决定撤销后移出",
        "remedies": "可提出异议或申请信用修复",
    },
}


def list_items(catalog: Catalog) -> dict[str, list[str]]:
    """Item codes whose records put their subject on each list."""
    by_kind: dict[str, list[str]] = {}
    for item in catalog.items.values():
        if item.list_kind:
            by_kind.setdefault(item.list_kind, []).append(item.code)
    for behaviour in catalog.behaviours.values():
        if behaviour.watch_list:
            by_kind.setdefault(ListKind.WATCH.value, []).extend(behaviour.items)
    return by_kind


LIST_SCOPE = "list_scope"
SERIOUS = "serious"  # the grade code of 严重失信


def sync_entries_from_records(
    session: Session,
    on: dt.date,
    *,
    batch_id: int | None = None,
    record_ids: Iterable[int] = (),
    subject_ids: Collection[int] | None = None,
) -> int:
    """Create the list entries that records in use imply; set-based and idempotent.

    ``batch_id``, ``record_ids`` and ``subject_ids`` narrow the records looked at (a
    submission, a few records, the subjects a daily run touched); without them every
    record in use is looked at.
    """
    catalog = current_catalog(session)
    created = 0
    ids = list(record_ids)
    scope = None
    kinds = list_items(catalog)
    if subject_ids is not None:
        if not fill_id_table(session, LIST_SCOPE, subject_ids):
            kinds = {}
        scope = select(table(LIST_SCOPE, column("subject_id")).c.subject_id)
    for kind, codes in kinds.items():
        texts = DEFAULT_TEXTS[ListKind(kind)]
        stmt = (
            select(
                Record.subject_id,
                Record.id,
                Record.item_code,
                Record.department_id,
                Record.decision_date,
                Record.display_until,
                Record.behaviour,
            )
            .where(Record.item_code.in_(sorted(set(codes))), used_clause(on))
            .where(
                ~exists().where(
                    and_(
                        ListEntry.list_kind == kind,
                        ListEntry.subject_id == Record.subject_id,
                        ListEntry.record_id == Record.id,
                    )
                )
            )
        )
        if batch_id is not None:
            stmt = stmt.where(Record.batch_id == batch_id)
        if ids:
            stmt = stmt.where(Record.id.in_(ids))
        if scope is not None:
            stmt = stmt.where(Record.subject_id.in_(scope))
        rows = session.execute(stmt).all()
        if not rows:
            continue
        now = utcnow()
        session.execute(
            insert(ListEntry),
            [
                {
                    "subject_id": subject_id,
                    "list_kind": kind,
                    "status": EntryStatus.LISTED.value,
                    "source": "record",
                    "record_id": record_id,
                    "item_code": item_code,
                    "department_id": department_id,
                    "reasons": catalog.items[item_code].name
                    + (f"：{behaviour}" if behaviour else ""),
                    "basis": catalog.items[item_code].description
                    or f"{catalog.items[item_code].name}（{LIST_NAMES[ListKind(kind)]}认定）",
                    "measures": texts["measures"],
                    "exit_conditions": texts["exit"],
                    "remedies": texts["remedies"],
                    "decided_on": decision_date,
                    "start_date": decision_date,
                    "end_date": display_until,
                    "created_at": now,
                    "updated_at": now,
                }
                for subject_id, record_id, item_code, department_id, decision_date, display_until, behaviour in rows
            ],
        )
        created += len(rows)
    created += _reach_responsible_persons(session, catalog)
    return created


def _reach_responsible_persons(
    session: Session,
    catalog: Catalog,
    on: dt.date | None = None,
    calendar: WorkdayCalendar | None = None,
) -> int:
    """落实到人: an organisation's black-list entry reaches the legal representatives and
    responsible persons in office at the time of the act (the record's decision date; the
    link's term of office, open where not stated), when the item says so. Each is told
    (告知) on their own and has their own defence period (陈述申辩) before a decision:
    the entry starts as notified, never as listed."""
    items = [i.code for i in catalog.items.values() if i.reaches_responsible_persons]
    if not items:
        return 0
    act = func.coalesce(Record.decision_date, ListEntry.start_date)
    child = aliased(ListEntry)
    unreached = [
        ListEntry.list_kind == ListKind.BLACK.value,
        ListEntry.status == EntryStatus.LISTED.value,
        ListEntry.source != "responsible_person",
        ListEntry.item_code.in_(items),
        ~exists().where(
            and_(child.parent_entry_id == ListEntry.id, child.subject_id == SubjectLink.person_id)
        ),
    ]
    # A cheap first look (the usual answer on an import is: nobody to reach).
    parents = list(
        session.scalars(
            select(ListEntry.id)
            .join(SubjectLink, SubjectLink.organisation_id == ListEntry.subject_id)
            .where(*unreached)
            .distinct()
        )
    )
    if not parents:
        return 0
    candidates = session.execute(
        select(ListEntry, SubjectLink.person_id, SubjectLink.role, Subject.name)
        .join(SubjectLink, SubjectLink.organisation_id == ListEntry.subject_id)
        .join(Subject, Subject.id == ListEntry.subject_id)
        .outerjoin(Record, Record.id == ListEntry.record_id)
        .where(
            ListEntry.id.in_(parents),
            *unreached,
            or_(SubjectLink.valid_from.is_(None), SubjectLink.valid_from <= act),
            or_(SubjectLink.valid_until.is_(None), SubjectLink.valid_until >= act),
        )
        .order_by(ListEntry.id, SubjectLink.person_id)
    ).all()
    on = on or dt.date.today()
    until = (calendar or calendar_for(session)).add_workdays(on, get_settings().defence_workdays)
    made: set[tuple[int, int]] = set()
    for parent, person_id, role, organisation in candidates:
        if (parent.id, person_id) in made:  # linked in two roles: one entry
            continue
        made.add((parent.id, person_id))
        as_role = ROLE_NAMES.get(role, "相关责任人")
        reached = ListEntry(
            subject_id=person_id,
            list_kind=parent.list_kind,
            status=EntryStatus.NOTIFIED.value,
            source="responsible_person",
            record_id=parent.record_id,
            parent_entry_id=parent.id,
            item_code=parent.item_code,
            department_id=parent.department_id,
            reasons=f"所在组织（{organisation}）被列入：{parent.reasons}；行为发生时任{as_role}",
            basis=parent.basis,
            measures=parent.measures,
            exit_conditions=parent.exit_conditions,
            remedies=parent.remedies,
            notified_on=on,
            defence_until=until,
            end_date=parent.end_date,
        )
        session.add(reached)
        session.flush()
        _notice_of_intent(session, reached)
    return len(made)


ROLE_NAMES = {"legal_representative": "法定代表人", "responsible_person": "相关责任人"}


def _notice_of_intent(session: Session, entry: ListEntry) -> None:
    """告知书: reasons, basis, rights and the deadline, to the person's notice inbox."""
    assert entry.defence_until is not None
    queue_notice(
        session,
        entry.subject_id,
        kind="blacklist:notice",
        title="拟列入严重失信主体名单告知书",
        body=(
            f"拟将您列入严重失信主体名单。理由：{entry.reasons}。依据：{entry.basis}。"
            f"您有权在 {entry.defence_until:%Y年%m月%d日} 前进行陈述和申辩，"
            "可在个人中心“名单”中提交陈述申辩意见和证明材料；逾期未提出的，视为放弃。"
            f"救济途径：{entry.remedies or ''}"
        ),
        dedupe_key=f"blacklist:notice:{entry.id}",
        list_entry_id=entry.id,
        record_id=entry.record_id,
    )


def entries_of(session: Session, subject_id: int) -> list[ListEntry]:
    return list(
        session.scalars(
            select(ListEntry).where(ListEntry.subject_id == subject_id).order_by(ListEntry.id)
        )
    )


def current_lists(session: Session, subject_id: int) -> set[str]:
    return set(
        session.scalars(
            select(ListEntry.list_kind).where(
                ListEntry.subject_id == subject_id, ListEntry.status == EntryStatus.LISTED.value
            )
        )
    )


def end_entries_for_record(session: Session, record_id: int, reason: EndReason, on: dt.date) -> int:
    """Repair or revocation of a record ends every membership it caused."""
    result = session.execute(
        update(ListEntry)
        .where(
            ListEntry.record_id == record_id,
            ListEntry.status.in_([EntryStatus.LISTED.value, EntryStatus.NOTIFIED.value]),
        )
        .values(
            status=EntryStatus.ENDED.value,
            ended_on=on,
            end_reason=reason.value,
            updated_at=utcnow(),
        )
    )
    return affected(result)


# -- the black-list procedure (国办发〔2020〕49号) ---------------------------------------------


def notify_blacklisting(
    session: Session,
    actor: Actor,
    record_id: int,
    *,
    reasons: str,
    basis: str,
    on: dt.date | None = None,
    calendar: WorkdayCalendar | None = None,
) -> ListEntry:
    """告知: tell the subject the reasons, basis and rights; the defence period starts."""
    on = on or dt.date.today()
    record = session.get(Record, record_id)
    if record is None:
        raise NotFound("记录不存在", code="record_not_found")
    if not actor.is_admin and actor.department_id != record.department_id:
        raise Forbidden("只能对本部门认定的记录启动列入程序", code="not_own_record")
    if record.state != RecordState.ACTIVE.value or record.nature != "negative":
        raise InvalidTransition("只有有效的失信记录可以启动列入程序", code="record_not_usable")
    item = current_catalog(session).items.get(record.item_code)
    national = item is not None and item.list_kind == ListKind.BLACK.value
    if record.grade != SERIOUS and not national:
        raise InvalidTransition(
            "只有认定为严重失信的记录（或国家名单信息）可以启动严重失信主体名单列入程序",
            code="record_not_serious",
        )
    existing = session.scalar(
        select(ListEntry).where(
            ListEntry.list_kind == ListKind.BLACK.value,
            ListEntry.record_id == record_id,
            ListEntry.subject_id == record.subject_id,
        )
    )
    if existing is not None:
        raise InvalidTransition("该记录已有严重失信名单程序", code="already_in_procedure")
    texts = DEFAULT_TEXTS[ListKind.BLACK]
    entry = ListEntry(
        subject_id=record.subject_id,
        list_kind=ListKind.BLACK.value,
        status=EntryStatus.NOTIFIED.value,
        source="procedure",
        record_id=record.id,
        item_code=record.item_code,
        department_id=record.department_id,
        reasons=reasons,
        basis=basis,
        measures=texts["measures"],
        exit_conditions=texts["exit"],
        remedies=texts["remedies"],
        notified_on=on,
        defence_until=(calendar or calendar_for(session)).add_workdays(
            on, get_settings().defence_workdays
        ),
        decided_by=actor.name,
    )
    session.add(entry)
    session.flush()
    record_event(session, actor, "lists:blacklist:notified", target_type="list_entry", target_id=entry.id, basis=basis, details={"record_id": record.id, "subject_id": record.subject_id})  # fmt: skip
    _notice_of_intent(session, entry)
    return entry


DEFENCE_EVIDENCE = "list_entry"  # evidence files' owner kind


def submit_defence(
    session: Session,
    actor: Actor,
    entry_id: int,
    statement: str,
    *,
    on: dt.date | None = None,
    evidence: list[Upload] | None = None,
) -> ListEntry:
    """陈述申辩 by the notified person within the defence period, with evidence files.

    Only the person the entry is about may answer (the credit office may record a defence
    handed in on paper). One statement; it cannot be replaced once submitted."""
    on = on or dt.date.today()
    entry = _entry(session, entry_id)
    own = actor.role == Role.PERSON and actor.subject_id == entry.subject_id
    if not (own or actor.is_admin):
        raise NotFound("名单条目不存在", code="list_entry_not_found")
    if entry.status != EntryStatus.NOTIFIED.value:
        raise InvalidTransition("当前不在陈述申辩阶段", code="not_in_defence")
    assert entry.defence_until is not None
    if on > entry.defence_until:
        raise InvalidTransition(
            f"陈述申辩期限（{entry.defence_until:%Y年%m月%d日}）已过", code="defence_period_over"
        )
    if entry.defence_statement is not None:
        raise InvalidTransition("已提交陈述申辩意见", code="defence_already_submitted")
    text_ = (statement or "").strip()
    if not text_:
        raise InvalidInput("须填写陈述申辩意见", code="field_required")
    if len(text_) > 5000:
        raise InvalidInput("陈述申辩意见不超过 5000 字", code="field_too_long")
    if evidence:
        store_evidence(session, actor, DEFENCE_EVIDENCE, entry.id, evidence)
    entry.defence_statement = text_
    entry.defence_at = utcnow()
    session.flush()
    record_event(session, actor, "lists:blacklist:defence", target_type="list_entry", target_id=entry.id, details={"subject_id": entry.subject_id, "files": len(evidence or [])})  # fmt: skip
    return entry


def decide_blacklisting(
    session: Session,
    actor: Actor,
    entry_id: int,
    *,
    list_subject: bool,
    on: dt.date | None = None,
    reasons: str | None = None,
    defence_review: str | None = None,
) -> ListEntry:
    """列入 or 不予列入. Waits for the defence period unless the subject has answered.

    The decision's reasons are kept beside the notice's (``decision_reasons``); when the
    person answered, the decision states how the defence was weighed (``defence_review``)."""
    on = on or dt.date.today()
    entry = _entry(session, entry_id)
    if not actor.is_admin and actor.department_id != entry.department_id:
        raise Forbidden("只能决定本部门的列入程序", code="not_own_record")
    if entry.status != EntryStatus.NOTIFIED.value:
        raise InvalidTransition("该程序已经作出决定", code="already_decided")
    assert entry.defence_until is not None
    if list_subject and on <= entry.defence_until and entry.defence_statement is None:
        raise InvalidTransition(
            f"陈述申辩期（至 {entry.defence_until:%Y-%m-%d}）未满，暂不能作出列入决定",
            code="defence_period_running",
        )
    review = (defence_review or "").strip()
    if entry.defence_statement is not None and not review:
        raise InvalidInput(
            "当事人已提出陈述申辩，决定须写明对陈述申辩意见的审查和采纳情况",
            code="defence_review_required",
        )
    entry.decided_on = on
    entry.decided_by = actor.name
    entry.decision_reasons = (reasons or "").strip()[:5000] or None
    entry.defence_review = review[:5000] or None
    considered = (
        f"对您的陈述申辩意见，经审查：{review}。" if entry.defence_statement is not None else
        "您在陈述申辩期内未提出陈述申辩意见。"
    )  # fmt: skip
    if not list_subject:
        entry.status = EntryStatus.WITHDRAWN.value
        title, body = (
            "不予列入严重失信主体名单决定",
            f"经审查，决定不将您列入严重失信主体名单。{entry.decision_reasons or ''}{considered}",
        )
    else:
        record = session.get(Record, entry.record_id)
        assert record is not None
        entry.status = EntryStatus.LISTED.value
        entry.start_date = on
        entry.end_date = record.display_until
        title = "列入严重失信主体名单决定书"
        body = (
            f"决定将您列入严重失信主体名单。理由：{entry.decision_reasons or entry.reasons}。"
            f"依据：{entry.basis}。{considered}"
            f"惩戒措施：{entry.measures}。移出条件和程序：{entry.exit_conditions}。"
            f"救济途径：{entry.remedies}。"
        )
    session.flush()
    record_event(session, actor, "lists:blacklist:" + ("listed" if list_subject else "withdrawn"), target_type="list_entry", target_id=entry.id, details={"record_id": entry.record_id, "subject_id": entry.subject_id, "defence": entry.defence_statement is not None})  # fmt: skip
    queue_notice(
        session,
        entry.subject_id,
        kind="blacklist:decision",
        title=title,
        body=body,
        dedupe_key=f"blacklist:decision:{entry.id}",
        list_entry_id=entry.id,
        record_id=entry.record_id,
    )
    if list_subject:
        _reach_responsible_persons(session, current_catalog(session), on)
    return entry


def _entry(session: Session, entry_id: int) -> ListEntry:
    entry = session.get(ListEntry, entry_id)
    if entry is None:
        raise NotFound("名单条目不存在", code="list_entry_not_found")
    return entry


def clean_for_three_years(session: Session, subject_id: int, on: dt.date) -> bool:
    """连续三年以上无不良信用记录: no negative record counting against the person decided in
    the last three years (revoked, repaired and disputed records do not count), and not on
    the black list now (a national list received through exchange has no record here)."""
    if ListKind.BLACK.value in current_lists(session, subject_id):
        return False
    since = (
        on.replace(year=on.year - 3)
        if not (on.month == 2 and on.day == 29)
        else on.replace(year=on.year - 3, day=28)
    )
    bad = session.scalar(
        select(func.count())
        .select_from(Record)
        .where(
            Record.subject_id == subject_id,
            Record.nature == "negative",
            Record.decision_date > since,
            Record.state.in_([RecordState.ACTIVE.value, RecordState.EXPIRED.value]),
        )
    )
    return not bad
