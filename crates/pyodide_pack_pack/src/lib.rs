//! Stage 5 of the pipeline: the bundle.
//!
//! [`plan`] decides where each kept file goes; [`reduce`] and [`pyc`] are the optional size
//! reducers; [`pack`] writes `bundle.zip` (wheel entries copied compressed, as they are), the pruned
//! `python_stdlib.zip` and `loader.mjs`, and measures every package before and after (raw, gzip,
//! brotli); [`validate`] runs the app from the bundle against the full environment; [`output`]
//! swaps the output folder in only when all of it succeeded.

pub mod browser;
pub mod error;
mod lazy;
pub mod loader;
pub mod output;
pub mod plan;
pub mod pyc;
pub mod reduce;
pub mod sizes;
pub mod validate;

use std::collections::BTreeMap;
use std::io::{Cursor, Write};
use std::path::Path;
use std::time::Duration;

use globset::{GlobBuilder, GlobSetBuilder};
use pyodide_pack_env::{ArchiveKind, CacheRoot, Environment, FileKind, FileRef};
use pyodide_pack_graph::Analysis;
use pyodide_pack_trace::Trace;
use rayon::prelude::*;
use serde::Serialize;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

pub use browser::{
    find_chromium, validate_in_browser, BrowserModes, BrowserRequest, BrowserRun, BrowserThread,
    BrowserValidation,
};
pub use error::PackError;
pub use lazy::{LazyFile, LAZY_DIR};
pub use output::{StagedOutput, PACK_SCHEMA};
pub use plan::{plan_pack, Destination, PackPlan, PlannedFile};
pub use reduce::{strip_docstrings, DocstringsKept};
pub use sizes::Sizes;
pub use validate::{
    expected_output, reference_outputs, validate, LazyFetch, Reference, TracedRuns, Validation,
    ValidationRequest, ValidationRun,
};

pub const BUNDLE_ZIP: &str = "bundle.zip";
pub const STDLIB_ZIP: &str = "python_stdlib.zip";
pub const LOADER: &str = "loader.mjs";

#[derive(Debug, Clone, Default)]
pub struct PackOptions {
    pub strip_docstrings: bool,
    /// Globs over dotted module names whose docstrings stay (`mypkg.cli`, `docopt*`).
    pub docstring_exclude: Vec<String>,
    pub compile_pyc: bool,
    /// For the `.pyc` compiler run.
    pub timeout: Duration,
}

/// One package (a wheel's distribution, the stdlib, the app's own modules) before and after.
#[derive(Debug, Clone, Serialize)]
pub struct PackageSizes {
    pub package: String,
    pub version: Option<String>,
    pub kind: &'static str,
    pub files_before: usize,
    pub files_after: usize,
    pub py_before: usize,
    pub py_after: usize,
    pub so_before: usize,
    pub so_after: usize,
    /// Uncompressed bytes of the files.
    pub unpacked_before: u64,
    pub unpacked_after: u64,
    /// Before: the wheel (or stdlib zip) as downloaded. After: a zip of only its eager files.
    pub before: Sizes,
    pub after: Sizes,
    /// The lazy tier: its files, and their sizes each served on its own.
    pub lazy_files: usize,
    pub lazy: Sizes,
}

impl PackageSizes {
    /// 1 - after/before of the brotli sizes (what a CDN serves).
    pub fn reduction(&self) -> f64 {
        reduction(self.before.brotli, self.after.brotli)
    }
}

