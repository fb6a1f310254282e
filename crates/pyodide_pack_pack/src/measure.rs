//! What the pack measures: every package before (its wheel, the stdlib zip) and after (a zip of
//! its eager files, and its lazy files one by one), the outputs, and the floor (only the files a
//! traced run touched, zipped the same way).

use std::collections::{BTreeMap, HashMap};

use pyodide_pack_env::{ArchiveKind, Environment, FileKind, FileRef};
use rayon::prelude::*;
use serde::Serialize;

use crate::entries::{write_zip, Content, EntryCompression, PackedEntry};
use crate::plan::Destination;
use crate::sizes::{SizeCache, Sizes};
use crate::PackError;

/// One package (a wheel's distribution, the stdlib, the app's own modules) before and after.
#[derive(Debug, Clone, Serialize)]
pub struct PackageSizes {
    pub package: String,
    pub version: Option<String>,
    /// Where its wheel came from (`lock`, `index`, `folder`), for a wheel.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<pyodide_pack_env::WheelSource>,
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
    /// What the file is (`bundle.zip.zst`, `loader.mjs`): budgets and baselines name it so.
    pub name: String,
    /// Where it is in the output (`immutable/bundle.<digest>.zip.zst`).
    pub path: String,
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

pub(crate) fn archive_kind(archive: &pyodide_pack_env::Archive) -> &'static str {
    match archive.kind {
        ArchiveKind::Stdlib => "stdlib",
        ArchiveKind::Wheel { .. } => "wheel",
        ArchiveKind::SharedLibrary { .. } => "shared-library",
        ArchiveKind::App => "app",
    }
}

/// Every package's files and sizes, before and after.
pub(crate) fn measure_packages(
    env: &Environment,
    entries: &[PackedEntry],
    piece_zips: &BTreeMap<u32, Vec<u8>>,
    size_cache: &SizeCache,
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
                size_cache.sizes_of(&write_zip(
                    env,
                    &refs,
                    &archive.name,
                    EntryCompression::Deflate,
                )?)
            } else {
                match archive.zip_bytes() {
                    Some(bytes) => size_cache.sizes_of(&bytes),
                    None => Sizes::default(),
                }
            };
            let after = piece_zips
                .get(&(a as u32))
                .map(|z| size_cache.sizes_of(z))
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
                    source: env.sources.get(a).copied().flatten(),
                    version: match &archive.kind {
                        ArchiveKind::Stdlib => Some(env.runtime.python.clone()),
                        _ => archive.version().map(str::to_string),
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

/// The touched files of the stdlib and the wheels, zipped as the outputs would be (before their
/// transfer form, which the caller applies): the stdlib zip, and the wheels' zip if any. A file
/// the pack reduced (`.pyc`, docstrings) counts as shipped: `packed` has those bytes.
pub(crate) fn floor_zips(
    env: &Environment,
    touched: &[FileRef],
    packed: &HashMap<FileRef, &PackedEntry>,
    stdlib_index: Option<u32>,
    layout: EntryCompression,
) -> Result<Vec<Vec<u8>>, PackError> {
    let mut files: Vec<FileRef> = touched
        .iter()
        .copied()
        .filter(|f| env.archive(*f).kind != ArchiveKind::App)
        .collect();
    files.sort();
    // Named as in the outputs: stdlib files by their path in the zip, the rest by install path.
    let entries: Vec<PackedEntry> = files
        .iter()
        .map(|f| {
            let mut name = if Some(f.archive) == stdlib_index {
                env.entry(*f).path.clone()
            } else {
                env.entry(*f)
                    .install_path
                    .trim_start_matches('/')
                    .to_string()
            };
            let content = match packed.get(f) {
                Some(entry) => {
                    if entry.name.ends_with(".pyc") && name.ends_with(".py") {
                        name.push('c');
                    }
                    entry.content.clone()
                }
                None => Content::Raw(*f),
            };
            PackedEntry {
                file: *f,
                name,
                content,
                destination: Destination::Bundle,
            }
        })
        .collect();
    let (stdlib, wheels): (Vec<&PackedEntry>, Vec<&PackedEntry>) = entries
        .iter()
        .partition(|e| Some(e.file.archive) == stdlib_index);
    let mut zips = vec![write_zip(env, &stdlib, "floor stdlib", layout)?];
    if !wheels.is_empty() {
        zips.push(write_zip(env, &wheels, "floor bundle", layout)?);
    }
    Ok(zips)
}
