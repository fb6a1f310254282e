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

#[cfg(test)]
mod tests {
    use super::*;

    /// A page folder with `files`; returns it and the page's path (the first file).
    fn site(files: &[(&str, &str)]) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        let page = dir.path().join(files[0].0);
        (dir, page)
    }

    fn rewritten(page: &Page) -> Vec<(String, String)> {
        page.rewrite("pyodide-pack/pyodide.mjs")
            .unwrap()
            .into_iter()
            .map(|(p, b)| (p.display().to_string(), String::from_utf8(b).unwrap()))
            .collect()
    }

    const RUNTIME: (&str, &str) = ("pyodide/pyodide.mjs", "export const version = '0';");

    #[test]
    fn pyscript_toml_config_names_interpreter_packages_and_files() {
        let (_dir, path) = site(&[
            (
                "index.html",
                "<script type=module src=./pyscript/core.js></script>\
                 <script type=\"py\" src=\"./main.py\" config=\"./pyscript.toml\"></script>",
            ),
            (
                "pyscript.toml",
                "# the app's settings\ninterpreter = \"./pyodide/pyodide.mjs\"\npackages = [\"numpy\", \"pandas\"]\n\n[files]\n\"./helpers.py\" = \"\"\n",
            ),
            ("main.py", "import helpers\n"),
            ("helpers.py", "import json\n"),
            RUNTIME,
        ]);
        let page = Page::read(&path).unwrap();
        assert_eq!(page.host, Host::PyScript);
        assert_eq!(page.packages, ["numpy", "pandas"]);
        assert_eq!(page.interpreter.site, InterpreterSite::PyScriptConfig);
        assert!(
            matches!(&page.interpreter.target, InterpreterTarget::Folder(d) if d.ends_with("pyodide"))
        );
        assert_eq!(page.interpreter.folder_url(), "./pyodide/");
        let names: Vec<_> = page.python.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["main.py", "helpers.py"]);
        let files = rewritten(&page);
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].0, "pyscript.toml");
        // The setting changes; the comment, the packages and the table stay.
        assert_eq!(
            files[0].1,
            "# the app's settings\ninterpreter = \"./pyodide-pack/pyodide.mjs\"\npackages = [\"numpy\", \"pandas\"]\n\n[files]\n\"./helpers.py\" = \"\"\n"
        );
    }

    #[test]
    fn inline_json_config_and_inline_code() {
        let (_dir, path) = site(&[
            (
                "index.html",
                "<p>x</p><script type=\"py\" config='{\"interpreter\": \"https://cdn.jsdelivr.net/pyodide/v0.27.7/full/pyodide.mjs\"}'>\n    import sys\n    print(sys.version)\n</script>",
            ),
        ]);
        let page = Page::read(&path).unwrap();
        assert_eq!(
            page.interpreter.target,
            InterpreterTarget::Release {
                version: "0.27.7".into()
            }
        );
        assert_eq!(page.python[0].text, "import sys\nprint(sys.version)\n");
        let files = rewritten(&page);
        assert_eq!(files[0].0, "index.html");
        assert!(
            files[0]
                .1
                .starts_with("<p>x</p><script type=\"py\" config=\""),
            "{}",
            files[0].1
        );
        assert!(
            files[0].1.contains("./pyodide-pack/pyodide.mjs"),
            "{}",
            files[0].1
        );
        assert!(files[0].1.contains("    import sys\n"), "{}", files[0].1);
    }

    #[test]
    fn pyscript_default_release_comes_from_its_core() {
        let (_dir, path) = site(&[
            (
                "index.html",
                "<script type=module src=./ps/core.js></script><script type=py>print(1)</script>",
            ),
            ("ps/core.js", "import './core-abc.js';"),
            (
                "ps/core-abc.js",
                "const x={module:(e=\"0.27.7\")=>`https://cdn.jsdelivr.net/pyodide/v${e}/full/pyodide.mjs`};",
            ),
        ]);
        let page = Page::read(&path).unwrap();
        assert_eq!(page.interpreter.site, InterpreterSite::PyScriptDefault);
        assert_eq!(
            page.interpreter.target,
            InterpreterTarget::Release {
                version: "0.27.7".into()
            }
        );
        // No config: one is added to the script, naming the drop-in.
        let files = rewritten(&page);
        assert!(
            files[0].1.contains("<script type=py config=\"{&quot;interpreter&quot;:&quot;./pyodide-pack/pyodide.mjs&quot;}\">")
                || files[0].1.contains("./pyodide-pack/pyodide.mjs"),
            "{}",
            files[0].1
        );
    }

    #[test]
    fn module_scripts_inline_and_in_files() {
        let (_dir, path) = site(&[
            (
                "index.html",
                "<script type=\"module\">import { loadPyodide } from \"./pyodide/pyodide.mjs\";\nawait loadPyodide();</script>",
            ),
            RUNTIME,
        ]);
        let page = Page::read(&path).unwrap();
        assert_eq!(page.host, Host::Module);
        assert_eq!(page.interpreter.url, "./pyodide/pyodide.mjs");
        let files = rewritten(&page);
        assert!(
            files[0]
                .1
                .contains("from \"./pyodide-pack/pyodide.mjs\";\nawait loadPyodide();</script>"),
            "{}",
            files[0].1
        );

        let (_dir, path) = site(&[
            (
                "app/index.html",
                "<script type=module src=\"js/main.mjs\"></script>",
            ),
            (
                "app/js/main.mjs",
                "const { loadPyodide } = await import('../pyodide/pyodide.mjs');",
            ),
            ("app/pyodide/pyodide.mjs", ""),
        ]);
        let page = Page::read(&path).unwrap();
        assert_eq!(page.interpreter.url, "./pyodide/pyodide.mjs");
        let files = rewritten(&page);
        assert_eq!(files[0].0, "js/main.mjs");
        assert_eq!(
            files[0].1,
            "const { loadPyodide } = await import('../pyodide-pack/pyodide.mjs');"
        );
    }

    #[test]
    fn cdn_urls_name_their_release() {
        use interpreter::release_of;
        assert_eq!(
            release_of("https://cdn.jsdelivr.net/pyodide/v0.28.3/full/pyodide.mjs").as_deref(),
            Some("0.28.3")
        );
        assert_eq!(
            release_of("https://cdn.jsdelivr.net/npm/pyodide@314.0.8/pyodide.mjs").as_deref(),
            Some("314.0.8")
        );
        assert_eq!(release_of("./pyodide/pyodide.mjs"), None);
        assert_eq!(release_of("https://example.com/pyodide.mjs"), None);
    }

    #[test]
    fn refused_pages_name_the_reason() {
        let (_dir, path) = site(&[("index.html", "<p>hello</p>")]);
        assert!(matches!(
            Page::read(&path),
            Err(PageError::NoPyodide { .. })
        ));
        let (_dir, path) = site(&[("index.html", "<script type=py worker src=main.py></script>")]);
        let err = Page::read(&path).unwrap_err().to_string();
        assert!(
            err.contains("worker") && err.contains("cannot honour"),
            "{err}"
        );
        let (_dir, path) = site(&[
            ("index.html", "<script type=py config=c.toml></script>"),
            (
                "c.toml",
                "packages = [\"./wheels/mine-1.0-py3-none-any.whl\"]\n",
            ),
        ]);
        let err = Page::read(&path).unwrap_err().to_string();
        assert!(err.contains("a wheel by URL"), "{err}");
        let (_dir, path) = site(&[
            ("index.html", "<script type=py config=c.toml></script>"),
            ("c.toml", "packages = [\n"),
        ]);
        let err = Page::read(&path).unwrap_err().to_string();
        assert!(
            err.contains("c.toml") && err.contains("not valid TOML"),
            "{err}"
        );
        let (_dir, path) = site(&[(
            "index.html",
            [0xffu8 as char].iter().collect::<String>().as_str(),
        )]);
        let _ = Page::read(&path); // (any UTF-8 text reads; no panic on odd input)
    }
}
