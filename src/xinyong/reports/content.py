"""What a credit report (信用报告) says, for one audience. Pure: plain data in, sections out.

The sections follow the order of national credit reports: 基本信息; 行政管理信息 (许可,
处罚); 严重失信主体名单; 信用承诺; 司法信息; 诚实守信 (荣誉, 红名单); 信用评价 (积分、分档、
理由); 其他. Whether a record appears is decided by :func:`records.display.visibility`
alone; names and numbers are masked by :mod:`identity.masking`. The PDF and the HTML are
both drawn from the :class:`ReportContent` built here, so they cannot say different things.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from zoneinfo import ZoneInfo

from xinyong.identity.masking import Audience, mask_id_number, mask_name
from xinyong.lists.kinds import LIST_NAMES, EntryStatus, ListKind
from xinyong.records.display import Visibility, visibility

SHANGHAI = ZoneInfo("Asia/Shanghai")  # issue times are shown in Beijing time

AUDIENCE_LABELS = {
    Audience.SELF: "本人版",
    Audience.AUTHORIZED: "授权查询版",
    Audience.PUBLIC: "社会公开版",
    Audience.GOVERNMENT: "政务共享版",
}

LIST_STATUS_LABELS = {
    EntryStatus.NOTIFIED: "已告知，陈述申辩期",
    EntryStatus.LISTED: "列入",
    EntryStatus.WITHDRAWN: "不予列入",
    EntryStatus.ENDED: "已移出",
}

# The score is computed from records of every open level; publishing the number would
# disclose records the public may not see. Its reasons are filtered record by record.
SCORE_AUDIENCES = frozenset({Audience.SELF, Audience.AUTHORIZED, Audience.GOVERNMENT})

# Information types (2024 基础目录 and local additions) → report section.
BASIC, ADMINISTRATIVE, SERIOUS, COMMITMENT, JUDICIAL, HONESTY, EVALUATION, OTHER = (
    "basic",
    "administrative",
    "serious",
    "commitment",
    "judicial",
    "honesty",
    "evaluation",
    "other",
)
SECTION_TITLES = {
    BASIC: "基本信息",
    ADMINISTRATIVE: "行政管理信息",
    SERIOUS: "严重失信主体名单",
    COMMITMENT: "信用承诺",
    JUDICIAL: "司法信息",
    HONESTY: "诚实守信信息",
    EVALUATION: "信用评价",
    OTHER: "其他信息",
}
SECTION_ORDER = (BASIC, ADMINISTRATIVE, SERIOUS, COMMITMENT, JUDICIAL, HONESTY, EVALUATION, OTHER)
SECTION_OF_INFO_TYPE = {
    "REGISTRATION": BASIC,
    "TITLE_PROFESSION": BASIC,
    "QUALIFICATION": BASIC,
    "ADMINISTRATIVE": ADMINISTRATIVE,
    "SERIOUS_DISHONEST_LIST": SERIOUS,
    "COMMITMENT": COMMITMENT,
    "JUDICIAL_RULING": JUDICIAL,
    "HONOUR": HONESTY,
    "COMMENDATION": HONESTY,
    "CREDIT_EVALUATION": EVALUATION,
}
# Subsections, in order; records of a section not named here go to its first subsection.
SUBSECTIONS = {
    BASIC: ("登记、资格与职业信息",),
    ADMINISTRATIVE: ("行政许可", "行政处罚", "其他行政管理信息"),
    SERIOUS: ("名单认定信息", "名单状态"),
    COMMITMENT: ("信用承诺及履行情况",),
    JUDICIAL: ("司法裁判及执行信息",),
    HONESTY: ("荣誉与表彰", "红名单"),
    EVALUATION: ("诚信积分", "行业信用评价结果"),
    OTHER: ("其他记录", "重点关注名单"),
}
_ADMINISTRATIVE_BY_FORMAT = {"sgs_license": "行政许可", "sgs_penalty": "行政处罚"}
_LIST_SUBSECTIONS = {
    ListKind.BLACK: (SERIOUS, "名单状态"),
    ListKind.RED: (HONESTY, "红名单"),
    ListKind.WATCH: (OTHER, "重点关注名单"),
}


@dataclass(frozen=True, slots=True)
class SubjectFact:
    kind: str  # person / organisation
    name: str
    id_type: str
    id_number: str  # in clear: masked here, for the audience
    birth_date: dt.date | None = None
    sex: str | None = None
    region_code: str | None = None


@dataclass(frozen=True, slots=True)
class RecordFact:
    id: int
    item_name: str
    info_type: str
    record_format: str
    nature: str
    document_number: str
    department: str
    decision_date: dt.date
    grade_name: str | None
    state: str
    open_level: str
    display_from: dt.date
    display_until: dt.date | None
    summary: str = ""
    grade: str | None = None
    publish_minor: bool = False  # settings.publish_minor when the report was made
    # individual_penalty_public(...) when the report was made (DOMAIN §17's setting)
    penalty_publishable: bool = True


@dataclass(frozen=True, slots=True)
class ListFact:
    list_kind: str
    status: str
    start_date: dt.date | None
    end_date: dt.date | None
    ended_on: dt.date | None
    reasons: str
    record: RecordFact | None  # the record the membership rests on


@dataclass(frozen=True, slots=True)
class ScoreFact:
    score: int
    band_name: str
    model: str
    reasons: tuple[tuple[int, str], ...]  # (record id, text), most important first


@dataclass(frozen=True, slots=True)
class ReportHeader:
    report_number: str
    verification_code: str
    issued_at: dt.datetime  # aware
    issuer: str
    audience: Audience
    purpose: str
    verify_url: str
    city: str
    # The authorized version names who asked and under which authorization.
    recipient: str | None = None  # 查询机构
    authorization_number: str | None = None  # 授权编号


@dataclass(frozen=True, slots=True)
class RecordLine:
    record_id: int
    item_name: str
    document_number: str
    department: str
    decision_date: dt.date
    grade_name: str | None
    state_label: str
    in_use: bool
    display_until: dt.date | None
    summary: str
    nature: str


@dataclass(frozen=True, slots=True)
class ListLine:
    list_name: str
    status_label: str
    start_date: dt.date | None
    end_date: dt.date | None
    reasons: str


@dataclass(frozen=True, slots=True)
class ScoreBlock:
    score: int
    band_name: str
    model: str
    reasons: tuple[str, ...]
    hidden_reasons: int  # reasons resting on records this audience may not see


@dataclass(slots=True)
class Subsection:
    title: str
    records: list[RecordLine] = field(default_factory=list)
    lists: list[ListLine] = field(default_factory=list)
    score: ScoreBlock | None = None
    note: str | None = None

    @property
    def empty(self) -> bool:
        return not (self.records or self.lists or self.score or self.note)


@dataclass(slots=True)
class Section:
    key: str
    number: str  # 一、二、…
    title: str
    subsections: list[Subsection]
    facts: list[tuple[str, str]] = field(default_factory=list)  # label/value pairs

    @property
    def count(self) -> int:
        return sum(len(s.records) + len(s.lists) for s in self.subsections)


@dataclass(frozen=True, slots=True)
class ReportContent:
    header: ReportHeader
    title: str
    audience_label: str
    subject_name: str
    subject_number: str
    sections: tuple[Section, ...]
    rights: tuple[str, ...]
    notes: tuple[str, ...]
    footer: str

    def text_lines(self) -> Iterable[str]:
        """Every piece of text the report shows (tests, search)."""
        yield self.title
        for section in self.sections:
            yield section.title
            for label, value in section.facts:
                yield f"{label} {value}"
            for sub in section.subsections:
                yield sub.title
                for r in sub.records:
                    yield f"{r.item_name} {r.document_number} {r.state_label} {r.summary}"
        yield from self.rights


_NUMERALS = "一二三四五六七八九十"
# A table row taller than a page cannot be laid out; long free texts are shortened.
MAX_CELL_CHARS = 300


def _short(text: str, limit: int = MAX_CELL_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _masked_subject(subject: SubjectFact, audience: Audience) -> tuple[str, str]:
    # Credit codes of organisations are public registration data (identity.masking).
    number = (
        subject.id_number
        if subject.kind == "organisation"
        else mask_id_number(subject.id_number, audience)
    )
    return mask_name(subject.name, audience), number


def public_mask(subject: SubjectFact) -> tuple[str, str]:
    """The subject as the verification page shows it to anyone holding the code."""
    return _masked_subject(subject, Audience.PUBLIC)


def _vis(record: RecordFact, audience: Audience, on: dt.date) -> Visibility:
    vis = visibility(
        state=record.state,
        open_level=record.open_level,
        display_from=record.display_from,
        display_until=record.display_until,
        audience=audience,
        on=on,
        grade=record.grade,
        publish_minor=record.publish_minor,
    )
    if audience is Audience.PUBLIC and not record.penalty_publishable:
        return replace(vis, shown=False)
    return vis


def _subsection_of(record: RecordFact, section: str) -> str:
    if section == ADMINISTRATIVE:
        return _ADMINISTRATIVE_BY_FORMAT.get(record.record_format, "其他行政管理信息")
    if section == EVALUATION:
        return "行业信用评价结果"
    return SUBSECTIONS[section][0]


def _basic_facts(
    subject: SubjectFact, audience: Audience, name: str, number: str
) -> list[tuple[str, str]]:
    facts = [("姓名" if subject.kind == "person" else "名称", name)]
    facts.append(("证件类型", subject.id_type))
    facts.append(("证件号码", number))
    # Birth date and sex are digits of the identity number, which masking hides from
    # everyone but the person.
    if audience is Audience.SELF and subject.kind == "person":
        if subject.birth_date:
            facts.append(("出生日期", f"{subject.birth_date:%Y年%m月%d日}"))
        if subject.sex:
            facts.append(("性别", "男" if subject.sex == "M" else "女"))
    if subject.region_code:
        facts.append(("行政区划代码", subject.region_code[:4] + "00"))
    return facts


def assemble(
    header: ReportHeader,
    subject: SubjectFact,
    records: Sequence[RecordFact],
    lists: Sequence[ListFact],
    score: ScoreFact | None,
    on: dt.date,
) -> ReportContent:
    """The report as ``header.audience`` may read it on ``on``."""
    audience = header.audience
    name, number = _masked_subject(subject, audience)
    subsections: dict[str, dict[str, Subsection]] = {
        key: {title: Subsection(title) for title in SUBSECTIONS[key]} for key in SECTION_ORDER
    }
    shown_ids: set[int] = set()
    hidden_state = False
    for record in sorted(records, key=lambda r: (r.decision_date, r.id), reverse=True):
        vis = _vis(record, audience, on)
        if not vis.shown:
            continue
        shown_ids.add(record.id)
        hidden_state = hidden_state or not vis.used
        section = SECTION_OF_INFO_TYPE.get(record.info_type, OTHER)
        subsections[section][_subsection_of(record, section)].records.append(
            RecordLine(
                record_id=record.id,
                item_name=_short(record.item_name, 100),
                document_number=_short(record.document_number, 100),
                department=_short(record.department, 100),
                decision_date=record.decision_date,
                grade_name=record.grade_name,
                state_label=vis.label,
                in_use=vis.used,
                display_until=record.display_until,
                summary=_short(record.summary),
                nature=record.nature,
            )
        )
    for entry in lists:
        kind = ListKind(entry.list_kind)
        status = EntryStatus(entry.status)
        if audience is not Audience.SELF:
            # Others see a membership in force, resting on a record they may see in use.
            if status is not EntryStatus.LISTED or entry.record is None:
                continue
            vis = _vis(entry.record, audience, on)
            if not (vis.shown and vis.used):
                continue
        section, title = _LIST_SUBSECTIONS[kind]
        subsections[section][title].lists.append(
            ListLine(
                list_name=LIST_NAMES[kind],
                status_label=LIST_STATUS_LABELS[status],
                start_date=entry.start_date,
                end_date=entry.ended_on or entry.end_date,
                reasons=_short(entry.reasons),
            )
        )
    score_sub = subsections[EVALUATION]["诚信积分"]
    if audience not in SCORE_AUDIENCES:
        score_sub.note = f"{AUDIENCE_LABELS[audience]}不提供诚信积分。"
    elif score is None:
        score_sub.note = "暂无诚信积分。"
    else:
        visible = tuple(text for rid, text in score.reasons if rid in shown_ids)
        score_sub.score = ScoreBlock(
            score=score.score,
            band_name=score.band_name,
            model=score.model,
            reasons=visible,
            hidden_reasons=len(score.reasons) - len(visible),
        )
    sections = [
        Section(
            key=key,
            number=_NUMERALS[index],
            title=SECTION_TITLES[key],
            subsections=list(subsections[key].values()),
            facts=_basic_facts(subject, audience, name, number) if key == BASIC else [],
        )
        for index, key in enumerate(SECTION_ORDER)
    ]
    title = "个人信用报告" if subject.kind == "person" else "法人和非法人组织信用报告"
    return ReportContent(
        header=header,
        title=title,
        audience_label=AUDIENCE_LABELS[audience],
        subject_name=name,
        subject_number=number,
        sections=tuple(sections),
        rights=_rights(header),
        notes=_notes(header, hidden_state),
        footer="信息主体对报告内容有异议的，可申请异议处理；符合条件的失信信息，可依法申请信用修复。",
    )


def cover_facts(header: ReportHeader) -> list[tuple[str, str]]:
    """The recipient and authorization lines of the cover, for the PDF and the HTML alike."""
    facts = []
    if header.recipient:
        facts.append(("查询机构", header.recipient))
    if header.authorization_number:
        facts.append(("授权编号", header.authorization_number))
    return facts


def _rights(header: ReportHeader) -> tuple[str, ...]:
    return (
        f"异议：信息主体认为本报告所列信息存在错误、遗漏的，可向{header.issuer}或信息提供单位"
        "提出异议申请；异议处理期间，相关信息标注“异议处理中”，不作为对其不利的依据。",
        "信用修复：符合条件的失信信息，可依照《信用修复管理办法》（国家发展改革委令第36号）"
        "在最短公示期满后申请信用修复；修复后相关信息不再公示、共享和使用。",
        "查询：信息主体可免费查询本人信用报告，并可查看本人信息被查询的记录。",
        f"核验：报告使用者可扫描二维码或访问 {header.verify_url} ，"
        "核对报告编号、出具时间、信息主体和报告文件的哈希值。",
    )


def _notes(header: ReportHeader, hidden_state: bool) -> tuple[str, ...]:
    notes = [
        f"本报告反映{header.issuer}截至出具时归集的公共信用信息，"
        "信息由各信息提供单位依法认定和报送。",
    ]
    if header.audience is not Audience.SELF:
        notes.append(
            f"本报告为{AUDIENCE_LABELS[header.audience]}，仅列示该版本依法可以提供的信息；"
            "公示期满、已修复、已撤销或异议处理中的信息不予列示。"
        )
    elif hidden_state:
        notes.append(
            "状态为公示期满、已修复、已撤销或异议处理中的信息仅向本人展示，"
            "不对外提供，也不作为惩戒依据。"
        )
    return tuple(notes)
