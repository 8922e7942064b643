"""名单下发: national lists served by the upper platform and pulled by the city, exactly once
in effect under crashes and resumes. Runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests import factories
from xinyong import db
from xinyong.actors import SYSTEM, Actor, Role, cli_operator
from xinyong.audit import services as audit
from xinyong.audit.models import AuditEvent
from xinyong.catalog.models import Department
from xinyong.changes.records import set_record_state
from xinyong.exchange.feed import list_page
from xinyong.exchange.models import ExchangeOutbox
from xinyong.exchange.pull import pull, pull_watermark
from xinyong.exchange.push import changes_of, push
from xinyong.exchange.receive import apply_changes
from xinyong.exchange.wire import (
    BatchAnswer,
    ChangeBatch,
    ListPage,
    WireChange,
    WireListEntry,
    WireRecord,
    WireSubject,
)
from xinyong.identity.protection import protector_for
from xinyong.lists.models import ListEntry
from xinyong.measures.services import run_check
from xinyong.records.models import Record, SubmissionBatch
from xinyong.records.states import RecordState
from xinyong.subjects.services import find_subject

CITY = Actor(name="apikey:city", role=Role.PLATFORM, organisation="430100")
RECENT = (dt.date.today() - dt.timedelta(days=30)).isoformat()


class Upstream:
    """The upper platform's feed, as a lower platform sees it through its fetcher."""

    def __init__(self) -> None:
        self.entries: list[WireListEntry] = []
        self.fetched = 0

    def announce(self, entry_id: int, number: str, *, status: str = "listed", state: str = "active") -> None:  # fmt: skip
        self.entries.append(
            WireListEntry(
                seq=len(self.entries) + 1,
                entry_id=entry_id,
                status="listed" if status == "listed" else "ended",
                list_kind="black",
                reasons="失信被执行人：有履行能力而拒不履行生效法律文书确定义务",
                basis="《最高人民法院关于公布失信被执行人名单信息的若干规定》第一条",
                start_date=RECENT,
                record=WireRecord(
                    item_code="DISHONEST_JUDGMENT_DEBTOR",
                    document_number=f"（2026）最高法执{entry_id}号",
                    decision_date=RECENT,
                    state=state,
                    version=1,
                    facts={"court": "某中级人民法院", "case_number": f"（2026）执{entry_id}号"},
                    subject=WireSubject(
                        kind="person", id_type="身份证", id_number=number, name="钱七"
                    ),
                ),
            )
        )

    def fetch(self, after: int, limit: int) -> bytes:
        self.fetched += 1
        after_cursor = [e for e in self.entries if e.seq > after]
        page = after_cursor[:limit]
        return (
            ListPage(
                source="100000",
                entries=page,
                next_after=page[-1].seq if page else after,
                more=len(after_cursor) > limit,
            )
            .model_dump_json()
            .encode()
        )


def _numbers(n: int) -> list[str]:
    return [factories.resident_id(birth=dt.date(1975, 1, 2), seq=700 + i) for i in range(n)]


def _pulled_records(session: Session) -> list[Record]:
    dept = session.scalar(select(Department).where(Department.code == "UP-100000"))
    if dept is None:
        return []
    return list(session.scalars(select(Record).where(Record.department_id == dept.id)))


def _check(session: Session, number: str, scenario: str) -> str:
    return run_check(
        session,
        cli_operator("test"),
        protector_for(),
        id_number=number,
        scenario=scenario,
        operator="王科员",
        business_ref="YW-9",
    ).verdict


