"""Authorized reports (授权查询版): only for an institution holding the person's authorization."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.reports.conftest import pdf_text
from xinyong.accounts.services import ensure_institution
from xinyong.actors import Actor, Role, cli_operator
from xinyong.authorizations.models import Authorization
from xinyong.authorizations.services import grant, revoke
from xinyong.errors import Forbidden, InvalidInput
from xinyong.identity.masking import Audience
from xinyong.identity.protection import IdentityProtector
from xinyong.queries.models import QueryLog
from xinyong.reports.services import issue_report, report_file, verify_file
from xinyong.subjects.models import Subject


def bank_and_grant(
    session: Session, subject: Subject, *, repeated: bool = False, scope: str = "report"
) -> tuple[Actor, Actor, Authorization]:
    bank = ensure_institution(session, "测试银行")
    person = Actor(name="user:li", role=Role.PERSON, subject_id=subject.id, user_id=None)
    auth = grant(
        session,
        person,
        institution_id=bank.id,
        scope=[scope],
        purpose="credit",
        valid_until=dt.date.today() + dt.timedelta(days=30),
        repeated=repeated,
    )
    actor = Actor(
        name="user:bank1", role=Role.INSTITUTION, institution_id=bank.id, organisation=bank.name
    )
    return actor, person, auth


def test_institution_gets_the_authorized_version_and_the_query_is_logged(
    session: Session,
    person: tuple[str, Subject],
    protector: IdentityProtector,
    tmp_path: Path,
) -> None:
    number, subject = person
    bank, me, auth = bank_and_grant(session, subject)
    issued = issue_report(
        session, bank, protector, subject, audience=Audience.AUTHORIZED, authorization_id=auth.id
    )
    text = pdf_text(issued.pdf, tmp_path)
    assert "授权查询版" in text and "信贷" in text  # the authorization's purpose
    # It names who asked, under which authorization (HTML and PDF alike).
    assert "测试银行" in text and f"第 {auth.id} 号" in text
    html = issued.html.decode()
    assert "查询机构" in html and "测试银行" in html and f"第 {auth.id} 号" in html
    assert number not in text and "李**" in text
    assert "合同违约" in text  # open level 授权查询
    assert "刑事判决" not in text and "交通违法" not in text  # government only
    assert "诚信积分：" in text
    report = issued.report
    assert (report.authorization_id, report.basis) == (auth.id, "authorization")
    [log] = session.scalars(
        select(QueryLog).where(QueryLog.subject_id == subject.id, QueryLog.action == "report:issue")
    ).all()
    assert (log.basis, log.authorization_id, log.organisation) == (
        "authorization",
        auth.id,
        "测试银行",
    )
    assert verify_file(session, issued.pdf).audience_label == "授权查询版"
    # The bank may fetch its report again; the person may read what was given out.
    assert report_file(session, bank, protector, report.report_number, "pdf") == issued.pdf
    assert report_file(session, me, protector, report.report_number, "pdf") == issued.pdf


def test_one_time_revoked_or_foreign_authorizations_are_refused(
    session: Session, person: tuple[str, Subject], protector: IdentityProtector
) -> None:
    _, subject = person
    bank, me, once = bank_and_grant(session, subject)
    issue_report(
        session, bank, protector, subject, audience=Audience.AUTHORIZED, authorization_id=once.id
    )
    with pytest.raises(Forbidden):  # a one-time authorization is used up
        issue_report(
            session,
            bank,
            protector,
            subject,
            audience=Audience.AUTHORIZED,
            authorization_id=once.id,
        )
    _, _, repeated = bank_and_grant(session, subject, repeated=True)
    revoke(session, me, repeated.id)
    with pytest.raises(Forbidden):
        issue_report(
            session,
            bank,
            protector,
            subject,
            audience=Audience.AUTHORIZED,
            authorization_id=repeated.id,
        )
    _, _, archive_only = bank_and_grant(session, subject, repeated=True, scope="archive")
    with pytest.raises(Forbidden):
        issue_report(
            session,
            bank,
            protector,
            subject,
            audience=Audience.AUTHORIZED,
            authorization_id=archive_only.id,
        )
    with pytest.raises(InvalidInput) as exc:
        issue_report(session, bank, protector, subject, audience=Audience.AUTHORIZED)
    assert exc.value.code == "authorization_required"


def test_no_one_but_an_institution_gets_the_authorized_version(
    session: Session, person: tuple[str, Subject], protector: IdentityProtector
) -> None:
    _, subject = person
    bank, me, auth = bank_and_grant(session, subject, repeated=True)
    for actor in (cli_operator(), me):
        with pytest.raises(Forbidden):
            issue_report(
                session,
                actor,
                protector,
                subject,
                audience=Audience.AUTHORIZED,
                authorization_id=auth.id,
            )
    for audience in (Audience.SELF, Audience.PUBLIC):
        with pytest.raises(Forbidden):
            issue_report(session, bank, protector, subject, audience=audience)
