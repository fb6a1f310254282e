//! The output folder, written atomically: everything goes into a staging folder beside it, which
//! replaces the old folder only when the pack (validation included) succeeded.

use std::path::{Path, PathBuf};

use crate::PackError;

/// What marks a folder as ours: its report names this schema.
pub const PACK_SCHEMA: &str = "pyodide-pack/pack-2";
/// Any version of the pack report: a folder an older version wrote is ours too.
const PACK_SCHEMA_FAMILY: &str = "pyodide-pack/pack-";

pub struct StagedOutput {
    target: PathBuf,
    staging: PathBuf,
    committed: bool,
}

impl StagedOutput {
    /// Refuses an existing non-empty folder that holds no pack report: replacing it would delete
    /// someone's files.
    pub fn new(target: &Path) -> Result<StagedOutput, PackError> {
        if target.exists() {
            // (A packed page's report is in its packed folder, beside the page's own files.)
            let ours = [
                target.join("report.json"),
                target.join(crate::PAGE_PACK_DIR).join("report.json"),
            ]
            .iter()
            .any(|report| {
                std::fs::read_to_string(report).is_ok_and(|text| text.contains(PACK_SCHEMA_FAMILY))
            });
            let empty = std::fs::read_dir(target)
                .map(|mut d| d.next().is_none())
                .unwrap_or(false);
            if !ours && !empty {
                return Err(PackError::ForeignOutput {
                    dir: target.to_path_buf(),
                });
            }
        }
        let parent = target
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::create_dir_all(parent).map_err(|e| PackError::io(parent, e))?;
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "dist".into());
        remove_stale_staging(parent, &name);
        let staging = parent.join(format!(".{name}.pyodide-pack-{}", std::process::id()));
        if staging.exists() {
            let _ = std::fs::remove_dir_all(&staging);
        }
        std::fs::create_dir(&staging).map_err(|e| PackError::io(&staging, e))?;
        Ok(StagedOutput {
            target: target.to_path_buf(),
            staging,
            committed: false,
        })
    }

    /// Where to write.
    pub fn path(&self) -> &Path {
        &self.staging
    }

    /// Swaps the staging folder in: the old output moves aside, the new one takes its name, the
    /// old one is deleted.
    pub fn commit(mut self) -> Result<(), PackError> {
        let old = self.staging.with_extension("old");
        let had_old = self.target.exists();
        if had_old {
            std::fs::rename(&self.target, &old).map_err(|e| PackError::io(&self.target, e))?;
        }
        if let Err(e) = std::fs::rename(&self.staging, &self.target) {
            if had_old {
                let _ = std::fs::rename(&old, &self.target);
            }
            return Err(PackError::io(&self.target, e));
        }
        self.committed = true;
        if had_old {
            let _ = std::fs::remove_dir_all(&old);
        }
        Ok(())
    }
}

/// Removes the staging folders of packs whose process is gone (a SIGKILL leaves its staging folder,
/// bundle-sized, beside the output). A folder of a live process is another pack at work: kept.
/// Where processes cannot be listed (no `/proc`), nothing is removed.
fn remove_stale_staging(parent: &Path, name: &str) {
    let proc = Path::new("/proc");
    if !proc.join("self").exists() {
        return;
    }
    let prefix = format!(".{name}.pyodide-pack-");
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = file_name.strip_prefix(&prefix) else {
            continue;
        };
        let is_pid = !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit());
        if !is_pid || pid == std::process::id().to_string() || proc.join(pid).exists() {
            continue;
        }
        let _ = std::fs::remove_dir_all(entry.path());
    }
}

impl Drop for StagedOutput {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.staging);
        }
    }
}
