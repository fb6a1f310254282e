//! Size budgets, end to end: the project's size-regression check over the corpus (what
//! `cargo bench --bench size` prints, run here so CI fails on a regression), and a corpus app
//! made to grow, which both that check and a user's `[tool.pyodide-pack.budget]` must refuse
//! with the same kind of message.

use crate::common;
#[path = "../../benches/support/size_regression.rs"]
mod baseline;

use std::path::{Path, PathBuf};

use baseline::{corpus_apps, measure, read_baseline, App};
use common::*;
use serde_json::Value;

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_pyodide-pack"))
}

fn baseline_file() -> PathBuf {
    repo().join("benches").join("baseline.json")
}

#[test]
fn every_corpus_app_is_within_the_committed_baseline() {
    let (tolerance, baselines) = read_baseline(&baseline_file());
    let apps = corpus_apps(&repo(), cache().root());
    assert!(apps.len() >= 10, "the corpus has its apps");
    let mut failures = Vec::new();
    for app in &apps {
        let baseline = baselines.get(&app.name).unwrap_or_else(|| {
            panic!(
                "{} has no baseline: cargo bench --bench size -- --save-baseline",
                app.name
            )
        });
        let measured = measure(bin(), app, Some(baseline), tolerance);
        failures.extend(measured.breaches);
    }
    assert!(
        failures.is_empty(),
        "sizes grew more than {tolerance}% over benches/baseline.json:\n{}",
        failures.join("\n")
    );
}

/// The same check on the oldest supported release, against its own baseline
/// (`cargo bench --bench size -- --pyodide=0.27.7 --save-baseline`): every app it holds (the
/// portable ones; the others' wheels are built for 314's ABI).
#[test]
fn the_portable_corpus_on_0_27_is_within_its_baseline() {
    let version = "0.27.7";
    let path = repo()
        .join("benches")
        .join(format!("baseline-pyodide-{version}.json"));
    let (tolerance, baselines) = read_baseline(&path);
    assert!(
        baselines.len() >= 8,
        "{}: the portable apps",
        path.display()
    );
    let mut failures = Vec::new();
    for mut app in corpus_apps(&repo(), cache().root()) {
        let Some(baseline) = baselines.get(&app.name) else {
            continue;
        };
        app.pyodide = Some(version.into());
        let measured = measure(bin(), &app, Some(baseline), tolerance);
        failures.extend(measured.breaches);
    }
    assert!(
        failures.is_empty(),
        "sizes grew more than {tolerance}% over {}:\n{}",
        path.display(),
        failures.join("\n")
    );
}

/// The tabulate corpus app copied into a folder of its own, with one more import.
fn grown_tabulate_app(dir: &Path) -> App {
    let source = corpus_app("tabulate_table");
    let app_dir = dir.join("tabulate_table");
    std::fs::create_dir(&app_dir).unwrap();
    let mut text = std::fs::read_to_string(&source).unwrap();
    // A stdlib package the app did not use: its modules join the eager download.
    text.push_str("\nimport xml.dom.minidom\nprint(xml.dom.minidom.parseString('<a/>').documentElement.tagName)\n");
    std::fs::write(app_dir.join("app.py"), text).unwrap();
    App {
        name: "tabulate_table".into(),
        entry: app_dir.join("app.py"),
        wheels: corpus_wheels("tabulate_table"),
        pyodide: None,
    }
}

#[test]
fn a_grown_app_fails_the_size_bench_and_the_users_budget() {
    let dir = tempfile::tempdir().unwrap();
    let app = grown_tabulate_app(dir.path());

    // The project's check: the committed baseline of the same app, 1% growth allowed.
    let (tolerance, baselines) = read_baseline(&baseline_file());
    let measured = measure(bin(), &app, baselines.get("tabulate_table"), tolerance);
    assert!(!measured.ok, "the grown app passed the bench");
    let eager = measured
        .breaches
        .iter()
        .find(|b| b.starts_with("tabulate_table: eager download: "))
        .unwrap_or_else(|| panic!("{:#?}", measured.breaches));
    assert!(
        eager.contains(&format!("+ {tolerance}%): ")) && eager.contains(" over (+"),
        "{eager}"
    );
    assert!(eager.contains(" since the baseline"), "{eager}");

    // A user's budget: the eager download of the app as it was, plus 0.5%.
    let before = baselines["tabulate_table"]["items"]["eager"]["brotli"]
        .as_u64()
        .expect("the baseline has the eager download");
    let limit = before + before / 200;
    std::fs::write(
        app.entry.parent().unwrap().join("pyproject.toml"),
        format!("[tool.pyodide-pack.budget]\neager = {limit}\nfiles = {{ \"bundle.zip*\" = \"1 MB\" }}\n"),
    )
    .unwrap();
    let markdown = dir.path().join("size.md");
    let mut args = vec!["size".to_string()];
    args.extend(env_flags(&app.entry, &app.wheels));
    args.extend(["--markdown".into(), markdown.display().to_string()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = pyodide_pack(&args);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    let breach = err
        .lines()
        .find(|l| l.starts_with("error: eager download: "))
        .unwrap_or_else(|| panic!("{err}"));
    assert!(
        breach.contains("brotli, limit ")
            && breach.contains("([tool.pyodide-pack.budget] eager): ")
            && breach.contains(" over (+"),
        "{breach}"
    );
    assert!(
        err.contains("error: size budget exceeded: 1 size(s) over their limits"),
        "{err}"
    );
    let table = std::fs::read_to_string(&markdown).unwrap();
    insta::with_settings!({filters => vec![
        (r"\d+(\.\d+)? (MB|kB|B)", "[size]"),
        (r"\d+\.\d%", "[pct]"),
        (r"\(\d+ files\)", "([n] files)"),
    ]}, {
        insta::assert_snapshot!("grown_app_markdown", table);
    });

    // `pack` checks the same budget after writing its validated output, and fails.
    let out = dir.path().join("dist");
    let mut args = vec!["pack".to_string()];
    args.extend(env_flags(&app.entry, &app.wheels));
    args.extend(["-o".into(), out.display().to_string()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = pyodide_pack(&args);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(err.contains("error: eager download: "), "{err}");
    assert!(
        err.contains(&format!("(the output in {} is written)", out.display())),
        "{err}"
    );
    let report: Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["budget"]["ok"], false);
    assert!(
        report["validation"].is_object(),
        "validated before the check"
    );
}
