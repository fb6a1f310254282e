//! `loader.mjs`: the template in `harness/loader.mjs` with this bundle's manifest filled in.

use pyodide_pack_env::Environment;

use crate::plan::{lazy_stdlib_dir, PackPlan};
use crate::transfer::{decoder, zip_names};
use crate::{LazyFile, TransferForm};

const TEMPLATE: &str = include_str!("../../../harness/loader.mjs");
const PLACEHOLDER: &str = "/*@MANIFEST@*/null";

/// The loader for a bundle: its extension modules preload in `plan.dynlibs` order; the lazy files
/// are listed with their sizes.
pub fn render_loader(
    env: &Environment,
    plan: &PackPlan,
    lazy: &[LazyFile],
    transfer: TransferForm,
) -> String {
    let version = &env.runtime.version;
    let (bundle, stdlib) = zip_names(transfer);
    // JSON is a JavaScript expression; the values are data, never code.
    let manifest = serde_json::json!({
        "pyodide_version": version,
        "cdn": format!("https://cdn.jsdelivr.net/pyodide/v{version}/full/"),
        "bundle": bundle,
        "stdlib": stdlib,
        "transfer": transfer.name(),
        "decoder": decoder(transfer).map(|(name, _)| name),
        // Where Pyodide mounts the standard library (`/lib/python314.zip`): the solid forms
        // write the decoded zip there.
        "stdlib_mount": env.runtime.stdlib_mount(),
        "dynlibs": plan.dynlibs,
        "lazy": {
            "dir": crate::LAZY_DIR,
            "files": lazy.iter().map(|f| (f.install_path.as_str(), f.size)).collect::<Vec<_>>(),
            "stdlib_dir": lazy_stdlib_dir(env),
            "stdlib_packages": plan.lazy_stdlib_packages,
        },
    });
    TEMPLATE.replacen(PLACEHOLDER, &manifest.to_string(), 1)
}
