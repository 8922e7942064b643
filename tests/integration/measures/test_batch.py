"""Batch comparison (批量比对): the set-based path (large batches on PostgreSQL) gives the
facts and verdicts the one-subject path gives, the rows come back in order with duplicates,
invalid rows and unknown persons answered, every hit is logged, and a failed run leaves
nothing. The chunked path (small batches, SQLite) is held to the same answers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from python_calamine import CalamineWorkbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests import factories
from tests.integration.measures.test_check_facts import ADMIN, TODAY, city
from xinyong.actors import Actor
from xinyong.catalog.services import current_catalog
from xinyong.config import get_settings
from xinyong.identity.protection import protector_for
from xinyong.measures import batch
from xinyong.measures.engine import SubjectFacts
from xinyong.measures.models import Check
from xinyong.measures.services import load_facts_bulk, run_check
from xinyong.queries.models import QueryLog
from xinyong.records.parsers import RawRow, RowProblem

SCENARIO = "ADMIN_LICENSING"


@pytest.fixture(params=["set_based", "chunked"])
def path(request: pytest.FixtureRequest, is_postgres: bool) -> Iterator[str]:
    if request.param == "set_based" and not is_postgres:
        pytest.skip("the set-based batch is PostgreSQL's")
    mp = pytest.MonkeyPatch()
    # Every batch of these tests goes the chosen way, whatever its size.
    threshold = 1 if request.param == "set_based" else 10**9
    mp.setattr(get_settings(), "batch_set_based_rows", threshold)
    # In this process, where the tests' spies see it (worker processes: the test below).
    mp.setattr(get_settings(), "batch_workers", 0)
    yield request.param
    mp.undo()


def run(
    session: Session, numbers: list[str], on: dt.date | None = None, actor: Actor = ADMIN
) -> tuple[batch.BatchSummary, list[list[Any]]]:
    rows = [
        RawRow(line, {"姓名": f"某{line}", "证件号码": number})
        for line, number in enumerate(numbers, start=2)
    ]
    emitted: list[list[Any]] = []
    summary = batch.compare_rows(
        session,
        actor,
        protector_for(),
        ["姓名", "证件号码"],
        rows,
        scenario=SCENARIO,
        operator="王科员",
        emit=lambda raw, extra: emitted.append([raw.number, *raw.values.values(), *extra]),
        on=on,
    )
    return summary, emitted


def test_set_based_facts_and_verdicts_are_the_one_subject_ones(
    session: Session, path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    numbers = city(session)
    catalog = current_catalog(session)
    seen: dict[int, SubjectFacts] = {}
    decide = batch.decide

    def spy(facts: SubjectFacts, *args: Any) -> Any:
        seen[facts.subject_id] = facts
        return decide(facts, *args)

    monkeypatch.setattr(batch, "decide", spy)
    for on in (TODAY, TODAY + dt.timedelta(days=400)):
        seen.clear()
        _summary, emitted = run(session, numbers, on)
        assert len(seen) == 3  # the fourth person is unknown to the archive
        for sid, facts in seen.items():
            assert facts == load_facts_bulk(session, [sid], catalog, on)[sid]
        assert any(f.organisations for f in seen.values())
        assert any(f.lists for f in seen.values())
        assert any(f.records for f in seen.values())
    # Verdicts as the check API gives them, today.
    _summary, emitted = run(session, numbers)
    for number, row in zip(numbers, emitted, strict=True):
        single = run_check(
            session,
            ADMIN,
            protector_for(),
            id_number=number,
            scenario=SCENARIO,
            operator="王科员",
            business_ref="T",
        )
        assert row[3] == {"blocked": "拦截", "restricted": "限制", "eased": "激励"}.get(
            single.verdict, "无措施"
        )
        assert row[4] == "；".join(f"{d['name']}（{d['effect_name']}）" for d in single.decisions)


def test_rows_come_back_in_order_with_duplicates_invalid_and_unknown_rows(
    session: Session, path: str
) -> None:
    rep, plain, debtor, nobody = city(session)
    numbers = [rep, "123", plain, nobody, rep, "", debtor, plain.lower(), rep]
    summary, emitted = run(session, numbers)
    assert [row[0] for row in emitted] == list(range(2, 2 + len(numbers)))
    assert [row[2] for row in emitted] == numbers
    by_line = {row[0]: row[3:] for row in emitted}
    assert by_line[2] == by_line[6] == by_line[10]  # the same person, the same answer
    assert by_line[2][0] in ("拦截", "限制") and by_line[2][1]
    assert by_line[3][0] == "无效" and "18 位" in by_line[3][3]
    assert by_line[7] == ["无效", "", "", "证件号码为空"]
    assert by_line[5] == ["无措施", "", "", "无记录"]  # unknown: as if nothing on record
    assert by_line[9] == by_line[4]
    assert (summary.total, summary.invalid) == (9, 2)
    assert summary.verdicts is not None and sum(summary.verdicts.values()) == 7


def test_every_hit_is_logged_once_with_the_batch_check(session: Session, path: str) -> None:
    rep, plain, _debtor, nobody = city(session)
    dept = factories.department(session)
    # Written by COPY: a name with COPY's special characters comes back as it was.
    actor = Actor("apikey:a\\b\tc", "department", dept.id, dept.code, channel="api")
    before = session.scalar(select(func.count()).select_from(QueryLog))
    summary, emitted = run(session, [rep, nobody, plain, "123", rep], actor=actor)
    check = session.scalars(select(Check).where(Check.batch_ref == summary.batch_ref)).one()
    assert check.decisions == [summary.as_dict()] and check.subject_id is None
    logs = session.scalars(
        select(QueryLog).where(QueryLog.returned["check_id"].as_integer() == check.id)
    ).all()
    assert session.scalar(select(func.count()).select_from(QueryLog)) == before + 3
    assert len(logs) == 3
    assert {
        (log.actor, log.organisation, log.channel, log.action, log.basis, log.authorization_id)
        for log in logs
    } == {("apikey:a\\b\tc", dept.code, "api", "check:batch", "legal_duty", None)}
    assert all(log.returned["check_id"] == check.id for log in logs)
    assert all(log.queried_at is not None for log in logs)
    assert all(log.purpose.endswith(f"（批量比对 {summary.batch_ref}）") for log in logs)
    hits = [row for row in emitted if row[3] != "无效" and row[6] != "无记录"]
    verdicts = {"拦截": "blocked", "限制": "restricted", "激励": "eased", "无措施": "clear"}
    assert [log.returned["verdict"] for log in sorted(logs, key=lambda log: log.id)] == [
        verdicts[row[3]] for row in hits
    ]
    assert logs[0].subject_id == max(logs, key=lambda log: log.id).subject_id  # rep, twice


def test_a_failed_run_leaves_no_log_no_check_and_no_file(
    session: Session, path: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rep, plain, debtor, _nobody = city(session)
    session.commit()
    source = tmp_path / "in.csv"
    source.write_text("证件号码\n" + "\n".join([rep, plain, debtor] * 3) + "\n", encoding="utf-8")
    out = tmp_path / "out.xlsx"
    logs_before = session.scalar(select(func.count()).select_from(QueryLog))
    checks_before = session.scalar(select(func.count()).select_from(Check))
    decide = batch.decide
    calls = 0

    def failing(*args: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 7:
            raise RuntimeError("disk full")
        return decide(*args)

    monkeypatch.setattr(batch, "decide", failing)
    monkeypatch.setattr(batch, "CHUNK", 2)
    monkeypatch.setattr(batch, "FETCH_ROWS", 2)
    with pytest.raises(RuntimeError, match="disk full"):
        batch.compare_file(source, out, scenario=SCENARIO, operator="王科员", actor=ADMIN)
    assert calls == 7
    assert not out.exists()
    session.rollback()
    assert session.scalar(select(func.count()).select_from(QueryLog)) == logs_before
    assert session.scalar(select(func.count()).select_from(Check)) == checks_before
    # The same file, run again without the fault, is answered and logged in full.
    monkeypatch.setattr(batch, "decide", decide)
    summary = batch.compare_file(source, out, scenario=SCENARIO, operator="王科员", actor=ADMIN)
    assert summary["total"] == 9
    assert session.scalar(select(func.count()).select_from(QueryLog)) == logs_before + 9
    sheet = CalamineWorkbook.from_path(str(out)).get_sheet_by_index(0).to_python()
    assert [row[0] for row in sheet[1:]] == list(range(2, 11))


def test_row_problems_from_the_reader_are_answered_as_invalid(session: Session, path: str) -> None:
    rep, *_ = city(session)
    rows = [
        RawRow(2, {"证件号码": rep}),
        RawRow(3, {"证件号码": rep}, RowProblem("列数不符", "第 3 行的列数与表头不一致")),
    ]
    emitted: list[list[Any]] = []
    batch.compare_rows(
        session,
        ADMIN,
        protector_for(),
        ["证件号码"],
        rows,
        scenario=SCENARIO,
        operator="王科员",
        emit=lambda raw, extra: emitted.append([raw.number, *extra]),
    )
    assert emitted[0][1] in ("拦截", "限制")
    assert emitted[1] == [3, "无效", "", "", "第 3 行的列数与表头不一致"]


def test_worker_processes_answer_as_the_main_process_does(
    session: Session, is_postgres: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The set-based path's rows decided by two worker processes: the same rows, in the same
    order, the same summary and the same query log as when decided in this process."""
    if not is_postgres:
        pytest.skip("the set-based batch is PostgreSQL's")
    rep, plain, debtor, nobody = city(session)
    # More rows than one fetch, so that several chunks are in flight in the workers.
    numbers = [rep, "123", plain, nobody, "", debtor] * (batch.FETCH_ROWS // 3)
    monkeypatch.setattr(get_settings(), "batch_set_based_rows", 1)
    sent: list[int] = []
    classified: list[int] = []

    class Counting(batch.ProcessPoolExecutor):
        def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
            if fn is batch._decide_in_worker:
                sent.append(len(args[0]))
            if fn is batch._classify_in_worker:
                classified.append(len(args[0]))
            return super().submit(fn, *args, **kwargs)

    monkeypatch.setattr(batch, "ProcessPoolExecutor", Counting)
    answers = {}
    for workers in (0, 2):
        monkeypatch.setattr(get_settings(), "batch_workers", workers)
        logged_before = session.scalar(select(func.count()).select_from(QueryLog))
        summary, emitted = run(session, numbers)
        logged = session.scalars(
            select(QueryLog.returned).order_by(QueryLog.id).offset(logged_before)
        ).all()
        answers[workers] = (
            {k: v for k, v in summary.as_dict().items() if k != "batch_ref"},
            emitted,
            [{k: v for k, v in r.items() if k != "check_id"} for r in logged],
        )
    assert answers[2] == answers[0]
    # Every row was indexed and decided by the workers, in several blocks.
    assert sum(sent) == sum(classified) == len(numbers) and len(sent) > 1 and len(classified) > 1
    summary_dict, emitted, logged = answers[2]
    assert summary_dict["total"] == len(numbers) and len(emitted) == len(numbers)
    assert [row[0] for row in emitted] == list(range(2, 2 + len(numbers)))
    assert len(logged) == 3 * len(numbers) // 6  # rep, plain, debtor: hits
    assert summary_dict["invalid"] == 2 * len(numbers) // 6


def test_a_batch_comparison_is_one_audit_event_and_fires_the_bulk_export_rule(
    session: Session, path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 19 §1: the comparison wrote query-log rows but no audit event, so the
    bulk-export rule (which counts query:check:batch) could never fire for it."""
    import json

    from xinyong.audit import alerts
    from xinyong.audit.models import AuditAlert, AuditEvent
    from xinyong.audit.services import head_of
    from xinyong.db import utcnow

    rep, plain, _debtor, nobody = city(session)
    dept = factories.department(session)
    actor = Actor("apikey:xy_bulk", "department", dept.id, dept.code, channel="api")
    start = head_of(session)[0]
    summary, _ = run(session, [rep, nobody, plain, "123", rep, plain], actor=actor)
    session.commit()
    events = session.scalars(
        select(AuditEvent).where(AuditEvent.seq > start, AuditEvent.action == "query:check:batch")
    ).all()
    check = session.scalars(select(Check).where(Check.batch_ref == summary.batch_ref)).one()
    assert len(events) == 1  # one for the file, whichever path compared it
    [event] = events
    details = json.loads(event.details)
    assert (event.actor, event.target_type, event.target_id) == (actor.name, "check", str(check.id))
    assert (details["rows"], details["invalid"], details["found"]) == (5, 1, 4)
    assert details["batch_ref"] == summary.batch_ref

    # The rule, fed from the real trail: 5 rows reach a threshold of 5, not one of 6.
    def bulk_alerts() -> list[AuditAlert]:
        return list(session.scalars(select(AuditAlert).where(AuditAlert.rule == "bulk_export")))

    today = utcnow().astimezone(batch_shanghai()).date()
    monkeypatch.setattr(get_settings(), "audit_bulk_export_rows", 6)
    alerts.scan(session, ADMIN, [today])
    assert bulk_alerts() == []
    monkeypatch.setattr(get_settings(), "audit_bulk_export_rows", 5)
    alerts.scan(session, ADMIN, [today])
    [alert] = bulk_alerts()
    assert alert.actor == actor.name
    assert alert.evidence["persons"] == 5 and alert.evidence["batch_rows"] == 5


def batch_shanghai() -> Any:
    from xinyong.audit.rules import SHANGHAI

    return SHANGHAI
