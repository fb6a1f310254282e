//! `report.html`: a pack's record (`report.json`) or an analysis's (`analyze --json`) as one
//! self-contained page: a zoomable treemap of the environment (package -> folder -> file), the
//! per-package table, the headline numbers, a search by file or module, and each file's `why`
//! chain. Everything is inlined: the data the page draws (derived here from the record), the
//! vendored d3-hierarchy (its treemap layout only; `assets/README.md`), the page's script and
//! style. The page's Content-Security-Policy forbids every request, so it works from `file://`.
//!
//! The chains are the ones `why --report` gives (`why_report.rs`): the same three-pass shortest
//! paths, imports first, then families, then traced runs; only the edges on some file's chain are
//! embedded, so the page stays small (the record's edges are most of `report.json`).

use std::collections::{HashMap, HashSet};

use pyodide_pack_env::WheelSource;
use pyodide_pack_graph::{EagerReason, EdgeKind, RootKind, Tier};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::chains::Chains;
use crate::table::{format_size, package_label};
use crate::why::{describe_eager, describe_lazy, LinkRecord};

const TEMPLATE: &str = include_str!("../assets/report.html");
const STYLE: &str = include_str!("../assets/report.css");
const SCRIPT: &str = include_str!("../assets/report.js");
const LIBRARY: &str = include_str!("../assets/d3-hierarchy/d3-hierarchy.min.js");
const LIBRARY_LICENSE: &str = include_str!("../assets/d3-hierarchy/LICENSE");

/// The page for a record: `report.json` as `pack` writes it (schema `pyodide-pack/pack-2`, the
/// analysis under `analysis`) or the record of `analyze --json` (`pyodide-pack/analyze-2`). A
/// record neither can be read as gives a page that says what is wrong with it.
pub fn render_report_html(record_json: &Value) -> String {
    let (title, data) = match page_data(record_json) {
        Ok(data) => (format!("pyodide-pack report: {}", data.entry), data),
        Err(message) => (
            "pyodide-pack report: unreadable record".to_string(),
            PageData::error(message),
        ),
    };
    let json = serde_json::to_string(&data).unwrap_or_else(|_| "null".into());
    let mut out = String::with_capacity(TEMPLATE.len() + json.len() + LIBRARY.len() + 40_000);
    let mut rest = TEMPLATE;
    while let Some(start) = rest.find("{{") {
        let Some(len) = rest[start..].find("}}") else {
            break;
        };
        out.push_str(&rest[..start]);
        match &rest[start + 2..start + len] {
            "TITLE" => out.push_str(&escape_text(&title)),
            "STYLE" => out.push_str(STYLE),
            // `<` only ever appears inside JSON strings, where `\u003c` means the same: no
            // `</script>` or `<!--` can end or derail the data block.
            "DATA" => out.push_str(&json.replace('<', "\\u003c")),
            "LICENSE" => out.push_str(&LIBRARY_LICENSE.replace("*/", "* /")),
            "LIBRARY" => out.push_str(LIBRARY),
            "SCRIPT" => out.push_str(SCRIPT),
            other => {
                out.push_str("{{");
                out.push_str(other);
                out.push_str("}}");
            }
        }
        rest = &rest[start + len + 2..];
    }
    out.push_str(rest);
    out
}

