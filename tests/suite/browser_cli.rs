//! Browser validation (`validate --browser`, `pack --browser`) in real headless Chromium (Debian's
//! `chromium`, driven by puppeteer-core from the cache): corpus apps on the main thread and in a
//! worker, cross-origin isolation, and the failures: a module missing from the bundle, a console
//! error, a page that never finishes, a missing browser.

use crate::common;

use std::path::Path;
use std::process::{Command, Output};

use common::*;
use serde_json::Value;

fn run(command: &str, out: &Path, app: &Path, wheels: &Path, extra: &[&str]) -> Output {
    run_with_env(command, out, app, wheels, extra, &[])
}

fn run_with_env(
    command: &str,
    out: &Path,
    app: &Path,
    wheels: &Path,
    extra: &[&str],
    vars: &[(&str, &str)],
) -> Output {
    let mut args = vec![command.to_string()];
    match command {
        "pack" => {
            args.extend(env_flags(app, wheels));
            args.extend(["-o".into(), out.display().to_string()]);
        }
        _ => {
            args.push(out.display().to_string());
            args.extend(env_flags(app, wheels));
        }
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    Command::new(env!("CARGO_BIN_EXE_pyodide-pack"))
        .args(&args)
        .envs(vars.iter().copied())
        .output()
        .expect("the CLI runs")
}

/// Packs a corpus app without validation, into a new temporary folder.
fn packed(app: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    packed_with(app, &[])
}

fn packed_with(app: &str, extra: &[&str]) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("dist");
    let mut flags = vec!["--no-validate"];
    flags.extend_from_slice(extra);
    let output = run("pack", &out, &corpus_app(app), &corpus_wheels(app), &flags);
    assert!(output.status.success(), "{app}: {}", stderr(&output));
    (dir, out)
}

fn expected(app: &str) -> String {
    std::fs::read_to_string(repo().join("corpus").join(app).join("expected.txt")).unwrap()
}

/// Snapshots of human output with what varies from run to run taken out: times, the browser's
/// path, and so the table's column widths.
fn stable() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r"\d+\.\d+ s", "[t]");
    settings.add_filter(r"Chromium \([^)]*\)", "Chromium ([browser])");
    settings.add_filter(r"[─═]+", "─");
    settings.add_filter(r" +", " ");
    settings
}

