//! Reading the page's markup (lol_html): its Python scripts, its host's config, and the module
//! script that imports Pyodide.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use lol_html::{element, text, RewriteStrSettings};

use crate::{PageError, PythonSource};

/// A `<script type="py">` (or `<py-script>`).
#[derive(Debug, Clone)]
pub(crate) struct PyScript {
    pub(crate) src: Option<String>,
    /// The `config` attribute: a file's URL, or inline JSON/TOML.
    pub(crate) config: Option<String>,
    pub(crate) worker: bool,
    pub(crate) text: String,
    /// `index.html <script type="py"> 1`.
    pub(crate) origin: String,
}

impl PyScript {
    /// Its Python, from its `src` file (relative to the page) or its text.
    pub(crate) fn source(&self, dir: &Path, index: usize) -> Result<PythonSource, PageError> {
        match &self.src {
            Some(src) => {
                let file = local_file(dir, src).ok_or_else(|| {
                    PageError::page(
                        dir,
                        format!(
                            "{}: src {src:?} is not a file of the page's folder",
                            self.origin
                        ),
                    )
                })?;
                let text = std::fs::read_to_string(&file).map_err(|e| PageError::io(&file, e))?;
                let name = file
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                Ok(PythonSource {
                    name,
                    origin: src.clone(),
                    text,
                })
            }
            None => Ok(PythonSource {
                name: format!("page_script_{}.py", index + 1),
                origin: self.origin.clone(),
                text: dedent(&self.text),
            }),
        }
    }
}

/// The page's module script that imports Pyodide: inline, or a file of the site.
#[derive(Debug, Clone)]
pub(crate) struct ModuleScript {
    /// The script file (`src`), or `None` for inline code in the page.
    pub(crate) file: Option<PathBuf>,
    /// The `src` as written.
    pub(crate) src: Option<String>,
    pub(crate) text: String,
    /// The module specifier that names the interpreter, as written (`./pyodide/pyodide.mjs`).
    pub(crate) specifier: String,
}

/// What the page's markup holds.
#[derive(Debug, Default)]
pub(crate) struct Found {
    pub(crate) py_scripts: Vec<PyScript>,
    /// `<py-config>`'s text.
    pub(crate) py_config: Option<String>,
    /// The `src` of each module script (PyScript's `core.js` among them).
    pub(crate) module_srcs: Vec<String>,
    pub(crate) module_script: Option<ModuleScript>,
    /// `<script type="mpy">`: MicroPython.
    pub(crate) micropython: bool,
    /// `<script src=".../pyodide.js">`: the classic script.
    pub(crate) classic_pyodide: Option<String>,
}

#[derive(Default)]
struct Open {
    kind: Option<Kind>,
    text: String,
}

#[derive(Clone)]
enum Kind {
    Py(PyScript),
    Module,
    PyConfig,
}