fn escape_text(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

// ---- what is read from the record (anything else in it is ignored) ----

#[derive(Deserialize)]
struct AnalysisIn<'a> {
    #[serde(default)]
    schema: String,
    #[serde(default)]
    tool_version: String,
    #[serde(default)]
    entry: String,
    #[serde(default)]
    runtime: RuntimeIn,
    archives: Vec<ArchiveIn>,
    #[serde(borrow)]
    files: Vec<FileIn<'a>>,
    #[serde(default)]
    roots: Vec<RootIn>,
    #[serde(default, borrow)]
    edges: Vec<EdgeIn<'a>>,
    #[serde(default)]
    packages: Vec<SummaryIn>,
    #[serde(default)]
    totals: SummaryIn,
    #[serde(default)]
    trace: Option<TraceIn>,
    #[serde(default)]
    warnings: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RuntimeIn {
    version: Option<String>,
    python: String,
}

#[derive(Deserialize)]
struct ArchiveIn {
    name: String,
    kind: String,
    #[serde(default)]
    package: String,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    source: Option<WheelSource>,
}

#[derive(Deserialize)]
struct FileIn<'a> {
    archive: usize,
    path: &'a str,
    #[serde(default)]
    install_path: &'a str,
    #[serde(default)]
    kind: &'a str,
    #[serde(default, borrow)]
    module: Option<&'a str>,
    #[serde(default)]
    size: u64,
    #[serde(default)]
    compressed_size: u64,
    kept: bool,
    #[serde(default)]
    tier: Option<Tier>,
    #[serde(default)]
    eager_reason: Option<EagerReason>,
    #[serde(default)]
    excluded_by: Option<String>,
}

#[derive(Deserialize)]
struct RootIn {
    file: usize,
    kind: RootKind,
    #[serde(default)]
    why: String,
}

#[derive(Deserialize)]
struct EdgeIn<'a> {
    from: usize,
    to: usize,
    kind: EdgeKind,
    #[serde(default)]
    name: &'a str,
    #[serde(default)]
    optional: bool,
    #[serde(default)]
    nested: bool,
    #[serde(borrow)]
    reason: ReasonIn<'a>,
}

