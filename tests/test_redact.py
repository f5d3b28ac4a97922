"""The two text-safety helpers: URL redaction and escaping of strings other parties sent."""

from __future__ import annotations

import logging

import pytest

from scavenger.redact import EscapingFilter, printable, redact_url, scrub


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://admin:pw@stats:8080/insert_stat", "http://***@stats:8080/insert_stat"),
        ("https://ghp_token@h/p", "https://***@h/p"),
        ("https://h/x?token=abc&x=1&api_key=k&password=p", "https://h/x?token=***&x=1&api_key=***&password=***"),
        ("https://h/x?a=1&b=two", "https://h/x?a=1&b=two"),
        ("postgresql://stats:s3cr3t@db:5432/stats", "postgresql://stats:***@db:5432/stats"),
        ("postgresql://u@h/d?sslmode=require&sslpassword=k", "postgresql://u@h/d?sslmode=require&sslpassword=***"),
        ("http://[::1", "<unparsable URL>"),
        ("http://h/\x1b[2J", "http://h/\\x1b[2J"),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_printable_escapes_controls_newlines_and_bidi_overrides() -> None:
    hostile = "**D01C01\x1b[31m\u202eevil\nfake INFO line\r\x00\u2066x\u2069\u200f"
    shown = printable(hostile)
    assert shown == "**D01C01\\x1b[31m\\u202eevil\\x0afake INFO line\\x0d\\x00\\u2066x\\u2069\\u200f"
    assert shown.isprintable()
    assert printable("plain **D07C10 text, été") == "plain **D07C10 text, été"
    assert printable("x" * 50, limit=10) == "x" * 10 + "…"


def test_scrub_hides_the_secrets_a_library_quotes() -> None:
    url = "http://admin:hunter22@h:1/?token=tok3n"
    text = "ConnectError: cannot reach http://admin:hunter22@h:1/?token=tok3n (hunter22)\n"
    shown = scrub(text, url)
    assert "hunter22" not in shown and "tok3n" not in shown and "\n" not in shown


def test_log_filter_escapes_the_formatted_message() -> None:
    args = ("**D01\u202e", "a\nb")
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "challenge %s: %s", args, None)
    assert EscapingFilter().filter(record)
    assert record.getMessage() == "challenge **D01\\u202e: a\\x0ab"
