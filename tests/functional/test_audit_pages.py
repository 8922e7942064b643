"""The auditor's pages (审计员) on both databases: the trail, the chain check, the alerts."""

from __future__ import annotations

import json
import re

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests import factories
from tests.functional.conftest import World
from tests.functional.test_web_pages import FULL_ID, _csrf, _login
from xinyong.actors import Actor, Role
from xinyong.audit.models import AlertStatus, AuditAlert, AuditEvent
from xinyong.audit.services import record_event


def _events(session: Session, action: str) -> list[AuditEvent]:
    return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_auditor_filters_the_trail_and_the_read_is_audited(
    https_client: TestClient, world: World, session: Session
) -> None:
    from xinyong.accounts.models import User

    clerk_user = session.scalars(select(User).where(User.username == "clerk1")).one()
    clerk_user.display_name = "王晓雯"
    clerk = Actor(name="user:clerk1", role=Role.CLERK, organisation="WDEPT")
    # Free text with an identity number: the trail keeps it scrubbed, the page shows no number.
    record_event(session, clerk, "query:archive:read", target_type="subject", target_id=world.subject_id, purpose=f"核查 {world.person_number}")  # fmt: skip
    session.commit()
    _login(https_client, "auditor1")
    page = https_client.get(
        "/console/audit",
        params={"domain": "query:", "actor": "user:clerk1", "target_type": "subject"},
    )
    assert page.status_code == 200
    body = page.text.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    # Chinese names for the action, the operator and the department; codes only in titles.
    cells = re.findall(r'<td data-label="(动作|操作者|部门/机构)"[^>]*>(.*?)</td>', body, re.S)
    assert ("动作", "查阅信用档案") in cells and "登录" not in body
    who = next(text for label, text in cells if label == "操作者")
    assert who.startswith("王晓雯") and "部门数据报送员" in who
    org = next(text for label, text in cells if label == "部门/机构")
    assert org != "WDEPT" and org.strip()
    assert 'title="query:archive:read"' in body and 'title="user:clerk1"' in body
    # The action filter offers every tag by its Chinese name.
    assert '<option value="query:check:batch" >批量比对</option>' in page.text.replace("  ", " ")
    assert world.person_number not in page.text and not FULL_ID.search(page.text)
    viewed = _events(session, "audit:events:viewed")
    assert viewed and json.loads(viewed[-1].details)["actor"] == "user:clerk1"

    by_org = https_client.get("/console/audit", params={"organisation": "别处"}).text
    assert "没有符合条件的审计记录" in by_org
    today = https_client.get(
        "/console/audit", params={"since": "2000-01-01", "until": "2000-01-02"}
    )
    assert "没有符合条件的审计记录" in today.text
    bad = https_client.get("/console/audit", params={"since": "昨天"})
    assert bad.status_code == 422 and "日期格式" in bad.text
    # An identity number typed into a filter is not shown back either.
    echoed = https_client.get("/console/audit", params={"target_id": world.person_number})
    assert world.person_number not in echoed.text


def test_the_trail_pages_back_by_sequence(
    https_client: TestClient, world: World, session: Session
) -> None:
    clerk = Actor(name="user:pager", role=Role.CLERK)
    for i in range(55):
        record_event(session, clerk, "records:record:paged", target_id=i)
    session.commit()
    _login(https_client, "auditor1")
    first = https_client.get("/console/audit", params={"actor": "user:pager"}).text
    older = re.search(r'href="(/console/audit\?[^"]+before=\d+)"', first)
    assert older is not None
    second = https_client.get(older.group(1).replace("&amp;", "&")).text
    assert "本页 5 条" in second and "最新一页" in second


def test_chain_check_from_the_page(
    https_client: TestClient, world: World, session: Session
) -> None:
    _login(https_client, "admin1")  # the credit office may audit too
    page = https_client.get("/console/audit/chain")
    assert page.status_code == 200 and "链头" in page.text
    checked = https_client.post(
        "/console/audit/chain", data={"csrf_token": _csrf(page.text), "latest": "all"}
    )
    assert checked.status_code == 200 and "完整" in checked.text
    assert _events(session, "audit:chain:verified")
    wrong = https_client.post(
        "/console/audit/chain", data={"csrf_token": _csrf(page.text), "latest": "7"}
    )
    assert wrong.status_code == 422 and "请选择校验范围" in wrong.text
    # Without the CSRF token nothing is checked.
    before = len(_events(session, "audit:chain:verified"))
    assert https_client.post("/console/audit/chain", data={"latest": "all"}).status_code == 403
    session.expire_all()
    assert len(_events(session, "audit:chain:verified")) == before


