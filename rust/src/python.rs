//! PyO3 binding: module `scavenger._core`. Validates every argument into a clear ValueError /
//! TypeError before touching the core, and releases the GIL for every long computation.

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyInt};

use crate::error::CoreError;
use crate::rom::{Generation, Rom};
use crate::search;
use crate::vm::{check_params, Hasher};

fn to_py(e: CoreError) -> PyErr {
    PyValueError::new_err(e.to_string())
}

/// Extracts a non-negative int argument `<= max`; anything else is a clear TypeError/ValueError.
fn uint(obj: &Bound<'_, PyAny>, name: &str, max: u128) -> PyResult<u128> {
    // bool is an int subclass in Python; refusing it catches swapped arguments early.
    if obj.is_instance_of::<PyBool>() || !obj.is_instance_of::<PyInt>() {
        return Err(PyTypeError::new_err(format!(
            "{name} must be an int, got {}",
            type_name(obj)
        )));
    }
    let shown = || {
        obj.repr()
            .map(|r| r.to_string())
            .unwrap_or_else(|_| "?".into())
    };
    if obj.lt(0)? || obj.gt(max)? {
        return Err(PyValueError::new_err(format!(
            "{name} must be in 0..={max}, got {}",
            shown()
        )));
    }
    obj.extract::<u128>()
        .map_err(|_| PyValueError::new_err(format!("{name} is out of range: {}", shown())))
}

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".into())
}

fn opt_uint(
    obj: Option<&Bound<'_, PyAny>>,
    name: &str,
    max: u128,
    default: u128,
) -> PyResult<u128> {
    match obj {
        None => Ok(default),
        Some(o) => uint(o, name, max),
    }
}

/// Result of `Rom.search`: the smallest passing nonce of the range (or None) and its hash, plus
/// the number of hashes actually computed.
#[pyclass(frozen, module = "scavenger._core", name = "SearchResult")]
pub struct PySearchResult {
    nonce: Option<u64>,
    hash: Option<[u8; 64]>,
    hashes: u64,
}

#[pymethods]
impl PySearchResult {
    #[getter]
    fn nonce(&self) -> Option<u64> {
        self.nonce
    }

    #[getter]
    fn hash<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyBytes>> {
        self.hash.as_ref().map(|h| PyBytes::new(py, h))
    }

    #[getter]
    fn hashes(&self) -> u64 {
        self.hashes
    }

    fn __repr__(&self) -> String {
        match (self.nonce, self.hash.as_ref()) {
            (Some(n), Some(h)) => {
                let hex: String = h[..8].iter().map(|b| format!("{b:02x}")).collect();
                format!(
                    "SearchResult(nonce={n:#018x}, hash={hex}…, hashes={})",
                    self.hashes
                )
            }
            _ => format!(
                "SearchResult(nonce=None, hash=None, hashes={})",
                self.hashes
            ),
        }
    }
}

/// The ROM arguments of `Rom(...)` and `validate_rom(...)`, extracted alike (same defaults, same errors).
fn rom_args(
    size: Option<&Bound<'_, PyAny>>,
    pre_size: Option<&Bound<'_, PyAny>>,
    mixing_numbers: Option<&Bound<'_, PyAny>>,
    full_random: bool,
) -> PyResult<(Generation, u64)> {
    let size = opt_uint(size, "size", u64::MAX as u128, 1 << 30)? as u64;
    let pre_size = opt_uint(pre_size, "pre_size", u64::MAX as u128, 16 << 20)? as u64;
    let mixing_numbers = opt_uint(mixing_numbers, "mixing_numbers", u64::MAX as u128, 4)? as u64;
    let generation = if full_random {
        Generation::FullRandom
    } else {
        let pre = usize::try_from(pre_size)
            .map_err(|_| PyValueError::new_err(format!("pre_size is out of range: {pre_size}")))?;
        let mix = usize::try_from(mixing_numbers).map_err(|_| {
            PyValueError::new_err(format!("mixing_numbers is out of range: {mixing_numbers}"))
        })?;
        Generation::TwoStep {
            pre_size: pre,
            mixing_numbers: mix,
        }
    };
    Ok((generation, size))
}

/// Raises the ValueError/TypeError that `Rom(key, size, pre_size, ...)` would raise, without building
/// anything: lets a command reject a ROM setting at start, by the core's own rule.
#[pyfunction]
#[pyo3(signature = (size = None, pre_size = None, mixing_numbers = None, full_random = false))]
fn validate_rom(
    size: Option<&Bound<'_, PyAny>>,
    pre_size: Option<&Bound<'_, PyAny>>,
    mixing_numbers: Option<&Bound<'_, PyAny>>,
    full_random: bool,
) -> PyResult<()> {
    let (generation, size) = rom_args(size, pre_size, mixing_numbers, full_random)?;
    crate::rom::validate(generation, size).map_err(to_py)
}