pub fn reduction(before: u64, after: u64) -> f64 {
    if before == 0 {
        0.0
    } else {
        1.0 - after as f64 / before as f64
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct OutputFile {
    pub name: &'static str,
    pub sizes: Sizes,
}

#[derive(Debug, Clone, Serialize)]
pub struct Totals {
    pub files_before: usize,
    pub files_after: usize,
    /// Every wheel plus the full stdlib zip, each served on its own.
    pub before: Sizes,
    /// `bundle.zip` plus `python_stdlib.zip`: the eager download.
    pub after: Sizes,
    /// The lazy tier: deployed beside the bundle, each file fetched only if the app reads it.
    pub lazy: Sizes,
    pub lazy_files: usize,
    /// The files a traced run touched and nothing else, zipped the same way: the floor no
    /// static bundle can go under without dropping something a run used.
    pub floor: Option<Sizes>,
    pub reduction_gzip: f64,
    pub reduction_brotli: f64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ReducerStats {
    pub strip_docstrings: bool,
    /// Files whose docstrings were stripped.
    pub docstrings_stripped: usize,
    /// Files that kept them because they read `__doc__` or are excluded in the config.
    pub docstrings_kept: Vec<String>,
    pub compile_pyc: bool,
    pub pyc_files: usize,
}

/// What `pack` wrote and measured.
#[derive(Debug, Clone, Serialize)]
pub struct PackSummary {
    pub outputs: Vec<OutputFile>,
    pub packages: Vec<PackageSizes>,
    pub totals: Totals,
    /// Extension modules the loader preloads, in order.
    pub dynlibs: Vec<String>,
    /// Every file of the lazy tier.
    pub lazy_files: Vec<LazyFile>,
    pub reducers: ReducerStats,
    pub warnings: Vec<String>,
}

/// A packed entry's bytes: copied compressed from its archive, or new bytes (reduced, or from the
/// app's folder) deflated here.
pub(crate) enum Content {
    Raw(FileRef),
    Bytes(Vec<u8>),
}

pub(crate) struct PackedEntry {
    file: FileRef,
    name: String,
    content: Content,
    destination: Destination,
}

fn zip_error(path: &str, e: impl std::fmt::Display) -> PackError {
    PackError::Zip {
        path: path.to_string(),
        message: e.to_string(),
    }
}

/// Writes entries into a new in-memory zip. Deterministic: fixed timestamps, input order.
fn write_zip(
    env: &Environment,
    entries: &[&PackedEntry],
    label: &str,
) -> Result<Vec<u8>, PackError> {
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::default());
    let mut sources: BTreeMap<u32, ZipArchive<Cursor<std::sync::Arc<[u8]>>>> = BTreeMap::new();
    for entry in entries {
        match &entry.content {
            Content::Raw(file) => {
                let zip = match sources.entry(file.archive) {
                    std::collections::btree_map::Entry::Occupied(o) => o.into_mut(),
                    std::collections::btree_map::Entry::Vacant(v) => match env.archive(*file).zip()
                    {
                        Some(zip) => v.insert(zip),
                        None => return Err(zip_error(label, "a raw entry from a folder")),
                    },
                };
                let source_name = &env.entry(*file).path;
                let index = zip
                    .index_for_name(source_name)
                    .ok_or_else(|| zip_error(label, format!("{source_name} vanished")))?;
                let raw = zip.by_index_raw(index).map_err(|e| zip_error(label, e))?;
                writer
                    .raw_copy_file_rename(raw, &entry.name)
                    .map_err(|e| zip_error(label, e))?;
            }
            Content::Bytes(bytes) => {
                writer
                    .start_file(&entry.name, options)
                    .map_err(|e| zip_error(label, e))?;
                writer.write_all(bytes).map_err(|e| zip_error(label, e))?;
            }
        }
    }
    Ok(writer
        .finish()
        .map_err(|e| zip_error(label, e))?
        .into_inner())
}

/// Packs the kept files into `out_dir` (`bundle.zip`, `python_stdlib.zip`, `loader.mjs`).
/// `touched`: the files traced runs touched, for the floor.
pub fn pack(
    env: &Environment,
    analysis: &Analysis,
    traces: &[Trace],
    touched: Option<&[FileRef]>,
    options: &PackOptions,
    cache: &CacheRoot,
    out_dir: &Path,
) -> Result<PackSummary, PackError> {
    let plan = plan_pack(env, analysis, traces);
    let mut warnings = Vec::new();
    let (entries, reducers) = reduce_entries(env, analysis, &plan, options, cache, &mut warnings)?;

    let (lazy_entries, entries): (Vec<PackedEntry>, Vec<PackedEntry>) = entries
        .into_iter()
        .partition(|e| e.destination == Destination::Lazy);
    let lazy_refs: Vec<&PackedEntry> = lazy_entries.iter().collect();
    let mut lazy_files = lazy::write_lazy(env, &lazy_refs, out_dir)?;
    lazy_files.sort_by(|a, b| a.install_path.cmp(&b.install_path));

    // One zip per archive: the after-size of each package, and the pieces of the outputs.
    let mut by_archive: BTreeMap<u32, Vec<&PackedEntry>> = BTreeMap::new();
    for entry in &entries {
        by_archive
            .entry(entry.file.archive)
            .or_default()
            .push(entry);
    }
    let piece_zips: BTreeMap<u32, Vec<u8>> = by_archive
        .par_iter()
        .map(|(archive, list)| {
            let name = &env.archives[*archive as usize].name;
            write_zip(env, list, name).map(|bytes| (*archive, bytes))
        })
        .collect::<Result<_, _>>()?;

    let stdlib_index = env
        .archives
        .iter()
        .position(|a| a.kind == ArchiveKind::Stdlib)
        .map(|i| i as u32);
    let stdlib_bytes = match stdlib_index.and_then(|i| piece_zips.get(&i)) {
        Some(bytes) => bytes.clone(),
        None => write_zip(env, &[], STDLIB_ZIP)?,
    };
    let bundle_entries: Vec<&PackedEntry> = entries
        .iter()
        .filter(|e| Some(e.file.archive) != stdlib_index)
        .collect();
    let bundle_bytes = write_zip(env, &bundle_entries, BUNDLE_ZIP)?;
    let loader = loader::render_loader(env, &plan, &lazy_files);

    for (name, bytes) in [
        (BUNDLE_ZIP, bundle_bytes.as_slice()),
        (STDLIB_ZIP, stdlib_bytes.as_slice()),
        (LOADER, loader.as_bytes()),
    ] {
        let path = out_dir.join(name);
        std::fs::write(&path, bytes).map_err(|e| PackError::io(&path, e))?;
    }

    let mut packages = measure_packages(env, &entries, &piece_zips)?;
    for package in &mut packages {
        for file in lazy_files.iter().filter(|f| {
            let archive = &env.archives[f.archive as usize];
            archive.package_name() == package.package && archive_kind(archive) == package.kind
        }) {
            package.lazy_files += 1;
            package.lazy.add(file.sizes);
        }
    }
    let outputs: Vec<OutputFile> = [
        (BUNDLE_ZIP, bundle_bytes.as_slice()),
        (STDLIB_ZIP, stdlib_bytes.as_slice()),
        (LOADER, loader.as_bytes()),
    ]
    .par_iter()
    .map(|(name, bytes)| OutputFile {
        name,
        sizes: Sizes::of(bytes),
    })
    .collect();
    let floor = match touched {
        Some(files) => Some(floor_sizes(env, files, stdlib_index)?),
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
        packages,
        totals,
        dynlibs: plan.dynlibs,
        lazy_files,
        reducers,
        warnings,
    })
}

fn archive_kind(archive: &pyodide_pack_env::Archive) -> &'static str {
    match archive.kind {
        ArchiveKind::Stdlib => "stdlib",
        ArchiveKind::Wheel { .. } => "wheel",
        ArchiveKind::App => "app",
    }
}

