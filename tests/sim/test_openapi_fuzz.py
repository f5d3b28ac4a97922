"""Property-based fuzzing of every simulator route (the real API's and /_sim/*) from the OpenAPI
description FastAPI derives from its routes (the simulator does not serve it, like the real server):
no 5xx for any input, no 2xx for input the schema says is invalid. Derandomized and bounded."""

from __future__ import annotations

import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import negative_data_rejection

from scavenger.sim.app import create_app
from timing import scaled

from .conftest import InProcessSim

CHECKS = [not_a_server_error, negative_data_rejection]
SETTINGS = settings(max_examples=50, derandomize=True, deadline=None, database=None,
                    suppress_health_check=list(HealthCheck))


def fuzz(inproc: InProcessSim, mode: GenerationMode) -> int:
    schema = schemathesis.openapi.from_dict(create_app(inproc.sim).openapi())
    calls = 0
    with requests.Session() as session:

        @SETTINGS
        @given(case=schema.as_strategy(mode))
        def run(case: Case) -> None:
            nonlocal calls
            response = case.call(base_url=inproc.url, session=session, timeout=scaled(10))
            calls += 1
            case.validate_response(response, checks=CHECKS)

        run()
    return calls


def test_valid_requests_never_get_a_server_error(inproc: InProcessSim) -> None:
    assert fuzz(inproc, GenerationMode.POSITIVE) >= 25


def test_invalid_requests_are_refused_without_a_server_error(inproc: InProcessSim) -> None:
    # Only the formats the description states (pubkey, signature, nonce) can be violated.
    assert fuzz(inproc, GenerationMode.NEGATIVE) >= 25
