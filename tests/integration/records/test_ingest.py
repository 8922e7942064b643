"""Submission pipeline on a real database: formats, idempotency, versions, bad rows."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests import factories
from xinyong.actors import Actor, cli_operator
from xinyong.errors import Forbidden, UnreadableFile
from xinyong.identity.protection import protector_for
from xinyong.records.models import Record, RecordVersion, SubmissionBatch, SubmissionError
from xinyong.records.parsers import RawRow
from xinyong.subjects.models import Subject, SubjectLink
from xinyong.subjects.services import find_subject
from xinyong.submissions.ingest import ingest_file

ADMIN = cli_operator("test")
FUTURE = (dt.date.today() + dt.timedelta(days=3)).isoformat()


def count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_gbk_penalty_csv_imports_without_flags(session: Session, tmp_path: Path) -> None:
    dept = factories.department(session)
    number = factories.resident_id()
    rows = [factories.penalty_row(name="李四", id_number=number, dept=dept) for _ in range(3)]
    path = factories.write_csv(tmp_path / "处罚.csv", rows, encoding="gbk")

    result = ingest_file(session, ADMIN, path)

    assert (result.accepted, result.rejected, result.created) == (3, 0, 3)
    assert result.record_format == "sgs_penalty"
    subject = find_subject(session, protector_for(), number)
    assert subject is not None and subject.name == "李四"
    assert subject.birth_date == dt.date(1990, 5, 17)
    records = session.scalars(select(Record).where(Record.subject_id == subject.id)).all()
    assert {r.department_id for r in records} == {dept.id}
    assert all(r.item_code == "SGS_PENALTY" and r.state == "active" for r in records)
    assert records[0].facts["penalty_category"] == ["罚款"]
    assert records[0].grade is not None and records[0].display_until is not None
    batch = session.get(SubmissionBatch, result.batch_id)
    assert batch is not None and batch.file_sha256 and batch.accepted == 3


def test_identity_numbers_never_stored_in_clear(session: Session, tmp_path: Path) -> None:
    dept = factories.department(session)
    number = factories.resident_id()
    bad = number[:-1] + ("0" if number[-1] != "0" else "1")
    rows = [
        factories.penalty_row(id_number=number, dept=dept),
        factories.penalty_row(id_number=bad, dept=dept),
    ]
    path = factories.write_csv(tmp_path / "p.csv", rows)
    result = ingest_file(session, ADMIN, path)
    assert result.rejected == 1
    subject = session.scalars(select(Subject)).all()
    assert all(number not in (s.id_index + repr(s.id_cipher)) for s in subject)
    errors = session.scalars(select(SubmissionError)).all()
    assert errors and all(bad not in (e.message + (e.value_masked or "")) for e in errors)
    assert all(bad.encode() not in (e.row_cipher or b"") for e in errors)
    assert bad not in json.dumps(result.as_dict(), ensure_ascii=False)


def test_resubmission_is_idempotent_and_changes_make_versions(
    session: Session, tmp_path: Path
) -> None:
    dept = factories.department(session)
    row = factories.penalty_row(document="测罚〔2025〕1号", dept=dept)
    path = factories.write_csv(tmp_path / "a.csv", [row])
    first = ingest_file(session, ADMIN, path)
    again = ingest_file(session, ADMIN, path)
    assert (first.created, again.created, again.unchanged) == (1, 0, 1)
    assert count(session, Record) == 1

    changed = dict(row, **{"处罚内容": "更正后的处罚内容"})
    third = ingest_file(session, ADMIN, factories.write_csv(tmp_path / "b.csv", [changed]))
    assert (third.created, third.updated) == (0, 1)
    record = session.scalars(select(Record)).one()
    assert record.version == 2 and record.facts["penalty_content"] == "更正后的处罚内容"
    old = session.scalars(select(RecordVersion)).one()
    assert old.record_id == record.id and old.version == 1
    assert old.facts["penalty_content"] != "更正后的处罚内容"


def test_same_record_twice_in_one_file_becomes_two_versions(
    session: Session, tmp_path: Path
) -> None:
    dept = factories.department(session)
    row = factories.penalty_row(document="测罚〔2025〕2号", dept=dept)
    changed = dict(row, **{"处罚内容": "第二次"})
    path = factories.write_csv(tmp_path / "dup.csv", [row, changed])
    result = ingest_file(session, ADMIN, path)
    assert result.accepted == 2 and (result.created, result.updated) == (1, 1)
    assert session.scalars(select(Record)).one().version == 2


def test_bad_rows_are_rejected_with_row_column_code_and_good_rows_land(
    session: Session, tmp_path: Path
) -> None:
    dept = factories.department(session)
    good = factories.penalty_row(dept=dept)
    rows = [
        good,
        factories.penalty_row(dept=dept, id_number="110105194912310021"),  # checksum
        factories.penalty_row(dept=dept, **{"处罚类别": "打板子"}),
        factories.penalty_row(dept=dept, decided="2024年13月1日"),
        factories.penalty_row(dept=dept, decided=FUTURE),
        factories.penalty_row(dept=dept, **{"数据来源单位统一社会信用代码": "91110000600037341L"}),
        factories.penalty_row(dept=dept, **{"行政处罚决定书文号": ""}),
        factories.penalty_row(dept=dept, **{"罚款金额（万元）": "一百"}),
        factories.penalty_row(dept=dept, decided="2024"),  # a bare year, read as Excel serial
    ]
    path = factories.write_csv(tmp_path / "mixed.csv", rows)
    before = count(session, Record)
    result = ingest_file(session, ADMIN, path)
    assert (result.accepted, result.rejected) == (1, 8)
    assert count(session, Record) == before + 1
    by_row = {e.row: e for e in result.errors}
    assert by_row[3].code == "id_checksum" and by_row[3].column == "证件号码"
    assert by_row[4].code == "invalid_choice" and by_row[4].column == "处罚类别"
    assert by_row[5].code == "invalid_date" and by_row[5].column == "处罚决定日期"
    assert by_row[6].code == "future_date"
    assert by_row[7].code == "unknown_department"
    assert by_row[8].code == "required" and by_row[8].column == "行政处罚决定书文号"
    assert by_row[9].code == "invalid_number" and by_row[9].column == "罚款金额（万元）"
    assert by_row[10].code == "implausible_date"
    assert all(e.message for e in result.errors)
    assert count(session, SubmissionError) >= 7


@pytest.mark.parametrize(
    "text",
    ["2025-01-05", "2025/1/5", "2025年1月5日", "45662", "20250105"],
)
def test_dates_in_every_format_departments_use(session: Session, tmp_path: Path, text: str) -> None:
    dept = factories.department(session)
    path = factories.write_csv(tmp_path / "d.csv", [factories.penalty_row(dept=dept, decided=text)])
    result = ingest_file(session, ADMIN, path)
    assert result.accepted == 1, result.errors
    assert session.scalars(select(Record)).one().decision_date == dt.date(2025, 1, 5)


def test_penalty_on_organisation_links_its_legal_representative(
    session: Session, tmp_path: Path
) -> None:
    dept = factories.department(session)
    org_code = factories.credit_code_for(424242)
    rep_number = factories.resident_id()
    row = factories.penalty_row(
        name="示范有限公司", org_code=org_code, legal_rep=("王五", rep_number), dept=dept
    )
    result = ingest_file(session, ADMIN, factories.write_csv(tmp_path / "o.csv", [row]))
    assert result.accepted == 1, result.errors
    protector = protector_for()
    org = find_subject(session, protector, org_code)
    rep = find_subject(session, protector, rep_number)
    assert org is not None and org.kind == "organisation"
    assert rep is not None and rep.kind == "person" and rep.name == "王五"
    link = session.scalars(select(SubjectLink)).one()
    assert (link.organisation_id, link.person_id, link.role) == (
        org.id,
        rep.id,
        "legal_representative",
    )


def test_unreadable_file_changes_nothing(session: Session, tmp_path: Path) -> None:
    path = tmp_path / "garbage.csv"
    path.write_bytes(b"\x00\x01\x02binary\xff\xfe" * 100)
    before = (count(session, Record), count(session, Subject))
    with pytest.raises(UnreadableFile):
        ingest_file(session, ADMIN, path)
    assert (count(session, Record), count(session, Subject)) == before


def test_missing_columns_are_a_file_error(session: Session, tmp_path: Path) -> None:
    path = tmp_path / "cols.csv"
    path.write_text("姓名,证件号码\n张三,11010519491231002X\n", encoding="utf-8")
    with pytest.raises(UnreadableFile) as exc:
        ingest_file(session, ADMIN, path)
    assert exc.value.code == "missing_columns"
    assert "决定文书号" in exc.value.message


def test_generic_jsonl_with_item_column(session: Session, tmp_path: Path) -> None:
    dept = factories.department(session, code="GEN1")
    number = factories.resident_id()
    path = tmp_path / "g.jsonl"
    row = {
        "目录项": "SGS_LICENSE",
        "部门代码": "GEN1",
        "姓名": "赵六",
        "证件号码": number,
        "文书号": "许〔2025〕9号",
        "决定日期": "2025-02-01",
        "许可内容": "食品经营许可",
        "许可机关": "测试局",
    }
    path.write_text(json.dumps(row, ensure_ascii=False) + "\n", encoding="utf-8")
    result = ingest_file(session, ADMIN, path)
    assert result.accepted == 1, result.errors
    record = session.scalars(select(Record)).one()
    assert record.department_id == dept.id and record.nature == "neutral"


def test_department_key_cannot_submit_for_another_department(
    session: Session, tmp_path: Path
) -> None:
    mine = factories.department(session)
    other = factories.department(session)
    actor = Actor("apikey:x", "department", mine.id, mine.code)
    rows = [factories.penalty_row(dept=other), factories.penalty_row(dept=mine)]
    result = ingest_file(session, actor, factories.write_csv(tmp_path / "x.csv", rows))
    assert (result.accepted, result.rejected) == (1, 1)
    assert result.errors[0].code == "department_mismatch"
    with pytest.raises(Forbidden):
        ingest_file(
            session,
            actor,
            factories.write_csv(tmp_path / "y.csv", rows),
            department_code=other.code,
        )


def test_chunks_commit_and_counts_stay_exact(session: Session, tmp_path: Path) -> None:
    dept = factories.department(session)
    rows = [factories.penalty_row(dept=dept) for _ in range(250)]
    rows[100]["证件号码"] = "bad"
    commits: list[int] = []
    result = ingest_file(
        session,
        ADMIN,
        factories.write_csv(tmp_path / "c.csv", rows),
        chunk_rows=100,
        on_chunk=lambda: commits.append(1),
    )
    assert (result.accepted, result.rejected, result.created) == (249, 1, 249)
    assert len(commits) >= 3
    assert count(session, Record) == 249


def test_subject_cache_bound_does_not_lose_the_chunk_in_hand(
    session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Regression: the id cache was cleared after a chunk's subjects were resolved."""
    from xinyong.submissions import ingest

    original = ingest._Merger.resolve_subjects

    def tiny_cache(self: ingest._Merger, refs: object) -> None:
        self.subject_ids.update({f"filler{i}": -i for i in range(50_001)})
        original(self, refs)  # type: ignore[arg-type]

    monkeypatch.setattr(ingest._Merger, "resolve_subjects", tiny_cache)
    dept = factories.department(session)
    rows = [factories.penalty_row(dept=dept) for _ in range(30)]
    result = ingest_file(
        session, ADMIN, factories.write_csv(tmp_path / "c.csv", rows), chunk_rows=10
    )
    assert result.accepted == 30


