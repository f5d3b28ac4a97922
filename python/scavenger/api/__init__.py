"""Async client of the Scavenger Mine HTTP API."""

from scavenger.api.client import DEFAULT_BASE_URL, ScavengerClient
from scavenger.api.events import ApiEvent
from scavenger.api.retry import NO_RETRY, RetryPolicy

__all__ = ["DEFAULT_BASE_URL", "NO_RETRY", "ApiEvent", "RetryPolicy", "ScavengerClient"]
