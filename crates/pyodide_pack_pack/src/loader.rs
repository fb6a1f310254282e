//! `loader.mjs`: the template assembled from `harness/loader/` with this bundle's manifest filled
//! in.

use pyodide_pack_env::Environment;

use crate::integrity::Pinned;
use crate::plan::{lazy_stdlib_dir, PackPlan};
use crate::transfer::{decoder, zip_names, Frame};
use crate::{LazyFile, TransferForm};

/// The loader's sources, one concern a file, in the order they make the one module that ships.
/// Each file's leading `//!` lines describe the part to its readers and are left out.
const TEMPLATE_PARTS: &[&str] = &[
    include_str!("../../../harness/loader/01-options.js"),
    include_str!("../../../harness/loader/02-lazy.js"),
    include_str!("../../../harness/loader/03-transfer.js"),
    include_str!("../../../harness/loader/04-decoder.js"),
    include_str!("../../../harness/loader/05-node.js"),
    include_str!("../../../harness/loader/06-browser.js"),
    include_str!("../../../harness/loader/07-sync.js"),
    include_str!("../../../harness/loader/08-install.js"),
    include_str!("../../../harness/loader/09-offline.js"),
];
const PLACEHOLDER: &str = "/*@MANIFEST@*/null";

/// What the loader fetches itself: the eager files as written, and the copied runtime's folder.
pub(crate) struct LoaderFiles<'a> {
    pub(crate) bundle_frames: &'a [Frame],
    /// Each file the loader fetches up front (the two zips, the decoder), by name.
    pub(crate) pinned: &'a [(String, Pinned)],
    /// `Some("pyodide")` when the runtime's files were copied beside the loader.
    pub(crate) runtime_dir: Option<&'a str>,
    /// The runtime's files a page loads (`pyodide.mjs`, the bootstrap script, the wasm, the lock)
    /// as packed against, by name.
    pub(crate) runtime: &'a [(String, Pinned)],
    /// Which of them is the bootstrap script (`pyodide.asm.js` or `.mjs`).
    pub(crate) bootstrap: &'a str,
    /// The service worker to register (`--offline`), relative to the loader.
    pub(crate) offline_worker: Option<String>,
}

/// The CDN folder of a release, where the loader takes the runtime from unless it was copied.
pub fn cdn_folder(version: &str) -> String {
    format!("https://cdn.jsdelivr.net/pyodide/v{version}/full/")
}

/// The loader for a bundle: its extension modules preload in `plan.dynlibs` order; the lazy files
/// are listed with their sizes.
pub(crate) fn render_loader(
    env: &Environment,
    plan: &PackPlan,
    lazy: &[LazyFile],
    transfer: TransferForm,
    files: &LoaderFiles,
) -> String {
    let version = &env.runtime.version;
    let (bundle, stdlib) = zip_names(transfer);
    // JSON is a JavaScript expression; the values are data, never code.
    let manifest = serde_json::json!({
        "pyodide_version": version,
        "cdn": cdn_folder(version),
        "bundle": bundle,
        "stdlib": stdlib,
        "transfer": transfer.name(),
        // The zstd bundle's frames ([bytes on the wire, zip bytes]), installed as they arrive.
        // ([bytes on the wire, zip bytes, sha256 of the bytes on the wire]).
        "bundle_frames": files.bundle_frames.iter().map(|f| serde_json::json!([f.compressed, f.decoded, f.sha256])).collect::<Vec<_>>(),
        // The size and sha256 of each file fetched up front, checked before use.
        "files": files.pinned.iter().map(|(name, pinned)| (name.clone(), pinned)).collect::<std::collections::BTreeMap<_, _>>(),
        // The runtime's folder beside the loader (`--runtime-files copy`), else null: the CDN.
        "runtime_dir": files.runtime_dir,
        // The runtime's files, pinned by the digests of those packed against; `bootstrap` names
        // the script that starts the wasm (`pyodide.asm.js` or `pyodide.asm.mjs`).
        "runtime": {
            "bootstrap": files.bootstrap,
            "files": files.runtime.iter().map(|(name, pinned)| (name.clone(), pinned)).collect::<std::collections::BTreeMap<_, _>>(),
        },
        "decoder": decoder(transfer).map(|(name, _)| name),
        // The service worker the loader registers once the app has loaded (`--offline`).
        "offline": files.offline_worker,
        // Where Pyodide mounts the standard library (`/lib/python314.zip`): the solid forms
        // write the decoded zip there.
        "stdlib_mount": env.runtime.stdlib_mount(),
        "dynlibs": plan.dynlibs,
        "lazy": {
            "dir": crate::LAZY_DIR,
            "files": lazy.iter().map(|f| (f.install_path.as_str(), f.size, f.sha256.as_str())).collect::<Vec<_>>(),
            "stdlib_dir": lazy_stdlib_dir(env),
            "stdlib_packages": plan.lazy_stdlib_packages,
        },
    });
    template().replacen(PLACEHOLDER, &manifest.to_string(), 1)
}

/// `loader.mjs` before its manifest: the parts, each without its leading `//!` lines.
pub(crate) fn template() -> String {
    TEMPLATE_PARTS
        .iter()
        .map(|part| {
            let mut rest = *part;
            while let Some(line_end) = rest.strip_prefix("//!").and_then(|r| r.find('\n')) {
                rest = &rest[3 + line_end + 1..];
            }
            rest
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_parts_make_one_module_with_one_manifest_and_one_export() {
        let loader = template();
        assert!(loader.starts_with("// loader.mjs, generated by pyodide-pack"));
        assert_eq!(loader.matches(PLACEHOLDER).count(), 1);
        assert_eq!(loader.matches("\nexport ").count(), 1);
        assert!(loader.contains("\nexport async function loadBundle("));
        assert!(!loader.contains("//!"), "a part's description shipped");
        assert!(loader.ends_with("}\n"));
    }
}
