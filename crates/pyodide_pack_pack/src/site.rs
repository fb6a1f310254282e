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

const TEMPLATE: &str = include_str!("../../../harness/index.html");
const PLACEHOLDER: &str = "/*@PAGE@*/null";

/// The page and the entry script's copy: `[(file name, bytes)]`.
pub(crate) fn page_files(env: &Environment) -> Result<Vec<(String, Vec<u8>)>, PackError> {
    let entry = env.entry(env.entry);
    let name = Path::new(&entry.path)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| entry.path.clone());
    let source = env.read(env.entry)?;
    // JSON is a JavaScript expression; the values are data, never code.
    let page = serde_json::json!({ "entry": name });
    let html = TEMPLATE.replacen(PLACEHOLDER, &page.to_string(), 1);
    Ok(vec![(PAGE.to_string(), html.into_bytes()), (name, source)])
}

/// The runtime files a page loads (`loadPyodide` fetches the bootstrap script, the wasm and the
/// lock; the stdlib is the bundle's own): `[(name, source path)]`, each checked to exist.
pub(crate) fn runtime_files(env: &Environment) -> Result<Vec<(String, PathBuf)>, PackError> {
    let runtime = &env.runtime;
    let bootstrap = runtime
        .bootstrap_js
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "pyodide.asm.js".into());
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