#[derive(Deserialize)]
struct ReasonIn<'a> {
    #[serde(default)]
    line: Option<u32>,
    #[serde(default)]
    text: &'a str,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct SummaryIn {
    package: String,
    version: Option<String>,
    source: Option<WheelSource>,
    files: usize,
    kept_files: usize,
    py_files: usize,
    kept_py_files: usize,
    so_files: usize,
    kept_so_files: usize,
    compressed_bytes: u64,
    kept_compressed_bytes: u64,
    eager_files: usize,
    lazy_files: usize,
    eager_compressed_bytes: u64,
    lazy_compressed_bytes: u64,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct TraceIn {
    runs: Vec<Value>,
    dropped_by_trace: Vec<usize>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PackIn {
    packages: Vec<PackRowIn>,
    totals: PackTotalsIn,
    lazy_files: Vec<LazyIn>,
    warnings: Vec<String>,
}

#[derive(Deserialize, Default, Clone, Copy)]
#[serde(default)]
struct SizesIn {
    raw: u64,
    gzip: u64,
    brotli: u64,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PackRowIn {
    package: String,
    version: Option<String>,
    source: Option<WheelSource>,
    kind: String,
    files_before: usize,
    files_after: usize,
    py_before: usize,
    py_after: usize,
    so_before: usize,
    so_after: usize,
    unpacked_before: u64,
    unpacked_after: u64,
    before: SizesIn,
    after: SizesIn,
    lazy_files: usize,
    lazy: SizesIn,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PackTotalsIn {
    files_before: usize,
    files_after: usize,
    before: SizesIn,
    after: SizesIn,
    lazy: SizesIn,
    lazy_files: usize,
    floor: Option<SizesIn>,
    reduction_gzip: f64,
    reduction_brotli: f64,
}

#[derive(Deserialize)]
struct LazyIn {
    install_path: String,
    #[serde(default)]
    sizes: SizesIn,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ValidationIn {
    runs: Vec<Value>,
    browser: Option<BrowserIn>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct BrowserIn {
    runs: Vec<Value>,
}

// ---- what the page gets (the format `assets/report.js` reads; keys are short, files many) ----

#[derive(Serialize, Default)]
struct PageData<'a> {
    /// Set when the record could not be read: the page shows it and nothing else.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    /// `pack` or `analyze`.
    record: &'static str,
    schema: String,
    tool_version: String,
    entry: String,
    runtime: String,
    /// What a box's area stands for.
    area: &'static str,
    archives: Vec<ArchiveOut>,
    files: Vec<FileOut<'a>>,
    /// The edges on the files' chains (each file's last link: `FileOut::e`).
    links: Vec<LinkOut<'a>>,
    roots: Vec<RootOut>,
    /// Texts the files share (`FileOut::r`): why eager, why lazy, why dropped.
    reasons: Vec<String>,
    headline: Vec<Headline>,
    table: TableOut,
    warnings: Vec<String>,
}

impl PageData<'_> {
    fn error(message: String) -> Self {
        PageData {
            error: Some(message),
            ..Default::default()
        }
    }
}

#[derive(Serialize)]
struct ArchiveOut {
    /// `pydantic 2.14.4`, as in the table.
    label: String,
    kind: String,
    /// What a file's path is prefixed with where the tool shows it (`python_stdlib.zip:`).
    shown: String,
    /// The install path of a file is this plus its path, unless the file says otherwise.
    install: String,
}

#[derive(Serialize)]
struct FileOut<'a> {
    /// Archive (index into `archives`).
    a: usize,
    /// Path inside the archive.
    p: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    m: Option<&'a str>,
    /// Kind: python, extension, data, metadata, stub, bytecode.
    k: &'a str,
    /// Bytes unpacked.
    s: u64,
    /// Compressed bytes in its wheel or zip.
    c: u64,
    /// The box's area (bytes).
    v: u64,
    /// 0 dropped, 1 eager, 2 lazy.
    t: u8,
    /// Its chain's last link (index into `links`); none for a root or a file nothing reaches.
    #[serde(skip_serializing_if = "Option::is_none")]
    e: Option<usize>,
    /// Why it is eager, lazy or dropped (index into `reasons`).
    r: usize,
    /// Its install path, when it is not the archive's `install` plus its path.
    #[serde(skip_serializing_if = "Option::is_none")]
    i: Option<&'a str>,
    /// A lazy file as deployed: its path under `lazy/` and its own brotli size.
    #[serde(skip_serializing_if = "Option::is_none")]
    l: Option<(String, u64)>,
}

#[derive(Serialize)]
struct LinkOut<'a> {
    f: usize,
    t: usize,
    k: &'static str,
    n: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    l: Option<u32>,
    x: &'a str,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    o: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    s: bool,
}

#[derive(Serialize)]
struct RootOut {
    f: usize,
    k: &'static str,
    w: String,
}

#[derive(Serialize)]
struct Headline {
    label: String,
    value: String,
    note: String,
}

#[derive(Serialize, Default)]
struct TableOut {
    columns: Vec<&'static str>,
    rows: Vec<RowOut>,
    total: Option<RowOut>,
}

/// A table row: each cell's text (as the terminal prints it) and the number it sorts by.
#[derive(Serialize)]
struct RowOut {
    /// The archive the row is about, for zooming the treemap into it.
    #[serde(skip_serializing_if = "Option::is_none")]
    archive: Option<usize>,
    cells: Vec<(String, f64)>,
}

const DROPPED: u8 = 0;
const EAGER: u8 = 1;
const LAZY: u8 = 2;

fn page_data(record: &Value) -> Result<PageData<'_>, String> {
    let pack_record = record.get("analysis").is_some_and(Value::is_object);
    let analysis_value = if pack_record {
        &record["analysis"]
    } else {
        record
    };
    let a = AnalysisIn::deserialize(analysis_value)
        .map_err(|e| format!("not a pyodide-pack record: {e}"))?;
    let pack = if pack_record {
        Some(
            PackIn::deserialize(record.get("pack").unwrap_or(&Value::Null))
                .map_err(|e| format!("unreadable pack part: {e}"))?,
        )
    } else {
        None
    };
    let validation = match record.get("validation") {
        Some(v) if pack_record && !v.is_null() => {
            Some(ValidationIn::deserialize(v).map_err(|e| format!("unreadable validation: {e}"))?)
        }
        _ => None,
    };
    let n = a.files.len();
    if let Some(f) = a.files.iter().find(|f| f.archive >= a.archives.len()) {
        return Err(format!(
            "file {} names archive {}, which the record lacks",
            f.path, f.archive
        ));
    }
    let edge_triples: Vec<(usize, usize, EdgeKind)> =
        a.edges.iter().map(|e| (e.from, e.to, e.kind)).collect();
    let chains = Chains::search(a.files.len(), a.roots.iter().map(|r| r.file), &edge_triples);

    let archives: Vec<ArchiveOut> = a
        .archives
        .iter()
        .enumerate()
        .map(|(i, archive)| ArchiveOut {
            label: package_label(&archive.package, archive.version.as_deref(), archive.source),
            kind: archive.kind.clone(),
            shown: if archive.kind == "app" {
                String::new()
            } else {
                format!("{}:", archive.name)
            },
            install: a
                .files
                .iter()
                .find(|f| f.archive == i)
                .and_then(|f| f.install_path.strip_suffix(f.path))
                .unwrap_or_default()
                .to_string(),
        })
        .collect();
    let display = |id: usize| {
        format!(
            "{}{}",
            archives[a.files[id].archive].shown, a.files[id].path
        )
    };

    // Area: the file's compressed bytes; in a pack's record scaled per package so that its boxes
    // add up to the package's download before packing (brotli), the table's left-hand figure.
    let mut scale = vec![1.0f64; a.archives.len()];
    let mut lazy_served: HashMap<usize, (String, u64)> = HashMap::new();
    if let Some(pack) = &pack {
        let mut compressed = vec![0u64; a.archives.len()];
        for f in &a.files {
            compressed[f.archive] += f.compressed_size;
        }
        for (i, archive) in a.archives.iter().enumerate() {
            let row = pack.packages.iter().find(|p| {
                p.kind == archive.kind
                    && p.package == archive.package
                    && p.version == archive.version
            });
            if let Some(row) = row.filter(|r| r.before.brotli > 0 && compressed[i] > 0) {
                scale[i] = row.before.brotli as f64 / compressed[i] as f64;
            }
        }
        // Lazy files by install path; a lazy stdlib module moves out of the zip into
        // `/lib/pythonX.Y/`, so those are matched by their path in the stdlib.
        let by_install: HashMap<&str, usize> = a
            .files
            .iter()
            .enumerate()
            .map(|(i, f)| (f.install_path, i))
            .collect();
        let stdlib_by_path: HashMap<&str, usize> = a
            .files
            .iter()
            .enumerate()
            .filter(|(_, f)| a.archives[f.archive].kind == "stdlib")
            .map(|(i, f)| (f.path, i))
            .collect();
        for lazy in &pack.lazy_files {
            let find = |install_path: &str| {
                by_install.get(install_path).copied().or_else(|| {
                    let rest = install_path.strip_prefix("/lib/python")?;
                    let (_, path) = rest.split_once('/')?;
                    stdlib_by_path.get(path).copied()
                })
            };
            // A `.pyc` the pack compiled is matched to its source.
            let id = find(&lazy.install_path).or_else(|| {
                let stem = lazy.install_path.strip_suffix(".pyc")?;
                find(&format!("{stem}.py"))
            });
            if let Some(id) = id {
                lazy_served.insert(
                    id,
                    (format!("lazy{}", lazy.install_path), lazy.sizes.brotli),
                );
            }
        }
    }

    let mut reasons = Interner::default();
    let has_runtime_edges = a.edges.iter().any(|e| e.kind == EdgeKind::Runtime);
    let dropped_by_trace: HashSet<usize> = a
        .trace
        .as_ref()
        .map(|t| t.dropped_by_trace.iter().copied().collect())
        .unwrap_or_default();
    let mut used_edges: Vec<usize> = Vec::new();
    let mut link_index: HashMap<usize, usize> = HashMap::new();
    let mut files = Vec::with_capacity(n);
    for (id, f) in a.files.iter().enumerate() {
        let state = match (f.kept, f.tier) {
            (false, _) => DROPPED,
            (true, Some(Tier::Lazy)) => LAZY,
            (true, _) => EAGER,
        };
        let reason = match state {
            EAGER => match &f.eager_reason {
                Some(r) => describe_eager(r),
                None => "kept (the record gives no tier)".to_string(),
            },
            LAZY => {
                let chain: Vec<LinkRecord> = chains
                    .chain(id)
                    .0
                    .into_iter()
                    .map(|i| {
                        let e = &a.edges[i];
                        LinkRecord {
                            from: e.from,
                            from_path: display(e.from),
                            to: e.to,
                            to_path: display(e.to),
                            kind: e.kind,
                            name: e.name.to_string(),
                            optional: e.optional,
                            nested: e.nested,
                            line: e.reason.line,
                            text: e.reason.text.to_string(),
                        }
                    })
                    .collect();
                describe_lazy(&chain)
            }
            _ => drop_reason(
                f,
                dropped_by_trace.contains(&id),
                has_runtime_edges,
                chains.reached(id),
            ),
        };
        let last = chains.last_edge(id).map(|edge| {
            *link_index.entry(edge).or_insert_with(|| {
                used_edges.push(edge);
                used_edges.len() - 1
            })
        });
        let install = &archives[f.archive].install;
        let served = lazy_served.remove(&id);
        files.push(FileOut {
            a: f.archive,
            p: f.path,
            m: f.module,
            k: f.kind,
            s: f.size,
            c: f.compressed_size,
            v: (f.compressed_size as f64 * scale[f.archive]).round() as u64,
            t: state,
            e: last,
            r: reasons.id(reason),
            i: (f.install_path.strip_prefix(install.as_str()) != Some(f.path))
                .then_some(f.install_path),
            l: served,
        });
    }
    let links = used_edges
        .iter()
        .map(|i| {
            let e = &a.edges[*i];
            LinkOut {
                f: e.from,
                t: e.to,
                k: e.kind.as_str(),
                n: e.name,
                l: e.reason.line,
                x: e.reason.text,
                o: e.optional,
                s: e.nested,
            }
        })
        .collect();
    let roots = a
        .roots
        .iter()
        .filter(|r| r.file < n)
        .map(|r| RootOut {
            f: r.file,
            k: match r.kind {
                RootKind::Entry => "entry script",
                RootKind::Boot => "boot set",
            },
            w: r.why.clone(),
        })
        .collect();

    let runtime = match &a.runtime.version {
        Some(v) => format!("Pyodide {v}, Python {}", a.runtime.python),
        None => format!("Python {}", a.runtime.python),
    };
    let (headline, table, area) = match &pack {
        Some(pack) => (
            pack_headline(pack, &a, validation.as_ref()),
            pack_table(pack, &a.archives),
            "a file's compressed bytes, scaled so that a package's boxes add up to its download before packing (brotli, the table's left-hand figure)",
        ),
        None => (
            analyze_headline(&a),
            analyze_table(&a),
            "a file's compressed bytes in its wheel or zip",
        ),
    };
    let mut warnings = a.warnings.clone();
    if let Some(pack) = &pack {
        warnings.extend(pack.warnings.iter().cloned());
    }
    Ok(PageData {
        error: None,
        record: if pack.is_some() { "pack" } else { "analyze" },
        schema: record
            .get("schema")
            .and_then(Value::as_str)
            .unwrap_or(&a.schema)
            .to_string(),
        tool_version: a.tool_version.clone(),
        entry: a.entry.clone(),
        runtime,
        area,
        archives,
        files,
        links,
        roots,
        reasons: reasons.texts,
        headline,
        table,
        warnings,
    })
}

