//! The human side of a record: a table per package and the lists worth a look.

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{CellAlignment, Table};

use crate::record::{AnalyzeRecord, MissingRecord, PackageSummary, TraceRecord};
pub use pyodide_pack_pack::format_size;

/// Modules that exist only on other operating systems; CPython's stdlib imports them in branches
/// that never run under Emscripten.
fn is_other_platform(module: &str) -> bool {
    matches!(
        module.split('.').next().unwrap_or(module),
        "nt" | "_winapi"
            | "winreg"
            | "msvcrt"
            | "_overlapped"
            | "_wmi"
            | "winsound"
            | "_winreg"
            | "_scproxy"
            | "_ios_support"
            | "java"
            | "_android_support"
            | "_apple_support"
    )
}

/// A package's name and version, and `(lock)` for one of the runtime's own packages.
pub(crate) fn package_label(
    package: &str,
    version: Option<&str>,
    source: Option<pyodide_pack_env::WheelSource>,
) -> String {
    let mut label = match version {
        Some(v) => format!("{package} {v}"),
        None => package.to_string(),
    };
    if source == Some(pyodide_pack_env::WheelSource::Lock) {
        label.push_str(" (lock)");
    }
    label
}

fn row(p: &PackageSummary) -> Vec<String> {
    vec![
        package_label(&p.package, p.version.as_deref(), p.source),
        format!("{} / {}", p.kept_files, p.files),
        format!("{} / {}", p.kept_py_files, p.py_files),
        format!("{} / {}", p.kept_so_files, p.so_files),
        format!(
            "{} -> {}",
            format_size(p.compressed_bytes),
            format_size(p.kept_compressed_bytes)
        ),
        format!("{:.1}%", p.reduction() * 100.0),
    ]
}

/// How many lines of each list to print before pointing at the JSON record.
const LIST_LIMIT: usize = 15;

/// The columns of analyze's package table (`report.html` adds the tiers).
pub(crate) const ANALYZE_COLUMNS: [&str; 6] = [
    "package",
    "files kept",
    ".py kept",
    ".so kept",
    "compressed size",
    "reduction",
];

/// `runtime: Pyodide 0.27.7 (Python 3.12.7, wheels pyodide_2024_0_wasm32)`: what the tables were
/// measured against.
pub(crate) fn runtime_line(runtime: &crate::record::RuntimeRecord) -> String {
    format!(
        "runtime: Pyodide {} (Python {}, wheels {})\n",
        runtime.version, runtime.python, runtime.wheel_platform
    )
}

