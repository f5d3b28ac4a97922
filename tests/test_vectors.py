"""The repository's copies of the vector files are exactly the shared ones, so every shared vector is what the
core, wallet, API and simulator tests run against."""

from __future__ import annotations

import os

import pytest

from vector_files import SHARED_VECTORS_DIR, VECTOR_FILES, VECTORS_DIR


@pytest.mark.parametrize("name", VECTOR_FILES)
def test_copy_matches_the_shared_vectors(name: str) -> None:
    shared = SHARED_VECTORS_DIR / name
    if not shared.exists():
        # CI always has shared/ beside the clone; a clone used elsewhere runs on the repository's copy.
        if os.environ.get("CI"):
            pytest.fail(f"{shared} is missing on CI")
        pytest.skip(f"{shared} not present beside this clone")
    copy = VECTORS_DIR / name
    assert copy.read_bytes() == shared.read_bytes(), f"tests/vectors/{name} differs from {shared}"