/// Why a file the pack did not keep is not in it, from what the record holds (`why`'s wording).
fn drop_reason(f: &FileIn, dropped_by_trace: bool, traced: bool, reached: bool) -> String {
    if let Some(glob) = &f.excluded_by {
        format!("dropped by {glob}")
    } else if f.kind == "bytecode" {
        "byte-code is never kept".into()
    } else if dropped_by_trace || (f.kind == "data" && traced && reached) {
        "a data file no traced run opened (with a trace, only opened data files are kept; --include GLOB keeps it)".into()
    } else if reached {
        "only files that are dropped reach it (an exclude glob cut the chain)".into()
    } else {
        "nothing reaches it from the entry script or the boot set".into()
    }
}

#[derive(Default)]
struct Interner {
    texts: Vec<String>,
    ids: HashMap<String, usize>,
}

impl Interner {
    fn id(&mut self, text: String) -> usize {
        if let Some(id) = self.ids.get(&text) {
            return *id;
        }
        self.texts.push(text.clone());
        self.ids.insert(text, self.texts.len() - 1);
        self.texts.len() - 1
    }
}

fn headline(label: &str, value: String, note: String) -> Headline {
    Headline {
        label: label.to_string(),
        value,
        note,
    }
}

fn pack_headline(
    pack: &PackIn,
    a: &AnalysisIn,
    validation: Option<&ValidationIn>,
) -> Vec<Headline> {
    let t = &pack.totals;
    let mut out = vec![
        headline(
            "download before",
            format!("{} brotli", format_size(t.before.brotli)),
            format!(
                "{} gzip: all wheels + the full stdlib, {} files",
                format_size(t.before.gzip),
                t.files_before
            ),
        ),
        headline(
            "eager download after",
            format!("{} brotli", format_size(t.after.brotli)),
            format!(
                "{} gzip, {} files: {:+.1}% brotli, {:+.1}% gzip",
                format_size(t.after.gzip),
                t.files_after,
                -t.reduction_brotli * 100.0,
                -t.reduction_gzip * 100.0
            ),
        ),
    ];
    match t.floor {
        Some(floor) => out.push(headline(
            "floor",
            format!("{} brotli", format_size(floor.brotli)),
            format!(
                "{} gzip: only the files a traced run touched; the eager download is {:.2}x the floor (gzip)",
                format_size(floor.gzip),
                t.after.gzip as f64 / floor.gzip.max(1) as f64
            ),
        )),
        None => out.push(headline(
            "floor",
            "-".into(),
            "no traced run: the floor is what a run touches".into(),
        )),
    }
    out.push(headline(
        "lazy tier",
        if t.lazy_files == 0 {
            "none".into()
        } else {
            format!(
                "{} files, {} brotli",
                t.lazy_files,
                format_size(t.lazy.brotli)
            )
        },
        format!(
            "each fetched only if the app reads it; deployed in total {} brotli",
            format_size(t.after.brotli + t.lazy.brotli)
        ),
    ));
    let runs = a.trace.as_ref().map(|t| t.runs.len()).unwrap_or(0);
    let validated = match validation {
        Some(v) => {
            let browser = v.browser.as_ref().map(|b| b.runs.len()).unwrap_or(0);
            let mut text = format!("{} run(s) in Node", v.runs.len());
            if browser > 0 {
                text.push_str(&format!(", {browser} in Chromium"));
            }
            text
        }
        None => "not validated".into(),
    };
    out.push(headline(
        "runs",
        format!("{runs} traced"),
        format!("validation: {validated}"),
    ));
    out
}

