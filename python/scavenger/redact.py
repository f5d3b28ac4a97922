"""Making text safe to show: URLs without their secrets, other people's strings without control characters.

Two helpers, used wherever such text is logged, displayed, reported or stored:

* ``redact_url``: a URL may carry ``user:password@`` or ``?token=...``; what is logged, shown in the live
  view, sent to the stats backend or stored in PostgreSQL keeps scheme, host, port and path, never the secret.
* ``printable``: a string that came from a server (challenge ids, error texts, HTML titles) or a client may
  hold terminal escapes, newlines that forge log lines, or bidi overrides (U+202E) that make a line read
  differently from what it is. Those characters are shown as escapes (``\\x1b``, ``\\u202e``) instead.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

REDACTED = "***"
# A query parameter whose name contains one of these carries a secret (password, sslpassword, access_token,
# api_key, client_secret, auth, sig...). Over-matching only hides a harmless value.
_SENSITIVE_QUERY = re.compile(r"pass|pwd|token|key|secret|auth|sig|credential|session|cookie", re.IGNORECASE)
# For these schemes the user name is a role name (libpq), not a secret: it is kept to make errors useful.
_USER_IS_NAME = frozenset({"postgres", "postgresql"})


def redact_url(url: object) -> str:
    """``url`` with its user info and sensitive query values replaced by ``***``.

    ``http://admin:pw@host:8080/insert_stat?token=t&x=1`` -> ``http://***@host:8080/insert_stat?token=***&x=1``;
    for PostgreSQL URLs the user name is kept: ``postgresql://stats:***@db:5432/stats``."""
    text = str(url)
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018  (raises ValueError on a malformed port, e.g. "http://[::1")
    except ValueError:
        return "<unparsable URL>"
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, host = netloc.rpartition("@")
        user, has_password, _ = userinfo.partition(":")
        if parts.scheme.lower() in _USER_IS_NAME:
            netloc = f"{user}:{REDACTED}@{host}" if has_password else netloc
        else:
            netloc = f"{REDACTED}@{host}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(_SENSITIVE_QUERY.search(name) for name, _ in pairs):
            query = "&".join(
                f"{quote(name, safe='')}="
                + (REDACTED if _SENSITIVE_QUERY.search(name) else quote(value, safe=""))
                for name, value in pairs
            )
    return printable(urlunsplit(parts._replace(netloc=netloc, query=query)))


def url_secrets(url: str) -> list[str]:
    """The secret pieces of ``url`` (user info, password, sensitive query values), longest first."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return []
    found: list[str] = []
    userinfo, at, _ = parts.netloc.rpartition("@")
    if at and userinfo:
        user, _, password = userinfo.partition(":")
        found += [userinfo, password] if parts.scheme.lower() in _USER_IS_NAME else [userinfo, user, password]
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if _SENSITIVE_QUERY.search(name):
            found.append(value)
            found.append(quote(value, safe=""))
    return sorted({piece for piece in found if piece}, key=len, reverse=True)


def scrub(text: object, url: str) -> str:
    """``text`` (e.g. a library's error message that may quote the URL) with ``url``'s secrets hidden and
    control characters escaped."""
    value = str(text)
    for piece in url_secrets(url):
        value = value.replace(piece, REDACTED)
    return printable(value)


def _escape(char: str) -> str:
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def printable(text: object, limit: int | None = None) -> str:
    """``str(text)`` with every non-printable character (C0/C1 controls, DEL, newlines, bidi overrides and
    other format characters, line/paragraph separators) written as a Python-style escape; cut to ``limit``
    characters (before escaping) when given."""
    value = str(text)
    if limit is not None and len(value) > limit:
        value = value[:limit] + "…"
    if value.isprintable():
        return value
    return "".join(char if char.isprintable() else _escape(char) for char in value)


class EscapingFilter(logging.Filter):
    """Log handler filter: the formatted message of every record is passed through ``printable``, so no
    string a server or client sent can add a fake log line, recolour a terminal or reorder the text.
    (Tracebacks are formatted separately and keep their lines.)"""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        safe = printable(message)
        if safe != message or record.args:
            record.msg, record.args = safe, None
        return True


def install_log_escaping(handler: logging.Handler | None = None) -> None:
    """Add ``EscapingFilter`` to ``handler``, or to every handler of the root logger."""
    handlers = [handler] if handler is not None else logging.getLogger().handlers
    for item in handlers:
        if not any(isinstance(f, EscapingFilter) for f in item.filters):
            item.addFilter(EscapingFilter())


__all__ = [
    "REDACTED",
    "EscapingFilter",
    "install_log_escaping",
    "printable",
    "redact_url",
    "scrub",
    "url_secrets",
]
