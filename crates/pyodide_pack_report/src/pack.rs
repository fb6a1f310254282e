//! The pack report (`report.json`, schema `pyodide-pack/pack-2`) and its table.

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{CellAlignment, Table};
use pyodide_pack_budget::BudgetReport;
use pyodide_pack_pack::{
    BrowserValidation, LazyFetch, PackSummary, PackageSizes, Sizes, Validation, PACK_SCHEMA,
};
use serde::Serialize;

use crate::record::AnalyzeRecord;
use crate::table::{format_size, runtime_line};

#[derive(Debug, Serialize)]
pub struct PackReport {
    pub schema: &'static str,
    /// Every file, every edge, the trace merged: the analyze record.
    pub analysis: AnalyzeRecord,
    pub pack: PackSummary,
    /// Absent with --no-validate.
    pub validation: Option<Validation>,
    /// The size check, when a budget, a baseline or a Markdown table was asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub budget: Option<BudgetReport>,
    pub seconds: f64,
    /// Whether `report.html` was written beside `report.json` (not part of the record).
    #[serde(skip)]
    pub html_written: bool,
}

impl PackReport {
    pub fn new(
        analysis: AnalyzeRecord,
        pack: PackSummary,
        validation: Option<Validation>,
        seconds: f64,
    ) -> PackReport {
        PackReport {
            schema: PACK_SCHEMA,
            analysis,
            pack,
            validation,
            budget: None,
            seconds,
            html_written: false,
        }
    }

    pub fn with_budget(mut self, budget: Option<BudgetReport>) -> PackReport {
        self.budget = budget;
        self
    }
}

fn sizes_cell(before: Sizes, after: Sizes) -> String {
    format!(
        "{} -> {}",
        format_size(before.brotli),
        format_size(after.brotli)
    )
}

fn package_row(p: &PackageSizes) -> Vec<String> {
    vec![
        crate::table::package_label(&p.package, p.version.as_deref(), p.source),
        format!("{} -> {}", p.files_before, p.files_after),
        format!("{} -> {}", p.py_before, p.py_after),
        format!("{} -> {}", p.so_before, p.so_after),
        format!(
            "{} -> {}",
            format_size(p.unpacked_before),
            format_size(p.unpacked_after)
        ),
        sizes_cell(p.before, p.after),
        format!("{:.1}%", p.reduction() * 100.0),
        lazy_cell(p.lazy_files, p.lazy),
    ]
}

fn lazy_cell(files: usize, sizes: Sizes) -> String {
    if files == 0 {
        "-".into()
    } else {
        format!("{files} / {}", format_size(sizes.brotli))
    }
}

fn ms(v: f64) -> String {
    format!("{:.2} s", v / 1000.0)
}

/// The columns of pack's package table (the terminal's and `report.html`'s).
pub(crate) const PACK_COLUMNS: [&str; 8] = [
    "package",
    "files",
    ".py",
    ".so",
    "unpacked",
    "eager download (brotli)",
    "reduction",
    "lazy files / brotli",
];

