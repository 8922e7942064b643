"""Property: no derived view shows an audience a record its archive view does not.

Random open level, state and display window for each record of a person; for every
audience, the score's reasons, the list entries, the credit report's lines and (for
government) the facts a check answer rests on are only records that the audience's archive
view (``read_archive``, i.e. ``visibility()``) shows.
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tests import factories
from xinyong.actors import cli_operator
from xinyong.catalog.schemas import OpenLevel
from xinyong.catalog.services import current_catalog
from xinyong.identity.masking import Audience
from xinyong.identity.protection import protector_for
from xinyong.lists.services import sync_entries_from_records
from xinyong.measures.services import load_facts_bulk
from xinyong.queries.models import QueryBasis
from xinyong.reads import read_lists, read_score
from xinyong.records.models import Record, RecordState
from xinyong.records.services import read_archive
from xinyong.reports.content import ReportHeader, assemble
from xinyong.reports.services import gather, subject_fact
from xinyong.subjects.services import find_subject, get_subject

TODAY = dt.date.today()
BASIS = {
    Audience.SELF: QueryBasis.SELF,
    Audience.AUTHORIZED: QueryBasis.AUTHORIZATION,
    Audience.GOVERNMENT: QueryBasis.LEGAL_DUTY,
    Audience.PUBLIC: QueryBasis.LEGAL_DUTY,
}


@pytest.fixture()
def person(session: Session) -> tuple[int, list[int]]:
    number = factories.person_archive(session, records=14)
    subject = find_subject(session, protector_for(), number)
    assert subject is not None
    ids = list(session.scalars(select(Record.id).where(Record.subject_id == subject.id)))
    return subject.id, ids


RECORD = st.tuples(
    st.sampled_from([level.value for level in OpenLevel]),
    st.sampled_from([s.value for s in RecordState]),
    st.integers(-900, 30),  # display_from relative to today
    st.one_of(st.none(), st.integers(0, 1200)),  # length of the window
)


@given(shapes=st.lists(RECORD, min_size=14, max_size=14))
@settings(
    max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None
)
def test_every_derived_view_is_within_the_archive_view(
    session: Session, person: tuple[int, list[int]], shapes: list[tuple[str, str, int, int | None]]
) -> None:
    subject_id, ids = person
    for rid, (level, state, start, length) in zip(ids, shapes, strict=False):
        begin = TODAY + dt.timedelta(days=start)
        session.execute(
            update(Record)
            .where(Record.id == rid)
            .values(
                open_level=level,
                state=state,
                display_from=begin,
                display_until=None if length is None else begin + dt.timedelta(days=length),
            )
        )
    session.expire_all()
    sync_entries_from_records(session, TODAY, subject_ids=[subject_id])
    subject = get_subject(session, subject_id)
    actor = cli_operator("property")
    facts = gather(session, subject, TODAY)
    for audience in Audience:
        basis = BASIS[audience]
        archive = read_archive(
            session,
            actor,
            protector_for(),
            subject,
            audience=audience,
            purpose="测试",
            basis=basis,
            on=TODAY,
        )
        shown = {e.record.id for e in archive.entries}
        score = read_score(
            session, actor, subject_id, purpose="测试", basis=basis, on=TODAY, audience=audience
        )
        assert {r["record"] for r in score["reasons"]} <= shown, audience
        entries = read_lists(
            session, actor, subject_id, audience=audience, purpose="测试", basis=basis, on=TODAY
        )
        assert {e["record_id"] for e in entries if e["record_id"] is not None} <= shown, audience
        header = ReportHeader(
            report_number="R",
            verification_code="V",
            issued_at=dt.datetime.now(dt.UTC),
            issuer="信用办",
            audience=audience,
            purpose="测试",
            verify_url="https://example.invalid/v",
            city="测试市",
        )
        content = assemble(
            header, subject_fact(protector_for(), subject), facts.records, facts.lists,
            facts.score, TODAY,
        )  # fmt: skip
        lines = {
            line.record_id
            for section in content.sections
            for sub in section.subsections
            for line in sub.records
        }
        assert lines <= shown, audience
        listed = sum(len(sub.lists) for section in content.sections for sub in section.subsections)
        assert listed <= len(entries), audience
        if audience is Audience.GOVERNMENT:
            # Check answers (联合奖惩核查) go to departments: the facts they rest on.
            facts_of = load_facts_bulk(session, [subject_id], current_catalog(session), TODAY)
            if subject_id in facts_of:
                assert {r.record_id for r in facts_of[subject_id].records} <= shown
