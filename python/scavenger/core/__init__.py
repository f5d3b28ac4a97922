"""AshMaize proof-of-work core: the native ROM/hash/search plus the pure preimage and
difficulty helpers. Everything the other parts need is importable from here."""

from __future__ import annotations

from scavenger._core import Rom, SearchResult
from scavenger.core.difficulty import meets_difficulty, parse_difficulty
from scavenger.core.nonce import NONCE_MAX, format_nonce, parse_nonce
from scavenger.core.preimage import build_preimage, build_preimage_suffix, rom_key

DEFAULT_ROM_SIZE = 1 << 30
DEFAULT_PRE_SIZE = 16 << 20
DEFAULT_MIXING_NUMBERS = 4
DEFAULT_NB_LOOPS = 8
DEFAULT_NB_INSTRS = 256

__all__ = [
    "DEFAULT_MIXING_NUMBERS",
    "DEFAULT_NB_INSTRS",
    "DEFAULT_NB_LOOPS",
    "DEFAULT_PRE_SIZE",
    "DEFAULT_ROM_SIZE",
    "NONCE_MAX",
    "Rom",
    "SearchResult",
    "build_preimage",
    "build_preimage_suffix",
    "format_nonce",
    "meets_difficulty",
    "parse_difficulty",
    "parse_nonce",
    "rom_key",
]