/// The content of every planned file, after the reducers the options ask for.
fn reduce_entries(
    env: &Environment,
    analysis: &Analysis,
    plan: &PackPlan,
    options: &PackOptions,
    cache: &CacheRoot,
    warnings: &mut Vec<String>,
) -> Result<(Vec<PackedEntry>, ReducerStats), PackError> {
    let mut stats = ReducerStats {
        strip_docstrings: options.strip_docstrings,
        compile_pyc: options.compile_pyc,
        ..Default::default()
    };
    let keep_docs = {
        let mut builder = GlobSetBuilder::new();
        for pattern in &options.docstring_exclude {
            let glob = GlobBuilder::new(pattern)
                .build()
                .map_err(|e| PackError::Compile {
                    message: format!("docstring-exclude: bad glob {pattern:?}: {}", e.kind()),
                })?;
            builder.add(glob);
        }
        builder.build().map_err(|e| PackError::Compile {
            message: format!("docstring-exclude: {e}"),
        })?
    };
    // Reducers touch the stdlib's and the wheels' Python sources; the app's own files ship as
    // they are.
    let reducible = |f: &PlannedFile| {
        env.entry(f.file).kind == FileKind::Python && env.archive(f.file).kind != ArchiveKind::App
    };
    let reduce_any = options.strip_docstrings || options.compile_pyc;

    enum Step {
        Raw,
        Source(Vec<u8>, Option<String>),
    }
    let steps: Vec<Step> = plan
        .files
        .par_iter()
        .map(|f| -> Result<Step, PackError> {
            if env.archive(f.file).kind == ArchiveKind::App {
                return Ok(Step::Source(env.read(f.file)?, None));
            }
            if !(reduce_any && reducible(f)) {
                return Ok(Step::Raw);
            }
            let bytes = env.read(f.file)?;
            if !options.strip_docstrings {
                return Ok(Step::Source(bytes, None));
            }
            let module = analysis.graph.module_of.get(&f.file);
            if module.is_some_and(|m| keep_docs.is_match(m)) {
                return Ok(Step::Source(
                    bytes,
                    Some("excluded in docstring-exclude".into()),
                ));
            }
            let Ok(text) = std::str::from_utf8(&bytes) else {
                return Ok(Step::Source(bytes, Some("not UTF-8".into())));
            };
            Ok(match strip_docstrings(text) {
                Ok(stripped) => Step::Source(stripped.into_bytes(), None),
                Err(DocstringsKept::NoneFound) => Step::Source(bytes, None),
                Err(DocstringsKept::ReadsDoc) => Step::Source(bytes, Some("reads __doc__".into())),
                Err(DocstringsKept::DoesNotParse(e)) => {
                    Step::Source(bytes, Some(format!("does not parse ({e})")))
                }
            })
        })
        .collect::<Result<_, _>>()?;

    let mut entries = Vec::with_capacity(plan.files.len());
    let mut pyc_jobs = Vec::new();
    for (f, step) in plan.files.iter().zip(steps) {
        let content = match step {
            Step::Raw => Content::Raw(f.file),
            Step::Source(bytes, kept_because) => {
                let app_file = env.archive(f.file).kind == ArchiveKind::App;
                if options.strip_docstrings && !app_file {
                    match kept_because {
                        Some(why) => stats
                            .docstrings_kept
                            .push(format!("{}: {why}", env.display(f.file))),
                        None => stats.docstrings_stripped += 1,
                    }
                }
                if options.compile_pyc && !app_file {
                    pyc_jobs.push((entries.len(), bytes.clone()));
                }
                Content::Bytes(bytes)
            }
        };
        entries.push(PackedEntry {
            file: f.file,
            name: f.name.clone(),
            content,
            destination: f.destination,
        });
    }
    if !pyc_jobs.is_empty() {
        let jobs: Vec<pyc::PycJob> = pyc_jobs
            .iter()
            .map(|(i, source)| pyc::PycJob {
                source: source.clone(),
                dfile: env.entry(entries[*i].file).install_path.clone(),
            })
            .collect();
        let compiled = pyc::compile_pyc(env, cache, &jobs, options.timeout)?;
        warnings.extend(compiled.warnings);
        for ((i, _), pyc) in pyc_jobs.iter().zip(compiled.pycs) {
            if let Some(bytes) = pyc {
                let entry = &mut entries[*i];
                entry.name = format!("{}c", entry.name);
                entry.content = Content::Bytes(bytes);
                stats.pyc_files += 1;
            }
        }
    }
    Ok((entries, stats))
}