fn analyze_headline(a: &AnalysisIn) -> Vec<Headline> {
    let t = &a.totals;
    let reduction = if t.compressed_bytes == 0 {
        0.0
    } else {
        1.0 - t.kept_compressed_bytes as f64 / t.compressed_bytes as f64
    };
    let runs = a.trace.as_ref().map(|t| t.runs.len()).unwrap_or(0);
    vec![
        headline(
            "environment",
            format!("{} compressed", format_size(t.compressed_bytes)),
            format!("{} files in its wheels and zips", t.files),
        ),
        headline(
            "kept",
            format!("{} compressed", format_size(t.kept_compressed_bytes)),
            format!(
                "{} of {} files: {:+.1}%",
                t.kept_files,
                t.files,
                -reduction * 100.0
            ),
        ),
        headline(
            "eager / lazy",
            format!("{} / {} files", t.eager_files, t.lazy_files),
            format!(
                "{} / {} compressed",
                format_size(t.eager_compressed_bytes),
                format_size(t.lazy_compressed_bytes)
            ),
        ),
        headline(
            "floor",
            "-".into(),
            "an analysis record has no download sizes: pack measures them".into(),
        ),
        headline(
            "runs",
            format!("{runs} traced"),
            format!("{} roots", a.roots.len()),
        ),
    ]
}

