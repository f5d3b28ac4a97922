"""The docs' tables of settings, generated from the declarations in ``scavenger.settings``.

Each table sits between ``<!-- settings: COMMAND -->`` (or ``<!-- settings: all -->``) and
``<!-- /settings -->`` in a Markdown file. ``python -m scavenger.settings_docs`` rewrites them;
tests/test_settings.py fails when one is out of date, so the README, docs/ and ``--help`` cannot drift apart.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from scavenger.settings import markdown_table

DOCUMENTS = ("README.md", "docs/settings.md", "docs/miner.md", "docs/stats.md")
_BLOCK = re.compile(r"(<!-- settings: ([a-z-]+) -->\n)(.*?)(<!-- /settings -->)", re.DOTALL)


def render(text: str) -> str:
    """``text`` with every settings block replaced by the table its marker names."""

    def table(match: re.Match[str]) -> str:
        command = match.group(2)
        return match.group(1) + markdown_table(None if command == "all" else command) + match.group(4)

    return _BLOCK.sub(table, text)


def blocks(text: str) -> list[str]:
    """The commands of the settings blocks in ``text``."""
    return [match.group(2) for match in _BLOCK.finditer(text)]


def stale(root: Path) -> list[str]:
    """The documents whose tables differ from the declarations."""
    return [name for name in DOCUMENTS if (root / name).exists() and render(
        text := (root / name).read_text(encoding="utf-8")) != text]


def main(root: Path) -> int:
    for name in DOCUMENTS:
        path = root / name
        if path.exists():
            text = path.read_text(encoding="utf-8")
            new = render(text)
            if new != text:
                path.write_text(new, encoding="utf-8")
                print(f"updated {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path.cwd()))
