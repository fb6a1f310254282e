//! The scientific stack on real bits: numpy, scipy, scikit-learn, pandas, matplotlib and the
//! `cpython_module` package sqlite3, from the real Pyodide 0.27.7 distribution that
//! `corpus/fetch.sh` unpacks into the cache (its lock, its packages, OpenBLAS as a
//! `shared_library`). Each app of `corpus/science/` is packed from a trace of the app alone, then
//! validated in Node against the full environment and its `expected.txt` together with its
//! untraced input, which needs extension modules and files the traced run never touched (fetched
//! from the lazy tier). The scikit-learn app also runs in headless Chromium on
//! the main thread and in a worker; a bundle without `libopenblas.so` fails naming it.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::*;
use serde_json::Value;

fn app(name: &str) -> PathBuf {
    repo()
        .join("corpus")
        .join("science")
        .join(name)
        .join("app.py")
}

fn cli(args: &[String]) -> Output {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    pyodide_pack(&args)
}

/// Packs a science app against the 0.27.7 distribution into a new folder.
fn pack(name: &str, extra: &[&str]) -> (tempfile::TempDir, PathBuf, Output) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("dist");
    let mut args = vec![
        "pack".to_string(),
        app(name).display().to_string(),
        "--runtime".into(),
        distribution_dir().display().to_string(),
        "-o".into(),
        out.display().to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    let output = cli(&args);
    (dir, out, output)
}

fn report(out: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap()
}

/// `validate OUTDIR` with the app's untraced input: the runs' record.
fn validate_untraced(out: &Path, name: &str, extra: &[&str]) -> Value {
    let mut args = vec![
        app(name).display().to_string(),
        "--runtime".into(),
        distribution_dir().display().to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    validate_input_record(out, &args, &app(name).parent().unwrap().join("untraced.py"))
}

fn package<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["pack"]["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["package"] == name)
        .unwrap_or_else(|| panic!("no package {name} in the pack table"))
}

/// Packs `name` (the eager tier at the floor, only part of the extension modules shipped
/// eagerly), then validates the app and its untraced input (one validation, not `pack`'s and then
/// `validate`'s): the input fetches lazy files, including extension modules when `lazy_so` says
/// so.
fn packs_and_runs_untraced(name: &str, packages: &[&str], lazy_so: bool) -> (PathBuf, Value) {
    let (dir, out, output) = pack(name, &["--no-validate"]);
    assert!(output.status.success(), "{name}: {}", stderr(&output));
    let report = report(&out);
    assert_eq!(report["analysis"]["runtime"]["version"], "0.27.7");
    let totals = &report["pack"]["totals"];
    let (eager, floor) = (
        totals["after"]["gzip"].as_f64().unwrap(),
        totals["floor"]["gzip"].as_f64().unwrap(),
    );
    assert!(
        eager <= floor * 1.05,
        "{name}: eager {eager} vs floor {floor}"
    );
    for p in packages {
        let row = package(&report, p);
        assert_eq!(row["source"], "lock", "{name}: {p}");
    }
    let record = validate_untraced(&out, name, &[]);
    let runs = record["runs"].as_array().unwrap();
    assert_eq!(runs[0]["checked_against_expected"], true, "{name}");
    assert_eq!(runs[0]["traced"], true, "{name}");
    assert_eq!(runs[1]["traced"], false);
    let fetched = lazy_paths(&runs[1]);
    assert!(
        !fetched.is_empty(),
        "{name}: the untraced input fetched nothing"
    );
    if lazy_so {
        assert!(
            fetched.iter().any(|f| f.ends_with(".so")),
            "{name}: no extension module came from the lazy tier: {fetched:?}"
        );
    }
    std::mem::forget(dir);
    (out, report)
}

#[test]
fn scikit_learn_ridge_packs_runs_untraced_and_runs_in_chromium() {
    let (out, report) = packs_and_runs_untraced(
        "sklearn_ridge",
        &["scikit_learn", "scipy", "numpy", "openblas"],
        true,
    );
    // OpenBLAS is a shared library of the lock, kept through dylink.0 and shipped eagerly at
    // /usr/lib, loaded before the modules that need it.
    let openblas = package(&report, "openblas");
    assert_eq!(openblas["so_after"], 1, "{openblas}");
    let dynlibs = report["pack"]["dynlibs"].as_array().unwrap();
    assert_eq!(dynlibs[0], "/usr/lib/libopenblas.so", "{dynlibs:?}");
    // Only part of scipy's and scikit-learn's extension modules ship eagerly.
    for (p, all) in [("scipy", 110), ("scikit_learn", 68)] {
        let after = package(&report, p)["so_after"].as_u64().unwrap();
        assert!(after > 0 && after < all, "{p}: {after} of {all} .so eager");
    }
    let record = validate_untraced(&out, "sklearn_ridge", &["--browser=both"]);
    let browser = record["browser"]["runs"].as_array().unwrap();
    assert_eq!(browser.len(), 4, "{}", record["browser"]);
    for run in browser {
        assert!(
            run["stdout"].as_str().unwrap().starts_with("coef "),
            "{run}"
        );
    }
}

#[test]
fn pandas_packs_and_runs_untraced() {
    packs_and_runs_untraced("pandas_frame", &["pandas", "numpy"], true);
}

#[test]
fn scipy_packs_and_runs_untraced() {
    packs_and_runs_untraced("scipy_optimize", &["scipy", "numpy", "openblas"], true);
}

#[test]
fn matplotlib_packs_and_runs_untraced() {
    packs_and_runs_untraced("matplotlib_png", &["matplotlib", "numpy"], false);
}

#[test]
fn sqlite3_comes_from_the_lock_and_runs_untraced() {
    let (_out, report) = packs_and_runs_untraced("sqlite3_query", &["sqlite3"], false);
    assert!(package(&report, "sqlite3")["so_after"].as_u64().unwrap() >= 1);
}

#[test]
fn a_bundle_without_libopenblas_fails_validation_naming_it() {
    let (_dir, out, output) = pack("sklearn_ridge", &["--exclude", "libopenblas.so"]);
    assert!(!output.status.success());
    let text = stderr(&output);
    let errors: Vec<&str> = text.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{text}");
    let err = errors[0];
    assert!(
        err.contains("could not be loaded")
            && err.contains(
                "openblas-0.3.26.zip:libopenblas.so is excluded (exclude glob \"libopenblas.so\" (--exclude)), but 25 kept extension module(s) need it (dylink.0)"
            ),
        "{err}"
    );
    assert!(!out.exists(), "a failed pack leaves no output");
}

/// `import sqlite3` without the requirement: the stdlib zip lacks it, and the analysis says
/// which lock package provides it.
#[test]
fn an_import_the_lock_provides_names_the_requirement() {
    let (_dir, app, _) = scratch_app("app.py", "import sqlite3\nimport numpy\n");
    let output = cli(&[
        "analyze".into(),
        app.display().to_string(),
        "--runtime".into(),
        distribution_dir().display().to_string(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains("app.py:1: import sqlite3: `sqlite3` is not in the environment, but the runtime's lock has it: add `sqlite3` to the requirements (sqlite3 1.0.0, a stdlib module Pyodide ships apart from its stdlib zip)"),
        "{text}"
    );
    assert!(
        text.contains("app.py:2: import numpy: `numpy` is not in the environment, but the runtime's lock has it: add `numpy` to the requirements (numpy 2.0.2)"),
        "{text}"
    );
}
