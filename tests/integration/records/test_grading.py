"""Grading on real submissions: the behaviour catalog, the 双公示 domain, the department's
grade where the catalog permits it, what decided each grade, and 轻微 kept off the portal."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tests import factories
from xinyong.actors import cli_operator
from xinyong.disclosure.services import Category, search_disclosures
from xinyong.identity.masking import Audience
from xinyong.identity.protection import protector_for
from xinyong.records.display import visibility
from xinyong.records.display_sql import published_clause
from xinyong.records.models import Record
from xinyong.subjects.services import find_subject
from xinyong.submissions.ingest import ingest_file

ADMIN = cli_operator("test")
TODAY = dt.date.today()


def records_of(session: Session, number: str) -> list[Record]:
    subject = find_subject(session, protector_for(), number)
    assert subject is not None
    return list(
        session.scalars(select(Record).where(Record.subject_id == subject.id).order_by(Record.id))
    )


def write_xlsx(path: Path, rows: list[dict[str, str]]) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    headers = list(rows[0])
    sheet.append(headers)
    for row in rows:
        sheet.append([row.get(h, "") for h in headers])
    book.save(path)
    return path


def traffic_row(number: str, behaviour: str, kind: str, **extra: str) -> dict[str, str]:
    row = {
        "目录项": "SERIOUS_TRAFFIC_VIOLATION",
        "姓名": "周九",
        "证件类型": "身份证",
        "证件号码": number,
        "文书号": f"公交决字〔2026〕{abs(hash((number, behaviour, kind))) % 100000:05d}号",
        "决定日期": factories.RECENT,
        "行为": behaviour,
        "严重违法类型": kind,
    }
    row.update(extra)
    return row


def test_drunk_driving_from_an_xlsx_is_serious_by_the_behaviour_catalog(
    session: Session, tmp_path: Path
) -> None:
    dept = factories.department(session, provides="SERIOUS_TRAFFIC_VIOLATION")
    drunk, drinking, vague = (factories.resident_id() for _ in range(3))
    path = write_xlsx(
        tmp_path / "严重交通违法.xlsx",
        [
            traffic_row(drunk, "DRUNK_DRIVING", "醉酒驾驶"),
            # Free text in 行为, the catalog behaviour named by 严重违法类型 (alias).
            traffic_row(drinking, "酒后驾车", "饮酒驾驶"),
            # Neither names a catalog behaviour: this item requires one.
            traffic_row(vague, "开车接打电话", "其他"),
        ],
    )

    result = ingest_file(session, ADMIN, path, department_code=dept.code)

    assert (result.accepted, result.rejected) == (2, 1)
    (record,) = records_of(session, drunk)
    # The item default is 一般; the behaviour catalog says 醉酒驾驶机动车 is 严重.
    assert (record.grade, record.grade_source) == ("serious", "behaviour:DRUNK_DRIVING")
    assert record.display_until is not None
    assert record.display_until >= record.decision_date + dt.timedelta(days=365)
    (other,) = records_of(session, drinking)
    assert (other.grade, other.grade_source) == ("general", "behaviour:SERIOUS_TRAFFIC_VIOLATION")
    (error,) = result.errors
    assert error.row == 4 and error.code == "unknown_behaviour"
    assert error.column == "行为"
    assert "信用行为分类目录" in error.message and "醉酒驾驶机动车" in error.message
    assert error.value == "开车接打电话"
    summary = result.as_dict()
    labels = {s["label"]: s["rows"] for s in summary["grade_sources"]}
    assert labels == {"信用行为分类目录：醉酒驾驶机动车": 1, "信用行为分类目录：严重交通违法": 1}


def test_free_text_behaviour_is_accepted_and_noted_in_the_batch_result(
    session: Session, tmp_path: Path
) -> None:
    dept = factories.department(session, provides="EXAM_CHEATING")
    numbers = [factories.resident_id() for _ in range(3)]
    base = {"目录项": "EXAM_CHEATING", "姓名": "吴十", "证件类型": "身份证", "决定日期": factories.RECENT, "考试名称": "2026年全国硕士研究生招生考试"}  # fmt: skip
    rows = [
        {**base, "证件号码": numbers[0], "文书号": "考违〔2026〕1号", "行为": "夹带小抄"},
        {
            **base,
            "证件号码": numbers[1],
            "文书号": "考违〔2026〕2号",
            "行为": "夹带小抄",
            "舞弊情形": "携带作弊工具",
        },
        {**base, "证件号码": numbers[2], "文书号": "考违〔2026〕3号", "舞弊情形": "替考"},
    ]
    path = tmp_path / "考试舞弊.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")

    result = ingest_file(session, ADMIN, path, department_code=dept.code)

    assert (result.accepted, result.rejected) == (3, 0)
    first, second, third = (records_of(session, n)[0] for n in numbers)
    assert (first.grade, first.grade_source) == ("general", "catalog")
    assert (second.grade, second.grade_source) == ("general", "behaviour:EXAM_CHEATING")
    # 替考 is 代替他人参加考试: 严重 in the behaviour catalog.
    assert (third.grade, third.grade_source) == ("serious", "behaviour:ORGANISED_EXAM_CHEATING")
    (note,) = result.as_dict()["summary_notes"]
    assert note.startswith("1 行所填行为未对应信用行为分类目录") and "夹带小抄" in note


def test_behaviour_text_quoting_an_identity_number_is_masked_in_the_result(
    session: Session, tmp_path: Path
) -> None:
    quoted = factories.resident_id()
    rows = [
        traffic_row(factories.resident_id(), f"冒用{quoted}驾驶证", "其他"),
        factories.generic_row("EXAM_CHEATING", session=session, 行为=f"冒用{quoted}参考"),
    ]
    for row in rows:  # each row from a department that provides its item
        row["部门代码"] = factories.provider_of(session, row["目录项"]).code
    headers = list(dict.fromkeys(h for row in rows for h in row))
    path = factories.write_csv(tmp_path / "行为.csv", rows, headers=headers)
    result = ingest_file(session, ADMIN, path)
    assert (result.accepted, result.rejected) == (1, 1)
    summary = json.dumps(result.as_dict(), ensure_ascii=False)
    assert quoted not in summary
    assert "冒用" in summary  # the text is there, the number masked


def test_department_grade_is_kept_where_the_catalog_permits_it(
    session: Session, tmp_path: Path
) -> None:
    stated, refused = factories.resident_id(), factories.resident_id()
    rows = [
        traffic_row(stated, "DRUNK_DRIVING", "醉酒驾驶", 失信等级="一般"),
        {
            **factories.generic_row(
                "DISHONEST_JUDGMENT_DEBTOR", session=session, id_number=refused
            ),
            "失信等级": "一般",
        },
    ]
    for row in rows:  # each row from a department that provides its item
        row["部门代码"] = factories.provider_of(session, row["目录项"]).code
    headers = list(dict.fromkeys(h for row in rows for h in row))
    path = factories.write_csv(tmp_path / "报送.csv", rows, encoding="gbk", headers=headers)

    result = ingest_file(session, ADMIN, path)

    assert (result.accepted, result.rejected) == (1, 1)
    (record,) = records_of(session, stated)
    assert (record.grade, record.grade_source, record.grade_set_by) == (
        "general",
        "department",
        ADMIN.name,
    )
    (error,) = result.errors
    assert error.code == "grade_not_permitted" and error.column == "失信等级"
    assert "失信被执行人" in error.message and "严重" in error.message


@pytest.mark.parametrize(
    ("basis", "authority", "fine", "grade", "source"),
    [
        # 10万 under 《食品安全法》: the food domain's rule (≥ 10万 → 严重) applies.
        (
            "《中华人民共和国食品安全法》第一百二十四条",
            "示范市市场监督管理局",
            "10",
            "serious",
            "rule:SAFETY_FOOD_SEVERE_FINE",
        ),
        # The same fine under a law of no key domain: the general 罚款 rule.
        (
            "《中华人民共和国行政处罚法》第二十八条",
            "示范市市场监督管理局",
            "10",
            "general",
            "rule:SGS_FINE",
        ),
        # No basis given: the 处罚机关 names the domain (应急管理局 → 安全生产).
        ("", "示范市应急管理局", "12", "serious", "rule:SAFETY_FOOD_SEVERE_FINE"),
        # 安全生产 domain, but below the domain rule's threshold.
        (
            "《中华人民共和国安全生产法》第九十七条",
            "示范市应急管理局",
            "5",
            "general",
            "rule:SGS_FINE",
        ),
    ],
)
def test_double_publicity_penalty_is_graded_by_the_domain_its_content_names(
    session: Session,
    tmp_path: Path,
    basis: str,
    authority: str,
    fine: str,
    grade: str,
    source: str,
) -> None:
    dept = factories.department(session)
    number = factories.resident_id()
    row = factories.penalty_row(id_number=number, dept=dept)
    row.update({"处罚依据": basis, "处罚机关": authority, "罚款金额（万元）": fine})
    path = factories.write_csv(tmp_path / "处罚.csv", [row], encoding="gbk")

    result = ingest_file(session, ADMIN, path)

    assert result.accepted == 1, result.errors
    (record,) = records_of(session, number)
    assert (record.grade, record.grade_source) == (grade, source)


def test_minor_penalties_are_not_published_on_the_portal(
    session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dept = factories.department(session)
    warned, fined = factories.resident_id(), factories.resident_id()
    rows = [
        factories.penalty_row(name="郑警告", id_number=warned, dept=dept, category="警告"),
        factories.penalty_row(name="郑罚款", id_number=fined, dept=dept),
    ]
    ingest_file(session, ADMIN, factories.write_csv(tmp_path / "p.csv", rows, encoding="gbk"))
    assert records_of(session, warned)[0].grade == "minor"

    def names(keyword: str) -> list[str]:
        page = search_disclosures(
            session, protector_for(), category=Category.PENALTY, keyword=keyword
        )
        return [d.document_number for d in page.items]

    assert names("郑警告") == []  # SAMR Order 107: warnings are not displayed
    assert names("郑罚款") == [records_of(session, fined)[0].document_number]

    from xinyong.config import get_settings

    monkeypatch.setenv("XINYONG_PUBLISH_MINOR", "1")
    get_settings.cache_clear()
    try:
        assert names("郑警告") == [records_of(session, warned)[0].document_number]
    finally:
        monkeypatch.delenv("XINYONG_PUBLISH_MINOR")
        get_settings.cache_clear()


@pytest.fixture()
def one_penalty(session: Session) -> int:
    dept = factories.department(session)
    number = factories.resident_id()
    factories.submit_rows(session, [factories.penalty_row(id_number=number, dept=dept)])
    return records_of(session, number)[0].id


@given(
    state=st.sampled_from(["active", "disputed", "repaired", "revoked", "expired"]),
    grade=st.sampled_from([None, "minor", "general", "serious"]),
    open_level=st.sampled_from(["public", "government", "authorized"]),
    length=st.one_of(st.none(), st.integers(0, 800)),
    start=st.dates(min_value=dt.date(2024, 1, 1), max_value=dt.date(2026, 1, 1)),
    on=st.dates(min_value=dt.date(2023, 6, 1), max_value=dt.date(2028, 1, 1)),
    publish_minor=st.booleans(),
)
@settings(
    max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None
)
def test_sql_published_clause_agrees_with_visibility(
    session: Session,
    one_penalty: int,
    state: str,
    grade: str | None,
    open_level: str,
    length: int | None,
    start: dt.date,
    on: dt.date,
    publish_minor: bool,
) -> None:
    until = None if length is None else start + dt.timedelta(days=length)
    session.execute(
        update(Record)
        .where(Record.id == one_penalty)
        .values(
            state=state, grade=grade, open_level=open_level, display_from=start, display_until=until
        )
    )
    in_sql = session.scalar(
        select(Record.id).where(Record.id == one_penalty, published_clause(on, publish_minor))
    )
    rule = visibility(
        state=state,
        open_level=open_level,
        display_from=start,
        display_until=until,
        audience=Audience.PUBLIC,
        on=on,
        grade=grade,
        publish_minor=publish_minor,
    )
    assert (in_sql is not None) == rule.shown