def test_whole_chain_check_from_the_page_walks_from_the_first_event(
    https_client: TestClient, world: World, session: Session
) -> None:
    """整条审计链 on the page is the whole walk, not the check since the last checkpoint:
    an event before the checkpoint changed without recomputing hashes is found."""
    from sqlalchemy import text

    from xinyong.audit.services import check_chain, head_of

    checked = check_chain(session, Actor(name="t", role=Role.AUDITOR))  # a checkpoint
    assert checked.ok and checked.last_seq > 3
    session.commit()
    target = checked.last_seq - 2
    assert head_of(session)[0] > checked.last_seq
    session.execute(text("UPDATE audit_events SET actor = 'x' WHERE seq = :s"), {"s": target})
    session.commit()
    _login(https_client, "auditor1")
    page = https_client.get("/console/audit/chain")
    walked = https_client.post(
        "/console/audit/chain", data={"csrf_token": _csrf(page.text), "latest": "all"}
    )
    assert walked.status_code == 200 and f"第 {target} 号" in walked.text, walked.text
    # The check since the checkpoint does not re-read it: that is what the whole walk is for.
    assert check_chain(session, Actor(name="t", role=Role.AUDITOR)).ok


def test_latest_events_check_finds_tampering_in_its_window(session: Session, world: World) -> None:
    from sqlalchemy import text

    from xinyong.audit.services import head_of, verify

    for i in range(5):
        record_event(
            session, Actor(name="t", role=Role.ADMIN), "records:record:touched", target_id=i
        )
    session.commit()
    seq = head_of(session)[0]
    assert verify(session, latest=3).ok and verify(session, latest=3).events == 3
    session.execute(text("UPDATE audit_events SET actor = 'x' WHERE seq = :s"), {"s": seq - 1})
    broken = verify(session, latest=3)
    assert not broken.ok and broken.first_bad_seq == seq - 1
    # Tampering before the window is outside a latest-N check, not outside the whole walk.
    assert not verify(session).ok


def test_auditor_acknowledges_an_alert_with_a_note(
    https_client: TestClient, world: World, session: Session
) -> None:
    alert_id = factories.audit_alert(session, about="user:clerk1")
    session.commit()
    _login(https_client, "auditor1")
    page = https_client.get("/console/audit/alerts")
    assert (
        page.status_code == 200 and "多次查询被拒" in page.text and f"告警 {alert_id}" in page.text
    )
    token = _csrf(page.text)
    url = f"/console/audit/alerts/{alert_id}/acknowledge"
    empty = https_client.post(url, data={"csrf_token": token, "note": "  "})
    assert empty.status_code == 422 and "须填写处理说明" in empty.text
    assert https_client.post(url, data={"note": "已核实"}).status_code == 403  # no CSRF token
    done = https_client.post(
        url, data={"csrf_token": token, "note": "已核实：系统对接调试"}, follow_redirects=False
    )
    assert done.status_code == 303
    session.expire_all()
    alert = session.get(AuditAlert, alert_id)
    assert alert is not None and alert.status == AlertStatus.ACKNOWLEDGED.value
    assert alert.acknowledged_by == "user:auditor1" and alert.note == "已核实：系统对接调试"
    assert _events(session, "audit:alert:acknowledged")
    after = https_client.get("/console/audit/alerts").text
    assert f"已确认告警 {alert_id}" in after  # the flash says what was done, once
    assert after.count(f"告警 {alert_id}") == 1 and "没有待处理的告警" in after
    assert f"已确认告警 {alert_id}" not in https_client.get("/console/audit/alerts").text
    assert "已核实：系统对接调试" in https_client.get("/console/audit/alerts?all=1").text


def test_auditor_cannot_acknowledge_an_alert_about_themselves(
    https_client: TestClient, world: World, session: Session
) -> None:
    alert_id = factories.audit_alert(session, about="user:auditor1")
    session.commit()
    _login(https_client, "auditor1")
    page = https_client.get("/console/audit/alerts")
    refused = https_client.post(
        f"/console/audit/alerts/{alert_id}/acknowledge",
        data={"csrf_token": _csrf(page.text), "note": "没事"},
    )
    assert refused.status_code == 403 and "不能确认针对本人的告警" in refused.text
    assert "没事" in refused.text  # the note typed is kept on the form


def test_auditor_sees_only_the_audit_tabs(https_client: TestClient, world: World) -> None:
    _login(https_client, "auditor1")
    page = https_client.get("/console/audit").text
    assert 'href="/console/audit/alerts"' in page and 'href="/console/accounts"' not in page
    assert 'href="/console/audit"' in https_client.get("/").text  # the header links there
    _login(https_client, "admin1")
    assert 'href="/console/audit"' in https_client.get("/console").text