/// Every package's files and sizes, before and after.
fn measure_packages(
    env: &Environment,
    entries: &[PackedEntry],
    piece_zips: &BTreeMap<u32, Vec<u8>>,
) -> Result<Vec<PackageSizes>, PackError> {
    let mut rows: Vec<(usize, PackageSizes)> = env
        .archives
        .par_iter()
        .enumerate()
        .map(|(a, archive)| -> Result<(usize, PackageSizes), PackError> {
            let is_app = archive.kind == ArchiveKind::App;
            // The entry script is neither before nor after: the page serves it either way.
            let counted = |e: usize| {
                !(is_app && a as u32 == env.entry.archive && e as u32 == env.entry.entry)
            };
            let all: Vec<usize> = (0..archive.entries.len()).filter(|e| counted(*e)).collect();
            let packed: Vec<&PackedEntry> = entries
                .iter()
                .filter(|p| p.file.archive == a as u32)
                .collect();
            let count = |kind: FileKind, files: &mut dyn Iterator<Item = FileKind>| {
                files.filter(|k| *k == kind).count()
            };
            let before_kinds = || all.iter().map(|e| archive.entries[*e].kind);
            let after_kinds = || packed.iter().map(|p| env.entry(p.file).kind);
            let before = if is_app {
                let owned: Vec<PackedEntry> = all
                    .iter()
                    .map(|e| PackedEntry {
                        file: FileRef {
                            archive: a as u32,
                            entry: *e as u32,
                        },
                        name: archive.entries[*e].path.clone(),
                        content: Content::Bytes(archive.read(*e).unwrap_or_default()),
                        destination: Destination::Bundle,
                    })
                    .collect();
                let refs: Vec<&PackedEntry> = owned.iter().collect();
                Sizes::of(&write_zip(env, &refs, &archive.name)?)
            } else {
                match archive.zip_bytes() {
                    Some(bytes) => Sizes::of(&bytes),
                    None => Sizes::default(),
                }
            };
            let after = piece_zips
                .get(&(a as u32))
                .map(|z| Sizes::of(z))
                .unwrap_or_default();
            let unpacked_after = packed
                .iter()
                .map(|p| match &p.content {
                    Content::Raw(f) => env.entry(*f).size,
                    Content::Bytes(b) => b.len() as u64,
                })
                .sum();
            Ok((
                a,
                PackageSizes {
                    package: archive.package_name(),
                    version: match &archive.kind {
                        ArchiveKind::Wheel { version, .. } => Some(version.clone()),
                        ArchiveKind::Stdlib => Some(env.runtime.python.clone()),
                        ArchiveKind::App => None,
                    },
                    kind: archive_kind(archive),
                    files_before: all.len(),
                    files_after: packed.len(),
                    py_before: count(FileKind::Python, &mut before_kinds()),
                    py_after: count(FileKind::Python, &mut after_kinds()),
                    so_before: count(FileKind::Extension, &mut before_kinds()),
                    so_after: count(FileKind::Extension, &mut after_kinds()),
                    unpacked_before: all.iter().map(|e| archive.entries[*e].size).sum(),
                    unpacked_after,
                    before,
                    after,
                    lazy_files: 0,
                    lazy: Sizes::default(),
                },
            ))
        })
        .collect::<Result<_, _>>()?;
    // The app's own modules only when it has some besides the entry script.
    rows.retain(|(_, r)| r.kind != "app" || r.files_before > 0);
    rows.sort_by(|(_, a), (_, b)| {
        let rank = |k: &str| match k {
            "app" => 0,
            "stdlib" => 1,
            _ => 2,
        };
        (rank(a.kind), &a.package).cmp(&(rank(b.kind), &b.package))
    });
    Ok(rows.into_iter().map(|(_, r)| r).collect())
}

