"""Fuzzed path parameters never make the simulator answer 5xx or non-JSON (bounded example count)."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scavenger.sim.testing import SimulatorHandle, running_simulator
from timing import scaled

from .conftest import SMALL_PRE, SMALL_ROM

ROUTES = [
    ("POST", "register/{0}/{1}/{2}"),
    ("POST", "solution/{0}/{1}/{2}"),
    ("POST", "donate_to/{0}/{1}/{2}"),
    ("GET", "statistics/{0}"),
    ("GET", "TandC/{0}"),
]
# Mix of plausible values (so deeper checks run) and arbitrary text, sent percent-encoded.
PLAUSIBLE = st.sampled_from(
    [
        "addr1qylrq7w6ukp4wqf0cpetv6sglclpd6ejw5ez7rdhyv4h4l3p8rfuxlr39pva5znszxjhfkswqcpa0s6d49yeuecvpckqlhecdg",
        "addr_test1qq4dl3nhr0axurgcrpun9xyp04pd2r2dwu5x7eeam98psv6dhxlde8ucclv2p46hm077ds4vzelf5565fg3ky794uhrq5up0he",
        "**D01C01",
        "**D99C99",
        "0000000000000000",
        "84" * 40,
        "a" * 64,
        "1-0",
        "",
        "..",
        "%",
        "*",
    ]
)
SEGMENT = st.one_of(PLAUSIBLE, st.text(max_size=80), st.binary(max_size=40).map(bytes.hex))


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimulatorHandle]:
    with running_simulator(
        tmp_path_factory.mktemp("fuzz"), rom_size=SMALL_ROM, pre_size=SMALL_PRE, difficulty="FFFFFFFF"
    ) as handle:
        yield handle


@pytest.fixture(scope="module")
def http(sim: SimulatorHandle) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sim.url, timeout=scaled(10.0)) as client:
        yield client


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(route=st.sampled_from(ROUTES), parts=st.tuples(SEGMENT, SEGMENT, SEGMENT), prefix=st.booleans())
def test_fuzzed_path_parameters_get_json_4xx(
    http: httpx.Client, route: tuple[str, str], parts: tuple[str, str, str], prefix: bool
) -> None:
    method, template = route
    path = ("/api/" if prefix else "/") + template.format(*(quote(p, safe="*") for p in parts))
    reply = http.request(method, path)
    assert reply.status_code < 500, (path, reply.text)
    body = reply.json()
    if reply.status_code >= 400:
        assert body["statusCode"] == reply.status_code and isinstance(body["message"], str)


def test_simulator_survived_the_fuzzing(http: httpx.Client) -> None:
    assert http.get("/_sim/health").json() == {"ok": True}
