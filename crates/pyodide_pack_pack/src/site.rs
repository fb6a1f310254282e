//! The static site around the bundle: `index.html`, which loads it and runs the entry script
//! (copied beside it under its own name), and with `runtime-files = "copy"` the Pyodide runtime's
//! own files in `pyodide/`, so the output folder deploys as it is, with or without a CDN.

use std::path::{Path, PathBuf};

use pyodide_pack_env::Environment;

use crate::{content_name, PackError, IMMUTABLE_DIR};

/// The page `pack` writes unless told not to.
pub const PAGE: &str = "index.html";
/// Where `--runtime-files copy` puts the runtime, beside the loader (`immutable/pyodide-<digest>/`:
/// the folder named by the digests of the files in it).
pub const RUNTIME_DIR: &str = "pyodide";

/// The page's markup, its script (the entry's name filled in), its look and its icon: files of
/// their own, so that a strict Content-Security-Policy needs no `'unsafe-inline'`.
const PAGE_HTML: &str = include_str!("../../../harness/index.html");
const PAGE_SCRIPT: (&str, &str) = ("index.mjs", include_str!("../../../harness/index.mjs"));
const PAGE_STYLE: (&str, &str) = ("index.css", include_str!("../../../harness/index.css"));
const PAGE_ICON: (&str, &str) = ("icon.svg", include_str!("../../../harness/icon.svg"));
const PLACEHOLDER: &str = "/*@PAGE@*/null";

/// One file of the page `pack` writes.
pub(crate) struct PageFile {
    /// What it is: `index.html`, the entry script's own name, `index.mjs`, ...
    pub(crate) name: String,
    /// Where it is in the output: the page under its own name, the rest named by content in
    /// `immutable/`.
    pub(crate) path: String,
    pub(crate) bytes: Vec<u8>,
}

/// The page's files and the entry script's copy, the page first, the entry second. `loader`: the
/// content-named loader's path in the output, which the page's script imports.
pub(crate) fn page_files(env: &Environment, loader: &str) -> Result<Vec<PageFile>, PackError> {
    let entry = env.entry(env.entry);
    let name = Path::new(&entry.path)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| entry.path.clone());
    let source = env.read(env.entry)?;
    let named = |name: &str, bytes: &[u8]| {
        format!(
            "{IMMUTABLE_DIR}/{}",
            content_name(name, &crate::integrity::sri_sha256(bytes))
        )
    };
    let in_folder = |path: &str| {
        path.trim_start_matches(&format!("{IMMUTABLE_DIR}/"))
            .to_string()
    };
    let entry_path = named(&name, &source);
    // JSON is a JavaScript expression; the values are data, never code.
    let page = serde_json::json!({ "entry": name, "file": in_folder(&entry_path) });
    let script = PAGE_SCRIPT
        .1
        .replacen(PLACEHOLDER, &page.to_string(), 1)
        .replacen(
            "\"./loader.mjs\"",
            &format!("\"./{}\"", in_folder(loader)),
            1,
        );
    let script_path = named(PAGE_SCRIPT.0, script.as_bytes());
    let style_path = named(PAGE_STYLE.0, PAGE_STYLE.1.as_bytes());
    let icon_path = named(PAGE_ICON.0, PAGE_ICON.1.as_bytes());
    let html = PAGE_HTML
        .replacen("href=\"icon.svg\"", &format!("href=\"{icon_path}\""), 1)
        .replacen("href=\"index.css\"", &format!("href=\"{style_path}\""), 1)
        .replacen("src=\"index.mjs\"", &format!("src=\"{script_path}\""), 1);
    Ok(vec![
        PageFile {
            name: PAGE.to_string(),
            path: PAGE.to_string(),
            bytes: html.into_bytes(),
        },
        PageFile {
            name,
            path: entry_path,
            bytes: source,
        },
        PageFile {
            name: PAGE_SCRIPT.0.to_string(),
            path: script_path,
            bytes: script.into_bytes(),
        },
        PageFile {
            name: PAGE_STYLE.0.to_string(),
            path: style_path,
            bytes: PAGE_STYLE.1.as_bytes().to_vec(),
        },
        PageFile {
            name: PAGE_ICON.0.to_string(),
            path: icon_path,
            bytes: PAGE_ICON.1.as_bytes().to_vec(),
        },
    ])
}

/// The runtime files a page loads (pyodide.mjs, the bootstrap script, the wasm and the lock; the
/// stdlib is the bundle's own): `[(name, source path)]`, each checked to exist.
pub(crate) fn runtime_files(env: &Environment) -> Result<Vec<(String, PathBuf)>, PackError> {
    let runtime = &env.runtime;
    let bootstrap = bootstrap_name(env);
    [
        "pyodide.mjs",
        &bootstrap,
        "pyodide.asm.wasm",
        "pyodide-lock.json",
    ]
    .into_iter()
    .map(|name| {
        let path = runtime.dir.join(name);
        match std::fs::metadata(&path) {
            Ok(meta) if meta.is_file() => Ok((name.to_string(), path)),
            Ok(_) => Err(PackError::io(
                &path,
                std::io::Error::other("not a file: the runtime cannot be copied"),
            )),
            Err(e) => Err(PackError::io(&path, e)),
        }
    })
    .collect()
}

/// The runtime's script that starts the wasm: `pyodide.asm.js`, or `pyodide.asm.mjs` (from the
/// runtime's facts).
pub(crate) fn bootstrap_name(env: &Environment) -> String {
    env.runtime
        .bootstrap_js
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "pyodide.asm.js".into())
}

/// The drop-in `pyodide.mjs` of a packed page (from `harness/dropin.mjs`): Pyodide's exports,
/// booting the runtime through the content-named loader beside it (`loader`: its path in the
/// output, `immutable/loader.<digest>.mjs`), with the runtime's version and the lock packages of
/// the environment (normalised name -> version), which it answers `loadPackage` from.
pub fn dropin(env: &Environment, loader: &str) -> String {
    const TEMPLATE: &str = include_str!("../../../harness/dropin.mjs");
    let mut packages = std::collections::BTreeMap::new();
    for (archive, source) in env.archives.iter().zip(&env.sources) {
        if *source == Some(pyodide_pack_env::WheelSource::Lock) {
            let name = normalised(&archive.package_name());
            packages.insert(name, archive.version().unwrap_or("").to_string());
        }
    }
    // JSON is a JavaScript expression; the values are data, never code.
    let packed = serde_json::json!({ "version": env.runtime.version, "packages": packages });
    TEMPLATE
        .replacen("/*@PACKED@*/null", &packed.to_string(), 1)
        .replacen("\"./loader.mjs\"", &format!("\"./{loader}\""), 1)
}

/// A package name as the lock compares names (PEP 503).
fn normalised(name: &str) -> String {
    let mut out = String::new();
    for c in name.trim().chars() {
        if matches!(c, '-' | '_' | '.') {
            if !out.ends_with('-') {
                out.push('-');
            }
        } else {
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}
