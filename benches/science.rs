//! `cargo bench --bench science`: the scientific stack on the real Pyodide 0.27.7 distribution
//! (`corpus/science/`, fetched by `corpus/fetch.sh`). Per app, in one run of this bench:
//!
//! - a plain run in Node, as a page loads such an app (benches/plain_run.mjs: `loadPyodide`,
//!   `loadPackage` of the app's requirements, the app; nothing recorded), median of 3;
//! - `pack` with validation on a warm cache (the facts, the trace and the `.pyc` cached by a
//!   first pack), median of 3, and its ratio to the plain run (goal <= 3x);
//! - the eager download against the floor (the files the traced run touched, in the same form;
//!   goal <= 1.05x) and against the full environment (every wheel + the full stdlib), gzip, and
//!   how many extension modules ship eagerly.
//!
//! Then the pack table of the scikit-learn app, as `pack` prints it, to set beside the seed
//! tool's and pyodide-pack's figures. `-- APP...` (e.g. `sklearn_ridge`): only those apps.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use pyodide_pack_env::CacheRoot;
use serde_json::Value;

const APPS: &[&str] = &[
    "sklearn_ridge",
    "pandas_frame",
    "scipy_optimize",
    "matplotlib_png",
    "sqlite3_query",
];
const RUNS: usize = 3;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn mb(bytes: f64) -> String {
    format!("{:.2} MB", bytes / 1e6)
}

fn pack(app_dir: &Path, dist: &Path, out: &Path) -> (Duration, String) {
    let start = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_pyodide-pack"))
        .arg("pack")
        .arg(app_dir.join("app.py"))
        .arg("--runtime")
        .arg(dist)
        .arg("-o")
        .arg(out)
        .output()
        .expect("the CLI runs");
    let elapsed = start.elapsed();
    assert!(
        output.status.success(),
        "pack {} failed:\n{}",
        app_dir.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    (
        elapsed,
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

fn plain_run(repo: &Path, dist: &Path, app_dir: &Path) -> Duration {
    let packages: Vec<String> = std::fs::read_to_string(app_dir.join("requirements.txt"))
        .unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| format!("package:{l}"))
        .collect();
    let start = Instant::now();
    let status = Command::new("node")
        .arg(repo.join("benches").join("plain_run.mjs"))
        .arg(dist)
        .arg(app_dir.join("app.py"))
        .args(&packages)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("node runs");
    assert!(status.success(), "plain run of {}", app_dir.display());
    start.elapsed()
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let cache = CacheRoot::from_env();
    let dist = cache.root().join("distributions").join("pyodide-0.27.7");
    assert!(
        dist.join(".complete").is_file(),
        "run corpus/fetch.sh first (no {})",
        dist.display()
    );
    let work = tempfile::tempdir().unwrap();
    println!(
        "Pyodide 0.27.7 distribution ({}), medians of {RUNS}\n",
        dist.display()
    );
    println!("| app | plain run (loadPackage + app) | pack, warm, validated | x plain run (<= 3x) | eager gzip | floor gzip | x floor (<= 1.05x) | full environment gzip | eager vs full | .so eager / all |");
    println!("| --- | --: | --: | --: | --: | --: | --: | --: | --: | --: |");
    let mut sklearn_table = None;
    for app in APPS {
        if !args.is_empty() && !args.iter().any(|a| a == app) {
            continue;
        }
        let app_dir = repo.join("corpus").join("science").join(app);
        let out = work.path().join(app);
        // Warms the caches (facts, trace, .pyc); not timed.
        pack(&app_dir, &dist, &out);
        let (mut plain, mut packs) = (Vec::new(), Vec::new());
        let mut text = String::new();
        for _ in 0..RUNS {
            plain.push(plain_run(&repo, &dist, &app_dir));
            let (elapsed, stdout) = pack(&app_dir, &dist, &out);
            packs.push(elapsed);
            text = stdout;
        }
        let report: Value =
            serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
        let totals = &report["pack"]["totals"];
        let gz = |v: &Value| v["gzip"].as_f64().unwrap_or(0.0);
        let (eager, floor, before) = (
            gz(&totals["after"]),
            gz(&totals["floor"]),
            gz(&totals["before"]),
        );
        let (mut so_after, mut so_before) = (0, 0);
        for p in report["pack"]["packages"].as_array().unwrap() {
            so_after += p["so_after"].as_u64().unwrap_or(0);
            so_before += p["so_before"].as_u64().unwrap_or(0);
        }
        let (plain, packed) = (median(plain), median(packs));
        println!(
            "| {app} | {:.1} s | {:.1} s | {:.2}x | {} | {} | {:.2}x | {} | {:.2}x | {so_after} / {so_before} |",
            plain.as_secs_f64(),
            packed.as_secs_f64(),
            packed.as_secs_f64() / plain.as_secs_f64(),
            mb(eager),
            mb(floor),
            eager / floor.max(1.0),
            mb(before),
            eager / before.max(1.0),
        );
        if *app == "sklearn_ridge" {
            sklearn_table = Some(text);
        }
    }
    if let Some(text) = sklearn_table {
        println!("\n`pyodide-pack pack corpus/science/sklearn_ridge/app.py --runtime <0.27.7 distribution>`:\n");
        println!("```\n{}```", text);
    }
}
