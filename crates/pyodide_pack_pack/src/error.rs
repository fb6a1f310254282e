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
    #[error("validation: the app's output from the {bundle_name} differs from {reference_name} (run {run})\n--- {reference_name}\n{reference}--- {bundle_name}\n{bundle}")]
    OutputDiffers {
        run: String,
        reference_name: String,
        reference: String,
        bundle_name: String,
        bundle: String,
    },
    #[error("validation: run {run} was traced, yet from the bundle ({place}) it fetched lazy file(s) {files}: the eager tier must hold everything a traced run touched")]
    LazyFetchInTracedRun {
        run: String,
        place: String,
        files: String,
    },
    #[error("browser validation: {what}; install Chromium (Debian: `apt-get install chromium`) or set PYODIDE_PACK_CHROMIUM to a Chromium or Chrome binary")]
    BrowserMissing { what: String },
    #[error(
        "browser validation: the bundle does not load in Chromium ({thread}, run {run}): {message}"
    )]
    BrowserLoad {
        run: String,
        thread: String,
        message: String,
    },
    #[error("browser validation: the app fails in Chromium ({thread}, run {run}); if it misses an import or a data file, add an --input that exercises it or --include the file:\n{traceback}")]
    BrowserRaised {
        run: String,
        thread: String,
        traceback: String,
    },
    #[error("browser validation: the page had not finished after {seconds} s in Chromium ({thread}, run {run}); the page logged:\n{log}")]
    BrowserTimeout {
        run: String,
        thread: String,
        seconds: u64,
        log: String,
    },
    #[error("{}: {} file(s) are not what its loader.mjs pins (size and sha256), so a page would refuse them; pack again, or deploy the whole folder of one pack:\n{}", .dir.display(), .mismatches.len(), mismatch_lines(.mismatches))]
    Integrity {
        dir: PathBuf,
        mismatches: Vec<crate::integrity::Mismatch>,
    },
    #[error(
        "browser validation: the page reported errors in Chromium ({thread}, run {run}):\n{errors}"
    )]
    BrowserErrors {
        run: String,
        thread: String,
        errors: String,
    },
}

/// The files of an output folder that its loader does not accept, one per line.
fn mismatch_lines(mismatches: &[crate::integrity::Mismatch]) -> String {
    mismatches
        .iter()
        .map(|m| format!("  {m}"))
        .collect::<Vec<_>>()
        .join("\n")
}

impl PackError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        PackError::Io {
            path: path.into(),
            source,
        }
    }
}
