//! `loader.mjs`: the template in `harness/loader.mjs` with this bundle's manifest filled in.

use pyodide_pack_env::Environment;

const TEMPLATE: &str = include_str!("../../../harness/loader.mjs");
const PLACEHOLDER: &str = "/*@MANIFEST@*/null";

/// The loader for a bundle whose extension modules preload in `dynlibs` order.
pub fn render_loader(env: &Environment, dynlibs: &[String]) -> String {
    let version = env
        .runtime
        .version
        .clone()
        .unwrap_or_else(|| pyodide_pack_env::PINNED_PYODIDE_VERSION.to_string());
    // JSON is a JavaScript expression; the values are data, never code.
    let manifest = serde_json::json!({
        "pyodide_version": version,
        "cdn": format!("https://cdn.jsdelivr.net/pyodide/v{version}/full/"),
        "bundle": crate::BUNDLE_ZIP,
        "stdlib": crate::STDLIB_ZIP,
        "dynlibs": dynlibs,
    });
    TEMPLATE.replacen(PLACEHOLDER, &manifest.to_string(), 1)
}
