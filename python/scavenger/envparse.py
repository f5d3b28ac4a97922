"""Parsing of configuration values (environment variables and their CLI flags), shared by every command so
that one variable means the same thing everywhere: ``ASHMAIZE_ROM_SIZE=64MiB`` is read alike by the miner,
the simulator and the benchmark. Every error names the variable and the value it got."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import TypeVar
from urllib.parse import urlsplit

TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off", "")
_SIZE_RE = re.compile(r"^\s*(\d+)\s*([kmg]i?b?|b)?\s*$", re.IGNORECASE)
_SIZE_UNITS = {"": 1, "b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
_N = TypeVar("_N", int, float)


class ConfigError(ValueError):
    """A configuration value is invalid; the message names the variable and the bad value."""


def parse_bool(name: str, text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in TRUE_WORDS:
        return True
    if lowered in FALSE_WORDS:
        return False
    raise ConfigError(f"{name} must be true or false, got {text!r}")


def _parse_number(
    name: str, text: str, convert: Callable[[str], _N], valid: Callable[[_N], bool], expected: str
) -> _N:
    """``convert(text)`` if it converts and is ``valid``; else one error: ``{name} must be {expected}``."""
    try:
        value = convert(text.strip())
    except ValueError:
        raise ConfigError(f"{name} must be {expected}, got {text!r}") from None
    if not valid(value):
        raise ConfigError(f"{name} must be {expected}, got {text!r}")
    return value


def parse_positive_int(name: str, text: str) -> int:
    return _parse_number(name, text, int, lambda v: v >= 1, "a positive integer")


def parse_positive_float(name: str, text: str) -> float:
    return _parse_number(
        name, text, float, lambda v: math.isfinite(v) and v > 0, "a positive number of seconds"
    )


def int_in(low: int, high: int) -> Callable[[str, str], int]:
    """A parser of whole numbers in ``low..high``; the error says the range."""

    def parse(name: str, text: str) -> int:
        return _parse_number(name, text, int, lambda v: low <= v <= high, f"a whole number in {low}..{high}")

    return parse


def seconds_in(low: float, high: float) -> Callable[[str, str], float]:
    """A parser of durations in seconds within ``low..high``: finite, so NaN, inf, 1e-300 and negative values
    are refused with the range in the message."""

    def parse(name: str, text: str) -> float:
        return _parse_number(
            name, text, float, lambda v: math.isfinite(v) and low <= v <= high,
            f"a number of seconds in {low:g}..{high:g}",
        )

    return parse


def parse_port(name: str, text: str) -> int:
    return _parse_number(name, text, int, lambda v: 0 <= v <= 65535, "a port number 0-65535 (0 = off)")


def parse_size(name: str, text: str) -> int:
    """Bytes, with optional binary units: ``1073741824``, ``1GiB``, ``16MiB``, ``64k``."""
    match = _SIZE_RE.match(text)
    try:
        number = int(match.group(1)) if match else None
    except ValueError:  # more digits than int() converts (sys.get_int_max_str_digits)
        number = None
    if match is None or number is None:
        raise ConfigError(f"{name} must be a size in bytes (e.g. 1073741824, 64MiB, 1GiB), got {text!r}")
    unit = (match.group(2) or "").lower()[:1]
    value = number * _SIZE_UNITS[unit]
    if value < 1:
        raise ConfigError(f"{name} must be a positive size, got {text!r}")
    return value


def parse_url(name: str, text: str) -> str:
    """An http(s) URL with a host (and a valid port if any). The value is never echoed: a URL may carry
    ``user:password@``, which must not reach a log; only the scheme or the part that is wrong is named."""
    value = text.strip()
    try:
        parts = urlsplit(value)
        host = parts.hostname
        parts.port  # noqa: B018 -- raises ValueError for a port that is not a number in 0..65535
    except ValueError as exc:
        raise ConfigError(f"{name} must be an http(s) URL: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise ConfigError(f"{name} must be an http(s) URL, got one with scheme {parts.scheme!r}")
    if not host:
        raise ConfigError(f"{name} must be an http(s) URL with a host")
    return value.rstrip("/")
