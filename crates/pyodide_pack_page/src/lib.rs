//! The page input: a page that loads Pyodide itself, through a host (PyScript) or by hand (a
//! module script that imports `pyodide.mjs`).
//!
//! [`Page::read`] finds the host, the interpreter the page names (resolved to a folder of the
//! page's site or a CDN release), the page's Python (for static analysis) and the packages its
//! config asks for; [`Page::rewrite`] gives the files that change when the page's interpreter
//! becomes the packed drop-in; [`copy_site`] copies the rest of the site as it is.
#![warn(unreachable_pub)]

mod html;
mod interpreter;
mod pyscript;
mod rewrite;
mod site;

use std::path::{Path, PathBuf};

pub use interpreter::{Interpreter, InterpreterSite, InterpreterTarget};
pub use site::copy_site;

/// Everything wrong with a page, each naming the file and what is wrong.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {reason}")]
    Page { path: PathBuf, reason: String },
    #[error("{path}: no Pyodide in this page: it has no <script type=\"py\"> (PyScript) and no module script that imports pyodide.mjs")]
    NoPyodide { path: PathBuf },
    #[error("{path}: {setting}: pyodide-pack cannot honour this PyScript setting yet ({why})")]
    Unsupported {
        path: PathBuf,
        setting: String,
        why: String,
    },
}

impl PageError {
    fn io(path: &Path, source: std::io::Error) -> PageError {
        PageError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    fn page(path: &Path, reason: impl Into<String>) -> PageError {
        PageError::Page {
            path: path.to_path_buf(),
            reason: reason.into(),
        }
    }
}

/// Who loads Pyodide in the page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    /// PyScript (`@pyscript/core`): `<script type="py">` run by its `core.js`.
    PyScript,
    /// A module script of the page's own that imports `pyodide.mjs` and calls `loadPyodide`.
    Module,
}

impl Host {
    /// The event the host dispatches on `window` once the page's Python has run, if it has one.
    pub fn done_event(&self) -> Option<&'static str> {
        match self {
            Host::PyScript => Some("py:all-done"),
            Host::Module => None,
        }
    }

    /// Python modules the host itself provides, with no file in the environment: PyScript writes
    /// its `pyscript` package into the file system at start and registers JavaScript modules.
    pub fn provided_modules(&self) -> &'static [&'static str] {
        match self {
            Host::PyScript => &[
                "pyscript",
                "pyscript.display",
                "pyscript.event_handling",
                "pyscript.fetch",
                "pyscript.ffi",
                "pyscript.flatted",
                "pyscript.fs",
                "pyscript.magic_js",
                "pyscript.storage",
                "pyscript.util",
                "pyscript.web",
                "pyscript.websocket",
                "pyscript.workers",
                "pyscript.media",
                "polyscript",
                "_pyscript",
            ],
            Host::Module => &[],
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Host::PyScript => "PyScript",
            Host::Module => "a module script",
        }
    }
}

/// A Python source of the page, for static analysis: a `<script type="py" src>` file, inline
/// code, or a `.py` file the host's config copies into the file system.
#[derive(Debug, Clone)]
pub struct PythonSource {
    /// The module name it is analysed under (a file name in the page's app folder).
    pub name: String,
    /// Where the page has it, for messages and `why`: `main.py`, `index.html <script> 2`.
    pub origin: String,
    pub text: String,
}

/// A page that loads Pyodide itself.
#[derive(Debug, Clone)]
pub struct Page {
    /// The page file.
    pub path: PathBuf,
    /// Its folder: the site's root, which `pack` copies.
    pub dir: PathBuf,
    pub host: Host,
    pub interpreter: Interpreter,
    pub python: Vec<PythonSource>,
    /// Packages the host's config installs (PyScript `packages`).
    pub packages: Vec<String>,
    html: String,
    config: Option<pyscript::Config>,
    module_script: Option<html::ModuleScript>,
}

impl Page {
    /// Reads a page and what it loads. The page must load Pyodide (PyScript, or a module script
    /// importing `pyodide.mjs`); a MicroPython page or a worker script is refused by name.
    pub fn read(path: &Path) -> Result<Page, PageError> {
        let bytes = std::fs::read(path).map_err(|e| PageError::io(path, e))?;
        let html = String::from_utf8(bytes)
            .map_err(|_| PageError::page(path, "the page is not UTF-8 text"))?;
        let path = path.canonicalize().map_err(|e| PageError::io(path, e))?;
        let dir = path.parent().unwrap_or(Path::new("/")).to_path_buf();
        let found = html::scan(&path, &html)?;
        if let Some(script) = found.py_scripts.iter().find(|s| s.worker) {
            return Err(PageError::Unsupported {
                path,
                setting: format!("<script type=\"py\" worker> ({})", script.origin),
                why: "the page's Python would run in a worker, which the trace does not follow"
                    .into(),
            });
        }
        if !found.py_scripts.is_empty() {
            let config = pyscript::Config::find(&path, &dir, &found)?;
            let interpreter = interpreter::of_pyscript(&path, &dir, &found, config.as_ref())?;
            let mut python = Vec::new();
            for (i, script) in found.py_scripts.iter().enumerate() {
                python.push(script.source(&dir, i)?);
            }
            if let Some(config) = &config {
                python.extend(config.python_files(&dir)?);
            }
            return Ok(Page {
                packages: config
                    .as_ref()
                    .map(|c| c.packages.clone())
                    .unwrap_or_default(),
                path,
                dir,
                host: Host::PyScript,
                interpreter,
                python,
                html,
                config,
                module_script: None,
            });
        }
        let Some(module) = found.module_script.clone() else {
            return Err(PageError::NoPyodide { path });
        };
        let interpreter = interpreter::of_module(&path, &dir, &module)?;
        Ok(Page {
            path,
            dir,
            host: Host::Module,
            interpreter,
            python: Vec::new(),
            packages: Vec::new(),
            html,
            config: None,
            module_script: Some(module),
        })
    }

    /// The page's file name (`index.html`).
    pub fn file_name(&self) -> String {
        self.path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    /// The files that change when the page's interpreter is `dropin` (a path relative to the
    /// page's folder, `pyodide-pack/pyodide.mjs`): `[(path relative to the page's folder,
    /// bytes)]`, the page itself among them when its own text changes.
    pub fn rewrite(&self, dropin: &str) -> Result<Vec<(PathBuf, Vec<u8>)>, PageError> {
        rewrite::rewrite(self, dropin)
    }
}
