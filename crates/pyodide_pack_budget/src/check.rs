//! Measuring what pack ships and checking it against the limits.

use globset::{Glob, GlobMatcher};
use pyodide_pack_config::{BudgetConfig, Compression};
// PEP 503 names, so `pydantic_core` and `pydantic-core` name one package.
use pyodide_pack_env::normalize;
use pyodide_pack_pack::{format_size, PackSummary, Sizes, LAZY_DIR};
use serde::Serialize;

use crate::baseline::Baseline;
use crate::BudgetError;

pub const SIZE_SCHEMA: &str = "pyodide-pack/size-1";

/// What an item of the report is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ItemKind {
    /// One output file (`bundle.zip`, `lazy/...`).
    File,
    /// The eager zips in their transfer form + `loader.mjs` (+ the decoder the form needs): what
    /// the page downloads up front.
    Eager,
    /// Every file of the lazy tier together.
    Lazy,
    /// Eager and lazy: the whole deployment.
    Total,
    /// One package's files, eager and lazy.
    Package,
}

/// A limit and where it comes from, for the message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Limit {
    pub bytes: u64,
    pub from: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Item {
    pub kind: ItemKind,
    pub name: String,
    /// Raw, gzip and brotli.
    pub sizes: Sizes,
    /// In the budget's compression.
    pub size: u64,
    /// The tightest limit that applies, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<Limit>,
    /// The baseline's size, in the budget's compression, when a baseline has this item.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<u64>,
    /// Bytes over the limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub over: Option<u64>,
}

impl Item {
    /// How a baseline names the item.
    pub fn key(&self) -> String {
        match self.kind {
            ItemKind::File => format!("file:{}", self.name),
            ItemKind::Package => format!("package:{}", self.name),
            ItemKind::Eager => "eager".into(),
            ItemKind::Lazy => "lazy".into(),
            ItemKind::Total => "total".into(),
        }
    }

    /// How messages and tables name the item.
    pub fn label(&self) -> String {
        match self.kind {
            ItemKind::File => self.name.clone(),
            ItemKind::Package => format!("package {}", self.name),
            ItemKind::Eager => "eager download".into(),
            ItemKind::Lazy => format!("lazy tier ({})", self.name),
            ItemKind::Total => "total deployment".into(),
        }
    }

    /// Signed change against the baseline, in the budget's compression.
    pub fn change(&self) -> Option<i64> {
        self.baseline.map(|b| self.size as i64 - b as i64)
    }
}

/// The growth over the baseline an item may have before it fails (`--max-growth 1%`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MaxGrowth {
    pub percent: f64,
}

impl std::str::FromStr for MaxGrowth {
    type Err = BudgetError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let number = text.trim().trim_end_matches('%').trim();
        match number.parse::<f64>() {
            Ok(percent) if percent.is_finite() && percent >= 0.0 => Ok(MaxGrowth { percent }),
            _ => Err(BudgetError::BadGrowth(text.to_string())),
        }
    }
}

/// Counts and the floor, for benches and dashboards.
#[derive(Debug, Clone, Serialize)]
pub struct Counts {
    /// Files in the eager zips.
    pub eager_files: usize,
    /// `.so` files in the eager zips.
    pub eager_extensions: usize,
    pub lazy_files: usize,
    /// The files traced runs touched, zipped the same way (absent without a trace).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub floor: Option<Sizes>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BudgetReport {
    pub schema: &'static str,
    pub compression: Compression,
    pub items: Vec<Item>,
    pub counts: Counts,
    /// How many items had a limit.
    pub checked: usize,
    /// Budget entries that matched nothing (a package this environment lacks, a glob that
    /// matches no output file): shown as warnings, since a typo would otherwise check nothing.
    pub notes: Vec<String>,
    pub ok: bool,
}

fn size_in(sizes: Sizes, compression: Compression) -> u64 {
    match compression {
        Compression::Brotli => sizes.brotli,
        Compression::Gzip => sizes.gzip,
        Compression::None => sizes.raw,
    }
}