fn cell(text: String, sort: f64) -> (String, f64) {
    (text, sort)
}

fn pack_table(pack: &PackIn, archives: &[ArchiveIn]) -> TableOut {
    let arrow = |a: usize, b: usize| cell(format!("{a} -> {b}"), b as f64);
    let bytes = |a: u64, b: u64| {
        cell(
            format!("{} -> {}", format_size(a), format_size(b)),
            b as f64,
        )
    };
    let lazy = |files: usize, sizes: SizesIn| {
        if files == 0 {
            cell("-".into(), 0.0)
        } else {
            cell(
                format!("{files} / {}", format_size(sizes.brotli)),
                sizes.brotli as f64,
            )
        }
    };
    let percent = |r: f64| cell(format!("{:.1}%", r * 100.0), r);
    let rows = pack
        .packages
        .iter()
        .map(|p| RowOut {
            archive: archives
                .iter()
                .position(|a| p.kind == a.kind && p.package == a.package && p.version == a.version),
            cells: vec![
                cell(
                    package_label(&p.package, p.version.as_deref(), p.source),
                    0.0,
                ),
                arrow(p.files_before, p.files_after),
                arrow(p.py_before, p.py_after),
                arrow(p.so_before, p.so_after),
                bytes(p.unpacked_before, p.unpacked_after),
                bytes(p.before.brotli, p.after.brotli),
                percent(if p.before.brotli == 0 {
                    0.0
                } else {
                    1.0 - p.after.brotli as f64 / p.before.brotli as f64
                }),
                lazy(p.lazy_files, p.lazy),
            ],
        })
        .collect();
    let t = &pack.totals;
    TableOut {
        columns: crate::pack::PACK_COLUMNS.to_vec(),
        rows,
        total: Some(RowOut {
            archive: None,
            cells: vec![
                cell("total".into(), 0.0),
                arrow(t.files_before, t.files_after),
                cell(String::new(), 0.0),
                cell(String::new(), 0.0),
                cell(String::new(), 0.0),
                bytes(t.before.brotli, t.after.brotli),
                percent(t.reduction_brotli),
                lazy(t.lazy_files, t.lazy),
            ],
        }),
    }
}

