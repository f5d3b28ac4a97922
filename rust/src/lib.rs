use pyo3::prelude::*;

/// Native proof-of-work core of the miner (AshMaize). The hash itself lands in its own modules.
#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
