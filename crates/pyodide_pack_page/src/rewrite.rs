//! The page with its interpreter pointing at the packed drop-in: PyScript's `interpreter` setting
//! (in its config file, its inline config, or added), or the specifier a module script imports.
//! Everything else of each file stays byte for byte.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use lol_html::html_content::ContentType;
use lol_html::{element, text};

use crate::html::handlers;

use crate::pyscript::ConfigAt;
use crate::{Host, Page, PageError};

pub(crate) fn rewrite(page: &Page, dropin: &str) -> Result<Vec<(PathBuf, Vec<u8>)>, PageError> {
    // PyScript resolves `interpreter` against the page; a module's import against the module.
    let from_page = format!("./{dropin}");
    let page_name = PathBuf::from(page.file_name());
    match page.host {
        Host::PyScript => match page.config.as_ref().map(|c| (&c.at, c)) {
            Some((ConfigAt::File(file), config)) => Ok(vec![(
                file.clone(),
                config.with_interpreter(&from_page).into_bytes(),
            )]),
            Some((ConfigAt::Attribute, config)) => {
                let json = config.with_interpreter(&from_page);
                let html = set_first_py_config(page, &json, true)?;
                Ok(vec![(page_name, html.into_bytes())])
            }
            Some((ConfigAt::Element, config)) => {
                let text = config.with_interpreter(&from_page);
                let html = replace_text(page, "py-config", |_| true, &text)?;
                Ok(vec![(page_name, html.into_bytes())])
            }
            None => {
                let json = serde_json::json!({ "interpreter": from_page }).to_string();
                let html = set_first_py_config(page, &json, false)?;
                Ok(vec![(page_name, html.into_bytes())])
            }
        },
        Host::Module => {
            let module = page
                .module_script
                .as_ref()
                .expect("a module page has its module script");
            match &module.file {
                None => {
                    let text = module.text.replacen(&module.specifier, &from_page, 1);
                    let original = module.text.clone();
                    let html =
                        replace_text(page, "script[type=module]", move |t| t == original, &text)?;
                    Ok(vec![(page_name, html.into_bytes())])
                }
                Some(file) => {
                    let folder = file.parent().unwrap_or(&page.dir);
                    let specifier = relative_url(folder, &page.dir.join(dropin));
                    let text = module.text.replacen(&module.specifier, &specifier, 1);
                    let relative = file.strip_prefix(&page.dir).unwrap_or(file).to_path_buf();
                    Ok(vec![(relative, text.into_bytes())])
                }
            }
        }
    }
}

/// A module specifier from `folder` to `target` (`./x.mjs`, `../pyodide-pack/pyodide.mjs`).
fn relative_url(folder: &Path, target: &Path) -> String {
    let from: Vec<_> = folder.components().collect();
    let to: Vec<_> = target.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = vec![".".into()];
    if common < from.len() {
        parts = vec!["..".into(); from.len() - common];
    }
    parts.extend(
        to[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    parts.join("/")
}

/// The page with the first Python script's `config` attribute set to `value` (`replace`: only
/// the one that has a `config`).
fn set_first_py_config(page: &Page, value: &str, replace: bool) -> Result<String, PageError> {
    let done = Rc::new(RefCell::new(false));
    let value = value.to_string();
    let settings = handlers(vec![element!("script, py-script", move |el| {
        let kind = el
            .get_attribute("type")
            .unwrap_or_default()
            .to_ascii_lowercase();
        let py = el.tag_name() == "py-script" || kind == "py" || kind == "pyodide";
        if py && !*done.borrow() && (!replace || el.has_attribute("config")) {
            el.set_attribute("config", &value)?;
            *done.borrow_mut() = true;
        }
        Ok(())
    })]);
    lol_html::rewrite_str(&page.html, settings)
        .map_err(|e| PageError::page(&page.path, format!("cannot rewrite the page: {e}")))
}

/// The page with the text of the first element matching `selector` whose text passes `which`
/// replaced by `text` (raw: a script's or a config's text is not HTML-escaped).
fn replace_text(
    page: &Page,
    selector: &str,
    which: impl Fn(&str) -> bool + 'static,
    text: &str,
) -> Result<String, PageError> {
    let buffer = Rc::new(RefCell::new(String::new()));
    let done = Rc::new(RefCell::new(false));
    let replacement = text.to_string();
    let settings = handlers(vec![text!(selector, move |chunk| {
        let mut buffer = buffer.borrow_mut();
        buffer.push_str(chunk.as_str());
        if !chunk.last_in_text_node() {
            chunk.remove();
            return Ok(());
        }
        let whole = std::mem::take(&mut *buffer);
        if !*done.borrow() && which(&whole) {
            *done.borrow_mut() = true;
            chunk.replace(&replacement, ContentType::Html);
        } else {
            chunk.replace(&whole, ContentType::Html);
        }
        Ok(())
    })]);
    lol_html::rewrite_str(&page.html, settings)
        .map_err(|e| PageError::page(&page.path, format!("cannot rewrite the page: {e}")))
}
