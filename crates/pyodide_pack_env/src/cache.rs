use std::path::{Path, PathBuf};

use crate::EnvError;

/// The one folder the tool keeps things in: the runtime it installed, resolved wheels, and the
/// per-archive analysis facts. `$PYODIDE_PACK_CACHE`, else `${XDG_CACHE_HOME:-~/.cache}/pyodide-pack`.
#[derive(Debug, Clone)]
pub struct CacheRoot {
    root: PathBuf,
}

impl CacheRoot {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        CacheRoot { root: root.into() }
    }

    /// The cache named by the environment, the way users and CI configure it.
    pub fn from_env() -> Self {
        if let Some(dir) = std::env::var_os("PYODIDE_PACK_CACHE").filter(|v| !v.is_empty()) {
            return CacheRoot::new(dir);
        }
        let base = std::env::var_os("XDG_CACHE_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
            .unwrap_or_else(std::env::temp_dir);
        CacheRoot::new(base.join("pyodide-pack"))
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A subfolder, created on demand.
    pub fn dir(&self, name: &str) -> Result<PathBuf, EnvError> {
        let dir = self.root.join(name);
        std::fs::create_dir_all(&dir).map_err(|e| EnvError::io(&dir, e))?;
        Ok(dir)
    }
}

/// Writes `bytes` to `path` through a temporary file and a rename, so a reader never sees half a file.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), EnvError> {
    let parent = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(|e| EnvError::io(parent, e))?;
    let tmp = parent.join(format!(
        ".{}.{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("out"),
        std::process::id()
    ));
    std::fs::write(&tmp, bytes).map_err(|e| EnvError::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        EnvError::io(path, e)
    })
}
