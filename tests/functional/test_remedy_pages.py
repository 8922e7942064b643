"""Objections, repair, commitments and tip-offs through the pages, on both databases."""

from __future__ import annotations

import re
from urllib.parse import unquote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.functional.conftest import World
from tests.functional.test_web_pages import _csrf, _login
from xinyong.objections.models import Objection
from xinyong.records.models import Record


def _record_of(session: Session, world: World) -> Record:
    record = session.scalars(select(Record).where(Record.subject_id == world.subject_id)).first()
    assert record is not None
    return record


def test_person_objects_through_the_form_and_the_reviewer_decides(
    https_client: TestClient, world: World, session: Session
) -> None:
    record = _record_of(session, world)
    _login(https_client, "linxiaoman")
    me = https_client.get("/me").text
    assert f"/me/objections/new?record={record.id}" in me
    form = https_client.get(f"/me/objections/new?record={record.id}")
    assert form.status_code == 200 and record.document_number in form.text
    empty = https_client.post(
        "/me/objections",
        data={"csrf_token": _csrf(form.text), "record_id": str(record.id), "reason": " "},
    )
    assert empty.status_code == 422 and 'class="error"' in empty.text
    filed = https_client.post(
        "/me/objections",
        data={"csrf_token": _csrf(form.text), "record_id": str(record.id), "reason": "金额有误"},
        files={"evidence": ("凭证.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf")},
        follow_redirects=False,
    )
    # The confirmation is a flash of the session, never text in the address.
    assert filed.status_code == 303 and filed.headers["location"] == "/me#objections"
    objection = session.scalars(select(Objection).where(Objection.record_id == record.id)).one()
    me = https_client.get("/me").text
    assert "异议处理中" in me and f"/me/objections/new?record={record.id}" not in me
    # Shown once, inside the section the browser lands on, with the evidence listed.
    objections_section = me.split('id="objections"', 1)[1].split("</details>", 1)[0]
    assert f"异议已提交（编号 {objection.id}）" in objections_section
    assert "凭证.pdf" in objections_section
    assert f"异议已提交（编号 {objection.id}）" not in https_client.get("/me").text
    # Someone else's record cannot be objected to through the page.
    other = session.scalars(
        select(Record).where(Record.subject_id == world.other_subject_id)
    ).first()
    assert other is not None
    assert (
        https_client.get(
            f"/me/objections/new?record={other.id}", headers={"accept": "text/html"}
        ).status_code
        == 404
    )

    https_client.cookies.clear()
    _login(https_client, "reviewer1")
    queue = https_client.get("/workbench/objections").text
    assert f"异议 {objection.id}" in queue
    page = https_client.get(f"/workbench/objections/{objection.id}").text
    assert "金额有误" in page and "凭证.pdf" in page
    accepted = https_client.post(
        f"/workbench/objections/{objection.id}/accept",
        data={"csrf_token": _csrf(page)},
        follow_redirects=False,
    )
    assert accepted.status_code == 303
    decided = https_client.post(
        f"/workbench/objections/{objection.id}/decide",
        data={
            "csrf_token": _csrf(page),
            "outcome": "corrected",
            "reason": "罚款金额更正",
            "behaviour": "无证经营（更正）",
        },
        follow_redirects=False,
    )
    assert decided.status_code == 303
    shown = https_client.get(decided.headers["location"]).text
    assert "已更正" in shown and "已作出处理决定" in shown
    session.refresh(record)
    assert record.behaviour == "无证经营（更正）" and record.state == "active"


def test_clerk_of_another_department_sees_no_objection(
    https_client: TestClient, world: World, session: Session
) -> None:
    from tests import factories
    from xinyong.accounts.services import create_user
    from xinyong.actors import Actor, Role
    from xinyong.objections import services as objections

    record = _record_of(session, world)
    objection = objections.file_objection(
        session, Actor(name="user:office", role=Role.ADMIN), record.id, reason="有误"
    )
    dept = factories.department(session, code="XDEPT", name="无关局")
    create_user(session, username="xclerk", password="Test-password-2026", role="clerk",
                department_code=dept.code)  # fmt: skip
    session.commit()
    _login(https_client, "xclerk")
    assert f"异议 {objection.id}" not in https_client.get("/workbench/objections").text
    resp = https_client.get(
        f"/workbench/objections/{objection.id}", headers={"accept": "text/html"}
    )
    assert resp.status_code == 404


def test_repair_form_explains_what_is_missing(
    https_client: TestClient, world: World, session: Session
) -> None:
    record = _record_of(session, world)
    _login(https_client, "linxiaoman")
    page = https_client.get(f"/me/repairs/new?record={record.id}")
    assert page.status_code == 200
    # A record decided 20 days ago has not served its minimum display period.
    assert "还不能申请信用修复" in page.text and "最早可于" in page.text
    assert "提交修复申请" not in page.text


def test_person_makes_a_voluntary_commitment(https_client: TestClient, world: World) -> None:
    _login(https_client, "linxiaoman")
    me = https_client.get("/me").text
    made = https_client.post(
        "/me/commitments",
        data={"csrf_token": _csrf(me), "kind": "voluntary", "matter": "按时缴纳物业费"},
        follow_redirects=False,
    )
    assert made.status_code == 303 and made.headers["location"] == "/me#commitments"
    landed = https_client.get("/me").text
    assert "按时缴纳物业费" in landed
    commitments = landed.split('id="commitments"', 1)[1].split("</details>", 1)[0]
    assert "已作出信用承诺" in unquote(commitments)


def test_tipoff_is_submitted_and_tracked_by_code(
    https_client: TestClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from xinyong.ratelimit import limiter as limits

    # The tip-off limiter is per process and other tests' tip-offs count against it.
    limits.reset()
    page = https_client.get("/tipoffs")
    assert page.status_code == 200
    forged = https_client.post(
        "/tipoffs",
        data={"csrf_token": "x", "about": "某店", "content": "长期销售过期食品，拒不整改"},
    )
    assert forged.status_code == 422 and "页面已失效" in forged.text
    # Each form shown carries a fresh token (the double-submit cookie is renewed).
    short = https_client.post(
        "/tipoffs", data={"csrf_token": _csrf(forged.text), "about": "某店", "content": "太差"}
    )
    assert short.status_code == 422 and "至少 10 字" in short.text
    done = https_client.post(
        "/tipoffs",
        data={
            "csrf_token": _csrf(short.text),
            "about": "某店 430102199005170011",
            "content": "长期销售过期食品，拒不整改，店主身份证 430102199005170011",
        },
    )
    assert done.status_code == 200
    code = re.search(r'id="tracking-code">([^<]+)<', done.text)
    assert code is not None
    tracked = https_client.post(
        "/tipoffs/track", data={"csrf_token": _csrf(done.text), "code": code.group(1).strip()}
    )
    assert tracked.status_code == 200 and "已收到" in tracked.text
    unknown = https_client.post(
        "/tipoffs/track", data={"csrf_token": _csrf(tracked.text), "code": "NOPE-NOPE"}
    )
    assert unknown.status_code == 404 and "查询码不存在" in unknown.text

    # The credit office routes it; the identity number was masked when stored.
    _login(https_client, "admin1")
    desk = https_client.get("/workbench/tipoffs").text
    assert "430102199005170011" not in desk and "某店" in desk
