"""What the client reports and raises never carries the API URL's secrets or raw control characters."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from scavenger.api import NO_RETRY, ScavengerClient, errors

from .conftest import ScriptedServer, json_reply

EVIL = "Challenge not found\x1b[2J\n2026-01-01 INFO fake line \u202egnp.exe"


async def test_events_and_errors_are_safe(scripted: ScriptedServer) -> None:
    scripted.reply(json_reply(404, {"message": EVIL, "statusCode": 404}))
    events: list[Any] = []
    url = scripted.url.replace("http://", "http://operator:hunter22@") + "/?token=tok3n"
    async with ScavengerClient(url, retry=NO_RETRY, on_response=events.append) as api:
        assert "hunter22" not in repr(api)
        with pytest.raises(errors.ApiError) as caught:
            await api.get_challenge()
    (event,) = events
    assert "hunter22" not in event.url and "tok3n" not in event.url and "***@127.0.0.1" in event.url
    shown = str(caught.value)
    assert shown.isprintable() and "\\x1b[2J\\x0a2026-01-01" in shown and "\\u202e" in shown
    assert caught.value.message == EVIL  # kept raw for matching; escaped when shown


async def test_transport_errors_do_not_quote_the_password() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with ScavengerClient(f"http://operator:hunter22@127.0.0.1:{port}", retry=NO_RETRY) as api:
        with pytest.raises(errors.TransportError) as caught:
            await api.get_challenge()
    assert "hunter22" not in str(caught.value)
    with pytest.raises(ValueError) as bad:
        ScavengerClient("ftp://operator:hunter22@h")
    assert "hunter22" not in str(bad.value)
