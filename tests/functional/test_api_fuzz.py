"""schemathesis over the whole OpenAPI schema, with the credentials of every role.

Every operation gets generated requests (schemathesis' examples, coverage and fuzzing
phases: boundary values, wrong types, missing fields, valid bodies). The generated cases
take turns with the roles — each role, and anonymous, gets every eighth case of every
operation — well over 1,000 requests in all (the count is asserted at the end). No
response may be a 5xx, and every documented response must match its schema and content
type.
"""

from __future__ import annotations

import itertools
from collections import Counter
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from tests.functional.conftest import World
from xinyong.web.app import create_app

schema = schemathesis.openapi.from_asgi("/api/openapi.json", create_app())

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
EXAMPLES_PER_OPERATION = 4
# Ending the caller's own session would turn the remaining examples anonymous; logout is
# covered by tests/functional/test_accounts.py.
SKIPPED = {("POST", "/api/v1/auth/logout")}
SENT: Counter[str] = Counter()
_turn = itertools.count()


@pytest.mark.slow
@pytest.mark.fuzz
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # httpx/starlette on raw kwargs
@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_server_error_and_schema_conformance(
    case: Any, world: World, https_client: TestClient
) -> None:
    if (case.method.upper(), case.path) in SKIPPED:
        return
    if case.path_parameters and "username" in case.path_parameters:
        case.path_parameters["username"] = "target1"  # never disable the roles' own accounts
    role = ROLES[next(_turn) % len(ROLES)]
    headers = {**(case.headers or {}), **world.auth(role)}
    kwargs = case.as_transport_kwargs(base_url="https://testserver", headers=headers)
    response = https_client.request(**kwargs)  # one client: no app start-up per request
    SENT[role] += 1
    case.validate_response(
        response,
        checks=[not_a_server_error, response_schema_conformance, content_type_conformance],
    )


@pytest.mark.slow
@pytest.mark.fuzz
def test_zz_enough_requests_for_every_role() -> None:
    """Runs after the fuzzing above (same module, file order): it really sent the load."""
    if not SENT:
        pytest.skip("the fuzz test was deselected")
    assert sum(SENT.values()) >= 1000, SENT
    assert set(SENT) == set(ROLES) and min(SENT.values()) >= 50, SENT
