"""The demo city: a synthetic population, departments and records, loaded through the
same submission pipeline departments use (so the demo exercises the real code).

Identity numbers are valid (GB 11643 check character) and use real GB/T 2260 region
codes; names come from Faker's zh_CN provider. Nothing here is a real person.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import json
import random
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from faker import Faker
from rich.console import Console
from rich.progress import Progress, TaskID
from sqlalchemy import insert, select
from stdnum.cn import uscc

from xinyong.accounts.models import KeyRole, User
from xinyong.accounts.services import (
    actor_for_user,
    authenticate_password,
    create_user,
    ensure_institution,
    issue_api_key,
    register_person,
)
from xinyong.actors import ROLE_LABELS, Role, cli_operator
from xinyong.articles.demo import seed_demo_articles
from xinyong.audit.alerts import scan
from xinyong.audit.rules import SHANGHAI
from xinyong.authorizations import services as authz
from xinyong.catalog.catalog import Catalog
from xinyong.catalog.models import Department
from xinyong.catalog.schemas import InformationItem, Nature
from xinyong.catalog.services import current_catalog
from xinyong.config import get_settings
from xinyong.daily import run_daily
from xinyong.db import session_factory, utcnow
from xinyong.errors import XinyongError
from xinyong.identity.numbers import IdType, region_known, resident_id_check_char
from xinyong.identity.protection import IdentityProtector, protector_for
from xinyong.notices.interviews import record_interview
from xinyong.notices.services import queue_notice
from xinyong.records.formats import SUBJECT_COLUMNS
from xinyong.records.models import Record
from xinyong.records.validation import age_on, department_provides, item_min_age
from xinyong.subjects.models import KeyGroupMembership, Subject
from xinyong.subjects.services import find_subject
from xinyong.submissions.ingest import ingest_file
from xinyong.submissions.templates import SGS_PENALTY_HEADERS as TEMPLATE_PENALTY_HEADERS

# County-level codes of Changsha (4301xx) and its neighbours; checked against GB/T 2260.
CITY_REGIONS = (
    "430102", "430103", "430104", "430105", "430111", "430112", "430121", "430181",
    "430182", "430202", "430211", "430302", "430402", "430602", "430702", "110105",
    "310115", "440305", "420106", "360102",
)  # fmt: skip

DEMO_DEPARTMENTS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("SCJGJ", "市市场监督管理局", ("FOOD_DRUG", "PRODUCT_QUALITY", "E_COMMERCE", "GENERAL")),
    ("YJGLJ", "市应急管理局", ("WORK_SAFETY",)),
    ("XFJY", "市消防救援支队", ("FIRE_SAFETY",)),
    ("GAJ", "市公安局", ("TRAFFIC_SAFETY", "BIOSAFETY")),
    ("STHJJ", "市生态环境局", ("ENVIRONMENT",)),
    ("ZJJ", "市住房和城乡建设局", ("REAL_ESTATE", "CONSTRUCTION")),
    ("SWJ", "国家税务总局示范市税务局", ("TAX", "TAX_AGENCY")),
    ("WJW", "市卫生健康委员会", ("HEALTH", "MEDICAL")),
    ("RSJ", "市人力资源和社会保障局", ("LABOUR", "SOCIAL_INSURANCE")),
    ("MZJ", "市民政局", ("SOCIAL_ASSISTANCE", "VOLUNTEER")),
    ("JRB", "市地方金融监督管理局", ("FINANCE",)),
    ("ZSCQ", "市知识产权局", ("IP",)),
    ("FY", "市中级人民法院", ("JUDICIAL",)),
    ("TJJ", "市统计局", ("STATISTICS",)),
    ("JYJ", "市教育局", ("EDUCATION",)),
    ("XHXH", "市行业协会商会联合会", ("INDUSTRY_SELF_REGULATION",)),
    ("GYSY", "市公用事业管理局", ("PUBLIC_UTILITY",)),
    ("XYB", "市信用办", ()),
)

# As the CLI's (cli.common.console): the demo runs from ``xinyong demo``, below the CLI.
console = Console(emoji=False)


def credit_code_for(seed: int) -> str:
    """A valid 18-character unified social credit code (GB 32100-2015)."""
    rng = random.Random(seed)
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    body = "11" + "430100" + "".join(rng.choice(alphabet) for _ in range(9))
    return body + str(uscc.calc_check_digit(body))


@dataclass(frozen=True)
class DemoPerson:
    name: str
    number: str
    birth: dt.date


def make_people(n: int, rng: random.Random, fake: Faker, today: dt.date) -> list[DemoPerson]:
    regions = [r for r in CITY_REGIONS if region_known(r)]
    people: list[DemoPerson] = []
    seen: set[str] = set()
    while len(people) < n:
        birth = today - dt.timedelta(days=rng.randint(18 * 366, 80 * 365))
        seq = rng.randint(0, 999)
        first17 = f"{rng.choice(regions)}{birth:%Y%m%d}{seq:03d}"
        number = first17 + resident_id_check_char(first17)
        if number in seen:
            continue
        seen.add(number)
        name = fake.name_male() if seq % 2 else fake.name_female()
        people.append(DemoPerson(name, number, birth))
    return people


def _value_for(
    spec_type: str, label: str, choices: tuple[str, ...], rng: random.Random, decision: dt.date
) -> str:
    if spec_type == "date":
        return (decision + dt.timedelta(days=rng.randint(0, 700))).isoformat()
    if spec_type == "decimal":
        return f"{rng.randint(1, 5000) / 100:.2f}"
    if spec_type == "integer":
        return str(rng.randint(1, 100))
    if spec_type in ("enum", "enum_multi"):
        return rng.choice(choices)
    return f"{label}（示范数据）"


def _department_for(item: InformationItem, by_domain: dict[str, str]) -> str | None:
    """A demo department that provides the item (the domain's first), or ``None``."""
    names = {code: name for code, name, _ in DEMO_DEPARTMENTS}
    preferred = by_domain.get(item.domain)
    candidates = ([preferred] if preferred in names else []) + list(names)
    for code in candidates:
        assert code is not None
        if department_provides(item, names[code], code):
            return code
    return None


def _generic_rows(
    catalog: Catalog,
    people: list[DemoPerson],
    orgs: list[tuple[str, str, DemoPerson]],
    per_person: int,
    rng: random.Random,
    today: dt.date,
    by_domain: dict[str, str],
) -> Iterator[dict[str, str]]:
    senders = {
        i.code: dept
        for i in catalog.items.values()
        if (dept := _department_for(i, by_domain)) is not None
    }
    items = [
        i
        for i in catalog.items.values()
        if i.record_format == "generic" and "person" in i.subject_kinds and i.code in senders
    ]
    min_ages = {i.code: item_min_age(catalog, i) for i in items}
    negative = [i for i in items if i.nature is Nature.NEGATIVE]
    others = [i for i in items if i.nature is not Nature.NEGATIVE]
    serial = 0
    for person in people:
        count = max(0, int(rng.gauss(per_person - 0.5, 2.5)))
        for _ in range(count):
            serial += 1
            pool = negative if rng.random() < 0.45 else others
            item = rng.choice(pool)
            decision = today - dt.timedelta(days=rng.randint(1, 4 * 365))
            min_age = min_ages[item.code]
            if min_age and age_on(person.birth, decision) < min_age:
                continue  # a student item's minimum age applies on the decision date
            row = {
                "目录项": item.code,
                "部门代码": senders[item.code],
                "姓名": person.name,
                "证件类型": "身份证",
                "证件号码": person.number,
                "文书号": f"示范〔{decision.year}〕{serial:07d}号",
                "决定日期": decision.isoformat(),
                "行为": item.name,
            }
            for spec in item.fields:
                if spec.required or rng.random() < 0.5:
                    row[spec.label] = _value_for(spec.type, spec.label, spec.choices, rng, decision)
            yield row


# The national 双公示 penalty headers (DOMAIN §16): one list, shared with the templates.
SGS_PENALTY_HEADERS = TEMPLATE_PENALTY_HEADERS

PENALTY_CATEGORIES = ("警告", "罚款", "没收违法所得、没收非法财物", "责令停产停业",
                      "暂扣或者吊销许可证、暂扣或者吊销执照", "行政拘留", "其他")  # fmt: skip
BEHAVIOURS = ("未按规定公示信息", "销售不符合安全标准的食品", "无证经营", "违规排放污染物",
              "未落实安全生产责任制", "虚假宣传", "超载运输", "拒不配合调查")  # fmt: skip


def penalty_rows(
    people: list[DemoPerson],
    orgs: list[tuple[str, str, DemoPerson]],
    n: int,
    rng: random.Random,
    today: dt.date,
    depts: list[tuple[str, str]],
    start_serial: int = 0,
) -> Iterator[list[str]]:
    """Rows in the national 双公示 administrative penalty format."""
    for k in range(n):
        serial = start_serial + k
        dept_name, dept_code = rng.choice(depts)
        decision = today - dt.timedelta(days=rng.randint(1, 4 * 365))
        category = rng.choice(PENALTY_CATEGORIES)
        fine = f"{rng.randint(1, 2000) / 10:.1f}" if category == "罚款" else ""
        if orgs and rng.random() < 0.4:
            org_name, code, rep = rng.choice(orgs)
            subject = [org_name, "法人及非法人组织", code, "", "", "", "", "", rep.name, "身份证",
                       rep.number, "", ""]  # fmt: skip
        else:
            p = rng.choice(people)
            subject = [p.name, "自然人", "", "", "", "", "", "", "", "", "", "身份证", p.number]
        yield [
            *subject,
            f"{dept_name[:2]}罚〔{decision.year}〕{serial:07d}号",
            rng.choice(BEHAVIOURS),
            "经查，当事人存在违法行为（示范数据）。",
            "《中华人民共和国行政处罚法》",
            category,
            f"给予{category}的行政处罚",
            fine,
            "",
            "",
            decision.isoformat(),
            "",
            "",
            dept_name,
            dept_code,
            dept_name,
            dept_code,
            "",
        ]


def _progress(bar: Progress, task: TaskID, name: str) -> Callable[[int], None]:
    def update(rows: int) -> None:
        bar.update(task, description=f"{name} {rows:,} 行")

    return update


def build_demo_city(persons: int = 10_000, seed: int = 2026, per_person: int = 10) -> None:
    settings = get_settings()
    rng = random.Random(seed)
    fake = Faker("zh_CN")
    fake.seed_instance(seed)
    today = dt.date.today()
    factory = session_factory()
    with factory() as session:
        if session.scalar(select(Subject.id).limit(1)) is not None:
            console.print("示范城市已存在，跳过生成。")
            return
        catalog = current_catalog(session)
        depts: list[tuple[str, str]] = []
        by_domain: dict[str, str] = {}
        for i, (code, name, domains) in enumerate(DEMO_DEPARTMENTS):
            dept = session.scalar(select(Department).where(Department.code == code))
            if dept is None:
                dept = Department(code=code, name=name, credit_code=credit_code_for(seed * 100 + i))
                session.add(dept)
                session.flush()
            assert dept.credit_code is not None
            depts.append((dept.name, dept.credit_code))
            for domain in domains:
                by_domain[domain] = code
        for domain in catalog.domains:
            by_domain.setdefault(domain, "SCJGJ")
        admin_key = issue_api_key(session, KeyRole.ADMIN, "示范城市信用办")
        first = session.scalar(select(Department).where(Department.code == "SCJGJ"))
        dept_key = issue_api_key(session, KeyRole.DEPARTMENT, "示范市场监管业务系统", first)
        session.commit()

    people = make_people(persons, rng, fake, today)
    orgs = [
        (fake.company(), credit_code_for(seed * 7919 + k), rng.choice(people))
        for k in range(max(1, persons // 20))
    ]
    actor = cli_operator("demo")
    with tempfile.TemporaryDirectory(prefix="xinyong-demo-") as tmp:
        penalty = Path(tmp) / "双公示行政处罚.csv"
        with penalty.open("w", encoding="gb18030", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(SGS_PENALTY_HEADERS)
            writer.writerows(penalty_rows(people, orgs, max(10, persons // 2), rng, today, depts))
        generic = Path(tmp) / "信用记录.jsonl"
        with generic.open("w", encoding="utf-8") as fh:
            for row in _generic_rows(catalog, people, orgs, per_person, rng, today, by_domain):
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        protector = protector_for(settings)
        with Progress(console=console, transient=True) as bar:
            for path in (penalty, generic):
                task = bar.add_task(f"导入 {path.name}", total=None)
                with factory() as session:
                    result = ingest_file(
                        session,
                        actor,
                        path,
                        on_chunk=session.commit,
                        protector=protector,
                        progress=_progress(bar, task, path.name),
                    )
                    session.commit()
                console.print(
                    f"{path.name}：接收 {result.accepted:,} 行，拒收 {result.rejected:,} 行"
                )
                for err in result.errors[:5]:
                    console.print(f"  第 {err.row} 行 {err.column}: {err.message}")
    _tag_key_groups(people, rng, catalog, protector_for(settings), today)
    bank_key, account_lines = _demo_accounts(people, protector_for(settings))
    _demo_activity(today)
    # Records decided years ago are past their display period: the demo ends as a city
    # does each night, with the daily job applied (else they would show 有效 until the
    # first `xinyong expire`).
    with factory() as session:
        daily = run_daily(session, today)
        session.commit()
    console.print(f"每日任务已执行：公示期满 {daily.expire.records_expired:,} 条")
    key_file = settings.home / "demo-api-keys.txt"
    key_file.write_text(
        f"信用办管理密钥: {admin_key}\n市场监管部门密钥: {dept_key}\n{DEMO_BANK}密钥: {bank_key}\n",
        encoding="utf-8",
    )
    key_file.chmod(0o600)
    accounts_file = settings.home / "demo-accounts.txt"
    accounts_file.write_text(
        f"示范账号（密码均为 {DEMO_PASSWORD}，仅供演示）\n" + "\n".join(account_lines) + "\n",
        encoding="utf-8",
    )
    accounts_file.chmod(0o600)
    console.print(
        f"示范城市已生成：{persons:,} 人。API 密钥见 {key_file}，登录账号见 {accounts_file}"
    )


DEMO_PASSWORD = "xinyong-demo-2026"
DEMO_BANK = "示范市商业银行"


def _demo_accounts(people: list[DemoPerson], protector: IdentityProtector) -> tuple[str, list[str]]:
    """Accounts of every role for trying the platform; persons are real-name verified."""
    staff = (
        ("admin", Role.ADMIN, "信用办管理员", None),
        ("scjg-clerk", Role.CLERK, "市场监管局报送员", "SCJGJ"),
        ("scjg-reviewer", Role.REVIEWER, "市场监管局审核员", "SCJGJ"),
        ("auditor", Role.AUDITOR, "审计员", None),
    )
    lines: list[str] = []
    with session_factory()() as session:
        for username, role, label, dept in staff:
            create_user(
                session,
                username=username,
                password=DEMO_PASSWORD,
                role=role,
                display_name=label,
                department_code=dept,
            )
            lines.append(f"{username}\t{ROLE_LABELS[role]}")
        create_user(
            session,
            username="bank",
            password=DEMO_PASSWORD,
            role=Role.INSTITUTION,
            display_name=DEMO_BANK,
            institution_name=DEMO_BANK,
        )
        lines.append(f"bank\t{ROLE_LABELS[Role.INSTITUTION]}（{DEMO_BANK}）")
        bank = ensure_institution(session, DEMO_BANK)
        ensure_institution(session, "示范市人才服务中心")
        bank_key = issue_api_key(session, KeyRole.INSTITUTION, DEMO_BANK, institution=bank)
        registered = 0
        for person in people:
            if registered == 3:
                break
            if find_subject(session, protector, person.number) is None:
                continue
            registered += 1
            username = f"person{registered}"
            register_person(
                session,
                protector,
                id_number=person.number,
                name=person.name,
                username=username,
                password=DEMO_PASSWORD,
            )
            lines.append(f"{username}\t{ROLE_LABELS[Role.PERSON]}（{person.name}）")
        seed_demo_articles(session, cli_operator("demo"))
        session.commit()
    return bank_key, lines


def _demo_activity(today: dt.date) -> None:
    """Something on every page: person1 authorizes the bank (and an expired and a revoked
    authorization show the refusals), the market regulator arranges an interview, the
    inbox has notices, and a scan of the trail leaves two open alerts for the auditor.
    Everything goes through the services the pages call."""
    with session_factory()() as session:
        users = {
            u.username: u
            for u in session.scalars(
                select(User).where(User.username.in_(["person1", "person2", "bank", "scjg-clerk"]))
            )
        }
        if not {"person1", "bank", "scjg-clerk"} <= set(users):
            return
        person1 = actor_for_user(session, users["person1"], "web")
        bank = actor_for_user(session, users["bank"], "web")
        clerk = actor_for_user(session, users["scjg-clerk"], "web")
        assert person1.subject_id is not None and bank.institution_id is not None
        authz.grant(session, person1, institution_id=bank.institution_id, scope=["archive", "score", "lists", "report"], purpose="credit", purpose_text="个人住房贷款审批", valid_until=today + dt.timedelta(days=90), repeated=True)  # fmt: skip
        authz.grant(session, person1, institution_id=bank.institution_id, scope=["score"], purpose="credit", valid_from=today - dt.timedelta(days=60), valid_until=today - dt.timedelta(days=30), today=today - dt.timedelta(days=60))  # fmt: skip
        revoked = authz.grant(session, person1, institution_id=bank.institution_id, scope=["archive"], purpose="lease", valid_until=today + dt.timedelta(days=30))  # fmt: skip
        authz.revoke(session, person1, revoked.id)
        queue_notice(
            session,
            person1.subject_id,
            kind="demo:welcome",
            title="欢迎使用个人公共信用信息平台",
            body="您可以在这里查看本人信用档案、诚信积分和查询记录，授权机构查询，提出异议和申请信用修复。",
            dedupe_key=f"demo:welcome:{person1.subject_id}",
        )
        record = session.scalar(
            select(Record)
            .where(
                Record.subject_id == person1.subject_id, Record.department_id == clerk.department_id
            )
            .limit(1)
        ) or session.scalar(
            select(Record).where(Record.department_id == clerk.department_id).limit(1)
        )
        if record is not None:
            at = dt.datetime.combine(today + dt.timedelta(days=3), dt.time(10), tzinfo=SHANGHAI)
            record_interview(session, clerk, record.subject_id, held_at=at, place="市市场监督管理局三楼约谈室", attendees="执法科科长、经办人", reason="未按期履行行政处罚决定，约谈提醒整改", record_id=record.id)  # fmt: skip
        session.commit()
        # An institution trying a withdrawn authorization again and again, and someone
        # guessing usernames: what the abuse rules are for.
        for _ in range(get_settings().audit_refused_threshold):
            with contextlib.suppress(XinyongError):
                authz.require_authorization(session, bank, None, revoked.id, "archive")
        session.commit()
        for n in range(get_settings().audit_failed_login_threshold):
            with contextlib.suppress(XinyongError):
                authenticate_password(session, f"guess{n}", "not-the-password", channel="web")
        session.commit()
        scan(session, cli_operator("demo"), [utcnow().astimezone(SHANGHAI).date()])
        session.commit()


def _tag_key_groups(
    people: list[DemoPerson],
    rng: random.Random,
    catalog: Catalog,
    protector: object,
    today: dt.date,
) -> None:
    from xinyong.identity.protection import IdentityProtector

    assert isinstance(protector, IdentityProtector)
    groups = [g for g in catalog.key_groups if g != "STUDENT"]
    rows = []
    with session_factory()() as session:
        index_to_id = {
            idx: sid for idx, sid in session.execute(select(Subject.id_index, Subject.id))
        }
        for person in people:
            sid = index_to_id.get(protector.blind_index(IdType.RESIDENT_ID.value, person.number))
            if sid is None:
                continue
            age = (today - person.birth).days // 365
            if 18 <= age <= 24 and "STUDENT" in catalog.key_groups:
                rows.append({"subject_id": sid, "group_code": "STUDENT", "occupation": "在校学生",
                             "licence_number": "", "issuing_body": "市教育局",
                             "created_at": utcnow()})  # fmt: skip
            elif groups and rng.random() < 0.15:
                group = rng.choice(groups)
                rows.append({"subject_id": sid, "group_code": group,
                             "occupation": catalog.key_groups[group].name,
                             "licence_number": f"ZY{rng.randint(10**9, 10**10 - 1)}",
                             "issuing_body": "示范市主管部门", "created_at": utcnow()})  # fmt: skip
        if rows:
            session.execute(insert(KeyGroupMembership), rows)
        session.commit()


__all__ = ["SUBJECT_COLUMNS", "build_demo_city", "make_people", "penalty_rows"]
