"""Test data made through the same services and formats the platform uses."""

from __future__ import annotations

import csv
import datetime as dt
import itertools
import random
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyong.catalog.models import Department
from xinyong.catalog.services import add_department
from xinyong.demo import SGS_PENALTY_HEADERS, credit_code_for
from xinyong.identity.numbers import resident_id_check_char
from xinyong.submissions.ingest import ImportResult

_serial = itertools.count(1)
# The name of the factory's departments by default: a local office no catalog item names,
# so it may submit only the items a class of providers (各行政执法部门…) admits it to.
LOCAL_OFFICE = "测试部门"
# Recent enough that every grade is still on display.
RECENT = (dt.date.today() - dt.timedelta(days=20)).isoformat()


def resident_id(
    birth: dt.date = dt.date(1990, 5, 17), region: str = "430102", seq: int | None = None
) -> str:
    seq = next(_serial) % 1000 if seq is None else seq
    first17 = f"{region}{birth:%Y%m%d}{seq:03d}"
    return first17 + resident_id_check_char(first17)


def department(
    session: Session,
    code: str | None = None,
    name: str | None = None,
    *,
    provides: str | None = None,
) -> Department:
    """A registered department; with ``provides`` (an item code) one the catalog has provide
    that item (示范市公安局 for 市公安局), else a local office no catalog item names."""
    n = next(_serial)
    if name is None and provides is not None:
        name = _provider_name(session, provides)
    return add_department(
        session, code or f"D{n:04d}", name or f"{LOCAL_OFFICE}{n}", credit_code_for(10_000 + n)
    )


def _provider_name(session: Session, item: str) -> str:
    from xinyong.catalog.services import current_catalog

    providers = current_catalog(session).items[item].providing_departments
    named = [p for p in providers if not p.startswith("各")]
    if not named:
        return f"{LOCAL_OFFICE}{next(_serial)}"  # a class of providers admits every department
    return f"示范{named[0]}" if named[0].startswith("市") else named[0]


def provider_of(session: Session, item: str, dept: Department | None = None) -> Department:
    """``dept`` if it may submit ``item``, else a department that may (made once)."""
    from xinyong.catalog.services import current_catalog
    from xinyong.records.validation import department_provides

    spec = current_catalog(session).items[item]
    if dept is not None and department_provides(spec, dept.name, dept.code):
        return dept
    for found in session.scalars(select(Department).order_by(Department.id)):
        if department_provides(spec, found.name, found.code):
            return found
    return department(session, provides=item)


def penalty_row(
    *,
    name: str = "张三",
    id_number: str | None = None,
    document: str | None = None,
    category: str = "罚款",
    decided: str | None = None,
    dept: Department | None = None,
    org_code: str | None = None,
    legal_rep: tuple[str, str] | None = None,
    **overrides: str,
) -> dict[str, str]:
    """One row of the national 双公示 penalty format, as a header → value mapping."""
    row = dict.fromkeys(SGS_PENALTY_HEADERS, "")
    row.update(
        {
            "行政相对人名称": name,
            "行政相对人类别": "法人及非法人组织" if org_code else "自然人",
            "行政处罚决定书文号": document or f"测罚〔2025〕{next(_serial):05d}号",
            "违法行为类型": "无证经营",
            "违法事实": "经查存在违法行为",
            "处罚依据": "《中华人民共和国行政处罚法》",
            "处罚类别": category,
            "处罚内容": f"给予{category}",
            "罚款金额（万元）": "1.5" if category == "罚款" else "",
            "处罚决定日期": decided or RECENT,
            "处罚机关": dept.name if dept else "测试局",
            "数据来源单位": dept.name if dept else "测试局",
            "数据来源单位统一社会信用代码": (dept.credit_code or "") if dept else "",
        }
    )
    if org_code:
        row["行政相对人代码_1(统一社会信用代码)"] = org_code
        if legal_rep:
            row["法定代表人"], row["法定代表人证件号码"] = legal_rep
            row["法定代表人证件类型"] = "身份证"
    else:
        row["证件类型"] = "身份证"
        row["证件号码"] = id_number or resident_id()
    row.update(overrides)
    return row


