use std::path::PathBuf;

use pyodide_pack_env::EnvError;
use pyodide_pack_trace::TraceError;

/// Everything that can stop a pack. Each message names the file or run at fault.
#[derive(Debug, thiserror::Error)]
pub enum PackError {
    #[error(transparent)]
    Env(#[from] EnvError),
    #[error(transparent)]
    Trace(#[from] TraceError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: cannot write the zip: {message}")]
    Zip { path: String, message: String },
    #[error("compiling .pyc with the runtime failed: {message}")]
    Compile { message: String },
    #[error("{dir} exists and was not written by pyodide-pack (no pack report in it); choose another output folder or remove it")]
    ForeignOutput { dir: PathBuf },
    #[error("validation: the bundle does not load (run {run}): {message}")]
    BundleLoad { run: String, message: String },
    #[error("validation: the app fails when run from the bundle (run {run}); if it misses an import or a data file, add an --input that exercises it or --include the file:\n{traceback}")]
    BundleRaised { run: String, traceback: String },
    #[error("validation: the app's output from the bundle differs from {reference_name} (run {run})\n--- {reference_name}\n{reference}--- bundle\n{bundle}")]
    OutputDiffers {
        run: String,
        reference_name: String,
        reference: String,
        bundle: String,
    },
}

impl PackError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        PackError::Io {
            path: path.into(),
            source,
        }
    }
}
