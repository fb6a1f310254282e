//! The analyze record. Its schema is documented in docs/analyze.md; `why`, `trace` and `pack` extend it.

use std::collections::BTreeMap;

use pyodide_pack_env::{ArchiveKind, Environment, FileKind, FileRef};
use pyodide_pack_graph::{Analysis, EagerReason, EdgeKind, RootKind, Tier};
use serde::Serialize;

pub const RECORD_SCHEMA: &str = "pyodide-pack/analyze-2";

/// Dense ids for files: their position in the record's `files` array.
#[derive(Debug, Clone)]
pub struct FileIds {
    offsets: Vec<usize>,
}

impl FileIds {
    pub fn new(env: &Environment) -> Self {
        let mut offsets = Vec::with_capacity(env.archives.len());
        let mut next = 0;
        for archive in &env.archives {
            offsets.push(next);
            next += archive.entries.len();
        }
        FileIds { offsets }
    }

    pub fn id(&self, file: FileRef) -> usize {
        self.offsets[file.archive as usize] + file.entry as usize
    }
}

#[derive(Debug, Serialize)]
pub struct AnalyzeRecord {
    pub schema: &'static str,
    pub tool_version: &'static str,
    pub entry: String,
    pub runtime: RuntimeRecord,
    pub archives: Vec<ArchiveRecord>,
    pub files: Vec<FileRecord>,
    pub roots: Vec<RootRecord>,
    pub edges: Vec<EdgeRecord>,
    pub unresolved_dynamic_imports: Vec<SiteRecord>,
    pub missing_modules: Vec<MissingRecord>,
    pub warnings: Vec<String>,
    pub packages: Vec<PackageSummary>,
    pub totals: Totals,
    pub stats: Stats,
    /// Present when traced runs were merged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace: Option<TraceRecord>,
}

/// What the traced runs added to the static analysis.
#[derive(Debug, Serialize)]
pub struct TraceRecord {
    pub runs: Vec<RunRecord>,
    /// Files a run touched that static analysis did not keep (each now has a `runtime` edge).
    pub found_by_trace: Vec<TracedFileRecord>,
    /// Files static analysis kept that no run touched: informational, they stay kept.
    pub static_untouched: Vec<usize>,
    pub static_untouched_compressed_bytes: u64,
    /// Files static analysis alone would keep that the merged analysis drops: data files of kept
    /// packages that no run opened (the traced data-file rule), and with `--stdlib-from-trace`
    /// the stdlib files no run touched.
    pub dropped_by_trace: Vec<usize>,
    pub dropped_by_trace_compressed_bytes: u64,
    /// Imports that failed in a run (module, run): ones the app copes without.
    pub failed_imports: Vec<(String, String)>,
    /// Paths a run used under site-packages or the app's folder that the environment lacks.
    pub outside_environment: Vec<String>,
    /// Every file a run touched (ids), static or not.
    pub touched: usize,
}

