//! Stage 1 of the pipeline: the environment inventory.
//!
//! Reads, offline, everything an app could load under Pyodide: the runtime (its lock file, its
//! `python_stdlib.zip`, the names compiled into `pyodide.asm.wasm`), the app's wheels and the app's
//! own folder. Every file gets an identity (archive, path inside it, install path in Pyodide's file
//! system) and a kind. Nothing here knows about imports: that is the facts stage.
#![warn(unreachable_pub)]

mod archive;
mod cache;
mod environment;
mod error;
mod lock;
mod npm;
mod platform;
mod requirements;
mod runtime;
#[cfg(feature = "testing")]
pub mod testing;

pub use archive::{hex, Archive, ArchiveBytes, ArchiveEntry, ArchiveKind, FileKind};
pub use cache::{write_atomically, CacheRoot};
pub use environment::{
    wheels_in, Environment, EnvironmentRequest, FileRef, APP_INSTALL_ROOT, DSO_DIR,
};
pub use error::EnvError;
pub use lock::{normalize, LockPackage, PyodideLock};
pub use npm::{install_npm_package, npm_prefix};
pub use requirements::{ResolvedWheel, WheelSource};
pub use runtime::{
    cached_runtime_dir, supported_lines, PythonMinor, Runtime, RuntimeFacts,
    PINNED_PYODIDE_VERSION, RELEASE_LINES,
};
