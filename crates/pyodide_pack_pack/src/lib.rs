//! Stage 5 of the pipeline: the bundle.
//!
//! [`plan`] decides where each kept file goes (eager zips or the lazy folder); [`reduce`] and
//! [`pyc`] are the optional size reducers; `entries` writes the zips (wheel entries copied
//! compressed, as they are) and `lazy` the lazy tier; [`loader`] renders `loader.mjs`; `measure`
//! sizes every package before and after (raw, gzip, brotli) and the floor; [`pack`] ties them
//! together. [`validate`] runs the app from the bundle against the full environment in Node,
//! [`browser`] in headless Chromium; [`output`] swaps the output folder in only when all of it
//! succeeded.
#![warn(unreachable_pub)]

mod browser;
mod content;
mod deploy;
mod entries;
mod error;
mod integrity;
mod lazy;
mod loader;
mod measure;
mod offline;
mod output;
mod plan;
mod pyc;
mod reduce;
mod site;
mod sizes;
mod transfer;
mod validate;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::Duration;

use pyodide_pack_env::{ArchiveKind, CacheRoot, Environment, FileRef};
use pyodide_pack_graph::Analysis;
use pyodide_pack_trace::Trace;
use rayon::prelude::*;
use serde::Serialize;

use entries::{write_zip, PackedEntry};
use measure::{archive_kind, floor_zips, measure_packages};
pub use pyodide_pack_config::{RuntimeFiles, TransferForm};
use reduce::reduce_entries;
pub use site::{dropin, PAGE, RUNTIME_DIR};
pub use transfer::ZSTD_DECODER;

pub use browser::{
    browser_driver, find_chromium, validate_in_browser, BrowserModes, BrowserRequest, BrowserRun,
    BrowserThread, BrowserValidation, DRIVER_VERSION,
};
pub use content::{content_name, IMMUTABLE_DIR};
pub use deploy::{
    header_rules, headers_file, keep_deployments, write_headers, Deployment, DeploymentSummary,
    HeaderRule, Kept, DEPLOYMENTS, HEADERS, KEEP_DEPLOYMENTS,
};
pub use error::PackError;
pub use integrity::{check_output, copied_runtime, deployed_loader, pinned_file, Mismatch, Pinned};
pub use lazy::{LazyFile, LAZY_DIR};
pub use loader::cdn_folder;
pub use measure::{reduction, OutputFile, PackageSizes, Totals};
pub use offline::{ServiceWorker, SERVICE_WORKER};
pub use output::{StagedOutput, PACK_SCHEMA};
pub use plan::{plan_pack, Destination, PackPlan, PlannedFile};
pub use reduce::{strip_docstrings, DocstringsKept, ReducerStats};
pub use sizes::{format_size, SizeCache, Sizes};
pub use validate::{
    expected_output, reference_outputs, validate, KnownRun, LazyFetch, Reference, TracedRuns,
    Validation, ValidationRequest, ValidationRun,
};

pub const BUNDLE_ZIP: &str = "bundle.zip";
pub const STDLIB_ZIP: &str = "python_stdlib.zip";
pub const LOADER: &str = "loader.mjs";
/// A packed page's folder beside the page's own files: the loader, the bundle, the runtime and
/// the drop-in `pyodide.mjs` the page's interpreter setting points at.
pub const PAGE_PACK_DIR: &str = "pyodide-pack";

#[derive(Debug, Clone, Default)]
pub struct PackOptions {
    pub strip_docstrings: bool,
    /// Globs over dotted module names whose docstrings stay (`mypkg.cli`, `docopt*`).
    pub docstring_exclude: Vec<String>,
    pub compile_pyc: bool,
    /// How the eager zips travel.
    pub transfer: TransferForm,
    /// For the `.pyc` compiler run.
    pub timeout: Duration,
    /// Write `index.html` and the entry script beside the loader.
    pub page: bool,
    /// Where the loader takes the runtime from by default.
    pub runtime_files: RuntimeFiles,
    /// The app is a page whose host fetches the page's Python itself: the app folder's files are
    /// analysed, not packed.
    pub page_host: bool,
    /// Write a service worker that keeps the app working offline.
    pub offline: bool,
    /// How many earlier deployments a pack into the same folder keeps.
    pub keep_deployments: usize,
}