#[test]
fn pydantic_packs_and_validates_in_chromium_on_the_main_thread_and_in_a_worker() {
    // A wasm extension module (pydantic-core), preloaded by loader.mjs in the browser.
    let app = "pydantic_model";
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("dist");
    let output = run(
        "pack",
        &out,
        &corpus_app(app),
        &corpus_wheels(app),
        &["--browser=both"],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    // The Node validation stays, then the browser's.
    assert!(
        text.contains("validated: 1 run(s) from the bundle"),
        "{text}"
    );
    assert!(text.contains("validated in Chromium ("), "{text}");

    let report: Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    let runs = report["validation"]["browser"]["runs"].as_array().unwrap();
    let threads: Vec<&str> = runs.iter().map(|r| r["thread"].as_str().unwrap()).collect();
    assert_eq!(threads, ["main", "worker"]);
    for run in runs {
        assert_eq!(run["label"], "app.py");
        assert_eq!(run["stdout"], expected(app).as_str());
        assert_eq!(run["isolated"], false);
        let timings = &run["timings"];
        let first = timings["first_output_ms"].as_f64().unwrap();
        assert!(first > timings["load_pyodide_ms"].as_f64().unwrap());
        assert!(timings["total_ms"].as_f64().unwrap() >= first);
        // Not cross-origin isolated: Chromium names the SharedArrayBuffer it warns about.
        let issues: Vec<&str> = run["issues"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i.as_str().unwrap())
            .collect();
        assert!(
            issues.contains(&"DeprecationIssue: SharedArrayBufferConstructedWithoutIsolation"),
            "{issues:?}"
        );
    }
    assert!(
        text.contains(
            "DevTools issues: DeprecationIssue: SharedArrayBufferConstructedWithoutIsolation"
        ),
        "{text}"
    );
}

#[test]
fn an_input_runs_in_the_browser_too_and_isolate_makes_the_page_cross_origin_isolated() {
    // msgpack's extension module, the app plus one more input, both threads, COOP/COEP on.
    let app = "msgpack_roundtrip";
    let (dir, out) = packed(app);
    let input = dir.path().join("more.py");
    std::fs::write(
        &input,
        "print(msgpack.unpackb(msgpack.packb([1, 'two'])))\n",
    )
    .unwrap();
    let output = run(
        "validate",
        &out,
        &corpus_app(app),
        &corpus_wheels(app),
        &[
            "--browser=both",
            "--isolate",
            "--input",
            input.to_str().unwrap(),
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    stable().bind(|| insta::assert_snapshot!("validate_browser_both_isolated", text));
}

#[test]
fn a_module_missing_from_the_bundle_fails_in_the_browser_naming_it() {
    let app = "tabulate_table";
    // (The per-file deflate form: the test edits the zip.)
    let (_dir, out) = packed_with(app, &["--transfer", "deflate"]);
    let bundle = deployed(&out, "bundle.zip");
    remove_from_zip(
        &bundle,
        "lib/python3.14/site-packages/tabulate/__init__.pyc",
    );
    // (Pinned again: this is about what the app does without the module, not the check.)
    repin(&out, "bundle.zip", &std::fs::read(&bundle).unwrap());
    let output = run(
        "validate",
        &out,
        &corpus_app(app),
        &corpus_wheels(app),
        &["--browser=worker"],
    );
    assert!(!output.status.success());
    let err = stderr(&output);
    assert!(
        err.contains("browser validation: the app fails in Chromium (worker, run app.py)"),
        "{err}"
    );
    assert!(
        err.contains("ModuleNotFoundError: No module named 'tabulate'"),
        "{err}"
    );
}

#[test]
fn a_console_error_fails_and_a_page_that_never_finishes_times_out_with_its_log() {
    let app = "tabulate_table";
    let (_dir, out) = packed(app);
    let loader = deployed(&out, "loader.mjs");
    let original = std::fs::read_to_string(&loader).unwrap();

    std::fs::write(
        &loader,
        format!("console.error(\"the loader broke on purpose\");\n{original}"),
    )
    .unwrap();
    let output = run(
        "validate",
        &out,
        &corpus_app(app),
        &corpus_wheels(app),
        &["--browser"],
    );
    assert!(!output.status.success());
    let err = stderr(&output);
    assert!(
        err.contains("the page reported errors in Chromium (main thread, run app.py):\nconsole error (page): the loader broke on purpose"),
        "{err}"
    );

    let manifest = manifest_line(&out);
    std::fs::write(
        &loader,
        format!("console.warn(\"about to hang\");\n{manifest}\nexport async function loadBundle() {{ await new Promise(() => {{}}); }}\n"),
    )
    .unwrap();
    let output = run(
        "validate",
        &out,
        &corpus_app(app),
        &corpus_wheels(app),
        &["--browser", "--timeout", "8"],
    );
    assert!(!output.status.success());
    let err = stderr(&output);
    assert!(
        err.contains("the page had not finished after 8 s in Chromium (main thread, run app.py); the page logged:\nconsole warn (page): about to hang"),
        "{err}"
    );
}

#[test]
fn a_missing_browser_is_a_clear_error() {
    let app = "tabulate_table";
    let (_dir, out) = packed(app);
    let output = run_with_env(
        "validate",
        &out,
        &corpus_app(app),
        &corpus_wheels(app),
        &["--browser"],
        &[("PYODIDE_PACK_CHROMIUM", "/nonexistent/chromium")],
    );
    assert!(!output.status.success());
    let err = stderr(&output);
    assert!(
        err.contains("browser validation: PYODIDE_PACK_CHROMIUM names /nonexistent/chromium, which is not an executable; install Chromium (Debian: `apt-get install chromium`) or set PYODIDE_PACK_CHROMIUM"),
        "{err}"
    );
}

#[test]
fn browser_setting_in_pyproject_turns_browser_validation_on() {
    let (dir, app, _) = scratch_app(
        "app.py",
        "import json, colorsys\nprint(json.dumps(colorsys.rgb_to_hsv(0.2, 0.4, 0.4)))\n",
    );
    std::fs::write(
        dir.path().join("pyproject.toml"),
        "[tool.pyodide-pack]\nbrowser = \"worker\"\n",
    )
    .unwrap();
    let out = dir.path().join("dist");
    let output = run("pack", &out, &app, &dir.path().join("wheels"), &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    let report: Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    let runs = report["validation"]["browser"]["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0]["thread"], "worker");
    assert_eq!(runs[0]["stdout"], "[0.5, 0.5, 0.4]\n");
}

/// Rewrites a zip without one entry (a deliberately broken bundle).
fn remove_from_zip(path: &Path, name: &str) {
    let bytes = std::fs::read(path).unwrap();
    let mut source = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut writer = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    let mut found = false;
    for i in 0..source.len() {
        let entry = source.by_index_raw(i).unwrap();
        if entry.name().unwrap() == name {
            found = true;
            continue;
        }
        writer.raw_copy_file(entry).unwrap();
    }
    writer.finish().unwrap();
    assert!(found, "{name} is not in {}", path.display());
}
