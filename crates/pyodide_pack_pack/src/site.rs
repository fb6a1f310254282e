//! The static site around the bundle: `index.html`, which loads it and runs the entry script
//! (copied beside it under its own name), and with `runtime-files = "copy"` the Pyodide runtime's
//! own files in `pyodide/`, so the output folder deploys as it is, with or without a CDN.

use std::path::{Path, PathBuf};

use pyodide_pack_env::Environment;

use crate::PackError;

/// The page `pack` writes unless told not to.
pub const PAGE: &str = "index.html";
/// Where `--runtime-files copy` puts the runtime, beside the loader.
pub const RUNTIME_DIR: &str = "pyodide";

/// The page's markup, its script (the entry's name filled in) and its look: three files, so that
/// a strict Content-Security-Policy needs no `'unsafe-inline'`.
const PAGE_HTML: &str = include_str!("../../../harness/index.html");
const PAGE_SCRIPT: (&str, &str) = ("index.mjs", include_str!("../../../harness/index.mjs"));
const PAGE_STYLE: (&str, &str) = ("index.css", include_str!("../../../harness/index.css"));
const PLACEHOLDER: &str = "/*@PAGE@*/null";

/// The page's files and the entry script's copy: `[(file name, bytes)]`, the page first, the
/// entry second.
pub(crate) fn page_files(env: &Environment) -> Result<Vec<(String, Vec<u8>)>, PackError> {
    let entry = env.entry(env.entry);
    let name = Path::new(&entry.path)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| entry.path.clone());
    let source = env.read(env.entry)?;
    // JSON is a JavaScript expression; the values are data, never code.
    let page = serde_json::json!({ "entry": name });
    let script = PAGE_SCRIPT.1.replacen(PLACEHOLDER, &page.to_string(), 1);
    Ok(vec![
        (PAGE.to_string(), PAGE_HTML.as_bytes().to_vec()),
        (name, source),
        (PAGE_SCRIPT.0.to_string(), script.into_bytes()),
        (PAGE_STYLE.0.to_string(), PAGE_STYLE.1.as_bytes().to_vec()),
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
/// booting the runtime through the loader beside it, with the runtime's version and the lock
/// packages of the environment (normalised name -> version), which it answers `loadPackage` from.
pub fn dropin(env: &Environment) -> String {
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
    TEMPLATE.replacen("/*@PACKED@*/null", &packed.to_string(), 1)
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