/// The touched files of the stdlib and the wheels, zipped as the outputs would be.
fn floor_sizes(
    env: &Environment,
    touched: &[FileRef],
    stdlib_index: Option<u32>,
) -> Result<Sizes, PackError> {
    let mut files: Vec<FileRef> = touched
        .iter()
        .copied()
        .filter(|f| env.archive(*f).kind != ArchiveKind::App)
        .collect();
    files.sort();
    // Named as in the outputs: stdlib files by their path in the zip, the rest by install path.
    let entries: Vec<PackedEntry> = files
        .iter()
        .map(|f| PackedEntry {
            file: *f,
            name: if Some(f.archive) == stdlib_index {
                env.entry(*f).path.clone()
            } else {
                env.entry(*f)
                    .install_path
                    .trim_start_matches('/')
                    .to_string()
            },
            content: Content::Raw(*f),
            destination: Destination::Bundle,
        })
        .collect();
    let (stdlib, wheels): (Vec<&PackedEntry>, Vec<&PackedEntry>) = entries
        .iter()
        .partition(|e| Some(e.file.archive) == stdlib_index);
    let mut sizes = Sizes::of(&write_zip(env, &stdlib, "floor stdlib")?);
    if !wheels.is_empty() {
        sizes.add(Sizes::of(&write_zip(env, &wheels, "floor bundle")?));
    }
    Ok(sizes)
}
