//! The page's site copied as it is into the output folder: every file of the page's folder but
//! the runtime the packed one replaces, the output folder itself, and version-control folders.

use std::path::{Path, PathBuf};

use crate::PageError;

/// Copies `site` into `out`, leaving out the folders in `skip` (compared as canonical paths), and
/// returns the copied files, relative to `site`, sorted.
pub fn copy_site(site: &Path, out: &Path, skip: &[PathBuf]) -> Result<Vec<PathBuf>, PageError> {
    let skip: Vec<PathBuf> = skip.iter().filter_map(|p| p.canonicalize().ok()).collect();
    let mut copied = Vec::new();
    let mut stack = vec![site.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|e| PageError::io(&dir, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| PageError::io(&dir, e))?;
            let path = entry.path();
            let name = entry.file_name();
            if name == ".git" || name == ".hg" {
                continue;
            }
            let Ok(real) = path.canonicalize() else {
                continue; // (a dangling link)
            };
            if skip.iter().any(|s| real == *s || real.starts_with(s)) {
                continue;
            }
            let meta = std::fs::metadata(&path).map_err(|e| PageError::io(&path, e))?;
            if meta.is_dir() {
                stack.push(path);
                continue;
            }
            let relative = path.strip_prefix(site).unwrap_or(&path).to_path_buf();
            let dest = out.join(&relative);
            if let Some(parent) = dest.parent() {
                std::fs::create_dir_all(parent).map_err(|e| PageError::io(parent, e))?;
            }
            std::fs::copy(&path, &dest).map_err(|e| PageError::io(&path, e))?;
            copied.push(relative);
        }
    }
    copied.sort();
    Ok(copied)
}