#[derive(Debug, Serialize)]
pub struct RunRecord {
    pub label: String,
    pub input: Option<String>,
    pub timings: pyodide_pack_trace::RunTimings,
    pub modules: usize,
    pub opened: usize,
    pub dynlibs: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct TracedFileRecord {
    pub file: usize,
    pub path: String,
    pub package: String,
    pub how: pyodide_pack_trace::Observation,
    pub run: String,
    pub kept: bool,
}

#[derive(Debug, Serialize)]
pub struct RuntimeRecord {
    pub dir: String,
    pub version: String,
    pub python: String,
    pub abi: String,
    /// The wheel platform tag pip asks for (the one the runtime's lock uses most).
    pub wheel_platform: String,
    pub builtin_modules: usize,
}

#[derive(Debug, Serialize)]
pub struct ArchiveRecord {
    pub id: usize,
    pub name: String,
    pub kind: &'static str,
    pub package: String,
    pub version: Option<String>,
    pub sha256: String,
    pub path: String,
    /// Where a wheel came from: `lock` (the runtime's pyodide-lock.json), `index` (pip), `folder`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<pyodide_pack_env::WheelSource>,
}

#[derive(Debug, Serialize)]
pub struct FileRecord {
    pub id: usize,
    pub archive: usize,
    pub path: String,
    pub install_path: String,
    pub kind: FileKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub module: Option<String>,
    pub size: u64,
    pub compressed_size: u64,
    pub kept: bool,
    /// For a kept file: downloaded up front (`eager`) or fetched on first read (`lazy`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tier: Option<Tier>,
    /// For an eager file: why it is eager.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eager_reason: Option<EagerReason>,
    /// The exclude glob that dropped it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub excluded_by: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct RootRecord {
    pub file: usize,
    pub path: String,
    pub kind: RootKind,
    pub module: Option<String>,
    pub why: String,
}

#[derive(Debug, Serialize)]
pub struct ReasonRecord {
    pub file: usize,
    pub path: String,
    pub line: Option<u32>,
    pub text: String,
}

#[derive(Debug, Serialize)]
pub struct EdgeRecord {
    pub from: usize,
    pub to: usize,
    pub kind: EdgeKind,
    pub name: String,
    pub optional: bool,
    pub nested: bool,
    pub reason: ReasonRecord,
}

#[derive(Debug, Serialize)]
pub struct SiteRecord {
    pub file: usize,
    pub path: String,
    pub line: u32,
    pub text: String,
}

#[derive(Debug, Serialize)]
pub struct MissingRecord {
    pub module: String,
    pub optional: bool,
    pub nested: bool,
    pub reason: ReasonRecord,
}

/// Files and compressed bytes of one package (a wheel's distribution, the stdlib, the app).
#[derive(Debug, Default, Clone, Serialize)]
pub struct PackageSummary {
    pub package: String,
    pub version: Option<String>,
    /// Where its wheel came from (`lock`, `index`, `folder`), for a wheel.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<pyodide_pack_env::WheelSource>,
    pub files: usize,
    pub kept_files: usize,
    pub py_files: usize,
    pub kept_py_files: usize,
    pub so_files: usize,
    pub kept_so_files: usize,
    pub bytes: u64,
    pub kept_bytes: u64,
    /// The zip entries' own compressed sizes.
    pub compressed_bytes: u64,
    pub kept_compressed_bytes: u64,
    /// Of the kept files: eager and lazy.
    pub eager_files: usize,
    pub lazy_files: usize,
    pub eager_compressed_bytes: u64,
    pub lazy_compressed_bytes: u64,
}

impl PackageSummary {
    /// 1 - kept/total of the compressed bytes.
    pub fn reduction(&self) -> f64 {
        if self.compressed_bytes == 0 {
            0.0
        } else {
            1.0 - self.kept_compressed_bytes as f64 / self.compressed_bytes as f64
        }
    }

    fn add(&mut self, other: &PackageSummary) {
        self.files += other.files;
        self.kept_files += other.kept_files;
        self.py_files += other.py_files;
        self.kept_py_files += other.kept_py_files;
        self.so_files += other.so_files;
        self.kept_so_files += other.kept_so_files;
        self.bytes += other.bytes;
        self.kept_bytes += other.kept_bytes;
        self.compressed_bytes += other.compressed_bytes;
        self.kept_compressed_bytes += other.kept_compressed_bytes;
        self.eager_files += other.eager_files;
        self.lazy_files += other.lazy_files;
        self.eager_compressed_bytes += other.eager_compressed_bytes;
        self.lazy_compressed_bytes += other.lazy_compressed_bytes;
    }
}

#[derive(Debug, Serialize)]
pub struct Totals {
    #[serde(flatten)]
    pub summary: PackageSummary,
    pub reduction: f64,
}

#[derive(Debug, Serialize)]
pub struct Stats {
    /// Files whose facts were turned into edges (reached from the roots).
    pub files_expanded: usize,
    /// Of those, parsed in this run rather than read from the facts cache.
    pub files_parsed: usize,
    pub seconds: f64,
}

fn archive_kind_name(kind: &ArchiveKind) -> &'static str {
    match kind {
        ArchiveKind::Stdlib => "stdlib",
        ArchiveKind::Wheel { .. } => "wheel",
        ArchiveKind::SharedLibrary { .. } => "shared-library",
        ArchiveKind::App => "app",
    }
}

