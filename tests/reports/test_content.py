"""Report content is pure: sections in order, masking and visibility per audience."""

from __future__ import annotations

import datetime as dt

from xinyong.identity.masking import Audience
from xinyong.reports.content import (
    SECTION_ORDER,
    SECTION_TITLES,
    ListFact,
    RecordFact,
    ReportContent,
    ReportHeader,
    ScoreFact,
    SubjectFact,
    assemble,
)

TODAY = dt.date(2026, 11, 23)
NUMBER = "430102199005170017"
PERSON = SubjectFact("person", "欧阳娜娜", "身份证", NUMBER, dt.date(1990, 5, 17), "F", "430102")


def header(audience: Audience) -> ReportHeader:
    return ReportHeader(
        report_number="XY20261123000001",
        verification_code="ABCDEFGHIJKLMNOP",
        issued_at=dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC),
        issuer="示范市公共信用信息平台",
        audience=audience,
        purpose="测试",
        verify_url="http://127.0.0.1:8000/reports/verify/ABCDEFGHIJKLMNOP",
        city="示范市",
    )


def record(
    rid: int,
    item: str,
    info_type: str,
    *,
    open_level: str = "public",
    state: str = "active",
    nature: str = "negative",
    record_format: str = "generic",
    decided: dt.date = dt.date(2026, 6, 1),
    until: dt.date | None = dt.date(2027, 5, 31),
) -> RecordFact:
    return RecordFact(
        id=rid,
        item_name=item,
        info_type=info_type,
        record_format=record_format,
        nature=nature,
        document_number=f"文〔2026〕{rid:03d}号",
        department="市场监管局",
        decision_date=decided,
        grade_name="一般" if nature == "negative" else None,
        state=state,
        open_level=open_level,
        display_from=decided,
        display_until=until,
        summary=f"摘要{rid}",
    )


RECORDS = [
    record(
        1, "行政许可（双公示）", "ADMINISTRATIVE", nature="neutral", record_format="sgs_license"
    ),
    record(2, "行政处罚（双公示）", "ADMINISTRATIVE", record_format="sgs_penalty"),
    record(3, "失信被执行人", "SERIOUS_DISHONEST_LIST"),
    record(4, "信用承诺", "COMMITMENT", nature="neutral"),
    record(5, "刑事判决", "JUDICIAL_RULING", open_level="government"),
    record(6, "诚信道德模范", "HONOUR", nature="positive"),
    record(7, "信用评价结果", "CREDIT_EVALUATION", nature="neutral", open_level="government"),
    record(8, "合同违约", "CONTRACT", open_level="authorized"),
    record(9, "执业注册信息", "TITLE_PROFESSION", nature="neutral"),
    record(
        10, "行政处罚（双公示）", "ADMINISTRATIVE", record_format="sgs_penalty", state="repaired"
    ),
    record(
        11, "行政处罚（双公示）", "ADMINISTRATIVE", record_format="sgs_penalty", state="disputed"
    ),
    record(
        12,
        "行政处罚（双公示）",
        "ADMINISTRATIVE",
        record_format="sgs_penalty",
        decided=dt.date(2024, 1, 1),
        until=dt.date(2025, 1, 1),
    ),
]
LISTS = [
    ListFact(
        "black",
        "listed",
        dt.date(2026, 6, 1),
        dt.date(2029, 5, 31),
        None,
        "失信被执行人",
        RECORDS[2],
    ),
    ListFact("red", "listed", dt.date(2026, 6, 1), None, None, "诚信道德模范", RECORDS[5]),
    ListFact(
        "black", "ended", dt.date(2026, 6, 1), None, dt.date(2026, 7, 1), "已修复", RECORDS[9]
    ),
]
SCORE = ScoreFact(
    score=910,
    band_name="良好",
    model="默认模型",
    reasons=((2, "行政处罚，扣 30 分"), (5, "刑事判决，扣 60 分"), (6, "道德模范，加 20 分")),
)


def build(audience: Audience) -> ReportContent:
    return assemble(header(audience), PERSON, RECORDS, LISTS, SCORE, TODAY)


def documents(content: ReportContent) -> set[str]:
    return {
        line.document_number
        for section in content.sections
        for sub in section.subsections
        for line in sub.records
    }


def section(content: ReportContent, key: str) -> dict[str, list[str]]:
    [found] = [s for s in content.sections if s.key == key]
    return {sub.title: [r.document_number for r in sub.records] for sub in found.subsections}