/// Measures `summary`'s items in the budget's compression and checks each against its limits:
/// the budget's own, and `growth` over `baseline` for every item the baseline has.
pub fn check_budget(
    summary: &PackSummary,
    budget: &BudgetConfig,
    baseline: Option<&Baseline>,
    growth: Option<MaxGrowth>,
) -> Result<BudgetReport, BudgetError> {
    let compression = budget.compression;
    let mut notes = Vec::new();
    let globs: Vec<(String, GlobMatcher, u64)> = budget
        .files
        .iter()
        .map(|(pattern, limit)| {
            Glob::new(pattern)
                .map(|g| (pattern.clone(), g.compile_matcher(), limit.0))
                .map_err(|e| BudgetError::BadGlob {
                    pattern: pattern.clone(),
                    reason: e.kind().to_string(),
                })
        })
        .collect::<Result<_, _>>()?;
    let mut glob_used = vec![false; globs.len()];

    let mut measured: Vec<(ItemKind, String, Sizes)> = Vec::new();
    let mut eager = Sizes::default();
    for output in &summary.outputs {
        eager.add(output.sizes);
        measured.push((ItemKind::File, output.name.to_string(), output.sizes));
    }
    // Lazy files are items only where a glob limits them: a tier has hundreds.
    for file in &summary.lazy_files {
        let name = format!("{LAZY_DIR}/{}", file.install_path.trim_start_matches('/'));
        if globs.iter().any(|(_, m, _)| m.is_match(&name)) {
            measured.push((ItemKind::File, name, file.sizes));
        }
    }
    let lazy = summary.totals.lazy;
    let mut total = eager;
    total.add(lazy);
    measured.push((ItemKind::Eager, String::new(), eager));
    measured.push((
        ItemKind::Lazy,
        format!("{} files", summary.totals.lazy_files),
        lazy,
    ));
    measured.push((ItemKind::Total, String::new(), total));
    for package in &summary.packages {
        let mut sizes = package.after;
        sizes.add(package.lazy);
        measured.push((ItemKind::Package, package.package.clone(), sizes));
    }

    let mut items = Vec::with_capacity(measured.len());
    for (kind, name, sizes) in measured {
        let size = size_in(sizes, compression);
        let mut item = Item {
            kind,
            name,
            sizes,
            size,
            limit: None,
            baseline: None,
            over: None,
        };
        let mut limits: Vec<Limit> = Vec::new();
        let from_budget = |key: &str| format!("[tool.pyodide-pack.budget] {key}");
        match kind {
            ItemKind::Eager => limits.extend(budget.eager.map(|l| Limit {
                bytes: l.0,
                from: from_budget("eager"),
            })),
            ItemKind::Lazy => limits.extend(budget.lazy.map(|l| Limit {
                bytes: l.0,
                from: from_budget("lazy"),
            })),
            ItemKind::Total => limits.extend(budget.total.map(|l| Limit {
                bytes: l.0,
                from: from_budget("total"),
            })),
            ItemKind::File => {
                for (i, (pattern, matcher, bytes)) in globs.iter().enumerate() {
                    if matcher.is_match(&item.name) {
                        glob_used[i] = true;
                        limits.push(Limit {
                            bytes: *bytes,
                            from: from_budget(&format!("files {pattern:?}")),
                        });
                    }
                }
            }
            ItemKind::Package => {
                for (name, limit) in &budget.packages {
                    if normalize(name) == normalize(&item.name) {
                        limits.push(Limit {
                            bytes: limit.0,
                            from: from_budget(&format!("packages {name:?}")),
                        });
                    }
                }
            }
        }
        if let Some(recorded) = baseline.and_then(|b| b.sizes(&item.key())) {
            let before = size_in(recorded, compression);
            item.baseline = Some(before);
            if let Some(growth) = growth {
                limits.push(Limit {
                    bytes: (before as f64 * (1.0 + growth.percent / 100.0)).floor() as u64,
                    from: format!("baseline {} + {}%", format_size(before), growth.percent),
                });
            }
        }
        item.limit = limits.into_iter().min_by_key(|l| l.bytes);
        item.over = item
            .limit
            .as_ref()
            .filter(|l| size > l.bytes)
            .map(|l| size - l.bytes);
        items.push(item);
    }

    for (used, (pattern, _, _)) in glob_used.iter().zip(&globs) {
        if !used {
            notes.push(format!(
                "[tool.pyodide-pack.budget] files {pattern:?} matches no output file"
            ));
        }
    }
    for name in budget.packages.keys() {
        let found = summary
            .packages
            .iter()
            .any(|p| normalize(&p.package) == normalize(name));
        if !found {
            notes.push(format!(
                "[tool.pyodide-pack.budget] packages {name:?}: no such package in this environment"
            ));
        }
    }
    let checked = items.iter().filter(|i| i.limit.is_some()).count();
    let ok = items.iter().all(|i| i.over.is_none());
    let counts = Counts {
        eager_files: summary.totals.files_after,
        eager_extensions: summary.packages.iter().map(|p| p.so_after).sum(),
        lazy_files: summary.totals.lazy_files,
        floor: summary.totals.floor,
    };
    Ok(BudgetReport {
        schema: SIZE_SCHEMA,
        compression,
        items,
        counts,
        checked,
        notes,
        ok,
    })
}

