//! Errors of the pure-Rust core; the binding maps them to Python exceptions.

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CoreError {
    Value(String),
}

impl CoreError {
    pub fn value(msg: impl Into<String>) -> Self {
        CoreError::Value(msg.into())
    }
}

impl std::fmt::Display for CoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CoreError::Value(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for CoreError {}
