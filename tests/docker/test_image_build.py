"""The image itself: the prebuilt-wheel path (no Rust in the build) gives a working image like the
compiled one, which stays small and runs as the unprivileged user behind tini."""

from __future__ import annotations

import json

import pytest

from .conftest import BuiltImages
from .dockerlib import REPO, RUNTIME_BASE, run

pytestmark = [pytest.mark.docker, pytest.mark.timeout(600)]

PREBUILT_IMAGE = "scavenger-miner:e2e-prebuilt"
MAX_IMAGE_BYTES = 400 << 20


def test_prebuilt_wheel_image_works_without_a_rust_toolchain(images: BuiltImages) -> None:
    images.progress("docker build WHEEL_SOURCE=prebuilt (runtime image as the builder: no Rust at all)")
    run(["docker", "build", "--quiet", "--tag", PREBUILT_IMAGE,
         "--build-arg", f"BUILDER_IMAGE={RUNTIME_BASE}", "--build-arg", f"RUNTIME_IMAGE={RUNTIME_BASE}",
         "--build-arg", "WHEEL_SOURCE=prebuilt", "--build-arg", "PIP_OFFLINE=1", str(REPO)], timeout=600)
    try:
        probe = run(["docker", "run", "--rm", PREBUILT_IMAGE, "python", "-c",
                     "import os, scavenger._core as c; print(c.__version__, os.getuid())"], timeout=60)
        version, uid = probe.stdout.split()
        assert uid == "10001" and version, probe.stdout
    finally:
        run(["docker", "image", "rm", PREBUILT_IMAGE], timeout=120, check=False)


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
