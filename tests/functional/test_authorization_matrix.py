"""Every API endpoint and page × every role (and anonymous) → allowed or refused.

The table below is the one statement of who may call what. The test fails when an endpoint
appears in the OpenAPI schema without a row here, so a new endpoint cannot ship without
deciding its access.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.functional.conftest import World
from xinyong.accounts.permissions import Permission
from xinyong.web.app import create_app

ROLES = (
    "anonymous",
    "admin",
    "clerk",
    "reviewer",
    "department",
    "person",
    "institution",
    "auditor",
    "platform",
)
AUTHENTICATED = frozenset(ROLES) - {"anonymous"}
EVERYONE = frozenset(ROLES)
GOVERNMENT = frozenset({"admin", "clerk", "reviewer", "department"})
SUBMITTERS = frozenset({"admin", "clerk", "department"})
PERSON = frozenset({"person"})
INSTITUTION = frozenset({"institution"})
ADMIN = frozenset({"admin"})
AUDITORS = frozenset({"admin", "auditor"})
APPLICANTS = frozenset({"person", "institution", "admin"})  # 本人, 受托机构, 信用办窗口
REVIEWERS = frozenset({"admin", "reviewer"})
STAFF = frozenset({"admin", "clerk", "reviewer"})
# Auditors read the trail, not the content: a person's case (statements, evidence files,
# commitments, tip-offs, interviews) is refused them with 403 auditor_reads_trail
# (workflows.access.refuse_auditor); who read or handled it is in the audit trail.
CASE_READERS = AUTHENTICATED - {"auditor"}

API_MATRIX: dict[str, frozenset[str]] = {
    "POST /api/v1/submissions": SUBMITTERS,
    "GET /api/v1/submissions/{batch_id}": GOVERNMENT,
    "POST /api/v1/subjects/lookup": GOVERNMENT,
    "GET /api/v1/subjects/{subject_id}/archive": GOVERNMENT,
    "GET /api/v1/subjects/{subject_id}/full-archive": ADMIN,
    "GET /api/v1/subjects/{subject_id}/score": ADMIN,
    "GET /api/v1/subjects/{subject_id}/lists": GOVERNMENT,
    "GET /api/v1/catalog/{kind}": AUTHENTICATED,
    "POST /api/v1/checks": GOVERNMENT,
    "POST /api/v1/checks/batches": GOVERNMENT,
    "POST /api/v1/checks/{check_id}/feedback": GOVERNMENT,
    "POST /api/v1/auth/token": EVERYONE,
    "POST /api/v1/auth/logout": AUTHENTICATED,
    "POST /api/v1/auth/register": EVERYONE,
    "GET /api/v1/me": AUTHENTICATED,
    "GET /api/v1/me/archive": PERSON,
    "GET /api/v1/me/score": PERSON,
    "GET /api/v1/me/lists": PERSON,
    "GET /api/v1/me/queries": PERSON,
    "GET /api/v1/me/authorizations": PERSON,
    "POST /api/v1/me/authorizations": PERSON,
    "POST /api/v1/me/authorizations/{authorization_id}/revoke": PERSON,
    "GET /api/v1/institutions": AUTHENTICATED,
    "POST /api/v1/authorized/archive": INSTITUTION,
    "POST /api/v1/authorized/score": INSTITUTION,
    "POST /api/v1/authorized/lists": INSTITUTION,
    "GET /api/v1/authorized/authorizations": INSTITUTION,
    "GET /api/v1/users": ADMIN,
    "POST /api/v1/users": ADMIN,
    "POST /api/v1/users/{username}/disable": ADMIN,
    "POST /api/v1/users/{username}/enable": ADMIN,
    "GET /api/v1/audit/events": AUDITORS,
    "GET /api/v1/audit/verification": AUDITORS,
    "GET /api/v1/audit/alerts": AUDITORS,
    "POST /api/v1/audit/alerts/{alert_id}/acknowledge": AUDITORS,
    "POST /api/v1/exchange/changes": frozenset({"platform"}),
    "GET /api/v1/exchange/lists": frozenset({"platform"}),
    # workflows: objections, repair, commitments, tip-offs, notices, interviews
    "POST /api/v1/objections": APPLICANTS,
    "GET /api/v1/objections": CASE_READERS,
    "GET /api/v1/objections/{objection_id}": CASE_READERS,
    "POST /api/v1/objections/{objection_id}/accept": STAFF,
    "POST /api/v1/objections/{objection_id}/extend": REVIEWERS,
    "POST /api/v1/objections/{objection_id}/decide": REVIEWERS,
    "POST /api/v1/objections/{objection_id}/withdraw": APPLICANTS,
    "POST /api/v1/records/{record_id}/review-outcome": REVIEWERS,
    "GET /api/v1/records/{record_id}/repair-eligibility": CASE_READERS,
    "POST /api/v1/repair-applications": APPLICANTS,
    "GET /api/v1/repair-applications": CASE_READERS,
    "GET /api/v1/repair-applications/{application_id}": CASE_READERS,
    "POST /api/v1/repair-applications/{application_id}/decide": REVIEWERS,
    "POST /api/v1/repair-applications/{application_id}/withdraw": APPLICANTS,
    "POST /api/v1/commitments": APPLICANTS,
    "GET /api/v1/commitments": CASE_READERS,
    "GET /api/v1/commitments/{commitment_id}": CASE_READERS,
    "POST /api/v1/commitments/{commitment_id}/assess": STAFF | {"department"},
    "POST /api/v1/tipoffs": EVERYONE,
    "POST /api/v1/tipoffs/track": EVERYONE,
    "GET /api/v1/tipoffs": GOVERNMENT,
    "POST /api/v1/tipoffs/{tipoff_id}/actions": STAFF,
    "GET /api/v1/notices": PERSON,
    "POST /api/v1/notices/{notice_id}/read": PERSON,
    "POST /api/v1/notices/read": PERSON,
    "POST /api/v1/interviews": STAFF,
    "POST /api/v1/interviews/{interview_id}/outcome": STAFF,
    "GET /api/v1/subjects/{subject_id}/interviews": CASE_READERS,
    # the black-list procedure: the person answers, the department notifies and decides
    "GET /api/v1/me/blacklist-procedures": PERSON,
    "POST /api/v1/me/blacklist-procedures/{entry_id}/defence": PERSON,
    "GET /api/v1/blacklist-procedures": GOVERNMENT,
    "POST /api/v1/blacklist-procedures": GOVERNMENT,
    "POST /api/v1/blacklist-procedures/{entry_id}/decision": GOVERNMENT,
    "GET /api/v1/evidence/{evidence_id}": CASE_READERS,
    "GET /api/v1/repair-options": PERSON,
    "POST /api/v1/reports": AUTHENTICATED - {"auditor", "platform"},
    "GET /api/v1/reports/{report_number}.pdf": AUTHENTICATED - {"auditor", "platform"},
    "GET /api/v1/reports/{report_number}.html": AUTHENTICATED - {"auditor", "platform"},
    "GET /api/v1/reports/verify/{code}": EVERYONE,
    "POST /api/v1/reports/verify": EVERYONE,
}

# Codes that mean "this caller may not call this", as opposed to a business refusal such
# as an authorization that does not exist.
ROLE_DENIALS = {
    "not_authenticated",
    "admin_only",
    "person_only",
    "institution_only",
    "auditor_reads_trail",
    *(f"forbidden:{p.value}" for p in Permission),
}


def _openapi_operations() -> list[str]:
    paths = create_app().openapi()["paths"]
    return sorted(f"{method.upper()} {path}" for path, ops in paths.items() for method in ops)


def test_every_endpoint_has_a_row() -> None:
    operations = _openapi_operations()
    assert sorted(API_MATRIX) == operations


def _call(client: TestClient, world: World, operation: str, role: str) -> Any:
    method, path = operation.split(" ", 1)
    url = (
        path.replace("{subject_id}", str(world.subject_id))
        .replace("{batch_id}", "1")
        .replace("{check_id}", "1")
        .replace("{kind}", "items")
        .replace("{authorization_id}", "1")
        .replace("{username}", "target1")
        .replace("{alert_id}", "1")
        .replace("{objection_id}", "1")
        .replace("{record_id}", "1")
        .replace("{application_id}", "1")
        .replace("{commitment_id}", "1")
        .replace("{tipoff_id}", "1")
        .replace("{notice_id}", "1")
        .replace("{interview_id}", "1")
        .replace("{entry_id}", "1")
        .replace("{evidence_id}", "1")
    )
    headers = world.auth(role)
    if method == "GET":
        return client.get(url, headers=headers)
    return client.post(url, json={}, headers=headers)


@pytest.mark.parametrize("operation", sorted(API_MATRIX))
def test_api_access(https_client: TestClient, world: World, operation: str) -> None:
    allowed = API_MATRIX[operation]
    for role in ROLES:
        resp = _call(https_client, world, operation, role)
        code = resp.json().get("error", {}).get("code") if resp.status_code >= 400 else None
        denied = resp.status_code in (401, 403) and code in ROLE_DENIALS
        assert denied == (role not in allowed), (operation, role, resp.status_code, resp.text[:200])
        if denied:
            assert resp.status_code == (401 if role == "anonymous" else 403)


AUDITOR_READS_TRAIL = (
    "GET /api/v1/objections",
    "GET /api/v1/objections/{objection_id}",
    "GET /api/v1/records/{record_id}/repair-eligibility",
    "GET /api/v1/repair-applications",
    "GET /api/v1/repair-applications/{application_id}",
    "GET /api/v1/commitments",
    "GET /api/v1/commitments/{commitment_id}",
    "GET /api/v1/tipoffs",
    "GET /api/v1/subjects/{subject_id}/interviews",
    "GET /api/v1/evidence/{evidence_id}",
)


@pytest.mark.parametrize("operation", AUDITOR_READS_TRAIL)
def test_auditor_reads_the_trail_not_the_content(
    https_client: TestClient, world: World, operation: str
) -> None:
    """Each route that returns a person's case content refuses the auditor in words, with
    the one code, whether or not the case exists (the refusal comes before the look-up)."""
    assert "auditor" not in API_MATRIX[operation]
    resp = _call(https_client, world, operation, "auditor")
    assert resp.status_code == 403, (operation, resp.text[:200])
    error = resp.json()["error"]
    assert error["code"] == "auditor_reads_trail"
    assert error["message"].startswith("审计人员查看留痕记录，不查看")


PAGES: dict[str, dict[str, int]] = {
    # path → status per role (anything not listed: 200)
    "/": {},
    "/login": {},
    "/register": {},
    "/me": {
        "anonymous": 303,
        **{r: 403 for r in AUTHENTICATED - {"person"}},
    },
    "/disclosures": {},
    "/disclosures?category=red&q=林小满": {},
    "/articles/knowledge": {},
    "/guides": {},
    # The workbench: departments and the credit office (Permission.VIEW_SUBMISSIONS).
    "/workbench": {"anonymous": 303, "person": 403, "institution": 403, "auditor": 403},
    "/workbench/batches": {"anonymous": 303, "person": 403, "institution": 403, "auditor": 403},
    "/workbench/check": {"anonymous": 303, "person": 403, "institution": 403, "auditor": 403},
    "/workbench/compare": {"anonymous": 303, "person": 403, "institution": 403, "auditor": 403},
    "/workbench/checks": {"anonymous": 303, "person": 403, "institution": 403, "auditor": 403},
    "/workbench/objections": {"anonymous": 303, "person": 403, "institution": 403, "auditor": 403},
    "/workbench/repairs": {"anonymous": 303, "person": 403, "institution": 403, "auditor": 403},
    "/workbench/tipoffs": {"anonymous": 303, "person": 403, "institution": 403, "auditor": 403},
    "/workbench/blacklist": {"anonymous": 303, "person": 403, "institution": 403, "auditor": 403},
    "/workbench/interviews": {
        "anonymous": 303,
        "person": 403,
        "institution": 403,
        "auditor": 403,
    },
    "/tipoffs": {},
    # The auditor's pages: holders of Permission.READ_AUDIT (auditors, the credit office).
    **{
        path: {"anonymous": 303, **{r: 403 for r in AUTHENTICATED - AUDITORS}}
        for path in ("/console/audit", "/console/audit/chain", "/console/audit/alerts")
    },
    # The institution's own page: Permission.AUTHORIZED_QUERY.
    "/institution": {"anonymous": 303, **{r: 403 for r in AUTHENTICATED - INSTITUTION}},
    # The console: the credit office only.
    **{
        path: {"anonymous": 303, **{r: 403 for r in AUTHENTICATED - {"admin"}}}
        for path in (
            "/console",
            "/console/articles",
            "/console/articles/new",
            "/console/catalog",
            "/console/accounts",
            "/console/archive",
        )
    },
    "/me/reports": {
        "anonymous": 303,
        **{r: 403 for r in AUTHENTICATED - {"person"}},
    },
    "/reports/verify": {},
}


@pytest.mark.parametrize("path", sorted(PAGES))
def test_page_access(https_client: TestClient, world: World, path: str) -> None:
    for role in ROLES:
        if role in ("department", "platform"):
            continue  # an API key has no browser session
        https_client.cookies.clear()
        # Pages authenticate with the session cookie; a bearer token works the same way for
        # reads, so the matrix uses it to stand for the role's session.
        headers = world.auth(role)
        resp = https_client.get(path, headers=headers, follow_redirects=False)
        assert resp.status_code == PAGES[path].get(role, 200), (path, role, resp.status_code)