def test_pulled_entries_punish_show_their_source_and_are_not_pushed_back(
    session: Session,
) -> None:
    upstream = Upstream()
    numbers = _numbers(3)
    for i, number in enumerate(numbers, start=1):
        upstream.announce(i, number)
    assert _check(session, numbers[0], "HIGH_CONSUMPTION") == "clear"

    result = pull(db.session_factory(), upstream.fetch, limit=2)
    assert (result.finished, result.pages, result.listed, result.watermark) == (True, 2, 3, 3)
    assert pull_watermark(session) == 3

    records = _pulled_records(session)
    assert len(records) == 3
    subject = find_subject(session, protector_for(), numbers[0])
    assert subject is not None and subject.id_index != numbers[0]
    [entry] = session.scalars(select(ListEntry).where(ListEntry.subject_id == subject.id))
    assert (entry.list_kind, entry.status, entry.source) == ("black", "listed", "upper_platform")
    assert "最高人民法院" in entry.basis
    dept = session.get(Department, entry.department_id)
    assert dept is not None and dept.name == "上级信用平台 100000"
    # The joint-punishment engine treats them like local entries: the item's own measure
    # and the black list's.
    assert _check(session, numbers[0], "HIGH_CONSUMPTION") == "blocked"
    assert _check(session, numbers[0], "CIVIL_SERVANT_RECRUITMENT") == "blocked"

    # Nothing pulled goes back up: not queued, and not sent even if it were.
    assert not session.scalar(
        select(func.count())
        .select_from(ExchangeOutbox)
        .join(SubmissionBatch, SubmissionBatch.id == ExchangeOutbox.entity_id)
        .where(ExchangeOutbox.kind == "batch:merged", SubmissionBatch.department_id == dept.id)
    )
    fake = ExchangeOutbox(
        id=10**9, kind="batch:merged", entity="batch", entity_id=records[0].batch_id,
        payload={"batch_id": records[0].batch_id},
    )  # fmt: skip
    assert list(changes_of(session, protector_for(), "430100", fake)) == []

    # Pulling again changes nothing.
    again = pull(db.session_factory(), upstream.fetch)
    assert (again.pages, again.entries, again.finished) == (1, 0, True)
    assert len(_pulled_records(session)) == 3


def test_a_crash_mid_page_rolls_the_page_back_and_the_resume_applies_each_once(
    session: Session,
) -> None:
    upstream = Upstream()
    numbers = _numbers(5)
    for i, number in enumerate(numbers, start=1):
        upstream.announce(i, number)

    def crash_at_second(done: int) -> None:
        if done == 2:
            raise RuntimeError("进程被杀")

    first = pull(db.session_factory(), upstream.fetch, limit=3, max_pages=1)
    assert (first.pages, first.watermark, first.finished) == (1, 3, False)
    with pytest.raises(RuntimeError):
        pull(db.session_factory(), upstream.fetch, limit=3, after_each=crash_at_second)
    session.expire_all()
    assert pull_watermark(session) == 3  # the half-applied page left no trace
    assert len(_pulled_records(session)) == 3

    resumed = pull(db.session_factory(), upstream.fetch, limit=3)
    assert (resumed.listed, resumed.watermark, resumed.finished) == (2, 5, True)
    records = _pulled_records(session)
    assert sorted(r.document_number for r in records) == sorted(
        e.record.document_number for e in upstream.entries
    )
    entries = session.scalars(
        select(ListEntry).where(ListEntry.record_id.in_([r.id for r in records]))
    ).all()
    assert len(entries) == 5 and {e.status for e in entries} == {"listed"}
    pulled_events = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "exchange:lists:pulled")
    ).all()
    assert len(pulled_events) == 2  # one per page applied, none for the rolled-back one
    assert '"watermark":5' in pulled_events[-1].details.replace(" ", "")
    assert audit.verify(session).ok


def test_a_removal_upstream_ends_the_entry_and_the_punishment(session: Session) -> None:
    upstream = Upstream()
    [number, other] = _numbers(2)
    upstream.announce(1, number)
    upstream.announce(2, other)
    pull(db.session_factory(), upstream.fetch)
    assert _check(session, number, "HIGH_CONSUMPTION") == "blocked"

    # The court removed the first debtor: the upper platform revoked the record.
    upstream.announce(1, number, status="ended", state="revoked")
    upstream.announce(3, factories.resident_id(seq=990), status="ended", state="revoked")
    result = pull(db.session_factory(), upstream.fetch)
    assert (result.ended, result.skipped) == (1, 1)  # never held here: nothing to end
    session.expire_all()
    subject = find_subject(session, protector_for(), number)
    assert subject is not None
    [entry] = session.scalars(select(ListEntry).where(ListEntry.subject_id == subject.id))
    assert (entry.status, entry.end_reason) == ("ended", "source_removed")
    [record] = session.scalars(select(Record).where(Record.subject_id == subject.id))
    assert record.state == "revoked"
    assert _check(session, number, "HIGH_CONSUMPTION") == "clear"
    assert _check(session, other, "HIGH_CONSUMPTION") == "blocked"

    # Listed again upstream: back in force here.
    upstream.announce(1, number)
    pull(db.session_factory(), upstream.fetch)
    session.expire_all()
    assert _check(session, number, "HIGH_CONSUMPTION") == "blocked"