impl AnalyzeRecord {
    pub fn new(env: &Environment, analysis: &Analysis, seconds: f64) -> AnalyzeRecord {
        let ids = FileIds::new(env);
        let graph = &analysis.graph;
        let reason = |r: &pyodide_pack_graph::Reason| ReasonRecord {
            file: ids.id(r.file),
            path: env.display(r.file),
            line: r.line,
            text: r.text.clone(),
        };
        let archives = env
            .archives
            .iter()
            .enumerate()
            .map(|(i, a)| ArchiveRecord {
                id: i,
                name: a.name.clone(),
                kind: archive_kind_name(&a.kind),
                package: a.package_name(),
                version: match &a.kind {
                    ArchiveKind::Stdlib => Some(env.runtime.python.clone()),
                    _ => a.version().map(str::to_string),
                },
                sha256: a.sha256.clone(),
                path: a.path.display().to_string(),
                source: env.sources.get(i).copied().flatten(),
            })
            .collect::<Vec<_>>();
        let files: Vec<FileRecord> = env
            .files()
            .map(|f| {
                let entry = env.entry(f);
                FileRecord {
                    id: ids.id(f),
                    archive: f.archive as usize,
                    path: entry.path.clone(),
                    install_path: entry.install_path.clone(),
                    kind: entry.kind,
                    module: graph.module_of.get(&f).cloned(),
                    size: entry.size,
                    compressed_size: entry.compressed_size,
                    kept: analysis.kept.contains(f),
                    tier: analysis.kept.contains(f).then(|| analysis.tiers.tier(f)),
                    eager_reason: analysis.tiers.eager_reason(f).cloned(),
                    excluded_by: graph.excluded.get(&f).cloned(),
                }
            })
            .collect();
        let mut edges: Vec<EdgeRecord> = graph
            .edges()
            .map(|(from, to, e)| EdgeRecord {
                from: ids.id(from),
                to: ids.id(to),
                kind: e.kind,
                name: e.name.clone(),
                optional: e.optional,
                nested: e.nested,
                reason: reason(&e.reason),
            })
            .collect();
        edges.sort_by_key(|e| (e.from, e.reason.line, e.to));
        let mut unresolved: Vec<SiteRecord> = graph
            .unresolved
            .iter()
            .filter(|s| analysis.kept.contains(s.file))
            .map(|s| SiteRecord {
                file: ids.id(s.file),
                path: env.display(s.file),
                line: s.line,
                text: s.text.clone(),
            })
            .collect();
        unresolved.sort_by_key(|s| (s.file, s.line));
        let missing = graph
            .missing
            .iter()
            .map(|m| MissingRecord {
                module: m.module.clone(),
                optional: m.optional,
                nested: m.nested,
                reason: reason(&m.reason),
            })
            .collect();
        let roots = graph
            .roots
            .iter()
            .map(|r| RootRecord {
                file: ids.id(r.file),
                path: env.display(r.file),
                kind: r.kind,
                module: r.module.clone(),
                why: r.why.clone(),
            })
            .collect();
        let packages = summarize(&files, &archives);
        let mut total = PackageSummary {
            package: "total".into(),
            ..Default::default()
        };
        for p in &packages {
            total.add(p);
        }
        AnalyzeRecord {
            schema: RECORD_SCHEMA,
            tool_version: env!("CARGO_PKG_VERSION"),
            entry: env.display(env.entry),
            runtime: RuntimeRecord {
                dir: env.runtime.dir.display().to_string(),
                version: env.runtime.version.clone(),
                python: env.runtime.python.clone(),
                abi: env.runtime.abi.clone(),
                wheel_platform: env.runtime.wheel_platform().to_string(),
                builtin_modules: env.runtime_facts.builtin_modules.len(),
            },
            archives,
            files,
            roots,
            edges,
            unresolved_dynamic_imports: unresolved,
            missing_modules: missing,
            warnings: graph.warnings.clone(),
            packages,
            totals: Totals {
                reduction: total.reduction(),
                summary: total,
            },
            stats: Stats {
                files_expanded: graph.expanded,
                files_parsed: graph.parsed,
                seconds,
            },
            trace: None,
        }
    }