def test_sections_follow_the_national_report_order() -> None:
    content = build(Audience.SELF)
    assert [s.title for s in content.sections] == [
        "基本信息",
        "行政管理信息",
        "严重失信主体名单",
        "信用承诺",
        "司法信息",
        "诚实守信信息",
        "信用评价",
        "其他信息",
    ]
    assert [s.key for s in content.sections] == list(SECTION_ORDER)
    assert [s.number for s in content.sections][:3] == ["一", "二", "三"]
    assert set(SECTION_TITLES) == set(SECTION_ORDER)
    admin = section(content, "administrative")
    assert admin["行政许可"] == ["文〔2026〕001号"]
    assert "文〔2026〕002号" in admin["行政处罚"]
    assert section(content, "serious")["名单认定信息"] == ["文〔2026〕003号"]
    assert section(content, "judicial")["司法裁判及执行信息"] == ["文〔2026〕005号"]
    assert section(content, "honesty")["荣誉与表彰"] == ["文〔2026〕006号"]
    assert section(content, "other")["其他记录"] == ["文〔2026〕008号"]
    assert section(content, "basic")["登记、资格与职业信息"] == ["文〔2026〕009号"]


def test_the_person_sees_everything_with_its_state() -> None:
    content = build(Audience.SELF)
    assert documents(content) == {r.document_number for r in RECORDS}
    assert (content.subject_name, content.subject_number) == ("欧阳娜娜", NUMBER)
    labels = {
        line.document_number: (line.state_label, line.in_use)
        for s in content.sections
        for sub in s.subsections
        for line in sub.records
    }
    assert labels["文〔2026〕010号"] == ("已修复", False)
    assert labels["文〔2026〕011号"] == ("异议处理中", False)
    assert labels["文〔2026〕012号"] == ("公示期满", False)
    assert labels["文〔2026〕002号"] == ("有效", True)
    basic = dict(content.sections[0].facts)
    assert basic["出生日期"] == "1990年05月17日" and basic["性别"] == "女"
    # The ended black-list membership is the person's history: shown, as ended.
    statuses = [line.status_label for line in content.sections[2].subsections[1].lists]
    assert sorted(statuses) == ["列入", "已移出"]
    [score] = [sub.score for sub in content.sections[6].subsections if sub.score]
    assert score.score == 910 and len(score.reasons) == 3 and score.hidden_reasons == 0


def test_public_report_shows_only_public_records_in_use_and_masks_the_person() -> None:
    content = build(Audience.PUBLIC)
    assert documents(content) == {f"文〔2026〕{n:03d}号" for n in (1, 2, 3, 4, 6, 9)}
    assert (content.subject_name, content.subject_number) == ("欧阳**", "4301**********0017")
    basic = dict(content.sections[0].facts)
    assert "出生日期" not in basic and "性别" not in basic
    text = "\n".join(content.text_lines())
    assert NUMBER not in text and "欧阳娜娜" not in text
    # No score: it is computed from records the public may not see.
    [score_sub] = [s for s in content.sections[6].subsections if s.title == "诚信积分"]
    assert score_sub.score is None and score_sub.note and "不提供诚信积分" in score_sub.note
    # Only memberships in force resting on a record the public sees.
    black = content.sections[2].subsections[1].lists
    assert [(b.list_name, b.status_label) for b in black] == [("严重失信主体名单", "列入")]


def test_authorized_report_adds_authorized_records_and_filters_score_reasons() -> None:
    content = build(Audience.AUTHORIZED)
    assert documents(content) == {f"文〔2026〕{n:03d}号" for n in (1, 2, 3, 4, 6, 8, 9)}
    assert content.subject_number == "4301**********0017"
    [score] = [sub.score for sub in content.sections[6].subsections if sub.score]
    # The 刑事判决 (government only) moved the score, but is not named to the institution.
    assert score.reasons == ("行政处罚，扣 30 分", "道德模范，加 20 分")
    assert score.hidden_reasons == 1


def test_empty_archive_still_has_every_section() -> None:
    content = assemble(header(Audience.PUBLIC), PERSON, [], [], None, TODAY)
    assert len(content.sections) == 8
    assert all(sub.empty or sub.note for s in content.sections for sub in s.subsections)


def test_rights_and_footer_name_objection_and_repair() -> None:
    content = build(Audience.PUBLIC)
    rights = "\n".join(content.rights)
    assert "异议" in rights and "信用修复" in rights and "第36号" in rights
    assert "异议" in content.footer and "信用修复" in content.footer


def test_hostile_and_very_long_texts_render(tmp_path: object) -> None:
    """Markup is text, not markup; a 5,000-character reason does not break the layout."""
    from dataclasses import replace

    from xinyong.reports.html import render_html
    from xinyong.reports.pdf import render_pdf

    nasty = '<script>alert("x")</script> & <b>粗体</b> '
    records = [
        replace(
            r,
            item_name=nasty + r.item_name,
            document_number=nasty + "文" * 190,
            summary=nasty * 40,
        )
        for r in RECORDS
    ]
    lists = [replace(entry, reasons="理由" * 2500) for entry in LISTS]
    content = assemble(header(Audience.SELF), PERSON, records, lists, SCORE, TODAY)
    pdf = render_pdf(content)
    assert pdf.startswith(b"%PDF") and b"%%EOF" in pdf[-32:]
    html = render_html(content).decode()
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert (
        max(
            len(line.reasons)
            for s in content.sections
            for sub in s.subsections
            for line in sub.lists
        )
        <= 300
    )
