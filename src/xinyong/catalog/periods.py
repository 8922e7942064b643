"""The display periods a catalog may state (国家发展改革委令第36号, and the city profile's
widening): checked by ``catalog load`` before a catalog is stored. Pure.

The periods of a record itself (its display window) are :mod:`xinyong.records.display`,
which re-exports these.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from xinyong.catalog.schemas import Grade, InformationItem

CHANGSHA_NEGATIVE_MONTHS = 36


@dataclass(frozen=True, slots=True)
class PeriodBounds:
    min_months: int
    max_months: int


# 国家发展改革委令第36号 (in force 2026-04-01): how long a negative record of each grade may
# be shown. A catalog may set shorter periods within them, never longer or shorter ones.
NATIONAL_PERIOD_BOUNDS = {
    "minor": PeriodBounds(0, 3),
    "general": PeriodBounds(3, 12),
    "serious": PeriodBounds(12, 36),
}
# A grade the national rules do not name (a city's own) stays within their widest span.
NATIONAL_SPAN = PeriodBounds(0, 36)


def permitted_bounds(grade_code: str, profile: str = "national") -> PeriodBounds:
    """The display periods a catalog may give a grade under the rule profile.

    The Changsha profile widens every grade to its three years (长政办发〔2017〕62号 §(十))."""
    bounds = NATIONAL_PERIOD_BOUNDS.get(grade_code, NATIONAL_SPAN)
    if profile == "changsha":
        return PeriodBounds(bounds.min_months, max(bounds.max_months, CHANGSHA_NEGATIVE_MONTHS))
    return bounds


def period_problems(
    grades: Mapping[str, Grade], items: Iterable[InformationItem], profile: str = "national"
) -> list[tuple[str, str, str]]:
    """(section, code, message) of every grade and item period outside the permitted bounds."""
    problems: list[tuple[str, str, str]] = []

    def check(section: str, code: str, what: str, grade: str, low: int, high: int) -> None:
        allowed = permitted_bounds(grade, profile)
        name = grades[grade].name if grade in grades else grade
        rule = (
            f"（{name}：{allowed.min_months}–{allowed.max_months} 个月，"
            "国家发展改革委令第36号"
            + ("，长沙规则放宽至 36 个月" if profile == "changsha" else "")
            + "）"
        )
        if high > allowed.max_months:
            problems.append(
                (section, code, f"{what}{name}等级的最长公示期限 {high} 个月超出上限{rule}")
            )
        if low < allowed.min_months:
            problems.append(
                (section, code, f"{what}{name}等级的最短公示期限 {low} 个月低于下限{rule}")
            )

    for grade in grades.values():
        check(
            "grades",
            grade.code,
            f"等级 {grade.code} ",
            grade.code,
            grade.min_months,
            grade.max_months,
        )
    for item in items:
        for grade_code, period in item.periods.items():
            check(
                "items",
                item.code,
                f"目录项 {item.code} ",
                grade_code,
                period.min_months,
                period.max_months,
            )
    return problems
