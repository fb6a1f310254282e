//! The per-archive facts cache: one file per archive, keyed by the archive's sha256, so a second
//! analysis of the same wheel parses nothing.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use ruff_python_ast::PythonVersion;

use crate::{PythonFacts, WasmFacts};

/// Bumped whenever the facts' meaning or layout changes, so stale caches are ignored.
const FACTS_VERSION: &str = "facts-v9-ruff0.0.10";

/// Externally tagged (serde's default): an internally tagged enum is buffered whole before it is
/// read, which made loading the cache of a big wheel (sympy: 1.7 MB of facts) a third slower.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileFacts {
    Python(Box<PythonFacts>),
    Wasm(WasmFacts),
    /// A `.so` that could not be read as WebAssembly: the reason.
    BadWasm {
        reason: String,
    },
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct ArchiveFacts {
    files: HashMap<String, FileFacts>,
    #[serde(skip)]
    dirty: bool,
}

#[derive(Debug)]
pub struct FactsStore {
    dir: Option<PathBuf>,
    /// The CPython the sources are parsed for: one wheel's facts differ between runtimes (a file
    /// 3.14 accepts may be refused by 3.12), so each target has its own folder.
    target: PythonVersion,
    archives: HashMap<String, ArchiveFacts>,
    /// Archives whose facts are kept in memory only (the app's own folder).
    volatile: std::collections::HashSet<String>,
}

impl FactsStore {
    /// A store of facts parsed for `target`, backed by `dir`, or an in-memory one with `None`.
    pub fn open(dir: Option<PathBuf>, target: PythonVersion) -> Self {
        FactsStore {
            dir: dir.map(|d| {
                d.join(FACTS_VERSION)
                    .join(format!("py{}.{}", target.major, target.minor))
            }),
            target,
            archives: HashMap::new(),
            volatile: Default::default(),
        }
    }

    /// The CPython version the sources are parsed for.
    pub fn target(&self) -> PythonVersion {
        self.target
    }

    fn path_for(&self, sha256: &str) -> Option<PathBuf> {
        self.dir.as_ref().map(|d| d.join(format!("{sha256}.json")))
    }

    /// Loads what is cached for an archive (once); a missing or unreadable cache file is empty.
    pub fn load_archive(&mut self, sha256: &str) {
        if self.archives.contains_key(sha256) {
            return;
        }
        let facts = self
            .path_for(sha256)
            .and_then(|p| std::fs::read(p).ok())
            .and_then(|bytes| serde_json::from_slice::<ArchiveFacts>(&bytes).ok())
            .unwrap_or_default();
        self.archives.insert(sha256.to_string(), facts);
    }

    /// [`FactsStore::load_archive`] for many archives, read and parsed in parallel (a warm
    /// analysis of sympy spends a quarter of its time parsing 2.6 MB of cached facts).
    pub fn load_archives<'a>(&mut self, sha256s: impl IntoIterator<Item = &'a str>) {
        use rayon::prelude::*;
        let todo: Vec<&str> = sha256s
            .into_iter()
            .filter(|s| !self.archives.contains_key(*s))
            .collect();
        let loaded: Vec<(String, ArchiveFacts)> = todo
            .par_iter()
            .map(|sha256| {
                let facts = self
                    .path_for(sha256)
                    .and_then(|p| std::fs::read(p).ok())
                    .and_then(|bytes| serde_json::from_slice::<ArchiveFacts>(&bytes).ok())
                    .unwrap_or_default();
                (sha256.to_string(), facts)
            })
            .collect();
        self.archives.extend(loaded);
    }

    /// Facts of this archive are never written to disk.
    pub fn mark_volatile(&mut self, sha256: &str) {
        self.volatile.insert(sha256.to_string());
    }

    pub fn get(&self, sha256: &str, path: &str) -> Option<&FileFacts> {
        self.archives.get(sha256)?.files.get(path)
    }

    pub fn insert(&mut self, sha256: &str, path: &str, facts: FileFacts) {
        let archive = self.archives.entry(sha256.to_string()).or_default();
        archive.files.insert(path.to_string(), facts);
        archive.dirty = true;
    }

    /// Writes every archive that gained facts. A cache that cannot be written only costs speed.
    pub fn save(&mut self) -> std::io::Result<()> {
        let Some(dir) = self.dir.clone() else {
            return Ok(());
        };
        std::fs::create_dir_all(&dir)?;
        let volatile = &self.volatile;
        for (sha256, archive) in self
            .archives
            .iter_mut()
            .filter(|(sha, a)| a.dirty && !volatile.contains(*sha))
        {
            let bytes = serde_json::to_vec(archive).map_err(std::io::Error::other)?;
            write_atomically(&dir.join(format!("{sha256}.json")), &bytes)?;
            archive.dirty = false;
        }
        Ok(())
    }
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension(format!("{}.tmp", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}
