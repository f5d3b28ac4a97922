"""Type stub of the native AshMaize core (rust/src/python.rs)."""

__version__: str

class SearchResult:
    """Smallest passing nonce of a searched range (None if none) and its hash."""

    @property
    def nonce(self) -> int | None: ...
    @property
    def hash(self) -> bytes | None: ...
    @property
    def hashes(self) -> int:
        """Hashes actually computed (for hash rate)."""

class Rom:
    """AshMaize ROM; built once with the GIL released, immutable, thread-safe."""

    def __init__(
        self,
        key: bytes,
        size: int = 1 << 30,
        pre_size: int = 16 << 20,
        mixing_numbers: int = 4,
        full_random: bool = False,
    ) -> None: ...
    @property
    def size(self) -> int: ...
    def digest(self) -> bytes:
        """BLAKE2b-512 of the whole generated ROM (64 bytes)."""
    def window(self) -> bytes:
        """The only bytes hashing reads: ``ROM[0 : size // 64 + 63]`` (uploaded by the OpenCL backend)."""
    def hash(self, preimage: bytes, nb_loops: int = 8, nb_instrs: int = 256) -> bytes:
        """AshMaize digest (64 bytes) of ``preimage``."""
    def search(
        self,
        suffix: bytes,
        start: int,
        count: int,
        mask: int,
        threads: int = 1,
        nb_loops: int = 8,
        nb_instrs: int = 256,
    ) -> SearchResult:
        """Smallest nonce in ``start .. start+count-1`` whose hash meets ``mask``."""

# Internal stages, exposed only for the intermediate-value tests.
def _rom_intermediates(
    key: bytes, size: int, pre_size: int, mixing_numbers: int, nb_chunks: int
) -> dict[str, bytes | list[int] | list[bytes]]: ...
def _vm_init(rom_digest: bytes, preimage: bytes) -> bytes: ...
def _hprime(length: int, data: bytes) -> bytes: ...
def _simd_kernel() -> str: ...

def validate_rom(
    size: int = 1 << 30, pre_size: int = 16 << 20, mixing_numbers: int = 4, full_random: bool = False
) -> None:
    """Raises the ValueError/TypeError ``Rom(key, size, ...)`` would raise, without building anything."""

