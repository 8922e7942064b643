"""List membership services: entries from records, the black-list procedure, exits.

Entries that follow directly from a record (national lists such as 失信被执行人, red-list
honours, watch-list behaviours) are created set-based when records land. Local
black-listing follows 国办发〔2020〕49号: notice (告知) with reasons, basis and rights, a
defence period (陈述申辩) in working days, then a decision or a withdrawal.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable

from sqlalchemy import and_, bindparam, column, exists, func, insert, select, table, text, update
from sqlalchemy.orm import Session

from xinyong.actors import Actor
from xinyong.audit.services import record_event
from xinyong.catalog.catalog import Catalog
from xinyong.catalog.services import current_catalog
from xinyong.config import get_settings
from xinyong.db import affected, fill_id_table, utcnow
from xinyong.errors import Forbidden, InvalidTransition, NotFound
from xinyong.lists.models import LIST_NAMES, EndReason, EntryStatus, ListEntry, ListKind
from xinyong.notices.services import queue_notice
from xinyong.records.display import used_clause
from xinyong.records.models import Record, RecordState
from xinyong.workdays import WorkdayCalendar
from xinyong.workdays.services import calendar_for

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


def _reach_responsible_persons(session: Session, catalog: Catalog) -> int:
    """落实到人: an organisation's black-list entry reaches its legal representative and
    responsible persons when the item says so."""
    items = [i.code for i in catalog.items.values() if i.reaches_responsible_persons]
    if not items:
        return 0
    result = session.execute(
        text(
            """
            INSERT INTO list_entries (subject_id, list_kind, status, source, record_id,
                parent_entry_id, item_code, department_id, reasons, basis, measures,
                exit_conditions, remedies, decided_on, start_date, end_date, created_at,
                updated_at)
            SELECT l.person_id, e.list_kind, e.status, 'responsible_person', e.record_id, e.id,
                e.item_code, e.department_id, '所在组织被列入：' || e.reasons, e.basis,
                e.measures, e.exit_conditions, e.remedies, e.decided_on, e.start_date,
                e.end_date, e.created_at, e.updated_at
            FROM list_entries e
            JOIN subject_links l ON l.organisation_id = e.subject_id
            WHERE e.list_kind = 'black' AND e.status = 'listed' AND e.source <> 'responsible_person'
              AND e.item_code IN :items
              AND NOT EXISTS (SELECT 1 FROM list_entries c
                              WHERE c.parent_entry_id = e.id AND c.subject_id = l.person_id)
            """
        ).bindparams(bindparam("items", expanding=True)),
        {"items": items},
    )
    return affected(result)


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
    queue_notice(
        session,
        entry.subject_id,
        kind="blacklist:notice",
        title="拟列入严重失信主体名单告知书",
        body=(
            f"拟将您列入严重失信主体名单。理由：{reasons}。依据：{basis}。"
            f"您有权在 {entry.defence_until:%Y年%m月%d日} 前进行陈述和申辩。"
        ),
        dedupe_key=f"blacklist:notice:{entry.id}",
        list_entry_id=entry.id,
        record_id=record.id,
    )
    return entry


def submit_defence(session: Session, entry_id: int, statement: str, on: dt.date) -> ListEntry:
    """陈述申辩 by the subject within the defence period."""
    entry = _entry(session, entry_id)
    if entry.status != EntryStatus.NOTIFIED.value:
        raise InvalidTransition("当前不在陈述申辩阶段", code="not_in_defence")
    assert entry.defence_until is not None
    if on > entry.defence_until:
        raise InvalidTransition("陈述申辩期限已过", code="defence_period_over")
    entry.defence_statement = statement[:5000]
    return entry


def decide_blacklisting(
    session: Session,
    actor: Actor,
    entry_id: int,
    *,
    list_subject: bool,
    on: dt.date | None = None,
    reasons: str | None = None,
) -> ListEntry:
    """列入 or 不予列入. Waits for the defence period unless the subject has answered."""
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
    entry.decided_on = on
    entry.decided_by = actor.name
    if reasons:
        entry.reasons = reasons
    if not list_subject:
        entry.status = EntryStatus.WITHDRAWN.value
        title, body = (
            "不予列入严重失信主体名单决定",
            f"经审查，决定不将您列入严重失信主体名单。{reasons or ''}",
        )
    else:
        record = session.get(Record, entry.record_id)
        assert record is not None
        entry.status = EntryStatus.LISTED.value
        entry.start_date = on
        entry.end_date = record.display_until
        title = "列入严重失信主体名单决定书"
        body = (
            f"决定将您列入严重失信主体名单。理由：{entry.reasons}。依据：{entry.basis}。"
            f"惩戒措施：{entry.measures}。移出条件和程序：{entry.exit_conditions}。"
            f"救济途径：{entry.remedies}。"
        )
    session.flush()
    record_event(session, actor, "lists:blacklist:" + ("listed" if list_subject else "withdrawn"), target_type="list_entry", target_id=entry.id, details={"record_id": entry.record_id, "subject_id": entry.subject_id})  # fmt: skip
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
        _reach_responsible_persons(session, current_catalog(session))
    return entry


def _entry(session: Session, entry_id: int) -> ListEntry:
    entry = session.get(ListEntry, entry_id)
    if entry is None:
        raise NotFound("名单条目不存在", code="list_entry_not_found")
    return entry


def clean_for_three_years(session: Session, subject_id: int, on: dt.date) -> bool:
    """连续三年以上无不良信用记录: no negative record counting against the person decided in
    the last three years (revoked, repaired and disputed records do not count)."""
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
