use std::path::PathBuf;

/// Everything that can be wrong with the environment. Each message names the file at fault.
#[derive(Debug, thiserror::Error)]
pub enum EnvError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a readable zip archive ({reason})")]
    BadZip { path: PathBuf, reason: String },
    #[error("{archive}: entry {entry:?} {problem}; refusing to install it")]
    UnsafeEntry {
        archive: PathBuf,
        entry: String,
        problem: &'static str,
    },
    #[error("{archive}: {entry} is {found}, not a WebAssembly side module: this wheel is not built for Pyodide")]
    WrongPlatform {
        archive: PathBuf,
        entry: String,
        found: String,
    },
    #[error("{archive}: {entry} is not a complete, valid WebAssembly module: {reason}")]
    BadSideModule {
        archive: PathBuf,
        entry: String,
        reason: String,
    },
    #[error("{path}: {reason}")]
    BadWheelName { path: PathBuf, reason: String },
    #[error("Pyodide runtime not usable at {dir}: {reason}")]
    Runtime { dir: PathBuf, reason: String },
    #[error("Pyodide {version} is not supported: the tool supports Pyodide {supported} (a release version such as 0.27.7 or 314.0.8)")]
    UnsupportedPyodide { version: String, supported: String },
    #[error("npm install {package} into {dir} failed: {message}")]
    Npm {
        package: String,
        dir: PathBuf,
        message: String,
    },
    #[error("{tool} was not found on PATH: {hint}")]
    MissingTool { tool: String, hint: String },
    #[error("{requirements}: no Pyodide wheel ({platform} or pure Python) for requirement {requirement:?}")]
    NoPyodideWheel {
        requirements: PathBuf,
        requirement: String,
        /// The runtime's wheel platform tag.
        platform: String,
    },
    #[error("{requirements}: pip could not resolve it: {message}")]
    Resolve {
        requirements: PathBuf,
        message: String,
    },
    #[error("{path}: {reason}")]
    App { path: PathBuf, reason: String },
    #[error("{path}:{line}: {message}; Python cannot run this entry script")]
    EntryScript {
        path: PathBuf,
        line: u32,
        message: String,
    },
    #[error("{requirements}: {name} {requested} is not in the runtime's pyodide-lock.json (it has {name} {lock_version}), and the package index has no Pyodide wheel for it")]
    PinNotInLock {
        requirements: PathBuf,
        name: String,
        requested: String,
        lock_version: String,
    },
    #[error("{path}: sha256 is {actual}, but pyodide-lock.json says {expected}")]
    DigestMismatch {
        path: PathBuf,
        expected: String,
        actual: String,
    },
    #[error("cannot fetch {url}: {message}")]
    Fetch { url: String, message: String },
}

impl EnvError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        EnvError::Io {
            path: path.into(),
            source,
        }
    }
}
