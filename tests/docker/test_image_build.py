"""The image itself: the one scripts/docker.sh builds (prebuilt-wheel path on a host without a registry)
works like the compiled one, which stays small and runs as the unprivileged user behind tini."""

from __future__ import annotations

import json

import pytest

from .conftest import BuiltImages
from .dockerlib import run

pytestmark = [pytest.mark.docker, pytest.mark.timeout(600)]

MAX_IMAGE_BYTES = 400 << 20


def test_script_image_works_and_says_what_it_was_built_from(script_images: dict[str, str]) -> None:
    """The image scripts/docker.sh builds (on a host without a registry: runtime image as the builder and
    the wheel compiled on the host, so no Rust toolchain in any image) runs the native core as uid 10001 and
    carries the source digest that lets a second run skip the build."""
    image = script_images["SCAVENGER_IMAGE"]
    probe = run(["docker", "run", "--rm", image, "python", "-c",
                 "import os, scavenger._core as c; print(c.__version__, os.getuid())"], timeout=60)
    version, uid = probe.stdout.split()
    assert uid == "10001" and version, probe.stdout
    labels = json.loads(run(["docker", "image", "inspect", image], timeout=30).stdout)[0]["Config"]["Labels"]
    digest = labels.get("midnight-scavenger.source-digest", "")
    assert len(digest) == 16 and digest != "unknown", labels


def test_compiled_image_is_small_non_root_and_has_init_and_healthcheck(images: BuiltImages) -> None:
    image = images.build_env["SCAVENGER_IMAGE"]
    info = json.loads(run(["docker", "image", "inspect", image], timeout=30).stdout)[0]
    assert info["Size"] < MAX_IMAGE_BYTES, f"runtime image is {info['Size'] >> 20} MiB"
    config = info["Config"]
    assert config["Entrypoint"][:2] == ["tini", "--"], config["Entrypoint"]
    assert config["Healthcheck"]["Test"] == ["CMD", "scavenger-healthcheck"]
    assert "/usr/local/bin/config" in config["Volumes"]
    # No compiler or Rust toolchain leaked from the builder stage into the runtime image.
    leaked = run(["docker", "run", "--rm", "--entrypoint", "sh", image, "-c",
                  "for tool in cargo rustc gcc maturin; do command -v $tool; done; true"],
                 timeout=60).stdout.split()
    assert leaked == [], f"build tools in the runtime image: {leaked}"
