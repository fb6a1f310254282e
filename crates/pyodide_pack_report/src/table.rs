//! The human side of a record: a table per package and the lists worth a look.

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{CellAlignment, Table};

use crate::record::{AnalyzeRecord, PackageSummary};

/// `1.2 MB`, `340 kB`, `12 B` (decimal units, as CDNs and browsers report).
pub fn format_size(bytes: u64) -> String {
    let b = bytes as f64;
    if b >= 1e6 {
        format!("{:.2} MB", b / 1e6)
    } else if b >= 1e3 {
        format!("{:.1} kB", b / 1e3)
    } else {
        format!("{bytes} B")
    }
}

fn row(p: &PackageSummary) -> Vec<String> {
    vec![
        match &p.version {
            Some(v) => format!("{} {v}", p.package),
            None => p.package.clone(),
        },
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

pub fn render_analysis(record: &AnalyzeRecord) -> String {
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED);
    table.set_header(vec![
        "package",
        "files kept",
        ".py kept",
        ".so kept",
        "compressed size",
        "reduction",
    ]);
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
    out.push_str(&format!(
        "{} files reached from {} roots, {} parsed now, in {:.3} s\n",
        record.stats.files_expanded,
        record.roots.len(),
        record.stats.files_parsed,
        record.stats.seconds
    ));

    let sites = &record.unresolved_dynamic_imports;
    if !sites.is_empty() {
        out.push_str(&format!(
            "\nunresolved dynamic imports ({}): computed module names no parser can follow; `trace` records them\n",
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
    let required: Vec<_> = record
        .missing_modules
        .iter()
        .filter(|m| !m.optional)
        .collect();
    let optional = record.missing_modules.len() - required.len();
    if !required.is_empty() || optional > 0 {
        out.push_str(&format!(
            "\nmissing modules: {} not found ({} more only inside try/except ImportError)\n",
            required.len(),
            optional
        ));
        for m in required.iter().take(LIST_LIMIT) {
            let line = m.reason.line.map(|l| format!(":{l}")).unwrap_or_default();
            let nested = if m.nested { " (inside a function)" } else { "" };
            out.push_str(&format!(
                "  {}: {}{}: {}{}\n",
                m.module, m.reason.path, line, m.reason.text, nested
            ));
        }
        if required.len() > LIST_LIMIT {
            out.push_str(&format!(
                "  ... and {} more in the --json record\n",
                required.len() - LIST_LIMIT
            ));
        }
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
