"""Schemathesis against our own OpenAPI schema, in-process (README "The HTTP API").

Every operation of /api/schema/ is fuzzed with valid (positive) and invalid (negative) requests,
with an agent's token and with a supervisor's, through Django's WSGI app (the adrf action views
run under async_to_sync there). PHLO and the Voice API are mocked with respx and answer success,
500, 401, a non-JSON 400, a timeout and a refused connection in turn, so actions never leave the
process and every documented error path is met. Each response must be: no 5xx other than the documented
502/503/504, a documented status code and content type, a body matching its declared schema,
and (schemathesis' auth check) 401 when the same request comes without or with a wrong token.
Path ids are real calls and their members half the time, so actions reach PHLO and the state
rules rather than only the 404 branch.

    .venv/bin/pytest tests/test_api_fuzzing.py -s     # prints the figures
"""

from __future__ import annotations

import itertools
import time
from collections import Counter

import httpx
import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from schemathesis import GenerationMode

from tests.factories import AgentFactory, CallFactory, MemberFactory
from tests.support.phlo_api import live_call, mocked_phlo, warm_transfer_call

pytestmark = pytest.mark.django_db

EXAMPLES = {GenerationMode.POSITIVE: 12, GenerationMode.NEGATIVE: 8}  # per operation and token
FIGURES: Counter = Counter()

CONFIG = {
    "checks": {
        # A 5xx is a failure, except the documented ones PHLO's own failures map to.
        "not_a_server_error": {"expected-statuses": ["1xx", "2xx", "3xx", "4xx", 502, 503, 504]},
    },
    "operations": [
        # A well-formed login with wrong credentials is a 400 (README "The HTTP API"); 429 once throttled.
        {
            "include-path": "/api/auth/token/",
            "checks": {"positive_data_acceptance": {"expected-statuses": [200, 400, 429]}},
        },
        # What a schema cannot say (docs/history.md, docs/reports.md): a disposition, queue or agent
        # must exist, a cursor must be one the API gave out, a range must end after it starts (and
        # hold at most 10,000 intervals), a number search needs three digits.
        *(
            {"include-name": operation, "checks": {"positive_data_acceptance": {"expected-statuses": statuses}}}
            for operation, statuses in [
                ("GET /api/calls/", [200, 400]),
                ("GET /api/calls/export.csv", [200, 400, 403]),
                ("PATCH /api/calls/{call_id}/wrap-up/", [200, 400, 403, 404]),
                ("GET /api/reports/intervals/", [200, 400, 403]),
            ]
        ),
    ],
}

# What the mocked PHLO answers, in turn: mostly success, then each way it fails.
PHLO_ANSWERS = [
    *[(201, {"api_id": "fuzz-api-id", "error": ""})] * 5,
    (500, {"api_id": "e1", "error": "internal error"}),
    (401, {"api_id": "e2", "error": "Could not verify your access level for that URL."}),
    (400, "<html>not JSON</html>"),
    httpx.ReadTimeout("read timed out"),
    httpx.ConnectError("connection refused"),
]


@pytest.fixture
def in_test_transaction(db):
    """As Django's test client does: the WSGI handler must not close, at the end of each request,
    the connection that holds the test's transaction."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def api_schema(in_test_transaction):
    config = schemathesis.Config.from_dict(CONFIG)
    return schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application(), config=config)


@pytest.fixture
def phlo(settings):
    answers = itertools.cycle(PHLO_ANSWERS)

    def answer(request):
        planned = next(answers)
        if isinstance(planned, Exception):
            FIGURES[f"PHLO faults: {type(planned).__name__}"] += 1
            raise planned
        status, body = planned
        FIGURES[f"PHLO answers: {status}"] += 1
        return httpx.Response(status, **({"json": body} if isinstance(body, dict) else {"text": body}))

    with mocked_phlo(settings) as router:
        router["phlo"].side_effect = answer
        router["voice"].side_effect = answer
        yield router


@pytest.fixture
def world(phlo_app, agent, other_agent, supervisor) -> dict[int, list[int]]:
    """Calls in every shape an action meets: the agent's live call, a warm transfer under way,
    a held customer, another agent's call, an ended call. Call id → its member ids."""
    calls = [
        live_call(phlo_app, agent).call,
        warm_transfer_call(phlo_app, agent, AgentFactory(address="+14155550177")).call,
        live_call(phlo_app, agent, customer_state="on_hold").call,
        live_call(phlo_app, other_agent).call,
        CallFactory(phlo_app=phlo_app, status="ended"),
    ]
    MemberFactory(call=calls[-1], address=agent.address, agent=agent, role="agent", state="left")
    return {call.pk: [m.pk for m in call.members.all()] for call in calls}


def fuzz(api_schema, world: dict[int, list[int]], token: str) -> Counter:
    seen: Counter = Counter()
    for result in api_schema.get_all_operations():
        operation = result.ok()
        seen["operations"] += 1
        for mode, examples in EXAMPLES.items():
            if mode is GenerationMode.NEGATIVE and not has_input(operation):
                continue  # nothing to make invalid
            fuzz_operation(operation.as_strategy(generation_mode=mode), examples, world, token, seen)
    return seen


def has_input(operation) -> bool:
    return bool(len(operation.path_parameters) or len(operation.query) or len(operation.body))


def fuzz_operation(strategy, examples: int, world: dict[int, list[int]], token: str, seen: Counter) -> None:
    @given(data=st.data())
    @settings(
        max_examples=examples, deadline=None, database=None, derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    def run(data):
        case = data.draw(strategy)
        path = case.path_parameters
        if "call_id" in path and data.draw(st.booleans(), label="a real call"):
            path["call_id"] = data.draw(st.sampled_from(sorted(world)), label="call_id")
            if "member_id" in path and data.draw(st.integers(0, 3), label="one of its members") > 0:
                path["member_id"] = data.draw(st.sampled_from(world[path["call_id"]]), label="member_id")
        started = time.perf_counter()
        response = case.call_and_validate(headers={"Authorization": f"Token {token}"})
        FIGURES["seconds in requests"] += time.perf_counter() - started
        seen["cases"] += 1
        seen[f"cases {case.meta.generation.mode.value}"] += 1
        seen[f"status {response.status_code}"] += 1

    run()


@pytest.mark.parametrize("role", ["agent", "supervisor"])
def test_every_operation_answers_as_documented(api_schema, phlo, world, agent, supervisor, role):
    token = Token.objects.get_or_create(user=(agent if role == "agent" else supervisor).user)[0].key

    seen = fuzz(api_schema, world, token)

    FIGURES.update(seen)
    # The run met the answers that matter, not only 404s: success, each refusal, PHLO's failures.
    expected = {200, 201, 400, 404, 409, 502, 504} | ({403} if role == "agent" else set())
    assert expected <= {int(key.split()[1]) for key in seen if key.startswith("status ")}, seen
    # Actions reached PHLO often enough that every planned answer, failures included, was given.
    assert phlo["phlo"].call_count >= len(PHLO_ANSWERS)


@pytest.fixture(scope="module", autouse=True)
def _report():
    yield
    if FIGURES:
        FIGURES["seconds in requests"] = round(FIGURES["seconds in requests"], 1)
        print("\nAPI fuzzing:", dict(sorted(FIGURES.items())))