/// An AshMaize ROM, built once (GIL released) and then shared read-only between threads.
#[pyclass(frozen, module = "scavenger._core", name = "Rom")]
pub struct PyRom {
    rom: Rom,
    generation: Generation,
}

#[pymethods]
impl PyRom {
    #[new]
    #[pyo3(signature = (key, size = None, pre_size = None, mixing_numbers = None, full_random = false))]
    fn new(
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        size: Option<&Bound<'_, PyAny>>,
        pre_size: Option<&Bound<'_, PyAny>>,
        mixing_numbers: Option<&Bound<'_, PyAny>>,
        full_random: bool,
    ) -> PyResult<Self> {
        let key = bytes_arg(key, "key")?;
        let (generation, size) = rom_args(size, pre_size, mixing_numbers, full_random)?;
        let rom = py
            .detach(|| Rom::new(&key, generation, size))
            .map_err(to_py)?;
        Ok(PyRom { rom, generation })
    }

    /// BLAKE2b-512 of the whole generated ROM (64 bytes).
    fn digest<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, self.rom.digest())
    }

    /// The only bytes the VM can read, `ROM[0 .. size/64 + 63]` (16 MiB + 63 at the real
    /// parameters): what the OpenCL backend uploads once per ROM.
    fn window<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, self.rom.window())
    }

    #[getter]
    fn size(&self) -> u64 {
        self.rom.size() as u64
    }

    #[pyo3(signature = (preimage, nb_loops = None, nb_instrs = None))]
    fn hash<'py>(
        &self,
        py: Python<'py>,
        preimage: &Bound<'py, PyAny>,
        nb_loops: Option<&Bound<'py, PyAny>>,
        nb_instrs: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let preimage = bytes_arg(preimage, "preimage")?;
        let (loops, instrs) = loop_params(nb_loops, nb_instrs)?;
        let rom = &self.rom;
        let digest = py.detach(|| Hasher::new().hash(rom, &preimage, loops, instrs));
        Ok(PyBytes::new(py, &digest))
    }

    /// Scans nonces `start .. start+count-1`; preimage = 16 lowercase hex nonce digits + suffix.
    #[pyo3(signature = (suffix, start, count, mask, threads = None, nb_loops = None, nb_instrs = None))]
    #[allow(clippy::too_many_arguments)]
    fn search(
        &self,
        py: Python<'_>,
        suffix: &Bound<'_, PyAny>,
        start: &Bound<'_, PyAny>,
        count: &Bound<'_, PyAny>,
        mask: &Bound<'_, PyAny>,
        threads: Option<&Bound<'_, PyAny>>,
        nb_loops: Option<&Bound<'_, PyAny>>,
        nb_instrs: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PySearchResult> {
        let suffix = bytes_arg(suffix, "suffix")?;
        let start = uint(start, "start", u64::MAX as u128)? as u64;
        let count = uint(count, "count", 1u128 << 64)?;
        let mask = uint(mask, "mask", u32::MAX as u128)? as u32;
        let threads = opt_uint(threads, "threads", 1024, 1)? as usize;
        if threads == 0 {
            return Err(PyValueError::new_err("threads must be >= 1, got 0"));
        }
        let (loops, instrs) = loop_params(nb_loops, nb_instrs)?;
        if count == 0 {
            return Ok(PySearchResult {
                nonce: None,
                hash: None,
                hashes: 0,
            });
        }
        let last = start as u128 + count - 1;
        if last > u64::MAX as u128 {
            return Err(PyValueError::new_err(format!(
                "start + count overflows the 64-bit nonce space (start={start}, count={count})"
            )));
        }
        let rom = &self.rom;
        let found = py.detach(|| {
            search::search(
                rom,
                &suffix,
                start,
                last as u64,
                mask,
                threads,
                loops,
                instrs,
            )
        });
        Ok(PySearchResult {
            nonce: found.nonce,
            hash: found.hash,
            hashes: found.hashes,
        })
    }

    fn __repr__(&self) -> String {
        match self.generation {
            Generation::FullRandom => format!("Rom(size={}, full_random=True)", self.rom.size()),
            Generation::TwoStep {
                pre_size,
                mixing_numbers,
            } => format!(
                "Rom(size={}, pre_size={pre_size}, mixing_numbers={mixing_numbers})",
                self.rom.size()
            ),
        }
    }
}

