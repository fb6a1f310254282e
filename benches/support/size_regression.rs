//! The size-regression check over the corpus, shared by `cargo bench --bench size` (which prints
//! the table and can rewrite the baseline) and `tests/suite/size_regression.rs` (which runs it in CI).
//!
//! Each app is measured with the user-facing command, `pyodide-pack size --json - --baseline B
//! --max-growth TOL`, so a regression fails with exactly the message a user's budget gives.

// Each includer uses its own part (the bench prints and rewrites, the test checks).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// The committed baseline: `benches/baseline.json`.
pub const BASELINE_SCHEMA: &str = "pyodide-pack/size-bench-1";

/// One corpus app and where its wheels are.
#[derive(Debug, Clone)]
pub struct App {
    pub name: String,
    pub entry: PathBuf,
    pub wheels: PathBuf,
    /// `--pyodide VERSION` to measure on, when not the pinned release.
    pub pyodide: Option<String>,
}

/// Every `corpus/<name>/app.py`, sorted by name.
pub fn corpus_apps(repo: &Path, cache_root: &Path) -> Vec<App> {
    let mut apps: Vec<App> = std::fs::read_dir(repo.join("corpus"))
        .expect("corpus/ is readable")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|dir| dir.join("app.py").is_file())
        .map(|dir| {
            let name = dir.file_name().unwrap().to_string_lossy().into_owned();
            App {
                entry: dir.join("app.py"),
                wheels: cache_root.join("corpus").join(&name).join("wheels"),
                name,
                pyodide: None,
            }
        })
        .collect();
    apps.sort_by(|a, b| a.name.cmp(&b.name));
    apps
}

/// `benches/baseline.json`: per app, a `pyodide-pack size --save-baseline` record.
pub fn read_baseline(path: &Path) -> (f64, BTreeMap<String, Value>) {
    let Ok(bytes) = std::fs::read(path) else {
        return (1.0, BTreeMap::new());
    };
    let value: Value = serde_json::from_slice(&bytes).expect("benches/baseline.json is JSON");
    assert_eq!(value["schema"], BASELINE_SCHEMA, "{}", path.display());
    let tolerance = value["tolerance_percent"].as_f64().unwrap_or(1.0);
    let apps = value["apps"]
        .as_object()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    (tolerance, apps)
}

pub fn write_baseline(path: &Path, tolerance: f64, apps: &BTreeMap<String, Value>) {
    let value = serde_json::json!({
        "schema": BASELINE_SCHEMA,
        "tolerance_percent": tolerance,
        "apps": apps,
    });
    let mut text = serde_json::to_string_pretty(&value).unwrap();
    text.push('\n');
    std::fs::write(path, text).expect("the baseline is writable");
}

/// What one app measured, and the breaches against its baseline.
pub struct Measured {
    /// The `size --json` record.
    pub record: Value,
    /// The baseline `size --save-baseline` wrote for this run.
    pub baseline: Value,
    /// `app: <the user-facing breach message>` per size over the tolerance.
    pub breaches: Vec<String>,
    pub ok: bool,
}

/// Measures `app` with `pyodide-pack size` (tracing like `pack` when no trace is cached), checked
/// against `baseline` with `tolerance` percent growth allowed.
pub fn measure(bin: &Path, app: &App, baseline: Option<&Value>, tolerance: f64) -> Measured {
    let scratch = tempfile::tempdir().unwrap();
    let saved = scratch.path().join("baseline.json");
    let mut args: Vec<String> = vec![
        "size".into(),
        app.entry.display().to_string(),
        "--wheels".into(),
        app.wheels.display().to_string(),
        "--json".into(),
        "-".into(),
        "--save-baseline".into(),
        saved.display().to_string(),
    ];
    if let Some(version) = &app.pyodide {
        args.extend(["--pyodide".into(), version.clone()]);
    }
    if let Some(baseline) = baseline {
        let path = scratch.path().join("previous.json");
        std::fs::write(&path, baseline.to_string()).unwrap();
        args.extend([
            "--baseline".into(),
            path.display().to_string(),
            "--max-growth".into(),
            format!("{tolerance}%"),
        ]);
    }
    let output = Command::new(bin)
        .args(&args)
        .output()
        .expect("the CLI runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let record: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!("{}: size wrote no record ({e}):\n{stderr}", app.name);
    });
    let breaches = stderr
        .lines()
        .filter_map(|l| l.strip_prefix("error: "))
        .filter(|l| !l.starts_with("size budget exceeded"))
        .map(|l| format!("{}: {l}", app.name))
        .collect();
    let saved: Value = serde_json::from_slice(&std::fs::read(&saved).unwrap()).unwrap();
    Measured {
        record,
        baseline: saved,
        breaches,
        ok: output.status.success(),
    }
}

/// `bundle.zip` etc. by name from a size record: raw, gzip, brotli. An eager zip's name matches
/// it in any transfer form (`bundle.zip.zst`, `.gz`).
pub fn sizes_of(record: &Value, key: &str) -> (u64, u64, u64) {
    let item = record["items"].as_array().into_iter().flatten().find(|i| {
        let name = i["name"].as_str().unwrap_or("");
        match key {
            "eager" | "lazy" | "total" => i["kind"] == key,
            _ => i["kind"] == "file" && (name == key || name.starts_with(&format!("{key}."))),
        }
    });
    let get = |field: &str| {
        item.and_then(|i| i["sizes"][field].as_u64())
            .unwrap_or_default()
    };
    (get("raw"), get("gzip"), get("brotli"))
}
