//! The lazy tier on disk: `OUTDIR/immutable/lazy/`, one plain file per lazy file at its install
//! path (without the leading `/`) named by its content (`difflib.<digest>.py`), so any static
//! server can serve it and compress it on its own, and cache it for ever. The
//! loader lists them in Pyodide's file system from the start and fetches each on first read.

use std::path::Path;

use pyodide_pack_env::Environment;
use rayon::prelude::*;
use serde::Serialize;

use crate::entries::{Content, PackedEntry};
use crate::sizes::{SizeCache, Sizes};
use crate::PackError;

/// The folder of the lazy tier inside the output's `immutable/` folder (and the loader's).
pub const LAZY_DIR: &str = "lazy";

/// One lazy file as deployed.
#[derive(Debug, Clone, Serialize)]
pub struct LazyFile {
    /// Where it appears in Pyodide's file system.
    pub install_path: String,
    /// Its bytes, what `os.stat` reports before the fetch.
    pub size: u64,
    /// As a server sends it on its own.
    pub sizes: Sizes,
    /// What the loader checks the fetched bytes against (`sha256-<base64>`).
    pub sha256: String,
    /// Where it is in the output (`immutable/lazy/lib/python3.12/difflib.<digest>.py`).
    pub path: String,
    #[serde(skip)]
    pub archive: u32,
}

/// Writes each lazy entry to `out_dir/immutable/lazy/<name by content>` (with `None`: nowhere) and measures it.
pub(crate) fn write_lazy(
    env: &Environment,
    entries: &[&PackedEntry],
    out_dir: Option<&Path>,
    size_cache: &SizeCache,
) -> Result<Vec<LazyFile>, PackError> {
    entries
        .par_iter()
        .map(|entry| {
            let bytes = match &entry.content {
                Content::Raw(file) => env.read(*file)?,
                Content::Bytes(bytes) => bytes.clone(),
            };
            let sha256 = crate::integrity::sri_sha256(&bytes);
            let deployed = format!(
                "{}/{LAZY_DIR}/{}",
                crate::IMMUTABLE_DIR,
                crate::content_name(&entry.name, &sha256)
            );
            if let Some(out_dir) = out_dir {
                let path = out_dir.join(&deployed);
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent).map_err(|e| PackError::io(parent, e))?;
                }
                std::fs::write(&path, &bytes).map_err(|e| PackError::io(&path, e))?;
            }
            Ok(LazyFile {
                install_path: format!("/{}", entry.name),
                size: bytes.len() as u64,
                sizes: size_cache.sizes_of(&bytes),
                sha256,
                path: deployed,
                archive: entry.file.archive,
            })
        })
        .collect()
}
