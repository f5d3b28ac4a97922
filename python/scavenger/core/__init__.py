"""Binding to the native AshMaize core (``scavenger._core``)."""
