//! The page's Python as an app folder the pipeline analyses.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use pyodide_pack_page::Page;
use pyodide_pack_trace::PageRecord;

use super::PAGE_ENTRY;

/// The page's Python as an app folder for analysis: each source under its name, an entry that
/// imports them (so `why` starts from the page), and the lock packages the run loaded and the
/// config names as requirements.
pub(super) fn write_app_folder(
    pages: &[&Page],
    records: &[&PageRecord],
    dir: &Path,
) -> Result<PathBuf> {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).with_context(|| dir.display().to_string())?;
    let mut entry = format!(
        "# The Python of {} ({}), as pyodide-pack analyses it.\n",
        pages[0].file_name(),
        pages[0].host.name()
    );
    let mut written = std::collections::HashSet::new();
    for (i, source) in pages.iter().flat_map(|p| &p.python).enumerate() {
        // (Two pages' sources of one name: the later one is analysed under another.)
        let name = if written.insert(source.name.clone()) {
            source.name.clone()
        } else {
            format!("page_source_{}_{}", i + 1, source.name)
        };
        let module = name.trim_end_matches(".py");
        let path = dir.join(&name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, &source.text).with_context(|| path.display().to_string())?;
        if !module.contains('/') && !module.contains('.') && !module.is_empty() {
            entry.push_str(&format!("import {module}  # {}\n", source.origin));
        }
    }
    let entry_path = dir.join(PAGE_ENTRY);
    std::fs::write(&entry_path, entry)?;
    let mut packages: Vec<String> = pages.iter().flat_map(|p| p.packages.clone()).collect();
    for record in records {
        if let Some(trace) = &record.trace {
            packages.extend(trace.packages.iter().cloned());
        }
    }
    packages.sort();
    packages.dedup();
    let requirements: String = packages.iter().map(|p| format!("{p}\n")).collect();
    std::fs::write(dir.join("requirements.txt"), requirements)?;
    Ok(entry_path)
}