pub(crate) fn scan(path: &Path, html: &str) -> Result<Found, PageError> {
    let dir = path.parent().unwrap_or(Path::new("/"));
    let page_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let found = Rc::new(RefCell::new(Found::default()));
    let open = Rc::new(RefCell::new(Open::default()));
    let inline_modules: Rc<RefCell<Vec<String>>> = Rc::default();
    let (f1, f2, o1, o2, m1) = (
        found.clone(),
        found.clone(),
        open.clone(),
        open.clone(),
        inline_modules.clone(),
    );
    let name1 = page_name.clone();
    let settings = handlers(vec![
        element!("script, py-script, py-config", move |el| {
            let tag = el.tag_name();
            let kind = el
                .get_attribute("type")
                .unwrap_or_default()
                .to_ascii_lowercase();
            let src = el.get_attribute("src");
            let mut found = f1.borrow_mut();
            let opened = if tag == "py-config" {
                Some(Kind::PyConfig)
            } else if tag == "py-script" || kind == "py" || kind == "pyodide" {
                let n = found.py_scripts.len() + 1;
                Some(Kind::Py(PyScript {
                    src,
                    config: el.get_attribute("config"),
                    worker: el.has_attribute("worker"),
                    text: String::new(),
                    origin: format!("{name1} <script type=\"py\"> {n}"),
                }))
            } else if kind == "mpy" || tag == "mpy-script" {
                found.micropython = true;
                None
            } else if kind == "module" {
                match src {
                    Some(src) => {
                        found.module_srcs.push(src);
                        None
                    }
                    None => Some(Kind::Module),
                }
            } else {
                if let Some(src) = src.filter(|s| s.ends_with("pyodide.js")) {
                    found.classic_pyodide = Some(src);
                }
                None
            };
            *o1.borrow_mut() = Open {
                kind: opened,
                text: String::new(),
            };
            Ok(())
        }),
        text!("script, py-script, py-config", move |t| {
            let mut open = o2.borrow_mut();
            open.text.push_str(t.as_str());
            if t.last_in_text_node() {
                let done = std::mem::take(&mut *open);
                match done.kind {
                    Some(Kind::Py(mut script)) => {
                        script.text = done.text;
                        f2.borrow_mut().py_scripts.push(script);
                    }
                    Some(Kind::Module) => m1.borrow_mut().push(done.text),
                    Some(Kind::PyConfig) => f2.borrow_mut().py_config = Some(done.text),
                    None => {}
                }
            }
            Ok(())
        }),
    ]);
    lol_html::rewrite_str(html, settings)
        .map_err(|e| PageError::page(path, format!("cannot read the page's markup: {e}")))?;
    let mut found = Rc::try_unwrap(found)
        .map(RefCell::into_inner)
        .unwrap_or_else(|rc| std::mem::take(&mut *rc.borrow_mut()));
    // A py script with no text never reaches the text handler: take those from the open slot.
    if let Some(Kind::Py(script)) = open.borrow_mut().kind.take() {
        found.py_scripts.push(script);
    }
    if found.micropython && found.py_scripts.is_empty() {
        return Err(PageError::page(
            path,
            "its scripts are <script type=\"mpy\">: MicroPython, not Pyodide; pyodide-pack packs Pyodide pages",
        ));
    }
    if found.py_scripts.is_empty() {
        // The module script that imports Pyodide: inline first, then the site's files.
        for text in inline_modules.borrow().iter() {
            if let Some(specifier) = pyodide_specifier(text) {
                found.module_script = Some(ModuleScript {
                    file: None,
                    src: None,
                    text: text.clone(),
                    specifier,
                });
                break;
            }
        }
        if found.module_script.is_none() {
            for src in &found.module_srcs {
                let Some(file) = local_file(dir, src) else {
                    continue;
                };
                let Ok(text) = std::fs::read_to_string(&file) else {
                    continue;
                };
                if let Some(specifier) = pyodide_specifier(&text) {
                    found.module_script = Some(ModuleScript {
                        file: Some(file),
                        src: Some(src.clone()),
                        text,
                        specifier,
                    });
                    break;
                }
            }
        }
        if found.module_script.is_none() {
            if let Some(src) = &found.classic_pyodide {
                return Err(PageError::page(
                    path,
                    format!("it loads {src} as a classic script (the global loadPyodide): pyodide-pack's drop-in runtime is a module; import loadPyodide from pyodide.mjs in a <script type=\"module\"> instead"),
                ));
            }
        }
    }
    Ok(found)
}

/// The module specifier of an `import ... from "X/pyodide.mjs"` (or `import("X/pyodide.mjs")`) in
/// a module's text: the first string literal that ends in `pyodide.mjs`.
pub(crate) fn pyodide_specifier(text: &str) -> Option<String> {
    for quote in ['"', '\'', '`'] {
        let mut rest = text;
        while let Some(end) = rest.find(&format!("pyodide.mjs{quote}")) {
            let before = &rest[..end];
            if let Some(start) = before.rfind(quote) {
                let literal = &rest[start + 1..end + "pyodide.mjs".len()];
                if !literal.contains('\n') && !literal.contains("${") {
                    return Some(literal.to_string());
                }
            }
            rest = &rest[end + 1..];
        }
    }
    None
}

/// A relative URL of the page as a file of its folder (`None`: absolute, or outside the folder).
pub(crate) fn local_file(dir: &Path, url: &str) -> Option<PathBuf> {
    if url.contains("://") || url.starts_with("//") || url.starts_with('/') {
        return None;
    }
    let clean = url.split(['?', '#']).next().unwrap_or(url);
    let mut path = dir.to_path_buf();
    for part in clean.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if !path.pop() || !path.starts_with(dir) {
                    return None;
                }
            }
            part => path.push(part),
        }
    }
    path.starts_with(dir).then_some(path)
}

/// Inline Python as PyScript runs it: the common indentation removed.
fn dedent(text: &str) -> String {
    let indent = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    let mut out = String::new();
    for line in text.lines() {
        out.push_str(line.get(indent..).unwrap_or(line.trim_start()));
        out.push('\n');
    }
    out.trim_start_matches('\n').to_string()
}

/// lol_html's settings with these element content handlers.
pub(crate) fn handlers<'h>(
    list: Vec<(
        std::borrow::Cow<'static, lol_html::Selector>,
        lol_html::ElementContentHandlers<'h>,
    )>,
) -> RewriteStrSettings<'h, 'static> {
    list.into_iter()
        .fold(RewriteStrSettings::new(), |settings, handler| {
            settings.append_element_content_handler(handler)
        })
}