/// What `pack` wrote and measured.
#[derive(Debug, Clone, Serialize)]
pub struct PackSummary {
    /// What the page fetches up front: the eager zips in their transfer form, the loader, and
    /// the decoder the form needs.
    pub outputs: Vec<OutputFile>,
    /// Precompressed siblings of the outputs (`bundle.zip.br`), which a host serves in their
    /// place: written, not downloaded beside them.
    pub siblings: Vec<OutputFile>,
    /// The transfer form of the eager zips.
    pub transfer: TransferForm,
    pub packages: Vec<PackageSizes>,
    pub totals: Totals,
    /// Extension modules the loader preloads, in order.
    pub dynlibs: Vec<String>,
    /// The page's files (`index.html`, the entry script's copy), if written.
    pub page: Vec<String>,
    /// Where they are (`index.html`, `immutable/app.<digest>.py`, ...).
    pub page_files: Vec<String>,
    /// The runtime's files as the loader takes them from the CDN (not copied): URL and pin.
    pub cdn_runtime: Vec<(String, integrity::Pinned)>,
    /// The runtime's files copied into `pyodide/` (`--runtime-files copy`), with their sizes.
    pub runtime_files: Vec<OutputFile>,
    /// Every file of the lazy tier.
    pub lazy_files: Vec<LazyFile>,
    /// The content-named loader (`immutable/loader.<digest>.mjs`), which `loader.mjs` re-exports.
    pub loader: String,
    /// Every file written under `immutable/`, named by its content (relative to the output).
    pub content_named: Vec<String>,
    /// The files written under their own names, which a host must revalidate: the page and
    /// `loader.mjs`.
    pub entry_files: Vec<String>,
    /// The deployment around the files (`_headers`, the earlier deployments kept, the service
    /// worker), once the caller has written it.
    pub deployment: Option<deploy::DeploymentSummary>,
    pub reducers: ReducerStats,
    pub warnings: Vec<String>,
}