def _debtor_row(session: Session, number: str, dept: Department) -> dict[str, str]:
    return factories.generic_row(
        "DISHONEST_JUDGMENT_DEBTOR", session=session, id_number=number, 部门代码=dept.code
    )


def test_the_upper_platform_serves_its_lists_incrementally_without_echo(
    session: Session,
) -> None:
    court = factories.department(session, provides="DISHONEST_JUDGMENT_DEBTOR")
    local = _numbers(2)
    assert factories.submit_rows(session, [_debtor_row(session, n, court) for n in local]).accepted == 2  # fmt: skip
    # One entry the city itself sent up: never served back to it.
    echo = factories.resident_id(seq=333)
    sent = apply_changes(
        session,
        CITY,
        ChangeBatch(
            source="430100",
            changes=[
                WireChange(
                    key="430100:1:1:v1",
                    kind="record:upsert",
                    record=WireRecord(
                        item_code="DISHONEST_JUDGMENT_DEBTOR",
                        document_number="（2026）湘执1号",
                        decision_date=RECENT,
                        state="active",
                        version=1,
                        facts={"court": "某法院", "case_number": "（2026）湘执1号"},
                        subject=WireSubject(
                            kind="person", id_type="身份证", id_number=echo, name="孙八"
                        ),
                    ),
                )
            ],
        ),
    )
    assert sent.applied == 1
    session.commit()

    protector = protector_for()
    page = list_page(session, protector, CITY, 0)
    served = {e.record.subject.id_number for e in page.entries}
    assert served == set(local)  # not the echo
    assert {e.status for e in page.entries} == {"listed"} and not page.more
    other_city = Actor(name="apikey:other", role=Role.PLATFORM, organisation="430200")
    assert len(list_page(session, protector, other_city, 0).entries) == 3
    session.commit()

    # Nothing changed: nothing new after the cursor.
    assert list_page(session, protector, CITY, page.next_after).entries == []
    # A revocation is announced once, after the cursor.
    record = session.scalars(
        select(Record).where(Record.department_id == court.id).order_by(Record.id)
    ).first()
    assert record is not None
    set_record_state(session, SYSTEM, record, RecordState.REVOKED, action="record:revoked", reason="撤销", on=dt.date.today())  # fmt: skip
    session.commit()
    later = list_page(session, protector, CITY, page.next_after)
    assert [(e.status, e.record.state) for e in later.entries] == [("ended", "revoked")]
    assert later.next_after > page.next_after
    assert list_page(session, protector, CITY, later.next_after).entries == []
    session.commit()

    actions = set(session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("exchange:%"))))  # fmt: skip
    assert {"exchange:batch:received", "exchange:lists:served"} <= actions
    assert audit.verify(session).ok


def test_every_push_batch_is_audited_with_its_counts_and_watermark(session: Session) -> None:
    dept = factories.department(session, code="XCITY2")
    rows = [factories.penalty_row(id_number=factories.resident_id(seq=800 + i), dept=dept) for i in range(2)]  # fmt: skip
    assert factories.submit_rows(session, rows).accepted == 2
    session.commit()

    def receive(batch: ChangeBatch) -> BatchAnswer:
        with db.session_factory()() as upper:
            answer = apply_changes(upper, CITY, batch)
            upper.commit()
            return answer

    result = push(db.session_factory(), protector_for(), receive, "430100")
    assert result.finished
    pushed = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "exchange:batch:pushed")
    ).all()
    assert pushed and all(e.actor == "system" for e in pushed)
    assert any('"changes":2' in e.details.replace(" ", "") for e in pushed)
    received = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "exchange:batch:received")
    ).all()
    assert received and all(e.role == "platform" for e in received)
    assert audit.verify(session).ok
