"""Fidelity on real data (issue 16): files as departments really send them, on a database."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import openpyxl
import xlsxwriter
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests import factories
from xinyong.actors import cli_operator
from xinyong.cli.main import app as cli
from xinyong.db import utcnow
from xinyong.identity.protection import protector_for
from xinyong.records.models import Record, SubmissionBatch, SubmissionError
from xinyong.subjects.models import Subject, SubjectAlias, SubjectLink
from xinyong.subjects.services import find_subject
from xinyong.submissions.ingest import STALE_BATCH_MINUTES, ingest_file

ADMIN = cli_operator("test")


def fifteen(number: str) -> str:
    """The pre-1999 15-digit form of an 18-digit number of someone born in the 1900s."""
    return number[:6] + number[8:17]


def records_of(session: Session, subject: Subject) -> list[Record]:
    return list(session.scalars(select(Record).where(Record.subject_id == subject.id)))


# -- 1. social security card and other documents -----------------------------------------


def test_social_security_card_joins_the_persons_archive(session: Session, tmp_path: Path) -> None:
    dept = factories.department(session)
    number = factories.resident_id()
    rows = [
        factories.penalty_row(name="王芳", id_number=number, dept=dept),
        factories.penalty_row(name="王芳", id_number=number, dept=dept, 证件类型="社会保障卡"),
    ]
    result = ingest_file(session, ADMIN, factories.write_csv(tmp_path / "s.csv", rows, "gbk"))
    assert (result.accepted, result.rejected) == (2, 0)
    assert session.scalar(select(func.count()).select_from(Subject)) == 1
    person = find_subject(session, protector_for(), number)
    assert person is not None and len(records_of(session, person)) == 2
    assert find_subject(session, protector_for(), number, "社会保障卡") == person


def test_passport_beside_the_identity_number_becomes_an_alias_of_the_person(
    session: Session, tmp_path: Path
) -> None:
    dept = factories.department(session)
    number = factories.resident_id()
    both = factories.generic_row(
        "SGS_LICENSE", session=session, id_number="E12345678", name="陈晨", 证件类型="护照",
        身份证号=number, 部门代码=dept.code,
    )  # fmt: skip
    later = factories.generic_row(
        "SGS_LICENSE", session=session, id_number="E12345678", name="陈晨", 证件类型="护照",
        部门代码=dept.code,
    )  # fmt: skip
    path = tmp_path / "a.jsonl"
    path.write_text(
        "\n".join(json.dumps(r, ensure_ascii=False) for r in (both,)) + "\n", encoding="utf-8"
    )
    assert ingest_file(session, ADMIN, path).accepted == 1
    second = tmp_path / "b.jsonl"
    second.write_text(json.dumps(later, ensure_ascii=False) + "\n", encoding="utf-8")
    assert ingest_file(session, ADMIN, second).accepted == 1

    protector = protector_for()
    person = find_subject(session, protector, number)
    assert person is not None and person.id_type == "身份证"
    assert find_subject(session, protector, "E12345678", "护照") == person
    assert len(records_of(session, person)) == 2  # the passport-only row found the person
    alias = session.scalars(select(SubjectAlias)).one()
    assert alias.subject_id == person.id and alias.id_type == "护照"
    assert b"E12345678" not in alias.id_cipher and "E12345678" not in alias.id_index
    assert protector.decrypt(alias.id_cipher, alias.id_index) == "E12345678"
    assert session.scalar(select(func.count()).select_from(Subject)) == 1

    # The same passport beside someone else's number: filed by that number, and said.
    other = factories.resident_id()
    third = dict(both, 身份证号=other, 姓名="陈辰", 文书号="许〔2026〕77号")
    path3 = tmp_path / "c.jsonl"
    path3.write_text(json.dumps(third, ensure_ascii=False) + "\n", encoding="utf-8")
    result = ingest_file(session, ADMIN, path3)
    assert result.accepted == 1
    assert [n.code for n in result.notes] == ["alias_of_another"]
    assert find_subject(session, protector, "E12345678", "护照") == person
    assert find_subject(session, protector, other) is not None


# -- 2. 15-digit identity numbers -------------------------------------------------------


def test_fifteen_digit_number_is_stored_as_eighteen_with_a_note(
    session: Session, tmp_path: Path
) -> None:
    dept = factories.department(session)
    number = factories.resident_id(birth=dt.date(1965, 3, 9))
    rows = [
        factories.penalty_row(name="刘强", id_number=number, dept=dept),
        factories.penalty_row(name="刘强", id_number=fifteen(number), dept=dept),
    ]
    result = ingest_file(session, ADMIN, factories.write_csv(tmp_path / "o.csv", rows, "gbk"))
    assert (result.accepted, result.rejected) == (2, 0)
    assert session.scalar(select(func.count()).select_from(Subject)) == 1
    person = find_subject(session, protector_for(), fifteen(number))
    assert person is not None and len(records_of(session, person)) == 2
    assert protector_for().decrypt(person.id_cipher, person.id_index) == number
    notes = result.as_dict()["notes"]
    assert [(n["row"], n["code"]) for n in notes] == [(3, "id_converted")]
    assert "已由 15 位号码转换" in notes[0]["message"] and notes[0]["column"] == "证件号码"
    assert fifteen(number) not in json.dumps(result.as_dict(), ensure_ascii=False)


# -- 6. minimum age ---------------------------------------------------------------------


def test_minor_gets_no_student_record(session: Session, tmp_path: Path) -> None:
    dept = factories.department(session, name="市教育考试院")
    minor = factories.resident_id(birth=dt.date(2010, 4, 1))
    adult = factories.resident_id(birth=dt.date(2000, 4, 1))
    rows = [
        factories.generic_row("EXAM_CHEATING", session=session, id_number=n, 部门代码=dept.code)
        for n in (minor, adult)
    ]
    result = ingest_file(session, ADMIN, factories.write_csv(tmp_path / "e.csv", rows, "gbk"))
    assert (result.accepted, result.rejected) == (1, 1)
    error = result.errors[0]
    assert (error.row, error.code, error.column) == (2, "under_age", "证件号码")
    assert "未满 18 周岁" in error.message and minor not in (error.value or "")
    assert find_subject(session, protector_for(), minor) is None


# -- 7. licences ------------------------------------------------------------------------


def test_licence_is_shown_for_its_validity(session: Session, tmp_path: Path) -> None:
    dept = factories.department(session)
    decided = dt.date.today() - dt.timedelta(days=30)
    row = factories.generic_row(
        "SGS_LICENSE", session=session, decided=decided.isoformat(), 部门代码=dept.code,
        有效期自=decided.isoformat(), 有效期至="2031-06-30",
    )  # fmt: skip
    wrong = dict(row, 文书号="许〔2026〕9号", 有效期至="2020-01-01")
    result = ingest_file(session, ADMIN, factories.write_csv(tmp_path / "l.csv", [row, wrong]))
    assert (result.accepted, result.rejected) == (1, 1)
    assert (result.errors[0].column, result.errors[0].code) == ("有效期至", "invalid_period")
    record = session.scalars(select(Record)).one()
    assert (record.display_from, record.display_until) == (decided, dt.date(2031, 6, 30))


# -- 8. the earlier 双公示 generation -----------------------------------------------------

LEGACY_HEADERS = [
    "行政处罚决定书文号", "案件名称", "处罚类别1", "处罚类别2", "处罚事由", "处罚依据",
    "行政相对人名称", "行政相对人代码_1(统一社会信用代码)", "行政相对人代码_2(组织机构代码)",
    "行政相对人代码_3(工商登记码)", "行政相对人代码_4(税务登记号)",
    "行政相对人代码_5(居民身份证号)", "法定代表人姓名", "处罚结果", "处罚决定日期", "处罚机关",
    "当前状态", "地方编码", "数据更新时间戳", "备注",
]  # fmt: skip


def test_earlier_sgs_generation_is_read_without_flags(session: Session, tmp_path: Path) -> None:
    dept = factories.department(session)
    number = factories.resident_id()
    org = factories.credit_code_for(777_001)
    person_row = dict.fromkeys(LEGACY_HEADERS, "")
    person_row.update({
        "行政处罚决定书文号": "旧罚〔2025〕1号", "案件名称": "无照经营案", "处罚类别1": "罚款",
        "处罚类别2": "警告", "处罚事由": "未取得营业执照从事经营", "行政相对人名称": "赵敏",
        "行政相对人代码_5(居民身份证号)": number, "处罚结果": "罚款五千元",
        "处罚决定日期": factories.RECENT, "处罚机关": "测试局", "当前状态": "正常",
    })  # fmt: skip
    org_row = dict(person_row, **{
        "行政处罚决定书文号": "旧罚〔2025〕2号", "行政相对人名称": "示范贸易有限公司",
        "行政相对人代码_1(统一社会信用代码)": org, "行政相对人代码_2(组织机构代码)": "12345678-9",
        "行政相对人代码_3(工商登记码)": "430100000012345", "行政相对人代码_4(税务登记号)": "430100123456789",
        "行政相对人代码_5(居民身份证号)": "", "处罚类别2": "",
    })  # fmt: skip
    path = factories.write_csv(tmp_path / "旧.csv", [person_row, org_row], "gbk", LEGACY_HEADERS)

    result = ingest_file(session, ADMIN, path, department_code=dept.code)

    assert result.record_format == "sgs_penalty", result.as_dict()
    assert (result.accepted, result.rejected) == (2, 0), result.as_dict()
    assert result.ignored_columns == []
    person = find_subject(session, protector_for(), number)
    assert person is not None and person.name == "赵敏"
    (record,) = records_of(session, person)
    assert record.facts["penalty_category"] == ["罚款", "警告"]
    assert record.facts["facts"] == "未取得营业执照从事经营"
    assert record.facts["penalty_content"] == "罚款五千元"
    assert record.facts["behaviour_type"] == "无照经营案"
    company = find_subject(session, protector_for(), org, "统一社会信用代码")
    assert company is not None
    (org_record,) = records_of(session, company)
    assert org_record.facts["organisation_code"] == "12345678-9"
    assert org_record.facts["registration_number"] == "430100000012345"
    assert org_record.facts["tax_registration_number"] == "430100123456789"


# -- 9. JSON Lines keys after line 1 ------------------------------------------------------


def test_jsonl_keys_first_seen_after_line_one_are_read(session: Session, tmp_path: Path) -> None:
    dept = factories.department(session)
    first = factories.penalty_row(dept=dept)
    second = dict(factories.penalty_row(dept=dept), 失信等级="严重", 来源系统="执法平台")
    path = tmp_path / "p.jsonl"
    path.write_text(
        "\n".join(json.dumps(r, ensure_ascii=False) for r in (first, second)) + "\n",
        encoding="utf-8",
    )
    result = ingest_file(session, ADMIN, path)
    assert result.accepted == 2
    assert result.ignored_columns == ["来源系统"]
    grades = {r.row_number: r.grade for r in session.scalars(select(Record))}
    assert grades[2] == "serious" and grades[1] != "serious"


# -- 10. every error of a row, under its Chinese header --------------------------------


def test_every_error_of_a_row_is_reported_with_its_chinese_header(
    session: Session, tmp_path: Path
) -> None:
    factories.department(session)
    row = factories.penalty_row(
        id_number="110105194912310021",
        decided="2024年13月1日",
        **{
            "数据来源单位统一社会信用代码": factories.credit_code_for(999_999),
            "处罚类别": "打板子",
        },
    )
    result = ingest_file(session, ADMIN, factories.write_csv(tmp_path / "m.csv", [row], "gbk"))
    assert (result.accepted, result.rejected) == (0, 1)
    found = {(e.row, e.column, e.code) for e in result.errors}
    assert found == {
        (2, "数据来源单位统一社会信用代码", "unknown_department"),
        (2, "证件号码", "id_checksum"),
        (2, "处罚决定日期", "invalid_date"),
        (2, "处罚类别", "invalid_choice"),
    }
    stored = session.scalars(
        select(SubmissionError).where(SubmissionError.batch_id == result.batch_id)
    ).all()
    assert len(stored) == 4 and {e.column for e in stored} >= {"数据来源单位统一社会信用代码"}
    assert "department_credit_code" not in json.dumps(result.as_dict(), ensure_ascii=False)


# -- 11. an identity number Excel stored as a number -----------------------------------


def test_identity_number_stored_by_excel_as_a_number_says_so(
    session: Session, tmp_path: Path
) -> None:
    dept = factories.department(session)
    # A number Excel could take as a number: no X check character.
    number = next(n for n in (factories.resident_id() for _ in range(100)) if n.isdigit())
    row = factories.penalty_row(dept=dept, id_number=number)
    headers = list(row)
    path = tmp_path / "数字.xlsx"
    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet()
    sheet.write_row(0, 0, headers)
    for col, header in enumerate(headers):
        if header == "证件号码":
            sheet.write_number(1, col, float(row[header]))  # what Excel does to 18 digits
        else:
            sheet.write_string(1, col, row[header])
    workbook.close()
    result = ingest_file(session, ADMIN, path)
    assert result.rejected == 1
    error = result.errors[0]
    assert (error.column, error.code) == ("证件号码", "excel_number")
    assert error.message == "证件号码被 Excel 存为数字，已丢失位数，请将该列设为文本"

    # The same sheet saved by Excel as CSV: the cell as Excel showed it, 1.10105E+17.
    shown = dict(row, 证件号码=f"{float(row['证件号码']):.5E}")
    csv_result = ingest_file(
        session, ADMIN, factories.write_csv(tmp_path / "e.csv", [shown], "gbk")
    )
    assert [(e.column, e.code) for e in csv_result.errors] == [("证件号码", "excel_number")]
    assert csv_result.errors[0].message == error.message


# -- 12. who may submit what ------------------------------------------------------------


def test_department_submits_only_the_items_it_provides(session: Session, tmp_path: Path) -> None:
    market = factories.department(session, name="示范市市场监督管理局")
    police = factories.department(session, name="示范市公安局")
    rows = [
        factories.generic_row("TELECOM_FRAUD", session=session, 部门代码=market.code),
        factories.generic_row("TELECOM_FRAUD", session=session, 部门代码=police.code),
    ]
    result = ingest_file(session, ADMIN, factories.write_csv(tmp_path / "t.csv", rows, "gbk"))
    assert (result.accepted, result.rejected) == (1, 1)
    error = result.errors[0]
    assert (error.row, error.code, error.column) == (2, "not_provider", "目录项")
    assert "示范市市场监督管理局不是目录项" in error.message and "市公安局" in error.message
    assert session.scalars(select(Record)).one().department_id == police.id


def test_a_department_the_catalog_names_nowhere_submits_only_what_a_class_admits(
    session: Session, tmp_path: Path
) -> None:
    # A newly registered office: no catalog item names it as a provider.
    office = factories.department(session, code="SJZY", name="示范市数据资源局")
    fraud, enforced = factories.resident_id(), factories.resident_id()
    rows = [
        factories.generic_row("TELECOM_FRAUD", session=session, id_number=fraud),
        # 各行政执法部门: a class of providers that admits every department.
        factories.generic_row("ADMIN_ENFORCEMENT", session=session, id_number=enforced),
    ]
    for row in rows:
        row["部门代码"] = office.code
    headers = list(dict.fromkeys(h for row in rows for h in row))
    path = factories.write_csv(tmp_path / "报送.csv", rows, "gbk", headers)

    result = ingest_file(session, ADMIN, path)

    assert (result.accepted, result.rejected) == (1, 1)
    (error,) = result.errors
    assert (error.row, error.code, error.column, error.value) == (
        2,  # the file's line: the headers are line 1
        "not_provider",
        "目录项",
        "TELECOM_FRAUD",
    )
    assert error.message == (
        "示范市数据资源局不是目录项“电信诈骗”的提供单位（目录规定由市公安局报送），不能报送该项"
    )
    (record,) = session.scalars(select(Record))
    assert (record.item_code, record.department_id) == ("ADMIN_ENFORCEMENT", office.id)
    assert find_subject(session, protector_for(), fraud) is None
    # Its 双公示 penalties (各行政执法部门) are accepted as well, in the national format.
    penalty = factories.penalty_row(dept=office)
    sgs = ingest_file(session, ADMIN, factories.write_csv(tmp_path / "罚.csv", [penalty], "gbk"))
    assert (sgs.accepted, sgs.rejected) == (1, 0)


# -- 15. a killed import ----------------------------------------------------------------


def test_killed_import_is_marked_interrupted_at_the_next_import_and_by_expire(
    session: Session, tmp_path: Path
) -> None:
    dept = factories.department(session)
    long_ago = utcnow() - dt.timedelta(minutes=STALE_BATCH_MINUTES + 5)
    killed = SubmissionBatch(
        submitted_by="cli:test", channel="cli", started_at=long_ago, heartbeat_at=long_ago
    )
    alive = SubmissionBatch(submitted_by="cli:test", channel="cli", heartbeat_at=utcnow())
    session.add_all([killed, alive])
    session.flush()
    ingest_file(session, ADMIN, factories.write_csv(tmp_path / "n.csv", [factories.penalty_row(dept=dept)]))  # fmt: skip
    assert (killed.status, alive.status) == ("interrupted", "running")
    assert killed.finished_at is not None

    again = SubmissionBatch(submitted_by="cli:test", channel="cli", started_at=long_ago)
    session.add(again)
    session.commit()
    outcome = CliRunner().invoke(cli, ["expire"])
    assert outcome.exit_code == 0, outcome.output
    assert "中断" in outcome.output
    session.expire_all()
    assert session.get(SubmissionBatch, again.id).status == "interrupted"  # type: ignore[union-attr]


# -- 16. names ----------------------------------------------------------------------------


def test_a_different_name_for_the_same_number_is_flagged(session: Session, tmp_path: Path) -> None:
    dept = factories.department(session)
    number = factories.resident_id()
    ingest_file(session, ADMIN, factories.write_csv(tmp_path / "a.csv", [factories.penalty_row(name="诸葛亮", id_number=number, dept=dept)]))  # fmt: skip
    result = ingest_file(session, ADMIN, factories.write_csv(tmp_path / "b.csv", [factories.penalty_row(name="诸葛良", id_number=number, dept=dept)]))  # fmt: skip
    assert (result.accepted, result.rejected) == (1, 0)
    (note,) = result.as_dict()["notes"]
    assert (note["row"], note["code"], note["column"]) == (2, "name_mismatch", "行政相对人名称")
    assert "诸葛*" in note["message"] and "诸葛良" not in note["message"]
    person = find_subject(session, protector_for(), number)
    assert person is not None and person.name == "诸葛亮"


def test_sole_trader_without_credit_code_is_filed_under_its_operator(
    session: Session, tmp_path: Path
) -> None:
    dept = factories.department(session)
    number = factories.resident_id()
    row = factories.penalty_row(name="老王烧烤店", id_number=number, dept=dept)
    row.update({"行政相对人类别": "个体工商户", "法定代表人": "王建国"})
    nameless = dict(row, 法定代表人="", 行政处罚决定书文号="测罚〔2025〕99号")
    path = tmp_path / "个体.xlsx"
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(list(row))
    for values in (row, nameless):
        sheet.append(list(values.values()))
    workbook.save(path)

    result = ingest_file(session, ADMIN, path)

    assert (result.accepted, result.rejected) == (1, 1)
    assert (result.errors[0].row, result.errors[0].column) == (3, "法定代表人")
    operator = find_subject(session, protector_for(), number)
    assert operator is not None and operator.name == "王建国" and operator.kind == "person"
    (record,) = records_of(session, operator)
    assert record.facts["sole_trader_name"] == "老王烧烤店"
    assert session.scalar(select(func.count()).select_from(SubjectLink)) == 0


class _PassportKnowingVerifier:
    """A verifier whose source (电子社保卡, say) also returns the person's passport."""

    def __init__(self, passport: str) -> None:
        self.passport = passport

    def verify(self, session: Session, protector: object, id_number: str, name: str) -> bool:
        return name == "何静"

    def other_documents(
        self, session: Session, protector: object, id_number: str
    ) -> list[tuple[str, str]]:
        return [("护照", self.passport), ("港澳台居民居住证", "830000199001010015")]


def test_real_name_verification_carrying_a_passport_links_it(session: Session) -> None:
    from xinyong.accounts.services import register_person

    number = factories.resident_id()
    protector = protector_for()
    user = register_person(
        session, protector, id_number=number, name="何静", username="hejing",
        password="Xinyong-Strong-2026!", verifier=_PassportKnowingVerifier("G12345678"),
    )  # fmt: skip
    person = find_subject(session, protector, number)
    assert person is not None and user.subject_id == person.id
    assert find_subject(session, protector, "G12345678", "护照") == person
    assert find_subject(session, protector, "830000199001010015", "港澳台居民居住证") == person
    aliases = session.scalars(select(SubjectAlias)).all()
    assert {a.id_type for a in aliases} == {"护照", "港澳台居民居住证"}
    assert all(b"G12345678" not in a.id_cipher for a in aliases)
