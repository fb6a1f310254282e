//! `cargo bench --bench speed`: how long the tool itself takes, on the largest corpus app
//! (`sympy_solve`, 2,200 files). Medians of several runs of the release binary:
//!   - `analyze` cold (an empty cache: every archive hashed, every file parsed) and warm;
//!   - `size` warm (the cached trace and sizes: what CI runs on every change);
//!   - `pack` warm with validation: its total, the Node share (the one run of the bundle per
//!     input; the reference output comes from the cached trace) and the tool's own share;
//!   - what writing `report.html` adds to a pack.
//!
//! Goals (issue 13): warm `analyze` and `size` <= 20 ms; a warm `pack` costs one Pyodide run of
//! the bundle per input plus <= 1 s. `cargo bench --bench speed -- APP` measures another app.
//! Needs `corpus/fetch.sh` to have run.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use pyodide_pack_env::{cached_runtime_dir, CacheRoot, PINNED_PYODIDE_VERSION};
use serde_json::Value;

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(|a, b| a.total_cmp(b));
    samples[samples.len() / 2]
}

/// Runs the CLI, returning its wall time in seconds and its stdout; panics with stderr on failure.
fn timed(args: &[String], cache: Option<&Path>) -> (f64, Vec<u8>) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_pyodide-pack"));
    command.args(args);
    if let Some(cache) = cache {
        command.env("PYODIDE_PACK_CACHE", cache);
    }
    let start = Instant::now();
    let output = command.output().expect("the CLI runs");
    let seconds = start.elapsed().as_secs_f64();
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    (seconds, output.stdout)
}

fn ms(seconds: f64) -> String {
    format!("{:.1} ms", seconds * 1000.0)
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let app_name = args
        .iter()
        .find(|a| !a.starts_with("--"))
        .cloned()
        .unwrap_or_else(|| "sympy_solve".into());
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let cache = CacheRoot::from_env();
    let runtime = cached_runtime_dir(&cache, PINNED_PYODIDE_VERSION);
    let env_args = [
        repo.join("corpus")
            .join(&app_name)
            .join("app.py")
            .display()
            .to_string(),
        "--wheels".to_string(),
        cache
            .root()
            .join("corpus")
            .join(&app_name)
            .join("wheels")
            .display()
            .to_string(),
        "--runtime".to_string(),
        runtime.display().to_string(),
    ];
    let with = |command: &str, extra: &[&str]| -> Vec<String> {
        let mut all = vec![command.to_string()];
        all.extend(env_args.iter().cloned());
        all.extend(extra.iter().map(|s| s.to_string()));
        all
    };

    // analyze, cold: a fresh cache each time.
    let cold: Vec<f64> = (0..3)
        .map(|_| {
            let empty = tempfile::tempdir().unwrap();
            timed(&with("analyze", &[]), Some(empty.path())).0
        })
        .collect();
    // analyze, warm: the user's cache, after one run.
    let (_, record) = timed(&with("analyze", &["--json", "-"]), None);
    let record: Value = serde_json::from_slice(&record).unwrap();
    let files = record["files"].as_array().map(Vec::len).unwrap_or(0);
    let warm: Vec<f64> = (0..10)
        .map(|_| timed(&with("analyze", &[]), None).0)
        .collect();
    // size, warm (its first run traces if no trace is cached).
    timed(&with("size", &[]), None);
    let size: Vec<f64> = (0..10).map(|_| timed(&with("size", &[]), None).0).collect();

    // pack, warm, validated: where the time goes.
    let out = tempfile::tempdir().unwrap();
    let dist = out.path().join("dist").display().to_string();
    timed(&with("pack", &["-o", &dist]), None);
    let mut totals = Vec::new();
    let mut node = Vec::new();
    for _ in 0..3 {
        let (seconds, report) = timed(&with("pack", &["-o", &dist, "--json", "-"]), None);
        let report: Value = serde_json::from_slice(&report).unwrap();
        let bundle_runs: f64 = report["validation"]["runs"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| r["bundle"]["wall_ms"].as_f64().unwrap_or(0.0) / 1000.0)
            .sum();
        totals.push(seconds);
        node.push(bundle_runs);
    }
    // report.html: a pack without validation, with and without the page.
    let html: Vec<f64> = (0..3)
        .map(|_| timed(&with("pack", &["-o", &dist, "--no-validate"]), None).0)
        .collect();
    let no_html: Vec<f64> = (0..3)
        .map(|_| {
            timed(
                &with("pack", &["-o", &dist, "--no-validate", "--no-html"]),
                None,
            )
            .0
        })
        .collect();

    let (pack, node) = (median(totals), median(node));
    let warm = median(warm);
    println!("app: {app_name} ({files} files in the environment)");
    println!("| measure | median | note |");
    println!("| --- | --: | --- |");
    println!(
        "| analyze, cold cache | {} | {:.0} files/s |",
        ms(median(cold.clone())),
        files as f64 / median(cold)
    );
    println!(
        "| analyze, warm | {} | {:.0} files/s; goal <= 20 ms |",
        ms(warm),
        files as f64 / warm
    );
    println!("| size, warm | {} | goal <= 20 ms |", ms(median(size)));
    println!(
        "| pack, warm, validated | {} | Node (one run of the bundle) {} = {:.0}%, the tool {} = {:.0}%; goal: the tool <= 1 s |",
        ms(pack),
        ms(node),
        node * 100.0 / pack,
        ms(pack - node),
        (pack - node) * 100.0 / pack
    );
    let (html, no_html) = (median(html), median(no_html));
    println!(
        "| report.html | {} | pack --no-validate {} vs --no-html {}; goal < 0.5 s |",
        ms(html - no_html),
        ms(html),
        ms(no_html)
    );
}
