//! `cargo bench --bench pack`: every corpus app packed five ways (no reducer, stripped docstrings,
//! `.pyc`, both, and `--stdlib-from-trace`), each validated, all in the per-file deflate transfer
//! form so the reducers compare as they always have (`default` adds today's defaults: `.pyc`,
//! zstd). Prints, per app and mode, the download (gzip and brotli) against
//! all wheels + the full stdlib and against the floor (only the files a run touched), and the
//! load + run time of the bundle against the full environment, both measured in the same
//! validation. Needs `corpus/fetch.sh` to have run. `cargo bench --bench pack -- MODE...` runs only
//! those modes.

use std::path::PathBuf;
use std::process::Command;

use pyodide_pack_env::{cached_runtime_dir, CacheRoot, PINNED_PYODIDE_VERSION};
use serde_json::Value;

const APPS: &[&str] = &[
    "tabulate_table",
    "pygments_highlight",
    "certifi_data",
    "pytz_zones",
    "pydantic_model",
    "msgpack_roundtrip",
    "jiter_parse",
    "stdlib_codecs",
    "sympy_solve",
];

const MODES: &[(&str, &[&str])] = &[
    ("plain", &["--no-compile-pyc", "--transfer", "deflate"]),
    (
        "strip",
        &[
            "--strip-docstrings",
            "--no-compile-pyc",
            "--transfer",
            "deflate",
        ],
    ),
    ("pyc", &["--compile-pyc", "--transfer", "deflate"]),
    (
        "strip+pyc",
        &[
            "--strip-docstrings",
            "--compile-pyc",
            "--transfer",
            "deflate",
        ],
    ),
    (
        "stdlib-tr",
        &[
            "--stdlib-from-trace",
            "--no-compile-pyc",
            "--transfer",
            "deflate",
        ],
    ),
    ("default", &[]),
];

fn kb(v: &Value) -> String {
    format!("{:.0} kB", v.as_f64().unwrap_or(0.0) / 1000.0)
}

fn main() {
    let cache = CacheRoot::from_env();
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let runtime = cached_runtime_dir(&cache, PINNED_PYODIDE_VERSION);
    assert!(runtime.is_dir(), "run corpus/fetch.sh first");
    let out = tempfile::tempdir().unwrap();
    println!(
        "{:<19} {:<9} {:>9} {:>9} {:>9} {:>9} {:>7} {:>7} {:>8} {:>8} {:>6}",
        "app",
        "mode",
        "before gz",
        "after gz",
        "after br",
        "floor gz",
        "-gz",
        "xfloor",
        "full s",
        "bundle s",
        "ratio"
    );
    let only: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    for app in APPS {
        for (mode, flags) in MODES {
            if !only.is_empty() && !only.iter().any(|m| m == mode) {
                continue;
            }
            let dist = out.path().join(format!("{app}-{mode}"));
            let output = Command::new(env!("CARGO_BIN_EXE_pyodide-pack"))
                .arg("pack")
                .arg(repo.join("corpus").join(app).join("app.py"))
                .arg("--wheels")
                .arg(cache.root().join("corpus").join(app).join("wheels"))
                .arg("--runtime")
                .arg(&runtime)
                .arg("-o")
                .arg(&dist)
                .args(*flags)
                .args(["--json", "-"])
                .output()
                .unwrap();
            if !output.status.success() {
                println!(
                    "{app:<19} {mode:<9} FAILED: {}",
                    String::from_utf8_lossy(&output.stderr)
                );
                continue;
            }
            let report: Value = serde_json::from_slice(&output.stdout).unwrap();
            let t = &report["pack"]["totals"];
            let runs = report["validation"]["runs"].as_array().unwrap();
            let full: f64 = runs
                .iter()
                .map(|r| r["full"]["wall_ms"].as_f64().unwrap())
                .sum();
            let bundle: f64 = runs
                .iter()
                .map(|r| r["bundle"]["wall_ms"].as_f64().unwrap())
                .sum();
            let after_gz = t["after"]["gzip"].as_f64().unwrap();
            println!(
                "{app:<19} {mode:<9} {:>9} {:>9} {:>9} {:>9} {:>6.1}% {:>7.2} {:>8.2} {:>8.2} {:>6.2}",
                kb(&t["before"]["gzip"]),
                kb(&t["after"]["gzip"]),
                kb(&t["after"]["brotli"]),
                kb(&t["floor"]["gzip"]),
                t["reduction_gzip"].as_f64().unwrap() * 100.0,
                after_gz / t["floor"]["gzip"].as_f64().unwrap(),
                full / 1000.0,
                bundle / 1000.0,
                bundle / full
            );
        }
    }
}
