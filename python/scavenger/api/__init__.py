"""Async client of the Scavenger Mine HTTP API."""
