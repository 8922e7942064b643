"""The black-list procedure end to end: the department notifies, the person reads the notice
in the personal centre and answers with evidence, the department weighs it and decides.
Through the pages and through the API, on both databases."""

from __future__ import annotations

import base64
import datetime as dt

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests import factories
from tests.functional.conftest import World
from tests.functional.test_web_pages import _csrf, _login
from xinyong.catalog.models import Department
from xinyong.lists.models import ListEntry
from xinyong.notices.models import Notice
from xinyong.records.models import Record
from xinyong.workflows.models import EvidenceFile

PDF = b"%PDF-1.4\n% defence evidence\n"


def _records(session: Session, world: World) -> tuple[Record, Record]:
    """The world person's 一般 penalty and a new 严重 one, both of the clerk's department."""
    dept = session.scalars(select(Department).where(Department.code == "WDEPT")).one()
    result = factories.submit_rows(
        session,
        [
            factories.penalty_row(
                name=world.person_name,
                id_number=world.person_number,
                dept=dept,
                document="严罚〔2026〕1号",
                **{"罚款金额（万元）": "25"},
            )
        ],
    )
    assert result.accepted == 1, result.errors
    session.commit()
    rows = session.scalars(
        select(Record).where(Record.subject_id == world.subject_id).order_by(Record.id)
    ).all()
    general = next(r for r in rows if r.grade == "general")
    serious = next(r for r in rows if r.grade == "serious")
    return general, serious


def test_notice_defence_with_evidence_and_decision_through_the_pages(
    https_client: TestClient, world: World, session: Session
) -> None:
    general, serious = _records(session, world)
    _login(https_client, "clerk1")
    page = https_client.get("/workbench/blacklist")
    assert page.status_code == 200
    token = _csrf(page.text)
    refused = https_client.post(
        "/workbench/blacklist",
        data={"record": str(general.id), "reasons": "拒不改正", "basis": "《条例》第十条", "csrf_token": token},
    )  # fmt: skip
    assert refused.status_code == 409 and "严重失信" in refused.text
    assert "拒不改正" in refused.text  # the form keeps what was typed
    assert session.scalars(select(ListEntry).where(ListEntry.notified_on.is_not(None))).all() == []
    done = https_client.post(
        "/workbench/blacklist",
        data={"record": str(serious.id), "reasons": "无证经营且拒不改正", "basis": "《条例》第十条", "csrf_token": token},
        follow_redirects=False,
    )  # fmt: skip
    assert done.status_code == 303
    entry = session.scalars(select(ListEntry).where(ListEntry.record_id == serious.id)).one()
    assert entry.status == "notified" and entry.defence_until is not None

    # The person sees the notice in the personal centre and answers before the deadline.
    _login(https_client, "linxiaoman")
    me = https_client.get("/me").text
    assert "拟列入严重失信主体名单告知" in me and "无证经营且拒不改正" in me
    assert "《条例》第十条" in me and entry.defence_until.isoformat() in me
    assert f"/me/blacklist/{entry.id}" in me
    form = https_client.get(f"/me/blacklist/{entry.id}")
    assert form.status_code == 200 and "陈述申辩意见" in form.text
    token = _csrf(form.text)
    empty = https_client.post(
        f"/me/blacklist/{entry.id}/defence", data={"statement": " ", "csrf_token": token}
    )
    assert empty.status_code == 422 and "须填写陈述申辩意见" in empty.text
    bad_file = https_client.post(
        f"/me/blacklist/{entry.id}/defence",
        data={"statement": "已取得许可证", "csrf_token": token},
        files={"evidence": ("说明.exe", b"MZ\x90\x00", "application/octet-stream")},
    )
    assert bad_file.status_code == 422 and "类型不支持" in bad_file.text
    assert "已取得许可证" in bad_file.text
    answered = https_client.post(
        f"/me/blacklist/{entry.id}/defence",
        data={"statement": "我已于决定后取得许可证，请求不予列入", "csrf_token": token},
        files={"evidence": ("许可证.pdf", PDF, "application/pdf")},
        follow_redirects=False,
    )
    assert answered.status_code == 303
    session.expire_all()
    assert (
        session.get(ListEntry, entry.id).defence_statement == "我已于决定后取得许可证，请求不予列入"
    )  # type: ignore[union-attr]
    evidence = session.scalars(
        select(EvidenceFile).where(EvidenceFile.owner_kind == "list_entry")
    ).one()
    again = https_client.post(
        f"/me/blacklist/{entry.id}/defence", data={"statement": "再说一次", "csrf_token": token}
    )
    assert again.status_code == 409 and "已提交" in again.text
    # Someone else's procedure is not found.
    _login(https_client, "zhoudafu")
    assert https_client.get(f"/me/blacklist/{entry.id}").status_code == 404

    # The department sees the defence and its evidence, and must say how it weighed it.
    _login(https_client, "clerk1")
    queue = https_client.get("/workbench/blacklist").text
    assert "我已于决定后取得许可证" in queue and "许可证.pdf" in queue and "待审查" in queue
    assert https_client.get(f"/api/v1/evidence/{evidence.id}").content == PDF
    token = _csrf(queue)
    no_review = https_client.post(
        f"/workbench/blacklist/{entry.id}/decision",
        data={"decision": "list", "reasons": "违法事实清楚", "csrf_token": token},
    )
    assert no_review.status_code == 422 and "审查和采纳情况" in no_review.text
    decided = https_client.post(
        f"/workbench/blacklist/{entry.id}/decision",
        data={"decision": "list", "reasons": "违法事实清楚", "defence_review": "许可证取得于违法行为之后，不影响认定，不予采纳", "csrf_token": token},
        follow_redirects=False,
    )  # fmt: skip
    assert decided.status_code == 303
    session.expire_all()
    done_entry = session.get(ListEntry, entry.id)
    assert done_entry is not None and done_entry.status == "listed"
    # The decision's reasons sit beside the notice's, not over them.
    assert done_entry.reasons == "无证经营且拒不改正"
    assert done_entry.decision_reasons == "违法事实清楚"
    decision = session.scalars(select(Notice).where(Notice.kind == "blacklist:decision")).one()
    assert "不予采纳" in decision.body and "违法事实清楚" in decision.body

    _login(https_client, "linxiaoman")
    me = https_client.get("/me").text
    assert "严重失信主体名单列入决定" in me and "不予采纳" in me


