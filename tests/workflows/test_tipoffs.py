"""Tip-offs: anonymous submission, tracking code, routing, handling, attachments."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from tests import factories
from tests.workflows.conftest import ADMIN, reviewer
from xinyong.actors import Actor, Role
from xinyong.catalog.models import Department
from xinyong.config import get_settings
from xinyong.errors import Forbidden, InvalidInput, NotFound
from xinyong.tipoffs.services import act_on_tipoff, list_tipoffs, submit_tipoff, track_tipoff
from xinyong.tipoffs.workflow import scrub_identity_numbers, tracking_hash
from xinyong.workflows.evidence import Upload

CONTENT = "某中介机构长期出具虚假证明材料，涉及多人，请核查处理。"


def test_submission_tracking_and_handling(
    session: Session, dept: Department, other_dept: Department
) -> None:
    number = factories.resident_id()
    tipoff, code = submit_tipoff(
        session,
        about="某中介",
        content=CONTENT + f"负责人证件号 {number}",
        attachments=[Upload("photo.png", b"\x89PNG\r\n\x1a\n" + b"0" * 100)],
    )
    assert number not in tipoff.content and number[:4] in tipoff.content
    assert tipoff.tracking_hash == tracking_hash(code) and code not in str(tipoff.__dict__)
    assert track_tipoff(session, code)["state_name"] == "已收到，待分派"
    assert track_tipoff(session, code.lower())["state"] == "received"
    with pytest.raises(NotFound):
        track_tipoff(session, "JBWRONGCODE000")
    # Routed by the office, handled by the department, invisible to others.
    with pytest.raises(NotFound):  # not yet routed: no department sees it
        act_on_tipoff(session, reviewer(dept), tipoff.id, action="route", department_code=dept.code)
    with pytest.raises(Forbidden):
        list_tipoffs(session, Actor("p", Role.PERSON, subject_id=1))
    act_on_tipoff(session, ADMIN, tipoff.id, action="route", department_code=dept.code)
    assert [t.id for t in list_tipoffs(session, reviewer(dept))] == [tipoff.id]
    assert list_tipoffs(session, reviewer(other_dept)) == []
    with pytest.raises(NotFound):
        act_on_tipoff(session, reviewer(other_dept), tipoff.id, action="investigate")
    act_on_tipoff(session, reviewer(dept), tipoff.id, action="investigate")
    with pytest.raises(InvalidInput):
        act_on_tipoff(session, reviewer(dept), tipoff.id, action="close")
    act_on_tipoff(session, reviewer(dept), tipoff.id, action="close", reason="查证属实，已立案处罚")
    seen = track_tipoff(session, code)
    assert (seen["state"], seen["reply"]) == ("closed", "查证属实，已立案处罚")
    assert seen["department"] == dept.name


def test_submitter_may_name_the_department(session: Session, dept: Department) -> None:
    tipoff, _ = submit_tipoff(session, about="张某", content=CONTENT, department_code=dept.code)
    assert (tipoff.state, tipoff.department_id) == ("routed", dept.id)


def test_bad_submissions_are_refused_in_chinese(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(InvalidInput, match="过短"):
        submit_tipoff(session, about="张某", content="骗人")
    with pytest.raises(InvalidInput, match="被举报对象"):
        submit_tipoff(session, about=" ", content=CONTENT)
    monkeypatch.setattr(get_settings(), "evidence_max_bytes", 1024)
    with pytest.raises(InvalidInput, match="超过大小上限"):
        submit_tipoff(
            session,
            about="张某",
            content=CONTENT,
            attachments=[Upload("a.pdf", b"%PDF-" + b"0" * 2000)],
        )
    with pytest.raises(InvalidInput, match="类型不支持"):
        submit_tipoff(
            session, about="张某", content=CONTENT, attachments=[Upload("a.txt", b"hello")]
        )


def test_identity_numbers_are_masked_in_free_text() -> None:
    assert scrub_identity_numbers("号码43010219900517001X。") == "号码4301************1X。"
    assert scrub_identity_numbers("电话13800138000") == "电话13800138000"