fn analyze_table(a: &AnalysisIn) -> TableOut {
    let row = |p: &SummaryIn, archive: Option<usize>| {
        let reduction = if p.compressed_bytes == 0 {
            0.0
        } else {
            1.0 - p.kept_compressed_bytes as f64 / p.compressed_bytes as f64
        };
        RowOut {
            archive,
            cells: vec![
                cell(
                    package_label(&p.package, p.version.as_deref(), p.source),
                    0.0,
                ),
                cell(
                    format!("{} / {}", p.kept_files, p.files),
                    p.kept_files as f64,
                ),
                cell(
                    format!("{} / {}", p.kept_py_files, p.py_files),
                    p.kept_py_files as f64,
                ),
                cell(
                    format!("{} / {}", p.kept_so_files, p.so_files),
                    p.kept_so_files as f64,
                ),
                cell(
                    format!(
                        "{} -> {}",
                        format_size(p.compressed_bytes),
                        format_size(p.kept_compressed_bytes)
                    ),
                    p.kept_compressed_bytes as f64,
                ),
                cell(format!("{:.1}%", reduction * 100.0), reduction),
                cell(
                    format!("{} / {}", p.eager_files, p.lazy_files),
                    p.eager_files as f64,
                ),
            ],
        }
    };
    TableOut {
        columns: crate::table::ANALYZE_COLUMNS
            .iter()
            .copied()
            .chain(["eager / lazy files"])
            .collect(),
        rows: a
            .packages
            .iter()
            .map(|p| {
                let archive = a
                    .archives
                    .iter()
                    .position(|x| x.package == p.package && x.version == p.version);
                row(p, archive)
            })
            .collect(),
        total: Some(row(&a.totals, None)),
    }
}