def test_the_procedure_through_the_api(
    https_client: TestClient, world: World, session: Session
) -> None:
    general, serious = _records(session, world)
    clerk = world.auth("clerk")
    refused = https_client.post(
        "/api/v1/blacklist-procedures",
        json={"record_id": general.id, "reasons": "r", "basis": "b"},
        headers=clerk,
    )
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "record_not_serious"
    made = https_client.post(
        "/api/v1/blacklist-procedures",
        json={"record_id": serious.id, "reasons": "无证经营", "basis": "《条例》第十条"},
        headers=clerk,
    )
    assert made.status_code == 201, made.text
    entry_id = made.json()["id"]
    mine = https_client.get("/api/v1/me/blacklist-procedures", headers=world.auth("person")).json()
    assert [p["id"] for p in mine] == [entry_id]
    assert mine[0]["notice"]["basis"] == "《条例》第十条" and mine[0]["may_submit_defence"]
    assert mine[0]["notice"]["defence_until"] > dt.date.today().isoformat()
    other = https_client.post(
        f"/api/v1/me/blacklist-procedures/{entry_id}/defence",
        json={"statement": "冒名"},
        headers={"Authorization": f"Bearer {world.tokens['other_person']}"},
    )
    assert other.status_code == 404
    answered = https_client.post(
        f"/api/v1/me/blacklist-procedures/{entry_id}/defence",
        json={
            "statement": "已整改",
            "evidence": [
                {"filename": "整改.pdf", "content_base64": base64.b64encode(PDF).decode()}
            ],
        },
        headers=world.auth("person"),
    )
    assert answered.status_code == 200, answered.text
    assert answered.json()["defence"]["evidence"][0]["filename"] == "整改.pdf"
    queue = https_client.get("/api/v1/blacklist-procedures", headers=clerk).json()
    assert queue[0]["defence"]["statement"] == "已整改"
    missing = https_client.post(
        f"/api/v1/blacklist-procedures/{entry_id}/decision",
        json={"list_subject": False, "reasons": "已整改到位"},
        headers=clerk,
    )
    assert missing.json()["error"]["code"] == "defence_review_required"
    withdrawn = https_client.post(
        f"/api/v1/blacklist-procedures/{entry_id}/decision",
        json={"list_subject": False, "reasons": "已整改到位", "defence_review": "采纳"},
        headers=clerk,
    )
    assert withdrawn.status_code == 200
    decision = withdrawn.json()["decision"]
    assert decision == {
        "decided_on": dt.date.today().isoformat(),
        "reasons": "已整改到位",
        "defence_review": "采纳",
    }
    assert withdrawn.json()["notice"]["reasons"] == "无证经营"


def test_a_legal_representative_sees_the_organisation_entry_and_answers(
    https_client: TestClient, world: World, session: Session
) -> None:
    from xinyong.actors import cli_operator
    from xinyong.lists.services import decide_blacklisting, notify_blacklisting

    dept = session.scalars(select(Department).where(Department.code == "WDEPT")).one()
    row = factories.penalty_row(
        name="林氏商贸有限公司", org_code=factories.credit_code_for(782_001),
        legal_rep=(world.person_name, world.person_number), dept=dept,
        **{"罚款金额（万元）": "25"},
    )  # fmt: skip
    assert factories.submit_rows(session, [row]).accepted == 1
    org_record = session.scalars(select(Record).where(Record.grade == "serious")).one()
    admin = cli_operator("test")
    entry = notify_blacklisting(
        session, admin, org_record.id, reasons="虚假宣传拒不改正", basis="《条例》第十二条",
        on=dt.date.today() - dt.timedelta(days=15),
    )  # fmt: skip
    decide_blacklisting(session, admin, entry.id, list_subject=True, reasons="事实清楚")
    session.commit()
    reached = session.scalars(select(ListEntry).where(ListEntry.parent_entry_id == entry.id)).one()
    assert reached.subject_id == world.subject_id and reached.status == "notified"

    _login(https_client, "linxiaoman")
    me = https_client.get("/me").text
    lists = me[me.index('id="lists"') : me.index('id="objections"')]
    assert "所在组织" in lists and "林氏商贸有限公司" in lists and "《条例》第十二条" in lists
    assert f"/me/blacklist/{reached.id}" in lists
    form = https_client.get(f"/me/blacklist/{reached.id}")
    token = _csrf(form.text)
    done = https_client.post(
        f"/me/blacklist/{reached.id}/defence",
        data={"statement": "违法行为发生时我已不负责经营", "csrf_token": token},
        follow_redirects=False,
    )
    assert done.status_code == 303
    session.expire_all()
    assert session.get(ListEntry, reached.id).defence_statement  # type: ignore[union-attr]
