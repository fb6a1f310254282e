//! PyScript's config: a TOML or JSON file named by the first script's `config` attribute, inline
//! JSON in that attribute, or a `<py-config>` element. What the tool reads of it: `interpreter`,
//! `packages` and `[files]`; settings it cannot honour are refused by name.

use std::path::{Path, PathBuf};

use crate::html::{local_file, Found};
use crate::{PageError, PythonSource};

/// Where the config is written.
#[derive(Debug, Clone)]
pub(crate) enum ConfigAt {
    /// A file of the site (relative to the page's folder).
    File(PathBuf),
    /// Inline JSON in the first script's `config` attribute.
    Attribute,
    /// The text of `<py-config>`.
    Element,
}

#[derive(Debug, Clone)]
pub(crate) enum ConfigText {
    Toml(toml_edit::DocumentMut),
    Json(serde_json::Value),
}

#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) at: ConfigAt,
    pub(crate) text: ConfigText,
    pub(crate) interpreter: Option<String>,
    pub(crate) packages: Vec<String>,
    /// `[files]`: source URL -> destination in the file system.
    pub(crate) files: Vec<(String, String)>,
}

impl Config {
    pub(crate) fn find(
        page: &Path,
        dir: &Path,
        found: &Found,
    ) -> Result<Option<Config>, PageError> {
        let attribute = found.py_scripts.iter().find_map(|s| s.config.clone());
        let (at, text, named) = match (attribute, &found.py_config) {
            (Some(inline), _) if inline.trim_start().starts_with('{') => {
                (ConfigAt::Attribute, inline, page.to_path_buf())
            }
            (Some(url), _) => {
                let file = local_file(dir, &url).ok_or_else(|| {
                    PageError::page(
                        page,
                        format!("config {url:?}: not a file of the page's folder (a config from another host cannot be packed)"),
                    )
                })?;
                let text = std::fs::read_to_string(&file).map_err(|e| PageError::io(&file, e))?;
                let relative = file.strip_prefix(dir).unwrap_or(&file).to_path_buf();
                (ConfigAt::File(relative), text, file)
            }
            (None, Some(text)) => (ConfigAt::Element, text.clone(), page.to_path_buf()),
            (None, None) => return Ok(None),
        };
        let json = match &at {
            ConfigAt::File(file) => file.extension().is_some_and(|e| e == "json"),
            _ => text.trim_start().starts_with('{'),
        };
        let text = if json {
            ConfigText::Json(serde_json::from_str(&text).map_err(|e| {
                PageError::page(&named, format!("PyScript config is not valid JSON: {e}"))
            })?)
        } else {
            ConfigText::Toml(text.parse().map_err(|e: toml_edit::TomlError| {
                PageError::page(
                    &named,
                    format!(
                        "PyScript config is not valid TOML: {}",
                        e.to_string().lines().next().unwrap_or("")
                    ),
                )
            })?)
        };
        let value = match &text {
            ConfigText::Json(v) => v.clone(),
            ConfigText::Toml(doc) => toml_to_json(doc.as_item()),
        };
        let strings = |key: &str| -> Vec<String> {
            value[key]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default()
        };
        let packages = strings("packages");
        for package in &packages {
            if package.contains('/') || package.ends_with(".whl") {
                return Err(PageError::Unsupported {
                    path: named,
                    setting: format!("packages = [{package:?}]"),
                    why: "a wheel by URL; name packages of the runtime's lock".into(),
                });
            }
        }
        if value.get("index_urls").is_some() {
            return Err(PageError::Unsupported {
                path: named,
                setting: "index_urls".into(),
                why: "packages come from the runtime's lock; another package index is not read"
                    .into(),
            });
        }
        let files = value["files"]
            .as_object()
            .map(|o| {
                o.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                    .collect()
            })
            .unwrap_or_default();
        Ok(Some(Config {
            interpreter: value["interpreter"].as_str().map(str::to_string),
            at,
            text,
            packages,
            files,
        }))
    }

    /// The `.py` files `[files]` copies into the file system, as modules of the app folder.
    pub(crate) fn python_files(&self, dir: &Path) -> Result<Vec<PythonSource>, PageError> {
        let mut out = Vec::new();
        for (url, dest) in &self.files {
            let Some(file) = local_file(dir, url) else {
                continue;
            };
            if file.extension().is_none_or(|e| e != "py") {
                continue;
            }
            let text = std::fs::read_to_string(&file).map_err(|e| PageError::io(&file, e))?;
            let name = if dest.is_empty() || dest.ends_with('/') {
                file.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            } else {
                dest.trim_start_matches("./").to_string()
            };
            out.push(PythonSource {
                name,
                origin: url.clone(),
                text,
            });
        }
        Ok(out)
    }

    /// The config's text with `interpreter` set to `url`.
    pub(crate) fn with_interpreter(&self, url: &str) -> String {
        match &self.text {
            ConfigText::Json(value) => {
                let mut value = value.clone();
                value["interpreter"] = serde_json::Value::String(url.to_string());
                serde_json::to_string_pretty(&value).unwrap_or_default()
            }
            ConfigText::Toml(doc) => {
                let mut doc = doc.clone();
                // (A top-level key goes before the tables.)
                doc["interpreter"] = toml_edit::value(url);
                doc.to_string()
            }
        }
    }
}

fn toml_to_json(item: &toml_edit::Item) -> serde_json::Value {
    use serde_json::Value;
    match item {
        toml_edit::Item::Value(v) => value_to_json(v),
        toml_edit::Item::Table(t) => Value::Object(
            t.iter()
                .map(|(k, v)| (k.to_string(), toml_to_json(v)))
                .collect(),
        ),
        toml_edit::Item::ArrayOfTables(a) => Value::Array(
            a.iter()
                .map(|t| toml_to_json(&toml_edit::Item::Table(t.clone())))
                .collect(),
        ),
        toml_edit::Item::None => Value::Null,
    }
}

fn value_to_json(value: &toml_edit::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        toml_edit::Value::String(s) => Value::String(s.value().clone()),
        toml_edit::Value::Integer(i) => Value::from(*i.value()),
        toml_edit::Value::Float(f) => Value::from(*f.value()),
        toml_edit::Value::Boolean(b) => Value::Bool(*b.value()),
        toml_edit::Value::Datetime(d) => Value::String(d.value().to_string()),
        toml_edit::Value::Array(a) => Value::Array(a.iter().map(value_to_json).collect()),
        toml_edit::Value::InlineTable(t) => Value::Object(
            t.iter()
                .map(|(k, v)| (k.to_string(), value_to_json(v)))
                .collect(),
        ),
    }
}
