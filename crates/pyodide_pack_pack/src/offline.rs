//! `--offline`: the service worker (from `harness/sw.js`) that keeps a packed app working with
//! the network off after one visit. It is written last, once every file it precaches is in the
//! output, since it pins each one by its digest.

use serde::Serialize;

use crate::integrity::Pinned;

/// The worker's file, at the output's root so that its scope holds the page.
pub const SERVICE_WORKER: &str = "pyodide-pack-sw.js";

/// What the worker precaches and keeps.
#[derive(Debug, Serialize)]
pub struct ServiceWorker<'a> {
    /// Names its caches, with the scope, so that two apps of one origin keep theirs apart.
    pub app: &'a str,
    /// This deployment's id (its cache's name).
    pub deployment: &'a str,
    /// The earlier deployments still served: their caches stay for the pages open on them.
    pub keep: &'a [String],
    /// `[URL relative to the worker, size, sha256]`: everything the first load needs.
    pub precache: Vec<(String, u64, String)>,
}

impl ServiceWorker<'_> {
    /// Adds a file the first load fetches, pinned by its bytes.
    pub fn precache(&mut self, url: String, pinned: Pinned) {
        self.precache.push((url, pinned.size, pinned.sha256));
    }

    /// The worker's source.
    pub fn render(&self) -> String {
        const TEMPLATE: &str = include_str!("../../../harness/sw.js");
        // JSON is a JavaScript expression; the values are data, never code.
        let data = serde_json::to_string(self).unwrap_or_else(|_| "null".into());
        TEMPLATE.replacen("/*@SW@*/null", &data, 1)
    }
}