    /// Adds what the traced runs found.
    pub fn with_trace(
        mut self,
        env: &Environment,
        analysis: &Analysis,
        traces: &[pyodide_pack_trace::Trace],
        summary: &pyodide_pack_trace::TraceSummary,
        static_kept: &pyodide_pack_graph::KeptSet,
    ) -> AnalyzeRecord {
        let ids = FileIds::new(env);
        let untouched = summary.untouched(env, &analysis.kept);
        let mut dropped: Vec<FileRef> = static_kept
            .iter()
            .filter(|f| !analysis.kept.contains(*f))
            .collect();
        dropped.sort();
        let runs = traces
            .iter()
            .flat_map(|t| &t.runs)
            .map(|r| RunRecord {
                label: r.label.clone(),
                input: r.input.as_ref().map(|p| p.display().to_string()),
                timings: r.timings.clone(),
                modules: r.modules.len(),
                opened: r.opened.len(),
                dynlibs: r.dynlibs.clone(),
            })
            .collect();
        let found_by_trace = summary
            .found_by_trace()
            .map(|f| TracedFileRecord {
                file: ids.id(f.file),
                path: env.display(f.file),
                package: env.archive(f.file).package_name(),
                how: f.how.clone(),
                run: f.run.clone(),
                kept: analysis.kept.contains(f.file),
            })
            .collect();
        self.trace = Some(TraceRecord {
            runs,
            found_by_trace,
            static_untouched: untouched.iter().map(|f| ids.id(*f)).collect(),
            static_untouched_compressed_bytes: untouched
                .iter()
                .map(|f| env.entry(*f).compressed_size)
                .sum(),
            dropped_by_trace: dropped.iter().map(|f| ids.id(*f)).collect(),
            dropped_by_trace_compressed_bytes: dropped
                .iter()
                .map(|f| env.entry(*f).compressed_size)
                .sum(),
            failed_imports: summary.failed_imports.clone(),
            outside_environment: summary.outside.clone(),
            touched: summary.touched.len(),
        });
        self
    }
}

/// One summary row per package: the app, the stdlib, then the wheels by name.
fn summarize(files: &[FileRecord], archives: &[ArchiveRecord]) -> Vec<PackageSummary> {
    let mut by_archive: BTreeMap<usize, PackageSummary> = BTreeMap::new();
    for file in files {
        let row = by_archive
            .entry(file.archive)
            .or_insert_with(|| PackageSummary {
                package: archives[file.archive].package.clone(),
                version: archives[file.archive].version.clone(),
                source: archives[file.archive].source,
                ..Default::default()
            });
        row.files += 1;
        row.bytes += file.size;
        row.compressed_bytes += file.compressed_size;
        let is_py = file.kind == FileKind::Python;
        let is_so = file.kind == FileKind::Extension;
        row.py_files += is_py as usize;
        row.so_files += is_so as usize;
        if file.kept {
            row.kept_files += 1;
            row.kept_bytes += file.size;
            row.kept_compressed_bytes += file.compressed_size;
            row.kept_py_files += is_py as usize;
            row.kept_so_files += is_so as usize;
            match file.tier {
                Some(Tier::Lazy) => {
                    row.lazy_files += 1;
                    row.lazy_compressed_bytes += file.compressed_size;
                }
                _ => {
                    row.eager_files += 1;
                    row.eager_compressed_bytes += file.compressed_size;
                }
            }
        }
    }
    let mut rows: Vec<(usize, PackageSummary)> = by_archive.into_iter().collect();
    rows.sort_by(|(a, pa), (b, pb)| {
        let rank = |i: usize| match archives[i].kind {
            "app" => 0,
            "stdlib" => 1,
            _ => 2,
        };
        (rank(*a), &pa.package).cmp(&(rank(*b), &pb.package))
    });
    rows.into_iter().map(|(_, r)| r).collect()
}
