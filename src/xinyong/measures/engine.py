"""Which measures apply to a subject in a scenario, and why. Pure: plain facts in, decisions
out; no database.

The facts hold only what may be used (records in their display period and active; list
memberships in force), so disputed, repaired, expired and revoked records can never
trigger a punishment. A punishment marked 落实到人 also reaches the legal representative
and responsible persons of an organisation through the organisation's own facts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from xinyong.catalog.schemas import Grade, Measure
from xinyong.records.display import add_months

VERDICT_NAMES = {
    "blocked": "拦截",
    "restricted": "限制",
    "eased": "激励",
    "clear": "无措施",
}
EFFECT_NAMES = {
    "block": "拦截",
    "restrict": "限制",
    "scrutiny": "重点审查",
    "ease": "便利",
    "priority": "优先",
}


@dataclass(frozen=True, slots=True)
class RecordFact:
    record_id: int
    item_code: str
    item_name: str
    domain: str
    nature: str
    grade: str | None
    decision_date: dt.date
    document_number: str


@dataclass(frozen=True, slots=True)
class ListFact:
    entry_id: int
    list_kind: str
    reasons: str
    start_date: dt.date | None


@dataclass(frozen=True)
class SubjectFacts:
    subject_id: int
    name: str
    records: tuple[RecordFact, ...] = ()
    lists: tuple[ListFact, ...] = ()
    score: int | None = None
    last_negative: dt.date | None = None  # latest negative decision counting against them
    known_since: dt.date | None = None  # first record of any kind
    organisations: tuple[SubjectFacts, ...] = ()  # where they are 法定代表人/责任人


@dataclass(frozen=True, slots=True)
class Trigger:
    kind: str  # record, list, score, clean
    ref: int | None
    text: str
    via_organisation: str | None = None


@dataclass(frozen=True)
class Decision:
    measure: Measure
    triggers: tuple[Trigger, ...]


@dataclass(frozen=True)
class CheckOutcome:
    verdict: str
    decisions: tuple[Decision, ...] = field(default_factory=tuple)


def _grade_ok(fact: RecordFact, min_rank: int | None, grades: Mapping[str, Grade]) -> bool:
    if min_rank is None:
        return True
    grade = grades.get(fact.grade or "")
    return grade is not None and grade.rank >= min_rank


def _match(
    measure: Measure,
    facts: SubjectFacts,
    grades: Mapping[str, Grade],
    on: dt.date,
    via: str | None,
) -> list[Trigger]:
    """Triggers of ``measure`` in ``facts``; empty when a condition fails."""
    t = measure.trigger
    found: list[Trigger] = []
    if t.lists:
        entries = [entry for entry in facts.lists if entry.list_kind in t.lists]
        if not entries:
            return []
        found += [
            Trigger("list", e.entry_id, f"{LIST_TEXT[e.list_kind]}：{e.reasons}", via)
            for e in entries
        ]
    if t.min_grade or t.items:
        min_rank = grades[t.min_grade].rank if t.min_grade else None
        hits = [
            r
            for r in facts.records
            if (not t.items or r.item_code in t.items)
            and (not t.domains or r.domain in t.domains)
            and (min_rank is None or r.nature == "negative")
            and _grade_ok(r, min_rank, grades)
        ]
        if not hits:
            return []
        found += [
            Trigger(
                "record",
                r.record_id,
                f"{r.decision_date:%Y-%m-%d} {r.item_name}"
                + (
                    f"（{grades[r.grade].name}）"
                    if r.grade is not None and r.grade in grades
                    else ""
                )
                + f"，文书号 {r.document_number}",
                via,
            )
            for r in hits
        ]
    if t.score_min is not None or t.score_max is not None:
        if facts.score is None:
            return []
        if t.score_min is not None and facts.score < t.score_min:
            return []
        if t.score_max is not None and facts.score > t.score_max:
            return []
        found.append(Trigger("score", None, f"诚信积分 {facts.score}", via))
    if t.clean_years:
        since = add_months(on, -12 * t.clean_years)
        if facts.last_negative is not None and facts.last_negative > since:
            return []
        if facts.known_since is None or facts.known_since > since:
            return []
        found.append(Trigger("clean", None, f"连续 {t.clean_years} 年以上无不良信用记录", via))
    return found


LIST_TEXT = {"black": "列入严重失信主体名单", "red": "列入红名单", "watch": "列入重点关注名单"}


def decide(
    facts: SubjectFacts,
    scenario: str,
    measures: Iterable[Measure],
    grades: Mapping[str, Grade],
    on: dt.date,
) -> CheckOutcome:
    decisions: list[Decision] = []
    for measure in measures:
        if measure.scenarios and scenario not in measure.scenarios:
            continue
        triggers = _match(measure, facts, grades, on, None)
        if measure.kind == "punishment" and measure.reaches_responsible_persons:
            for org in facts.organisations:
                triggers += _match(measure, org, grades, on, org.name)
        if triggers:
            decisions.append(Decision(measure, tuple(triggers)))
    return CheckOutcome(verdict_of(decisions), tuple(decisions))


def verdict_of(decisions: Iterable[Decision]) -> str:
    effects = {d.measure.effect for d in decisions}
    if "block" in effects:
        return "blocked"
    if effects & {"restrict", "scrutiny"}:
        return "restricted"
    if effects & {"ease", "priority"}:
        return "eased"
    return "clear"
