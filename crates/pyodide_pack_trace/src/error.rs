use std::path::PathBuf;

/// Everything that can stop a traced run. Each message names the app or file at fault.
#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    #[error(
        "{node:?} was not found: install Node.js 18 or newer, or set PYODIDE_PACK_NODE to its path"
    )]
    NodeMissing { node: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{app} raised an exception under Pyodide (run {run}):\n{traceback}")]
    AppRaised {
        app: PathBuf,
        run: String,
        traceback: String,
    },
    #[error("{app} exited with an error under Pyodide (run {run}): {message}")]
    AppExited {
        app: PathBuf,
        run: String,
        message: String,
    },
    #[error("{app} did not finish within {seconds} s under Pyodide (run {run}); raise --timeout if it is just slow")]
    Timeout {
        app: PathBuf,
        run: String,
        seconds: u64,
    },
    #[error("a wheel failed to install into Pyodide: {message}")]
    Install { message: String },
    #[error("the Pyodide harness failed (run {run}): {message}")]
    Harness { run: String, message: String },
    /// The user pressed Ctrl-C (or the process got SIGINT/SIGTERM): not a failure of the app.
    #[error("interrupted")]
    Interrupted,
    #[error("{path}: not a usable trace file: {reason}")]
    BadTraceFile { path: PathBuf, reason: String },
}
