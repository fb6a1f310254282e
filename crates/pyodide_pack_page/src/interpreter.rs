//! The interpreter a page names, and what it resolves to: a folder of the page's site, or a
//! release on a CDN (by its version).

use std::path::{Path, PathBuf};

use crate::html::{local_file, Found, ModuleScript};
use crate::pyscript::Config;
use crate::PageError;

/// Where the page names its interpreter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InterpreterSite {
    /// PyScript's `interpreter` setting.
    PyScriptConfig,
    /// No setting: the PyScript release's default (a CDN URL written in its `core` script).
    PyScriptDefault,
    /// The specifier a module script imports.
    ModuleScript,
}

/// What the interpreter URL points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InterpreterTarget {
    /// A runtime folder of the page's own site.
    Folder(PathBuf),
    /// A release on a CDN, known by its version.
    Release { version: String },
    /// Anything else: the user says which release it is (`--pyodide`, `--runtime`).
    Unknown,
}

#[derive(Debug, Clone)]
pub struct Interpreter {
    /// The URL as the page writes it (or the host's default).
    pub url: String,
    pub site: InterpreterSite,
    pub target: InterpreterTarget,
}

impl Interpreter {
    /// The folder URL the trace answers from the runtime (the URL without `pyodide.mjs`).
    pub fn folder_url(&self) -> String {
        match self.url.rfind('/') {
            Some(i) => self.url[..=i].to_string(),
            None => "./".to_string(),
        }
    }
}

fn resolve(
    page: &Path,
    dir: &Path,
    url: &str,
    site: InterpreterSite,
) -> Result<Interpreter, PageError> {
    if !url.ends_with("pyodide.mjs") {
        return Err(PageError::page(
            page,
            format!("interpreter {url:?} is not a pyodide.mjs: pyodide-pack packs Pyodide pages"),
        ));
    }
    let target = if let Some(version) = release_of(url) {
        InterpreterTarget::Release { version }
    } else if let Some(file) = local_file(dir, url) {
        if !file.is_file() {
            return Err(PageError::page(
                page,
                format!(
                    "interpreter {url:?}: no such file in the page's folder ({})",
                    file.display()
                ),
            ));
        }
        InterpreterTarget::Folder(file.parent().unwrap_or(dir).to_path_buf())
    } else {
        InterpreterTarget::Unknown
    };
    Ok(Interpreter {
        url: url.to_string(),
        site,
        target,
    })
}

/// The release a CDN URL names: `.../pyodide/v0.27.7/full/pyodide.mjs` (jsDelivr's Pyodide folder)
/// or `.../pyodide@0.27.7/...` (an npm CDN).
pub(crate) fn release_of(url: &str) -> Option<String> {
    if !url.contains("://") {
        return None;
    }
    let version = if let Some(at) = url.find("/pyodide/v") {
        &url[at + "/pyodide/v".len()..]
    } else if let Some(at) = url.find("pyodide@") {
        &url[at + "pyodide@".len()..]
    } else {
        return None;
    };
    let version = version.split('/').next()?;
    (version.chars().next()?.is_ascii_digit()).then(|| version.to_string())
}

pub(crate) fn of_module(
    page: &Path,
    dir: &Path,
    module: &ModuleScript,
) -> Result<Interpreter, PageError> {
    // A specifier in a module file is relative to that file.
    let base = module.file.as_deref().and_then(Path::parent).unwrap_or(dir);
    let url = match (&module.file, release_of(&module.specifier)) {
        (Some(_), None) if !module.specifier.contains("://") => {
            // (Relative to the module's folder, which is inside the page's.)
            let folder = base.strip_prefix(dir).unwrap_or(Path::new(""));
            let joined = format!("{}/{}", folder.to_string_lossy(), module.specifier);
            let file = local_file(dir, joined.trim_start_matches('/')).ok_or_else(|| {
                PageError::page(
                    page,
                    format!(
                        "{}: import {:?} leaves the page's folder",
                        module.src.as_deref().unwrap_or(""),
                        module.specifier
                    ),
                )
            })?;
            let relative = file.strip_prefix(dir).map_err(|_| {
                PageError::page(
                    page,
                    format!("import {:?} leaves the page's folder", module.specifier),
                )
            })?;
            format!("./{}", relative.to_string_lossy())
        }
        _ => module.specifier.clone(),
    };
    resolve(page, dir, &url, InterpreterSite::ModuleScript)
}

pub(crate) fn of_pyscript(
    page: &Path,
    dir: &Path,
    found: &Found,
    config: Option<&Config>,
) -> Result<Interpreter, PageError> {
    if let Some(url) = config.and_then(|c| c.interpreter.clone()) {
        return resolve(page, dir, &url, InterpreterSite::PyScriptConfig);
    }
    // The default is written in PyScript's own script: `(e="0.27.7")=>`https://cdn.jsdelivr.net/
    // pyodide/v${e}/full/pyodide.mjs`` in one of the chunks beside core.js.
    let core = found
        .module_srcs
        .iter()
        .find(|s| s.contains("pyscript") || s.ends_with("core.js"));
    let Some(core_file) = core
        .and_then(|src| local_file(dir, src))
        .filter(|f| f.is_file())
    else {
        return Err(PageError::page(
            page,
            format!(
                "the page sets no PyScript interpreter, and its PyScript ({}) is not a file of its folder, so its default release is unknown: set `interpreter` in the config, or pass --pyodide VERSION",
                core.map(String::as_str).unwrap_or("no core.js found")
            ),
        ));
    };
    let folder = core_file.parent().unwrap_or(dir);
    let mut version = None;
    if let Ok(entries) = std::fs::read_dir(folder) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_none_or(|e| e != "js") {
                continue;
            }
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            if let Some(found) = default_release(&text) {
                version = Some(found);
                break;
            }
        }
    }
    let Some(version) = version else {
        return Err(PageError::page(
            page,
            format!(
                "the page sets no PyScript interpreter, and no default release was found in {}: set `interpreter` in the config, or pass --pyodide VERSION",
                folder.display()
            ),
        ));
    };
    Ok(Interpreter {
        url: format!("https://cdn.jsdelivr.net/pyodide/v{version}/full/pyodide.mjs"),
        site: InterpreterSite::PyScriptDefault,
        target: InterpreterTarget::Release { version },
    })
}

/// The release in `="0.27.7")=>`https://cdn.jsdelivr.net/pyodide/v${`: PyScript's default.
fn default_release(text: &str) -> Option<String> {
    let marker = "https://cdn.jsdelivr.net/pyodide/v${";
    let at = text.find(marker)?;
    // (Bytes: 80 bytes back may fall inside a character.)
    let before = &text.as_bytes()[at.saturating_sub(80)..at];
    let end = before.windows(2).rposition(|w| w == b"\")")?;
    let start = before[..end].iter().rposition(|&b| b == b'"')?;
    let version = std::str::from_utf8(&before[start + 1..end]).ok()?;
    (version.chars().all(|c| c.is_ascii_digit() || c == '.') && !version.is_empty())
        .then(|| version.to_string())
}
