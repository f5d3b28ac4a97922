"""Suite-wide settings. Hypothesis runs derandomized by default (the same examples on every run and every
machine, so a red run is a bug, not bad luck) with no per-example deadline (a loaded 2-core machine made
timing-based DeadlineExceeded failures). ``HYPOTHESIS_PROFILE=explore`` draws fresh random examples, more
of them, for a deliberate bug hunt."""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("deterministic", derandomize=True, deadline=None, database=None, print_blob=True)
settings.register_profile("explore", deadline=None, max_examples=1000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "deterministic"))
