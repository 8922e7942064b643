"""约谈 in the workbench and the person's notice inbox, through the pages, on both databases."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests import factories
from tests.functional.conftest import World
from tests.functional.test_web_pages import _csrf, _login
from xinyong.notices.models import Interview, Notice
from xinyong.notices.services import queue_notice
from xinyong.records.models import Record

HTMX = {"HX-Request": "true"}


def _record_of(session: Session, subject_id: int) -> Record:
    record = session.scalars(select(Record).where(Record.subject_id == subject_id)).first()
    assert record is not None
    return record


def _form(record: str, **changes: str) -> dict[str, str]:
    return {
        "record": record,
        "held_at": "2026-09-01T09:30",
        "timezone": "Asia/Shanghai",
        "place": "市民中心三楼约谈室",
        "attendees": "张科长、王科员",
        "reason": "未按期履行行政处罚决定",
    } | changes


def test_clerk_schedules_an_interview_and_the_person_sees_it(
    https_client: TestClient, world: World, session: Session
) -> None:
    record = _record_of(session, world.subject_id)
    _login(https_client, "clerk1")
    page = https_client.get(f"/workbench/interviews?record={record.id}")
    assert page.status_code == 200 and f'value="{record.id}"' in page.text
    token = _csrf(page.text)

    # Chinese errors, and nothing typed is lost.
    missing = https_client.post(
        "/workbench/interviews", data=_form(str(record.id), place="") | {"csrf_token": token}
    )
    assert missing.status_code == 422 and "须填写约谈地点" in missing.text
    assert "未按期履行行政处罚决定" in missing.text and "张科长、王科员" in missing.text
    bad_time = https_client.post(
        "/workbench/interviews",
        data=_form(str(record.id), held_at="九月一日") | {"csrf_token": token},
    )
    assert bad_time.status_code == 422 and "约谈时间格式不正确" in bad_time.text
    assert 'value="九月一日"' in bad_time.text
    no_time = https_client.post(
        "/workbench/interviews", data=_form(str(record.id), held_at="") | {"csrf_token": token}
    )
    assert no_time.status_code == 422 and "须填写约谈时间" in no_time.text
    unknown = https_client.post(
        "/workbench/interviews", data=_form("没有这个文书号") | {"csrf_token": token}
    )
    assert unknown.status_code == 404 and "本部门没有该记录" in unknown.text
    assert https_client.post("/workbench/interviews", data=_form(str(record.id))).status_code == 403
    assert session.scalars(select(Interview)).first() is None

    done = https_client.post(
        "/workbench/interviews",
        data=_form(record.document_number) | {"csrf_token": token},
        follow_redirects=False,
    )
    assert done.status_code == 303
    interview = session.scalars(select(Interview)).one()
    assert interview.record_id == record.id and interview.subject_id == world.subject_id
    # 09:30 Beijing time is 01:30 UTC.
    assert interview.held_at == dt.datetime(2026, 9, 1, 1, 30, tzinfo=dt.UTC)
    listing = https_client.get("/workbench/interviews").text
    assert "市民中心三楼约谈室" in listing and "待登记" in listing and "林小满" in listing

    empty = https_client.post(
        f"/workbench/interviews/{interview.id}/outcome", data={"csrf_token": token, "outcome": ""}
    )
    assert empty.status_code == 422 and "须填写约谈结果" in empty.text
    concluded = https_client.post(
        f"/workbench/interviews/{interview.id}/outcome",
        data={"csrf_token": token, "outcome": "当事人承诺十日内履行"},
        follow_redirects=False,
    )
    assert concluded.status_code == 303
    session.expire_all()
    assert session.get(Interview, interview.id).outcome == "当事人承诺十日内履行"  # type: ignore[union-attr]

    _login(https_client, "linxiaoman")
    me = https_client.get("/me").text
    assert "2026年09月01日 09:30" in me and "市民中心三楼约谈室" in me
    assert "未按期履行行政处罚决定" in me and "信用约谈通知" in me


def test_interviews_are_kept_to_the_own_department(
    https_client: TestClient, world: World, session: Session
) -> None:
    other_dept = factories.department(session, code="ODEPT", name="别的部门")
    number = factories.resident_id(seq=331)
    factories.submit_rows(
        session,
        [
            factories.penalty_row(
                name="外部门", id_number=number, dept=other_dept, document="外〔2026〕1号"
            )
        ],
    )
    session.commit()
    foreign = session.scalars(select(Record).where(Record.document_number == "外〔2026〕1号")).one()
    _login(https_client, "clerk1")
    token = _csrf(https_client.get("/workbench/interviews").text)
    refused = https_client.post(
        "/workbench/interviews", data=_form(str(foreign.id)) | {"csrf_token": token}
    )
    assert refused.status_code == 404 and "本部门没有该记录" in refused.text
    for who in ("linxiaoman", "bank1", "auditor1"):
        _login(https_client, who)
        assert https_client.get("/workbench/interviews").status_code == 403


def test_person_marks_notices_read_one_and_all(
    https_client: TestClient, world: World, session: Session
) -> None:
    ids = []
    for i in range(3):
        notice = queue_notice(
            session,
            world.subject_id,
            kind="test",
            title=f"测试通知{i}",
            body="正文",
            dedupe_key=f"t{i}",
        )
        assert notice is not None
        ids.append(notice.id)
    other = queue_notice(
        session, world.other_subject_id, kind="test", title="别人的", body="正文", dedupe_key="o"
    )
    assert other is not None
    session.commit()
    _login(https_client, "linxiaoman")
    me = https_client.get("/me").text
    assert f'action="/me/notices/{ids[0]}/read"' in me and "全部标为已读" in me
    token = _csrf(me)

    plain = https_client.post(
        f"/me/notices/{ids[0]}/read", data={"csrf_token": token}, follow_redirects=False
    )
    assert plain.status_code == 303 and plain.headers["location"].startswith("/me")
    partial = https_client.post(
        f"/me/notices/{ids[1]}/read", data={"csrf_token": token}, headers=HTMX
    )
    assert partial.status_code == 200 and partial.text.lstrip().startswith('<section id="notices"')
    session.expire_all()
    assert [session.get(Notice, i).read_at is not None for i in ids] == [True, True, False]  # type: ignore[union-attr]

    assert (
        https_client.post(f"/me/notices/{other.id}/read", data={"csrf_token": token}).status_code
        == 404
    )
    assert https_client.post("/me/notices/read").status_code == 403  # no CSRF token
    all_read = https_client.post("/me/notices/read", data={"csrf_token": token}, headers=HTMX)
    assert all_read.status_code == 200 and "全部标为已读" not in all_read.text
    session.expire_all()
    assert all(session.get(Notice, i).read_at is not None for i in ids)  # type: ignore[union-attr]
    assert session.get(Notice, other.id).read_at is None  # type: ignore[union-attr]

    _login(https_client, "clerk1")
    assert (
        https_client.post(
            "/me/notices/read", data={"csrf_token": _csrf(https_client.get("/workbench").text)}
        ).status_code
        == 403
    )


def test_auditor_reads_the_trail_not_the_interview(
    https_client: TestClient, world: World, session: Session
) -> None:
    record = _record_of(session, world.subject_id)
    _login(https_client, "clerk1")
    token = _csrf(https_client.get("/workbench/interviews").text)
    https_client.post("/workbench/interviews", data=_form(str(record.id)) | {"csrf_token": token})
    assert session.scalars(select(Interview)).one()
    url = f"/api/v1/subjects/{world.subject_id}/interviews"
    refused = https_client.get(url, headers=world.auth("auditor"))
    assert refused.status_code == 403
    assert "市民中心三楼约谈室" not in refused.text and "未按期履行" not in refused.text
    # The department that recorded it and the person still read it.
    assert "市民中心三楼约谈室" in https_client.get(url, headers=world.auth("clerk")).text
    assert "市民中心三楼约谈室" in https_client.get(url, headers=world.auth("person")).text
