//! Measuring what pack ships and checking it against the limits.

use globset::{Glob, GlobMatcher};
use pyodide_pack_config::{BudgetConfig, Compression};
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
    /// `bundle.zip` + `python_stdlib.zip` + `loader.mjs`: what the page downloads up front.
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

/// PEP 503 normalisation, so `pydantic_core` and `pydantic-core` name one package.
fn normalize(name: &str) -> String {
    name.to_lowercase().replace(['_', '.'], "-")
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
