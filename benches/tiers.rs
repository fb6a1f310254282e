//! `cargo bench --bench tiers`: the tiered bundle over the corpus. Each app is packed (traced
//! alone, validated), then, where the app has an `untraced.py`, run from the bundle with that
//! input, which the pack never traced. Prints per app: the eager download (gzip, as shipped)
//! against the floor (the files the traced run touched), the lazy tier, the deployed total, and
//! what the untraced input fetched; then the median eager / floor ratio (goal: <= 1.1x) and how
//! many untraced inputs passed (goal: all). Needs `corpus/fetch.sh` to have run.
//! `cargo bench --bench tiers -- APP...` runs only those apps.

use std::path::{Path, PathBuf};
use std::process::Command;

use pyodide_pack_env::{cached_runtime_dir, CacheRoot, PINNED_PYODIDE_VERSION};
use serde_json::Value;

const APPS: &[&str] = &[
    "tabulate_table",
    "pygments_highlight",
    "certifi_data",
    "pytz_zones",
    "zoneinfo_tzdata",
    "pydantic_model",
    "msgpack_roundtrip",
    "jiter_parse",
    "stdlib_codecs",
    "computed_imports",
    "sympy_solve",
];

fn kb(bytes: f64) -> String {
    // `+ 0.0` turns the -0.0 an empty float sum gives into 0.
    format!("{:.0} kB", bytes / 1000.0 + 0.0)
}

fn run(args: &[String]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_pyodide-pack"))
        .args(args)
        .output()
        .expect("the CLI runs")
}

fn env_args(repo: &Path, cache: &CacheRoot, runtime: &Path, app: &str) -> Vec<String> {
    vec![
        repo.join("corpus")
            .join(app)
            .join("app.py")
            .display()
            .to_string(),
        "--wheels".into(),
        cache
            .root()
            .join("corpus")
            .join(app)
            .join("wheels")
            .display()
            .to_string(),
        "--runtime".into(),
        runtime.display().to_string(),
    ]
}

fn main() {
    let cache = CacheRoot::from_env();
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let runtime = cached_runtime_dir(&cache, PINNED_PYODIDE_VERSION);
    assert!(runtime.is_dir(), "run corpus/fetch.sh first");
    let only: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let work = tempfile::tempdir().unwrap();
    println!(
        "{:<19} {:>9} {:>9} {:>7} {:>10} {:>9} {:>11} {:>9} {:>14}",
        "app",
        "eager gz",
        "floor gz",
        "xfloor",
        "lazy files",
        "lazy gz",
        "deployed gz",
        "untraced",
        "fetched"
    );
    let mut ratios = Vec::new();
    let (mut passed, mut untraced_total) = (0, 0);
    for app in APPS
        .iter()
        .filter(|a| only.is_empty() || only.iter().any(|o| o == *a))
    {
        let out = work.path().join(app);
        let mut args = vec!["pack".to_string()];
        args.extend(env_args(&repo, &cache, &runtime, app));
        args.extend(["-o".into(), out.display().to_string()]);
        let output = run(&args);
        if !output.status.success() {
            println!(
                "{app:<19} pack failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            continue;
        }
        let report: Value =
            serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
        let totals = &report["pack"]["totals"];
        let eager = totals["after"]["gzip"].as_f64().unwrap_or(0.0);
        let floor = totals["floor"]["gzip"].as_f64().unwrap_or(0.0);
        let lazy = totals["lazy"]["gzip"].as_f64().unwrap_or(0.0);
        let ratio = eager / floor.max(1.0);
        ratios.push(ratio);
        let input = repo.join("corpus").join(app).join("untraced.py");
        let (verdict, fetched) = if input.is_file() {
            untraced_total += 1;
            let record = work.path().join(format!("{app}.validation.json"));
            let mut args = vec!["validate".to_string(), out.display().to_string()];
            args.extend(env_args(&repo, &cache, &runtime, app));
            args.extend([
                "--input".into(),
                input.display().to_string(),
                "--json".into(),
                record.display().to_string(),
            ]);
            let output = run(&args);
            if output.status.success() {
                passed += 1;
                let v: Value = serde_json::from_slice(&std::fs::read(&record).unwrap()).unwrap();
                let runs = v["runs"].as_array().cloned().unwrap_or_default();
                let last = runs.last().cloned().unwrap_or_default();
                let files = last["lazy_fetched"].as_array().cloned().unwrap_or_default();
                let bytes: f64 = files.iter().filter_map(|f| f["bytes"].as_f64()).sum();
                (
                    "pass".to_string(),
                    format!("{} / {}", files.len(), kb(bytes)),
                )
            } else {
                ("FAIL".to_string(), "-".to_string())
            }
        } else {
            ("-".to_string(), "-".to_string())
        };
        println!(
            "{:<19} {:>9} {:>9} {:>6.2}x {:>10} {:>9} {:>11} {:>9} {:>14}",
            app,
            kb(eager),
            kb(floor),
            ratio,
            totals["lazy_files"].as_u64().unwrap_or(0),
            kb(lazy),
            kb(eager + lazy),
            verdict,
            fetched
        );
    }
    ratios.sort_by(|a, b| a.total_cmp(b));
    if !ratios.is_empty() {
        let median = ratios[ratios.len() / 2];
        println!(
            "median eager / floor (gzip): {median:.2}x (range {:.2}-{:.2}x; goal <= 1.10x)",
            ratios[0],
            ratios[ratios.len() - 1]
        );
    }
    println!("untraced inputs passed: {passed} of {untraced_total}");
}