/// `+12.0 kB (+1.4%)`, `-3 B (-0.1%)`, `+0 B`.
pub(crate) fn signed_change(change: i64, base: u64) -> String {
    let sign = if change < 0 { "-" } else { "+" };
    let magnitude = format_size(change.unsigned_abs());
    if base == 0 || change == 0 {
        format!("{sign}{magnitude}")
    } else {
        format!(
            "{sign}{magnitude} ({sign}{:.1}%)",
            change.unsigned_abs() as f64 * 100.0 / base as f64
        )
    }
}

impl BudgetReport {
    /// One line per item over its limit: what, how big, the limit and where it comes from, how
    /// much over, and the change since the baseline.
    pub fn breaches(&self) -> Vec<String> {
        self.items
            .iter()
            .filter_map(|item| {
                let over = item.over?;
                let limit = item.limit.as_ref()?;
                let since = match item.change() {
                    Some(change) => format!(
                        "; {} since the baseline",
                        signed_change(change, item.baseline.unwrap_or(0))
                    ),
                    None => String::new(),
                };
                Some(format!(
                    "{}: {} {}, limit {} ({}): {} over (+{:.1}%){since}",
                    item.label(),
                    format_size(item.size),
                    self.compression,
                    format_size(limit.bytes),
                    limit.from,
                    format_size(over),
                    over as f64 * 100.0 / limit.bytes.max(1) as f64,
                ))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pyodide_pack_config::ByteLimit;
    use pyodide_pack_pack::{LazyFile, OutputFile, PackageSizes, ReducerStats, Totals};

    fn sizes(brotli: u64) -> Sizes {
        Sizes {
            raw: brotli * 3,
            gzip: brotli + brotli / 10,
            brotli,
        }
    }

    /// A pack of one package: bundle.zip 1,000 B, the stdlib zip 5,000 B, the loader 100 B,
    /// two lazy files of 300 B and 700 B.
    fn summary() -> PackSummary {
        let lazy = |path: &str, brotli: u64| LazyFile {
            install_path: path.into(),
            size: brotli * 3,
            sizes: sizes(brotli),
            sha256: String::new(),
            path: format!("immutable/lazy{path}"),
            archive: 1,
        };
        PackSummary {
            outputs: vec![
                OutputFile {
                    name: "bundle.zip".into(),
                    path: "immutable/bundle.zip".into(),
                    sizes: sizes(1_000),
                },
                OutputFile {
                    name: "python_stdlib.zip".into(),
                    path: "immutable/python_stdlib.zip".into(),
                    sizes: sizes(5_000),
                },
                OutputFile {
                    name: "loader.mjs".into(),
                    path: "immutable/loader.mjs".into(),
                    sizes: sizes(100),
                },
            ],
            siblings: Vec::new(),
            page: Vec::new(),
            page_files: Vec::new(),
            cdn_runtime: Vec::new(),
            loader: "immutable/loader.mjs".into(),
            content_named: Vec::new(),
            entry_files: Vec::new(),
            deployment: None,
            runtime_files: Vec::new(),
            transfer: pyodide_pack_pack::TransferForm::Deflate,
            packages: vec![PackageSizes {
                package: "pydantic_core".into(),
                version: Some("2.0".into()),
                source: None,
                kind: "wheel",
                files_before: 10,
                files_after: 4,
                py_before: 8,
                py_after: 3,
                so_before: 1,
                so_after: 1,
                unpacked_before: 9_000,
                unpacked_after: 3_000,
                before: sizes(2_000),
                after: sizes(1_000),
                lazy_files: 2,
                lazy: sizes(1_000),
            }],
            totals: Totals {
                files_before: 10,
                files_after: 4,
                before: sizes(7_000),
                after: sizes(6_000),
                lazy: sizes(1_000),
                lazy_files: 2,
                floor: Some(sizes(5_900)),
                reduction_gzip: 0.1,
                reduction_brotli: 0.1,
            },
            dynlibs: Vec::new(),
            lazy_files: vec![
                lazy("/lib/python3.14/site-packages/x/a.py", 300),
                lazy("/lib/python3.14/site-packages/x/b.json", 700),
            ],
            reducers: ReducerStats::default(),
            warnings: Vec::new(),
        }
    }

    fn item<'r>(report: &'r BudgetReport, label: &str) -> &'r Item {
        report
            .items
            .iter()
            .find(|i| i.label() == label)
            .unwrap_or_else(|| panic!("no {label}"))
    }

    #[test]
    fn limits_apply_to_files_aggregates_and_packages() {
        let budget = BudgetConfig {
            eager: Some(ByteLimit(6_000)),
            total: Some(ByteLimit(8_000)),
            files: [
                ("bundle.zip".to_string(), ByteLimit(2_000)),
                ("lazy/**/*.json".to_string(), ByteLimit(500)),
            ]
            .into(),
            packages: [("pydantic-core".to_string(), ByteLimit(1_500))].into(),
            ..Default::default()
        };
        let report = check_budget(&summary(), &budget, None, None).unwrap();
        assert_eq!(item(&report, "eager download").size, 6_100);
        assert_eq!(item(&report, "eager download").over, Some(100));
        assert_eq!(item(&report, "total deployment").over, None);
        assert_eq!(item(&report, "bundle.zip").over, None);
        // Only the lazy file a glob limits is an item of its own.
        let json = item(&report, "lazy/lib/python3.14/site-packages/x/b.json");
        assert_eq!(json.over, Some(200));
        assert!(!report.items.iter().any(|i| i.name.ends_with("a.py")));
        // `pydantic-core` names the `pydantic_core` package: eager 1,000 + lazy 1,000.
        assert_eq!(item(&report, "package pydantic_core").over, Some(500));
        assert_eq!(report.checked, 5);
        assert!(!report.ok);
        assert!(report.breaches().contains(
            &"eager download: 6.1 kB brotli, limit 6.0 kB ([tool.pyodide-pack.budget] eager): 100 B over (+1.7%)".to_string()
        ));
    }

    #[test]
    fn the_compression_decides_what_is_measured() {
        let budget = BudgetConfig {
            compression: Compression::Gzip,
            eager: Some(ByteLimit(6_000)),
            ..Default::default()
        };
        let report = check_budget(&summary(), &budget, None, None).unwrap();
        assert_eq!(item(&report, "eager download").size, 6_100 + 610);
        assert!(report.breaches()[0].contains(" gzip, limit "));
    }

    #[test]
    fn growth_over_a_baseline_fails_and_names_the_change() {
        let mut before = summary();
        before.outputs[0].sizes = sizes(900);
        let baseline_report = check_budget(&before, &BudgetConfig::default(), None, None).unwrap();
        let baseline = Baseline::of(&baseline_report);
        let growth = "1%".parse::<MaxGrowth>().unwrap();
        let report = check_budget(
            &summary(),
            &BudgetConfig::default(),
            Some(&baseline),
            Some(growth),
        )
        .unwrap();
        let bundle = item(&report, "bundle.zip");
        assert_eq!(bundle.baseline, Some(900));
        assert_eq!(bundle.change(), Some(100));
        assert_eq!(bundle.limit.as_ref().unwrap().bytes, 909);
        assert_eq!(
            report.breaches()[0],
            "bundle.zip: 1.0 kB brotli, limit 909 B (baseline 900 B + 1%): 91 B over (+10.0%); +100 B (+11.1%) since the baseline"
        );
        assert!(report
            .render_markdown("t")
            .contains("| ❌ | `bundle.zip` | 1.0 kB | 909 B | ▲ +100 B (+11.1%) |"));
    }

    #[test]
    fn budget_entries_that_match_nothing_are_named() {
        let budget = BudgetConfig {
            files: [("bundel.zip".to_string(), ByteLimit(1))].into(),
            packages: [("numpy".to_string(), ByteLimit(1))].into(),
            ..Default::default()
        };
        let report = check_budget(&summary(), &budget, None, None).unwrap();
        assert!(report.ok);
        assert_eq!(report.notes.len(), 2, "{:?}", report.notes);
        assert!(report.notes[0].contains("\"bundel.zip\" matches no output file"));
        assert!(report.notes[1].contains("\"numpy\": no such package"));
        assert!("x%".parse::<MaxGrowth>().is_err());
    }
}
