"""scripts/setup.sh on a stand-in tree (a stub .venv/bin/python and cargo): each step is shown, and a second
run with nothing changed is a fast no-op that does not reinstall (it used to re-run `pip install -e`, ~20 s).
The real build is exercised by scripts/test.sh on every CI run."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

STUB_PYTHON = """#!/usr/bin/env bash
echo "$*" >> "$(dirname "$0")/../../calls.log"
case "$*" in
  *"import scavenger._core"*) [ -f "$(dirname "$0")/../../installed" ] && echo 0.1.0 || exit 1 ;;
  *"pip install -v -e"*)
    echo "Collecting click>=8.1"; echo "   Compiling scavenger-core v0.1.0 (rust)"
    [ -f "$(dirname "$0")/../../fail" ] && { echo "error: linker failed"; exit 1; }
    touch "$(dirname "$0")/../../installed"; echo "Successfully installed midnight-scavenger-0.1.0" ;;
esac
"""


def _executable(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def _tree(tmp_path: Path) -> Path:
    tree = tmp_path / "clone"
    (tree / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "setup.sh", tree / "scripts" / "setup.sh")
    (tree / "rust" / "src").mkdir(parents=True)
    (tree / "rust" / "src" / "lib.rs").write_text("// core\n")
    (tree / "rust" / "Cargo.toml").write_text("[package]\n")
    (tree / "rust" / "Cargo.lock").write_text("")
    (tree / "pyproject.toml").write_text("[project]\n")
    _executable(tree / ".venv" / "bin" / "python", STUB_PYTHON)
    _executable(tmp_path / "bin" / "cargo", "#!/bin/sh\nexit 0\n")
    return tree


def _setup(tree: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{tree.parent / 'bin'}:{os.environ['PATH']}"}
    env.pop("SETUP_FORCE", None)
    return subprocess.run(
        ["bash", str(tree / "scripts" / "setup.sh")], capture_output=True, text=True, env=env, timeout=60
    )


def _installs(tree: Path) -> int:
    return sum("pip install -v -e" in line for line in (tree / "calls.log").read_text().splitlines())


def test_setup_shows_progress_then_is_a_no_op_until_rust_or_pyproject_changes(tmp_path: Path) -> None:
    tree = _tree(tmp_path)
    first = _setup(tree)
    assert first.returncode == 0, first.stderr
    assert "[3/3]" in first.stdout and "Compiling scavenger-core" in first.stdout
    assert "setup: ready in" in first.stdout and _installs(tree) == 1
    again = _setup(tree)
    assert again.returncode == 0 and again.stdout.startswith("setup: up to date"), again.stdout
    assert _installs(tree) == 1  # nothing reinstalled
    (tree / "python").mkdir()
    (tree / "python" / "x.py").write_text("# editable install: used in place\n")
    assert _setup(tree).stdout.startswith("setup: up to date")
    (tree / "rust" / "src" / "lib.rs").write_text("// core, changed\n")
    assert "ready in" in _setup(tree).stdout and _installs(tree) == 2


def test_a_failed_build_shows_the_log_and_leaves_no_stamp(tmp_path: Path) -> None:
    tree = _tree(tmp_path)
    (tree / "fail").touch()
    failed = _setup(tree)
    assert failed.returncode == 1
    assert "the install failed" in failed.stderr and "error: linker failed" in failed.stderr
    assert not (tree / ".venv" / ".setup-stamp").exists()
    (tree / "fail").unlink()
    assert "ready in" in _setup(tree).stdout  # and the next run builds again
