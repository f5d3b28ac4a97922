"""Property-based fuzzing of the backend's whole HTTP API from its own OpenAPI description (schemathesis),
against a real backend process and PostgreSQL: no 5xx for any input, and no 2xx for input the schema
says is invalid. Derandomized and bounded, so it runs the same way every time in a few seconds."""

from __future__ import annotations

from collections.abc import Callable

import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import negative_data_rejection

from timing import scaled

from .conftest import WRITE_TOKEN, Backend

CHECKS = [not_a_server_error, negative_data_rejection]
SETTINGS = settings(max_examples=40, derandomize=True, deadline=None, database=None,
                    suppress_health_check=list(HealthCheck))


def fuzz(backend: Backend, mode: GenerationMode) -> int:
    schema = schemathesis.openapi.from_url(backend.url + "/openapi.json", timeout=scaled(10))
    calls = 0
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {WRITE_TOKEN}"

        @SETTINGS
        @given(case=schema.as_strategy(mode))
        def run(case: Case) -> None:
            nonlocal calls
            response = case.call(base_url=backend.url, session=session, timeout=scaled(10))
            calls += 1
            case.validate_response(response, checks=CHECKS)

        run()
    return calls


def test_no_server_error_and_no_success_for_invalid_input(
    start_backend: Callable[..., Backend], database_url: str
) -> None:
    backend = start_backend(database_url)  # one backend for both modes: a start costs more than the fuzzing
    assert fuzz(backend, GenerationMode.POSITIVE) >= 20
    assert fuzz(backend, GenerationMode.NEGATIVE) >= 20
    assert "Traceback" not in backend.log_text()