def test_file_mixing_new_and_existing_records_versions_only_what_changed(
    session: Session, tmp_path: Path
) -> None:
    """The first import inserts straight into records; a later file that meets existing
    records takes the keyed merge, chunk after chunk."""
    dept = factories.department(session)
    rows = [factories.penalty_row(dept=dept) for _ in range(4)]
    first = ingest_file(session, ADMIN, factories.write_csv(tmp_path / "a.csv", rows[:3]))
    assert (first.created, first.updated, first.unchanged) == (3, 0, 0)

    changed = dict(rows[1], **{"处罚内容": "更正后的处罚内容"})
    later = [rows[0], changed, rows[3]] + [factories.penalty_row(dept=dept) for _ in range(5)]
    result = ingest_file(
        session, ADMIN, factories.write_csv(tmp_path / "b.csv", later), chunk_rows=3
    )
    assert (result.accepted, result.created, result.updated, result.unchanged) == (8, 6, 1, 1)
    assert count(session, Record) == 9
    version = session.scalars(select(RecordVersion)).one()
    assert version.facts["penalty_content"] != "更正后的处罚内容"


def test_duplicates_across_validation_batches_still_end_the_chunk(
    session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from xinyong.submissions import ingest

    monkeypatch.setattr(ingest, "VALIDATION_BATCH_ROWS", 2)
    dept = factories.department(session)
    row = factories.penalty_row(document="测罚〔2025〕3号", dept=dept)
    rows = [factories.penalty_row(dept=dept), row, factories.penalty_row(dept=dept)]
    rows += [dict(row, **{"处罚内容": "第二次"}), factories.penalty_row(dept=dept)]
    commits: list[int] = []
    result = ingest_file(
        session,
        ADMIN,
        factories.write_csv(tmp_path / "dup.csv", rows),
        chunk_rows=10,
        on_chunk=lambda: commits.append(1),
    )
    assert (result.accepted, result.created, result.updated) == (5, 4, 1)
    assert len(commits) == 2  # the repeated record started a new chunk
    assert session.scalars(select(Record).where(Record.version == 2)).one() is not None


def test_a_failure_while_reading_stops_the_import_and_its_reader(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows are read and validated in a background thread: its errors reach the caller."""
    from xinyong.submissions.ingest import TableInput, ingest_table, iter_json_rows

    dept = factories.department(session)
    rows = [factories.penalty_row(dept=dept) for _ in range(7)]
    closed: list[bool] = []

    def broken() -> Iterator[RawRow]:
        try:
            yield from itertools.islice(iter_json_rows(rows), 5)
            raise RuntimeError("disk gone")
        finally:
            closed.append(True)

    table = TableInput(headers=list(rows[0]), rows=broken())
    with pytest.raises(RuntimeError, match="disk gone"):
        ingest_table(session, ADMIN, table, chunk_rows=2)
    assert closed == [True]
    assert not [t for t in threading.enumerate() if t.name == "xinyong-import-validate"]


def test_sqlite_page_cache_is_restored_after_an_import(session: Session, tmp_path: Path) -> None:
    from sqlalchemy import text

    if session.get_bind().dialect.name != "sqlite":
        pytest.skip("SQLite page cache")
    before = session.execute(text("PRAGMA cache_size")).scalar()
    dept = factories.department(session)
    path = factories.write_csv(tmp_path / "p.csv", [factories.penalty_row(dept=dept)])
    assert ingest_file(session, ADMIN, path).accepted == 1
    assert session.execute(text("PRAGMA cache_size")).scalar() == before