pub fn render_analysis(record: &AnalyzeRecord) -> String {
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED);
    table.set_header(ANALYZE_COLUMNS.to_vec());
    for p in &record.packages {
        table.add_row(row(p));
    }
    table.add_row(row(&record.totals.summary));
    for i in 1..6 {
        if let Some(column) = table.column_mut(i) {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
    let mut out = format!("{table}\n");
    out.push_str(&runtime_line(&record.runtime));
    out.push_str(&format!(
        "{} files reached from {} roots, {} parsed now, in {:.3} s\n",
        record.stats.files_expanded,
        record.roots.len(),
        record.stats.files_parsed,
        record.stats.seconds
    ));

    // The app's and its wheels' sites and missing modules are listed: those are the ones a user
    // can act on. The stdlib's own are summed up in one line; all of it is in the --json record.
    let in_stdlib = |path: &str| path.starts_with("python_stdlib.zip:");
    let (stdlib_sites, sites): (Vec<_>, Vec<_>) = record
        .unresolved_dynamic_imports
        .iter()
        .partition(|s| in_stdlib(&s.path));
    if !sites.is_empty() {
        out.push_str(&format!(
            "\nunresolved dynamic imports ({}): computed module names with no literal part to go on; `trace` records what they import\n",
            sites.len()
        ));
        for s in sites.iter().take(LIST_LIMIT) {
            out.push_str(&format!("  {}:{}: {}\n", s.path, s.line, s.text));
        }
        if sites.len() > LIST_LIMIT {
            out.push_str(&format!(
                "  ... and {} more in the --json record\n",
                sites.len() - LIST_LIMIT
            ));
        }
    }
    let (stdlib_missing, missing): (Vec<&MissingRecord>, Vec<&MissingRecord>) = record
        .missing_modules
        .iter()
        .partition(|m| in_stdlib(&m.reason.path));
    let required: Vec<_> = missing.iter().filter(|m| !m.optional).copied().collect();
    let optional = missing.len() - required.len();
    if !required.is_empty() || optional > 0 {
        // One line per module, modules of other platforms (Windows, macOS) last: they sit in
        // branches Pyodide never takes.
        let mut by_module: Vec<(&str, Vec<&MissingRecord>)> = Vec::new();
        for m in &required {
            match by_module.iter_mut().find(|(name, _)| *name == m.module) {
                Some((_, sites)) => sites.push(m),
                None => by_module.push((&m.module, vec![m])),
            }
        }
        by_module.sort_by_key(|(name, _)| (is_other_platform(name), *name));
        out.push_str(&format!(
            "\nmissing modules: {} not found ({} more imports only inside try/except ImportError)\n",
            by_module.len(),
            optional
        ));
        for (name, sites) in by_module.iter().take(LIST_LIMIT) {
            let first = sites[0];
            let line = first
                .reason
                .line
                .map(|l| format!(":{l}"))
                .unwrap_or_default();
            let all_nested = sites.iter().all(|m| m.nested);
            let note = match (is_other_platform(name), all_nested) {
                (true, _) => " [other platforms only]",
                (false, true) => " [only inside functions]",
                _ => "",
            };
            let more = if sites.len() > 1 {
                format!(" (+{} more sites)", sites.len() - 1)
            } else {
                String::new()
            };
            out.push_str(&format!(
                "  {name}{note}: {}{line}: {}{more}\n",
                first.reason.path, first.reason.text
            ));
        }
        if by_module.len() > LIST_LIMIT {
            out.push_str(&format!(
                "  ... and {} more in the --json record\n",
                by_module.len() - LIST_LIMIT
            ));
        }
    }
    if !stdlib_sites.is_empty() || !stdlib_missing.is_empty() {
        out.push_str(&format!(
            "\nthe stdlib's own: {} unresolved dynamic import site(s), {} import(s) of modules Pyodide lacks (in the --json record)\n",
            stdlib_sites.len(),
            stdlib_missing.len()
        ));
    }
    if let Some(trace) = &record.trace {
        render_trace(record, trace, &mut out);
    }
    if !record.warnings.is_empty() {
        out.push_str(&format!("\nwarnings ({}):\n", record.warnings.len()));
        for w in record.warnings.iter().take(LIST_LIMIT) {
            out.push_str(&format!("  {w}\n"));
        }
        if record.warnings.len() > LIST_LIMIT {
            out.push_str(&format!(
                "  ... and {} more in the --json record\n",
                record.warnings.len() - LIST_LIMIT
            ));
        }
    }
    out
}

/// The trace's part: what the runs found that static analysis did not (a table), and what static
/// analysis kept that no run touched (a summary per package).
fn render_trace(record: &AnalyzeRecord, trace: &TraceRecord, out: &mut String) {
    out.push_str(&format!(
        "\ntraced {} run(s): {} files touched\n",
        trace.runs.len(),
        trace.touched
    ));
    for run in &trace.runs {
        out.push_str(&format!(
            "  {}: {} modules, {} files opened, {} libraries, {:.1} s (load Pyodide {:.1} s, run {:.1} s)\n",
            run.label,
            run.modules,
            run.opened,
            run.dynlibs.len(),
            run.timings.wall_ms / 1000.0,
            run.timings.load_pyodide_ms / 1000.0,
            run.timings.run_ms / 1000.0,
        ));
    }
    if trace.found_by_trace.is_empty() {
        out.push_str("found by the trace, missed by static analysis: nothing\n");
    } else {
        out.push_str(&format!(
            "found by the trace, missed by static analysis ({}):\n",
            trace.found_by_trace.len()
        ));
        let mut table = Table::new();
        table.load_preset(UTF8_FULL_CONDENSED);
        table.set_header(vec!["file", "package", "seen as", "run", "kept"]);
        for f in trace.found_by_trace.iter().take(LIST_LIMIT * 2) {
            let how = match &f.how {
                pyodide_pack_trace::Observation::Module(name) => format!("import {name}"),
                pyodide_pack_trace::Observation::Opened => "opened".into(),
                pyodide_pack_trace::Observation::Library => "library load".into(),
            };
            let kept = if f.kept { "yes" } else { "no (excluded)" };
            table.add_row(vec![
                f.path.clone(),
                f.package.clone(),
                how,
                f.run.clone(),
                kept.into(),
            ]);
        }
        out.push_str(&format!("{table}\n"));
        if trace.found_by_trace.len() > LIST_LIMIT * 2 {
            out.push_str(&format!(
                "  ... and {} more in the --json record\n",
                trace.found_by_trace.len() - LIST_LIMIT * 2
            ));
        }
    }
    if !trace.static_untouched.is_empty() {
        let mut by_package: Vec<(String, usize, u64)> = Vec::new();
        for id in &trace.static_untouched {
            let file = &record.files[*id];
            let package = &record.archives[file.archive].package;
            match by_package.iter_mut().find(|(p, _, _)| p == package) {
                Some(row) => {
                    row.1 += 1;
                    row.2 += file.compressed_size;
                }
                None => by_package.push((package.clone(), 1, file.compressed_size)),
            }
        }
        by_package.sort_by_key(|row| std::cmp::Reverse(row.2));
        let list: Vec<String> = by_package
            .iter()
            .take(6)
            .map(|(p, n, b)| format!("{p} {n} ({})", format_size(*b)))
            .collect();
        out.push_str(&format!(
            "kept by static analysis, touched by no run: {} files, {} compressed (kept anyway): {}\n",
            trace.static_untouched.len(),
            format_size(trace.static_untouched_compressed_bytes),
            list.join(", ")
        ));
    }
    if !trace.dropped_by_trace.is_empty() {
        let data = trace
            .dropped_by_trace
            .iter()
            .filter(|id| record.files[**id].kind == pyodide_pack_env::FileKind::Data)
            .count();
        let other = trace.dropped_by_trace.len() - data;
        let stdlib = if other > 0 {
            format!(" and {other} stdlib files no run touched (--stdlib-from-trace)")
        } else {
            String::new()
        };
        out.push_str(&format!(
            "dropped: {data} data files no run opened{stdlib}, {} compressed (--include GLOB keeps a file)\n",
            format_size(trace.dropped_by_trace_compressed_bytes)
        ));
    }
    if !trace.outside_environment.is_empty() {
        out.push_str(&format!(
            "used by a run but not in this environment ({}): {}\n",
            trace.outside_environment.len(),
            trace
                .outside_environment
                .iter()
                .take(5)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
}
