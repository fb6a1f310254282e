//! The deployment around a written bundle, before validation: the earlier deployments' files
//! carried over from the folder the pack replaces, the caching rules (`_headers`), and with
//! `--offline` the service worker, which pins every file the first load needs.

use std::path::Path;

use anyhow::{Context, Result};
use pyodide_pack_pack::Pinned;
use pyodide_pack_pack::{
    header_rules, headers_file, keep_deployments, write_headers, Deployment, DeploymentSummary,
    DEPLOYMENTS, HEADERS,
};
use pyodide_pack_pack::{PackOptions, PackSummary};
use pyodide_pack_pack::{ServiceWorker, SERVICE_WORKER};

/// Where a bundle sits in a site and what else the site's first load fetches.
pub struct Site<'a> {
    /// The staged output's root.
    pub root: &'a Path,
    /// The output being replaced (it may not exist).
    pub previous: &'a Path,
    /// The packed folder under the root: `""`, or `pyodide-pack/` for a page.
    pub prefix: &'a str,
    /// The app's name, for the service worker's caches.
    pub app: &'a str,
    /// The site's pages and other files the first load fetches, relative to the root (a page's
    /// pack: the pages packed and what their traced runs fetched from the site).
    pub pages: Vec<String>,
    pub files: Vec<String>,
}

/// Writes the deployment into `site.root` and records it in `summary`.
pub fn finish_deployment(
    site: &Site,
    summary: &mut PackSummary,
    options: &PackOptions,
) -> Result<()> {
    let pack_dir = site.root.join(site.prefix);
    let previous = site.previous.join(site.prefix);
    let in_pack = |file: &str| format!("{}{file}", site.prefix);
    // What the site serves under its own names, pinned: it names the deployment too, and the
    // offline worker precaches it.
    let own_names = site
        .pages
        .iter()
        .chain(&site.files)
        .cloned()
        .chain(summary.entry_files.iter().map(|f| in_pack(f)));
    let mut own: Vec<(String, Pinned)> = Vec::new();
    for file in own_names {
        if let Ok(bytes) = std::fs::read(site.root.join(&file)) {
            own.push((file, Pinned::of(&bytes)));
        }
    }
    let served: Vec<(String, String)> = own
        .iter()
        .map(|(file, pinned)| (file.clone(), pinned.sha256.clone()))
        .collect();
    let deployment = Deployment::of(summary, &served);
    let kept = keep_deployments(
        &pack_dir,
        previous.is_dir().then_some(previous.as_path()),
        deployment.clone(),
        options.keep_deployments,
    )?;
    let mut entries: Vec<String> = site.pages.clone();
    entries.extend(summary.entry_files.iter().map(|f| in_pack(f)));
    entries.extend(
        ["report.json", "report.html", DEPLOYMENTS]
            .iter()
            .map(|f| in_pack(f)),
    );
    let service_worker = if options.offline {
        entries.push(SERVICE_WORKER.to_string());
        let mut worker = ServiceWorker {
            app: site.app,
            deployment: &deployment.id,
            keep: &kept.deployments,
            precache: Vec::new(),
        };
        // What the first load fetches: the page and its files, the loader and its eager files,
        // and the runtime (copied, or its CDN's URLs); lazy files are cached as they are fetched.
        let mut files: Vec<String> = summary.outputs.iter().map(|o| in_pack(&o.path)).collect();
        files.extend(summary.runtime_files.iter().map(|o| in_pack(&o.path)));
        files.extend(summary.page_files.iter().map(|p| in_pack(p)));
        files.retain(|file| !own.iter().any(|(pinned, _)| pinned == file));
        files.sort();
        files.dedup();
        let mut precache = own.clone();
        for file in files {
            let path = site.root.join(&file);
            let bytes = std::fs::read(&path)
                .with_context(|| format!("{}: cannot read it to precache", path.display()))?;
            precache.push((file, Pinned::of(&bytes)));
        }
        precache.sort_by(|a, b| a.0.cmp(&b.0));
        precache.dedup_by(|a, b| a.0 == b.0);
        for (file, pinned) in precache {
            worker.precache(file, pinned);
        }
        for (url, pinned) in &summary.cdn_runtime {
            worker.precache(url.clone(), pinned.clone());
        }
        let path = site.root.join(SERVICE_WORKER);
        std::fs::write(&path, worker.render())
            .with_context(|| format!("{}: cannot write the service worker", path.display()))?;
        Some(SERVICE_WORKER.to_string())
    } else {
        None
    };
    let rules = header_rules(site.prefix, &entries);
    write_headers(site.root, &headers_file(&rules))?;
    summary.deployment = Some(DeploymentSummary {
        content_named: summary.content_named.len(),
        entry_files: entries,
        kept,
        headers_file: HEADERS.to_string(),
        headers: rules,
        service_worker,
    });
    Ok(())
}