fn bytes_arg(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<Vec<u8>> {
    match obj.cast::<PyBytes>() {
        Ok(b) => Ok(b.as_bytes().to_vec()),
        Err(_) => Err(PyTypeError::new_err(format!(
            "{name} must be bytes, got {}",
            type_name(obj)
        ))),
    }
}

fn loop_params(
    nb_loops: Option<&Bound<'_, PyAny>>,
    nb_instrs: Option<&Bound<'_, PyAny>>,
) -> PyResult<(u32, u32)> {
    let loops = opt_uint(nb_loops, "nb_loops", u32::MAX as u128, 8)? as u32;
    let instrs = opt_uint(nb_instrs, "nb_instrs", u32::MAX as u128, 256)? as u32;
    check_params(loops, instrs).map_err(to_py)?;
    Ok((loops, instrs))
}

/// Internal stages of the algorithm, exposed only so tests can check published intermediates.
#[pyfunction]
fn _rom_intermediates<'py>(
    py: Python<'py>,
    key: &Bound<'py, PyAny>,
    size: &Bound<'py, PyAny>,
    pre_size: &Bound<'py, PyAny>,
    mixing_numbers: &Bound<'py, PyAny>,
    nb_chunks: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyDict>> {
    let key = bytes_arg(key, "key")?;
    let size = uint(size, "size", u64::MAX as u128)? as u64;
    let pre_size = uint(pre_size, "pre_size", u32::MAX as u128)? as usize;
    let mixing = uint(mixing_numbers, "mixing_numbers", u32::MAX as u128)? as usize;
    let nb_chunks = uint(nb_chunks, "nb_chunks", 1 << 16)? as usize;
    let generation = Generation::TwoStep {
        pre_size,
        mixing_numbers: mixing,
    };
    crate::rom::validate(generation, size).map_err(to_py)?;
    if nb_chunks as u64 > size / 64 {
        return Err(PyValueError::new_err("nb_chunks exceeds the ROM"));
    }
    let seed = crate::rom::seed(&key, size);
    let gen = py.detach(|| crate::rom::TwoStep::new(&seed, size as usize, pre_size, mixing));
    let out = PyDict::new(py);
    out.set_item("seed", PyBytes::new(py, &seed))?;
    out.set_item("pre_rom", PyBytes::new(py, &gen.pre_prefix(4096)))?;
    out.set_item(
        "base",
        PyBytes::new(py, &gen.base[..gen.base.len().min(4096)]),
    )?;
    out.set_item("diffs", gen.premix.diffs.to_vec())?;
    let chunks: Vec<Bound<'py, PyBytes>> = (0..nb_chunks)
        .map(|i| PyBytes::new(py, &gen.chunk_bytes(i)))
        .collect();
    out.set_item("chunks", chunks)?;
    Ok(out)
}

/// `H'(448, rom_digest || preimage)`, the VM's initial buffer.
#[pyfunction]
fn _vm_init<'py>(
    py: Python<'py>,
    rom_digest: &Bound<'py, PyAny>,
    preimage: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyBytes>> {
    let digest = bytes_arg(rom_digest, "rom_digest")?;
    let digest: [u8; 64] = digest
        .try_into()
        .map_err(|_| PyValueError::new_err("rom_digest must be 64 bytes"))?;
    let preimage = bytes_arg(preimage, "preimage")?;
    Ok(PyBytes::new(
        py,
        &crate::vm::init_buffer(&digest, &preimage),
    ))
}

/// Argon2 H'(length, data); the VM derives each loop's program with it.
#[pyfunction]
fn _hprime<'py>(
    py: Python<'py>,
    length: &Bound<'py, PyAny>,
    data: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyBytes>> {
    let length = uint(length, "length", 1 << 30)? as usize;
    if length == 0 {
        return Err(PyValueError::new_err("length must be > 0"));
    }
    let data = bytes_arg(data, "data")?;
    let mut out = vec![0u8; length];
    py.detach(|| crate::blake2b::hprime(&mut out, &[&data]));
    Ok(PyBytes::new(py, &out))
}

/// Which multi-lane BLAKE2b kernel this CPU runs ("avx512", "avx2" or "portable").
#[pyfunction]
fn _simd_kernel() -> &'static str {
    crate::lanes::kernels().name
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<PyRom>()?;
    m.add_class::<PySearchResult>()?;
    m.add_function(wrap_pyfunction!(_rom_intermediates, m)?)?;
    m.add_function(wrap_pyfunction!(_vm_init, m)?)?;
    m.add_function(wrap_pyfunction!(_hprime, m)?)?;
    m.add_function(wrap_pyfunction!(_simd_kernel, m)?)?;
    m.add_function(wrap_pyfunction!(validate_rom, m)?)?;
    Ok(())
}