/// Packs the kept files into `out_dir` (`bundle.zip`, `python_stdlib.zip`, `loader.mjs`,
/// `lazy/`), or, with `None`, only measures what would be written (`pyodide-pack size`).
/// `touched`: the files traced runs touched, for the floor.
pub fn pack(
    env: &Environment,
    analysis: &Analysis,
    traces: &[Trace],
    touched: Option<&[FileRef]>,
    options: &PackOptions,
    cache: &CacheRoot,
    out_dir: Option<&Path>,
) -> Result<PackSummary, PackError> {
    let mut plan = plan_pack(env, analysis, traces);
    if options.page_host {
        plan.files
            .retain(|f| env.archive(f.file).kind != ArchiveKind::App);
    }
    let size_cache = SizeCache::new(cache);
    let mut warnings = Vec::new();
    let (entries, reducers) = reduce_entries(env, analysis, &plan, options, cache, &mut warnings)?;

    let (lazy_entries, entries): (Vec<PackedEntry>, Vec<PackedEntry>) = entries
        .into_iter()
        .partition(|e| e.destination == Destination::Lazy);
    let lazy_refs: Vec<&PackedEntry> = lazy_entries.iter().collect();
    let mut lazy_files = lazy::write_lazy(env, &lazy_refs, out_dir, &size_cache)?;
    lazy_files.sort_by(|a, b| a.install_path.cmp(&b.install_path));

    // One zip per archive: the after-size of each package, and the pieces of the outputs.
    let mut by_archive: BTreeMap<u32, Vec<&PackedEntry>> = BTreeMap::new();
    for entry in &entries {
        by_archive
            .entry(entry.file.archive)
            .or_default()
            .push(entry);
    }
    let layout = transfer::entry_compression(options.transfer);
    let piece_zips: BTreeMap<u32, Vec<u8>> = by_archive
        .par_iter()
        .map(|(archive, list)| {
            let name = &env.archives[*archive as usize].name;
            write_zip(env, list, name, layout).map(|bytes| (*archive, bytes))
        })
        .collect::<Result<_, _>>()?;

    let stdlib_index = env
        .archives
        .iter()
        .position(|a| a.kind == ArchiveKind::Stdlib)
        .map(|i| i as u32);
    let stdlib_zip = match stdlib_index.and_then(|i| piece_zips.get(&i)) {
        Some(bytes) => bytes.clone(),
        None => write_zip(env, &[], STDLIB_ZIP, layout)?,
    };
    // The extension modules first, in the order the loader loads them: in the zstd form their
    // frames arrive first, and they load while the rest of the bundle downloads.
    let dynlib_rank: HashMap<&str, usize> = plan
        .dynlibs
        .iter()
        .enumerate()
        .map(|(i, path)| (path.trim_start_matches('/'), i))
        .collect();
    let mut bundle_entries: Vec<&PackedEntry> = entries
        .iter()
        .filter(|e| Some(e.file.archive) != stdlib_index)
        .collect();
    bundle_entries.sort_by_key(|e| {
        dynlib_rank
            .get(e.name.as_str())
            .copied()
            .unwrap_or(usize::MAX)
    });
    let bundle_zip = write_zip(env, &bundle_entries, BUNDLE_ZIP, layout)?;
    let (bundle_name, stdlib_name) = transfer::zip_names(options.transfer);
    let is_dynlib = |name: &str| dynlib_rank.contains_key(name);
    let (bundle, stdlib) = rayon::join(
        || transfer::encode(options.transfer, bundle_zip, is_dynlib, cache, bundle_name),
        || transfer::encode(options.transfer, stdlib_zip, |_| false, cache, stdlib_name),
    );
    let (bundle, stdlib) = (bundle?, stdlib?);
    // The runtime's own files, pinned in the loader by their digests (a page takes them from the
    // CDN or, `--runtime-files copy`, from the output's `pyodide/`).
    let runtime_files = site::runtime_files(env)?;
    let runtime_pins = runtime_files
        .par_iter()
        .map(|(name, path)| {
            let bytes = std::fs::read(path).map_err(|e| PackError::io(path, e))?;
            Ok((name.clone(), integrity::Pinned::of(&bytes)))
        })
        .collect::<Result<Vec<_>, PackError>>()?;
    let runtime_copy = match options.runtime_files {
        RuntimeFiles::Copy => runtime_files,
        RuntimeFiles::Cdn => Vec::new(),
    };
    let decoder = transfer::decoder(options.transfer);
    let (bundle_pin, stdlib_pin) = (
        integrity::Pinned::of(&bundle.body),
        integrity::Pinned::of(&stdlib.body),
    );
    let decoder_pin = decoder
        .as_ref()
        .map(|(_, text)| integrity::Pinned::of(text.as_bytes()));
    let mut pinned = vec![
        (bundle_name.to_string(), bundle_pin.clone()),
        (stdlib_name.to_string(), stdlib_pin.clone()),
    ];
    if let (Some((name, _)), Some(pin)) = (&decoder, &decoder_pin) {
        pinned.push((name.to_string(), pin.clone()));
    }
    // The copied runtime keeps its files' own names (Pyodide loads them relative to each other),
    // in a folder named by their digests.
    let runtime_dir = (!runtime_copy.is_empty()).then(|| {
        let digests = runtime_pins
            .iter()
            .map(|(name, pin)| (name.as_str(), pin.sha256.as_str()));
        format!("{}-{}", site::RUNTIME_DIR, content::set_digest(digests))
    });
    let loader_files = loader::LoaderFiles {
        bundle_frames: &bundle.frames,
        pinned: &pinned,
        runtime_dir: runtime_dir.as_deref(),
        runtime: &runtime_pins,
        bootstrap: &site::bootstrap_name(env),
        // The worker is at the output's root: a page's packed folder is a level below it.
        offline_worker: options.offline.then(|| {
            let up = if options.page_host { "../../" } else { "../" };
            format!("{up}{}", offline::SERVICE_WORKER)
        }),
    };
    let loader = loader::render_loader(env, &plan, &lazy_files, options.transfer, &loader_files);
    let cdn_runtime = match runtime_dir {
        Some(_) => Vec::new(),
        None => runtime_pins
            .iter()
            .map(|(name, pin)| {
                (
                    format!("{}{name}", loader::cdn_folder(&env.runtime.version)),
                    pin.clone(),
                )
            })
            .collect(),
    };
    let immutable = |name: &str| format!("{IMMUTABLE_DIR}/{name}");
    // The files pinned in the manifest are named by the digests pinned (each hashed once).
    let named = |name: &str, pin: &integrity::Pinned| immutable(&content_name(name, &pin.sha256));
    let loader_path = immutable(&content_name(
        LOADER,
        &integrity::sri_sha256(loader.as_bytes()),
    ));
    let page_files = if options.page {
        site::page_files(env, &loader_path)?
    } else {
        Vec::new()
    };

    // (name, path as deployed, bytes)
    let mut fetched: Vec<(String, String, &[u8])> = vec![
        (
            bundle_name.to_string(),
            named(bundle_name, &bundle_pin),
            bundle.body.as_slice(),
        ),
        (
            stdlib_name.to_string(),
            named(stdlib_name, &stdlib_pin),
            stdlib.body.as_slice(),
        ),
        (LOADER.to_string(), loader_path.clone(), loader.as_bytes()),
    ];
    if let (Some((name, text)), Some(pin)) = (&decoder, &decoder_pin) {
        fetched.push((name.to_string(), named(name, pin), text.as_bytes()));
    }
    let mut sibling_files: Vec<(String, String, &[u8])> = Vec::new();
    for (name, encoded, pin) in [
        (bundle_name, &bundle, &bundle_pin),
        (stdlib_name, &stdlib, &stdlib_pin),
    ] {
        let path = named(name, pin);
        for (suffix, bytes) in &encoded.siblings {
            sibling_files.push((
                format!("{name}{suffix}"),
                format!("{path}{suffix}"),
                bytes.as_slice(),
            ));
        }
    }
    let mut content_named: Vec<String> = fetched
        .iter()
        .chain(&sibling_files)
        .map(|(_, path, _)| path.clone())
        .collect();
    content_named.extend(
        page_files
            .iter()
            .filter(|f| f.path.starts_with(IMMUTABLE_DIR))
            .map(|f| f.path.clone()),
    );
    content_named.extend(lazy_files.iter().map(|f| f.path.clone()));
    let mut entry_files = vec![LOADER.to_string()];
    entry_files.extend(
        page_files
            .iter()
            .filter(|f| !f.path.starts_with(IMMUTABLE_DIR))
            .map(|f| f.path.clone()),
    );
    let mut runtime_outputs = Vec::new();
    if let Some(out_dir) = out_dir {
        let page = page_files
            .iter()
            .map(|f| (f.name.clone(), f.path.clone(), f.bytes.as_slice()));
        for (_, name, bytes) in fetched.iter().chain(&sibling_files).cloned().chain(page) {
            let path = out_dir.join(name);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|e| PackError::io(parent, e))?;
            }
            std::fs::write(&path, bytes).map_err(|e| PackError::io(&path, e))?;
        }
        let stub = out_dir.join(LOADER);
        std::fs::write(&stub, content::loader_stub(&loader_path))
            .map_err(|e| PackError::io(&stub, e))?;
        if let Some(runtime_dir) = &runtime_dir {
            let folder = immutable(runtime_dir);
            let dir = out_dir.join(&folder);
            std::fs::create_dir_all(&dir).map_err(|e| PackError::io(&dir, e))?;
            for (name, source) in &runtime_copy {
                let bytes = std::fs::read(source).map_err(|e| PackError::io(source, e))?;
                let path = dir.join(name);
                std::fs::write(&path, &bytes).map_err(|e| PackError::io(&path, e))?;
                runtime_outputs.push(OutputFile {
                    name: format!("{}/{name}", site::RUNTIME_DIR),
                    path: format!("{folder}/{name}"),
                    sizes: size_cache.sizes_of(&bytes),
                });
            }
        }
    }
    content_named.extend(runtime_outputs.iter().map(|f| f.path.clone()));
    content_named.sort();

    let mut packages = measure_packages(env, &entries, &piece_zips, &size_cache)?;
    for package in &mut packages {
        for file in lazy_files.iter().filter(|f| {
            let archive = &env.archives[f.archive as usize];
            archive.package_name() == package.package && archive_kind(archive) == package.kind
        }) {
            package.lazy_files += 1;
            package.lazy.add(file.sizes);
        }
    }
    let measure = |files: &[(String, String, &[u8])]| -> Vec<OutputFile> {
        files
            .par_iter()
            .map(|(name, path, bytes)| OutputFile {
                name: name.clone(),
                path: path.clone(),
                sizes: size_cache.sizes_of(bytes),
            })
            .collect()
    };
    let outputs = measure(&fetched);
    let siblings = measure(&sibling_files);
    // The floor in the same transfer form as the outputs, so the two compare.
    let floor = match touched {
        Some(files) => {
            let mut sizes = Sizes::default();
            let packed: HashMap<FileRef, &PackedEntry> = entries
                .iter()
                .chain(&lazy_entries)
                .map(|e| (e.file, e))
                .collect();
            for zip in floor_zips(env, files, &packed, stdlib_index, layout)? {
                let body = transfer::encode_body(options.transfer, zip, cache, "floor")?;
                sizes.add(size_cache.sizes_of(&body));
            }
            Some(sizes)
        }
        None => None,
    };
    let mut before = Sizes::default();
    for p in &packages {
        if p.kind != "app" {
            before.add(p.before);
        }
    }
    let mut after = Sizes::default();
    for o in outputs.iter().filter(|o| o.name != LOADER) {
        // (The decoder counts: the page downloads it before the bundle is any use.)
        after.add(o.sizes);
    }
    let mut lazy_total = Sizes::default();
    for file in &lazy_files {
        lazy_total.add(file.sizes);
    }
    let totals = Totals {
        lazy: lazy_total,
        lazy_files: lazy_files.len(),
        files_before: packages.iter().map(|p| p.files_before).sum(),
        files_after: packages.iter().map(|p| p.files_after).sum(),
        reduction_gzip: reduction(before.gzip, after.gzip),
        reduction_brotli: reduction(before.brotli, after.brotli),
        before,
        after,
        floor,
    };
    Ok(PackSummary {
        outputs,
        siblings,
        transfer: options.transfer,
        packages,
        totals,
        dynlibs: plan.dynlibs,
        page: if out_dir.is_some() {
            page_files.iter().map(|f| f.name.clone()).collect()
        } else {
            Vec::new()
        },
        page_files: if out_dir.is_some() {
            page_files.into_iter().map(|f| f.path).collect()
        } else {
            Vec::new()
        },
        cdn_runtime,
        runtime_files: runtime_outputs,
        lazy_files,
        loader: loader_path,
        content_named,
        entry_files,
        deployment: None,
        reducers,
        warnings,
    })
}