def write_csv(
    path: Path,
    rows: list[dict[str, str]],
    encoding: str = "utf-8",
    headers: list[str] | None = None,
) -> Path:
    headers = headers or list(rows[0].keys())
    with path.open("w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(headers)
        for row in rows:
            writer.writerow([row.get(h, "") for h in headers])
    return path


def rng(seed: int = 7) -> random.Random:
    return random.Random(seed)


def submit_rows(
    session: Session,
    rows: list[dict[str, str]],
    *,
    item: str | None = None,
    department_code: str | None = None,
) -> ImportResult:
    """Submit rows through the real pipeline, as a department system posting JSON would."""
    from xinyong.actors import cli_operator
    from xinyong.submissions.ingest import TableInput, ingest_table, iter_json_rows

    table = TableInput(headers=list(rows[0].keys()), rows=iter_json_rows(list(rows)))
    return ingest_table(
        session, cli_operator("test"), table, item_code=item, department_code=department_code
    )


def generic_row(
    item: str,
    *,
    session: Session | None = None,
    id_number: str | None = None,
    name: str = "孙八",
    decided: str | None = None,
    document: str | None = None,
    **fields: str,
) -> dict[str, str]:
    row = {
        "目录项": item,
        "姓名": name,
        "证件类型": "身份证",
        "证件号码": id_number or resident_id(),
        "文书号": document or f"文〔2026〕{next(_serial):05d}号",
        "决定日期": decided or RECENT,
    }
    if session is not None:
        from xinyong.catalog.services import current_catalog

        for spec in current_catalog(session).items[item].fields:
            if spec.required and spec.label not in fields:
                row[spec.label] = {
                    "date": row["决定日期"],
                    "decimal": "1.5",
                    "integer": "3",
                    "enum": spec.choices[0] if spec.choices else "",
                    "enum_multi": spec.choices[0] if spec.choices else "",
                }.get(spec.type, f"{spec.label}（测试）")
        named = session.scalar(select(Department).where(Department.code == fields.get("部门代码")))
        if named is not None and named.name.startswith(LOCAL_OFFICE):
            # The factory's unnamed office sends the item through a department providing it.
            fields = {**fields, "部门代码": provider_of(session, item, named).code}
    row.update(fields)
    return row


# A personal archive of every kind of information a credit report has a section for,
# with the open level of each item noted (decides which report versions show it).
ARCHIVE_ITEMS = (
    "SGS_LICENSE",  # public · 行政许可
    "ADMIN_ENFORCEMENT",  # government · 其他行政管理
    "DISHONEST_JUDGMENT_DEBTOR",  # public · 严重失信主体名单 (black list)
    "CREDIT_COMMITMENT",  # public · 信用承诺
    "CONSUMPTION_RESTRICTED",  # public · 司法信息
    "CRIMINAL_JUDGMENT",  # government · 司法信息
    "MORAL_MODEL",  # public · 荣誉 (red list)
    "COMMENDATION",  # public · 表彰
    "CREDIT_EVALUATION",  # government · 信用评价
    "CONTRACT_BREACH",  # authorized · 其他
    "TRAFFIC_VIOLATION",  # government · 其他
    "PRACTICE_REGISTRATION",  # public · 基本信息
    "VOLUNTARY_INFO",  # authorized · 其他
)


def person_archive(
    session: Session,
    *,
    records: int = 20,
    id_number: str | None = None,
    name: str = "李小明",
    dept: Department | None = None,
) -> str:
    """A person with ``records`` records (penalties and every item above, in turn), submitted
    through the real pipeline; returns the identity number."""
    number = id_number or resident_id()
    dept = dept or department(session)  # the penalties' (every administrative organ's)
    today = dt.date.today()
    penalties: list[dict[str, str]] = []
    generic: list[dict[str, str]] = []
    for n in range(records):
        decided = (today - dt.timedelta(days=10 + 7 * n)).isoformat()
        if n % (len(ARCHIVE_ITEMS) + 1) == 0:
            penalties.append(penalty_row(name=name, id_number=number, dept=dept, decided=decided))
            continue
        item = ARCHIVE_ITEMS[n % (len(ARCHIVE_ITEMS) + 1) - 1]
        generic.append(
            generic_row(
                item,
                session=session,
                id_number=number,
                name=name,
                decided=decided,
                部门代码=provider_of(session, item, dept).code,
            )
        )
    for rows in (penalties, generic):
        if rows:
            result = submit_rows(session, rows)
            assert result.rejected == 0, result
    return number


def audit_alert(
    session: Session, *, about: str = "user:clerk1", rule: str = "refused_queries"
) -> int:
    """An open anomaly alert about ``about`` (as a scan would raise it); its id."""
    from xinyong.audit.models import AuditAlert
    from xinyong.db import utcnow

    now = utcnow()
    alert = AuditAlert(
        fingerprint=f"test|{rule}|{about}|{now.isoformat()}",
        rule=rule,
        severity="medium",
        actor=about,
        organisation="世界市场监管局",
        window_start=now,
        window_end=now,
        message="一小时内多次查询被拒绝",
        evidence={"refused": 12},
    )
    session.add(alert)
    session.flush()
    return alert.id