pub fn render_pack(report: &PackReport, out_dir: &str) -> String {
    let pack = &report.pack;
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED);
    table.set_header(PACK_COLUMNS.to_vec());
    for p in &pack.packages {
        table.add_row(package_row(p));
    }
    let t = &pack.totals;
    table.add_row(vec![
        "total".to_string(),
        format!("{} -> {}", t.files_before, t.files_after),
        String::new(),
        String::new(),
        String::new(),
        sizes_cell(t.before, t.after),
        format!("{:.1}%", t.reduction_brotli * 100.0),
        lazy_cell(t.lazy_files, t.lazy),
    ]);
    for i in 1..8 {
        if let Some(column) = table.column_mut(i) {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
    let mut out = format!("{table}\n");
    out.push_str(&runtime_line(&report.analysis.runtime));
    out.push_str(&format!(
        "eager download: {} gzip / {} brotli, was {} gzip / {} brotli (all wheels + full stdlib): {:+.1}% gzip, {:+.1}% brotli\n",
        format_size(t.after.gzip),
        format_size(t.after.brotli),
        format_size(t.before.gzip),
        format_size(t.before.brotli),
        -t.reduction_gzip * 100.0,
        -t.reduction_brotli * 100.0
    ));
    if let Some(floor) = t.floor {
        out.push_str(&format!(
            "floor (only the files a traced run touched): {} gzip / {} brotli; the eager download is {:.2}x the floor (gzip)\n",
            format_size(floor.gzip),
            format_size(floor.brotli),
            t.after.gzip as f64 / floor.gzip.max(1) as f64
        ));
    }
    if t.lazy_files > 0 {
        out.push_str(&format!(
            "lazy tier: {} file(s), {} gzip / {} brotli, each fetched only if the app reads it (deployed in total: {} brotli)\n",
            t.lazy_files,
            format_size(t.lazy.gzip),
            format_size(t.lazy.brotli),
            format_size(t.after.brotli + t.lazy.brotli),
        ));
    }
    if let Some(trace) = &report.analysis.trace {
        out.push_str(&format!(
            "trace: {} run(s); {} file(s) found that static analysis missed; {} file(s) no run used dropped\n",
            trace.runs.len(),
            trace.found_by_trace.len(),
            trace.dropped_by_trace.len()
        ));
    }
    let r = &pack.reducers;
    if r.strip_docstrings {
        out.push_str(&format!(
            "docstrings stripped from {} files ({} kept theirs: they read __doc__ or are excluded)\n",
            r.docstrings_stripped,
            r.docstrings_kept.len()
        ));
    }
    if r.compile_pyc {
        out.push_str(&format!(
            "{} files shipped as .pyc compiled by the runtime\n",
            r.pyc_files
        ));
    }
    for w in &pack.warnings {
        out.push_str(&format!("warning: {w}\n"));
    }
    let files: Vec<String> = pack
        .outputs
        .iter()
        .map(|o| format!("{} {}", o.name, format_size(o.sizes.raw)))
        .collect();
    let lazy = if t.lazy_files > 0 {
        format!(", lazy/ ({} files)", t.lazy_files)
    } else {
        String::new()
    };
    let html = if report.html_written {
        ", report.html"
    } else {
        ""
    };
    let page = match pack.page.as_slice() {
        [page, entry, ..] => format!(", {page} (runs {entry})"),
        _ => String::new(),
    };
    let runtime = if pack.runtime_files.is_empty() {
        String::new()
    } else {
        let bytes: u64 = pack.runtime_files.iter().map(|f| f.sizes.raw).sum();
        format!(
            ", {}/ ({} runtime files, {})",
            pyodide_pack_pack::RUNTIME_DIR,
            pack.runtime_files.len(),
            format_size(bytes)
        )
    };
    out.push_str(&format!(
        "wrote {out_dir}/: {}{lazy}, report.json{html}{page}{runtime}\n",
        files.join(", ")
    ));
    if let Some(deployment) = &pack.deployment {
        out.push_str(&render_deployment(deployment));
    }
    if !pack.page.is_empty() {
        out.push_str(&format!(
            "to see it in a browser: pyodide-pack serve {out_dir}\n"
        ));
    }
    if let Some(validation) = &report.validation {
        out.push_str(&render_validation(validation));
    }
    if let Some(budget) = &report.budget {
        out.push_str(&budget.render_text());
    }
    out
}

/// How the output caches and redeploys: one line, and one per earlier deployment kept.
fn render_deployment(deployment: &pyodide_pack_pack::DeploymentSummary) -> String {
    let worker = match &deployment.service_worker {
        Some(file) => format!("; offline after one visit ({file})"),
        None => String::new(),
    };
    let mut out = format!(
        "caching: {} files named by their content in {}/ (cached for ever), {} revalidated ({}){worker}\n",
        deployment.content_named,
        pyodide_pack_pack::IMMUTABLE_DIR,
        deployment.entry_files.len(),
        deployment.headers_file,
    );
    let kept = &deployment.kept;
    if !kept.deployments.is_empty() {
        out.push_str(&format!(
            "kept {} earlier deployment(s) for the pages still open on them ({} files carried over, {})\n",
            kept.deployments.len(),
            kept.files,
            format_size(kept.bytes)
        ));
    }
    out
}

/// The validation verdict and the load-time breakdown of each run.
pub fn render_validation(validation: &Validation) -> String {
    let mut out = String::new();
    if validation.runs.is_empty() {
        // Browser validation alone (`validate --browser`).
        if let Some(browser) = &validation.browser {
            out.push_str(&render_browser_validation(browser));
        }
        return out;
    }
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED);
    table.set_header(vec![
        "run",
        "environment",
        "loadPyodide",
        "install / fetch+unpack",
        "dynamic libraries",
        "import + run",
        "total (process)",
    ]);
    for run in &validation.runs {
        let f = &run.full;
        table.add_row(vec![
            run.label.clone(),
            "full".into(),
            ms(f.load_pyodide_ms),
            ms(f.install_ms),
            "(at import)".into(),
            ms(f.run_ms),
            ms(f.wall_ms),
        ]);
        let b = &run.bundle;
        table.add_row(vec![
            String::new(),
            "bundle".into(),
            ms(b.load_pyodide_ms),
            ms(b.fetch_unpack_ms),
            ms(b.dynlibs_ms),
            ms(b.run_ms),
            ms(b.wall_ms),
        ]);
    }
    for i in 2..7 {
        if let Some(column) = table.column_mut(i) {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
    let checked: Vec<&str> = validation
        .runs
        .iter()
        .filter(|r| r.checked_against_expected)
        .map(|_| "expected.txt")
        .collect();
    out.push_str(&format!(
        "validated: {} run(s) from the bundle print the same output as the full environment{}\n",
        validation.runs.len(),
        if checked.is_empty() {
            String::new()
        } else {
            " and as expected.txt".to_string()
        }
    ));
    out.push_str(&format!("{table}\n"));
    let (full, bundle): (f64, f64) = validation.runs.iter().fold((0.0, 0.0), |(f, b), r| {
        (f + r.full.wall_ms, b + r.bundle.wall_ms)
    });
    if full > 0.0 {
        out.push_str(&format!(
            "load + run time: bundle {:.2} s vs full environment {:.2} s ({:.2}x)\n",
            bundle / 1000.0,
            full / 1000.0,
            bundle / full
        ));
    }
    for run in &validation.runs {
        out.push_str(&lazy_line(
            &run.label,
            "Node",
            run.traced,
            &run.lazy_fetched,
        ));
    }
    if let Some(browser) = &validation.browser {
        out.push_str(&render_browser_validation(browser));
    }
    out
}

/// What a run fetched from the lazy tier, if anything.
fn lazy_line(label: &str, place: &str, traced: bool, fetched: &[LazyFetch]) -> String {
    if fetched.is_empty() {
        return String::new();
    }
    let bytes: u64 = fetched.iter().map(|f| f.bytes).sum();
    let shown: Vec<&str> = fetched.iter().take(8).map(|f| f.path.as_str()).collect();
    let more = if fetched.len() > shown.len() {
        format!(" (+{} more)", fetched.len() - shown.len())
    } else {
        String::new()
    };
    format!(
        "  {label} ({place}{}): fetched {} lazy file(s), {}: {}{more}\n",
        if traced { ", traced" } else { ", not traced" },
        fetched.len(),
        format_size(bytes),
        shown.join(", ")
    )
}

/// The browser runs: the verdict, the breakdown from navigation to the end of the run, and what
/// the browser warned about.
fn render_browser_validation(browser: &BrowserValidation) -> String {
    let mut out = format!(
        "validated in Chromium ({}): {} page run(s) print the same output as the full environment\n",
        browser.browser,
        browser.runs.len()
    );
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED);
    table.set_header(vec![
        "run",
        "thread",
        "page ready",
        "loadPyodide",
        "fetch+unpack",
        "dynamic libraries",
        "import + run",
        "first output",
        "total",
    ]);
    for run in &browser.runs {
        let t = &run.timings;
        let thread = format!(
            "{}{}",
            run.thread.describe(),
            if run.isolated { " (isolated)" } else { "" }
        );
        table.add_row(vec![
            run.label.clone(),
            thread,
            ms(t.page_ms),
            ms(t.load_pyodide_ms),
            ms(t.fetch_unpack_ms),
            ms(t.dynlibs_ms),
            ms(t.run_ms),
            t.first_output_ms.map(ms).unwrap_or_else(|| "-".into()),
            ms(t.total_ms),
        ]);
    }
    for i in 2..9 {
        if let Some(column) = table.column_mut(i) {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
    out.push_str(&format!("{table}\n"));
    out.push_str("(times from navigation start: page ready, first output, total)\n");
    for run in &browser.runs {
        let mut notes: Vec<String> = run
            .warnings
            .iter()
            .map(|m| format!("console {} ({}): {}", m.kind, m.r#where, m.text))
            .collect();
        let mut issues: Vec<&String> = run.issues.iter().collect();
        issues.sort();
        issues.dedup();
        if !issues.is_empty() {
            notes.push(format!(
                "DevTools issues: {}",
                issues
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        let place = format!("Chromium, {}", run.thread.describe());
        out.push_str(
            &lazy_line(&run.label, &place, false, &run.lazy_fetched).replace(", not traced", ""),
        );
        for note in notes {
            out.push_str(&format!(
                "  {} ({}): {note}\n",
                run.label,
                run.thread.describe()
            ));
        }
    }
    out
}
