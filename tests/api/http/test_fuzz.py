"""Property-based fuzzing of the service's whole OpenAPI surface: no request earns a 5xx.

Schemathesis reads ``/openapi.json`` and generates requests for every operation — requests that
fit the schema and requests that break it (wrong types, out-of-range numbers, odd paths and
bodies) — and every answer must be below 500 and, when it refuses, a problem document without a
traceback.  Calls carry an administrator's token, so the fuzzing reaches the code behind the
permission check (the permission matrix covers the other tokens).  Bounded and derandomised:
well under a minute, and the same requests every run.
"""

from __future__ import annotations

from typing import Any, TypeAlias

import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Err

from tests.api.http.conftest import Actor

EXAMPLES_PER_OPERATION_AND_MODE = 30

Operation: TypeAlias = schemathesis.APIOperation[Any, Any, Any, Any]
"""An operation as schemathesis yields it: its schema's own code leaves the four type
parameters (parameters, responses, security, schema) unbound as well."""


def operations(schema: schemathesis.BaseSchema) -> list[Operation]:
    """Every operation of ``schema``; one that schemathesis cannot load fails the test with
    schemathesis' own reason rather than with a missing attribute of its error value."""
    loaded = []
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            raise result.err()
        loaded.append(result.ok())
    return loaded


def fuzz(
    operation: Operation,
    mode: GenerationMode,
    headers: dict[str, str],
    seen: set[str],
) -> None:
    """Run one operation's generated requests; record each ``label status`` in ``seen``."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES_PER_OPERATION_AND_MODE,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def no_server_error(case: schemathesis.Case[Operation]) -> None:
        response = case.call(headers=headers)
        case.validate_response(response, checks=[not_a_server_error])
        if response.status_code >= 400:
            assert response.headers["content-type"] == ["application/problem+json"]
            assert "Traceback" not in response.text
        seen.add(f"{operation.label} {response.status_code}")

    no_server_error()


def test_no_request_earns_a_server_error(app: FastAPI, admin_token: str, demo: Actor) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    loaded = operations(schema)
    assert len(loaded) >= 17
    headers = {"Authorization": f"Bearer {admin_token}"}
    seen: set[str] = set()
    unbreakable: set[str] = set()
    for operation in loaded:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                fuzz(operation, mode, headers, seen)
            except Unsatisfiable:
                # An operation without parameters or body has nothing to break.
                assert mode is GenerationMode.NEGATIVE, operation.label
                unbreakable.add(operation.label)
    # The fuzzing got past validation: operations answered with success too.
    assert any(" 2" in outcome for outcome in seen), sorted(seen)
    assert unbreakable <= {
        "GET /checkpoint",
        "GET /vkey",
        "GET /policy",
        "GET /health",
        "GET /tile/{tile_path}",  # any string is a path: a bad one is a 404, not a schema error
        "POST /entries/bundle",  # any bytes are a body: a bad one is a 400, not a schema error
    }
