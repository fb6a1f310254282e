//! Every supported Pyodide release line, on the real npm cores of `corpus/runtimes.txt`: the
//! runtime table's rows against what each runtime says about itself in Node, the stdlib-only and
//! pure-Python corpus apps packed, validated and run with their untraced inputs on 0.27, 0.28 and
//! 0.29 (the whole corpus runs on the pinned 314 in the other suites), one of them in Chromium on
//! 0.27, a bundle refusing another release, and the offline errors of naming a runtime.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::*;
use pyodide_pack_env::{Runtime, PINNED_PYODIDE_VERSION};
use pyodide_pack_facts::{python_facts, PythonVersion};
use serde_json::Value;

/// The corpus apps with no extension module (those are built for one ABI), lightest first.
const PORTABLE_APPS: &[&str] = &[
    "stdlib_codecs",
    "computed_imports",
    "tabulate_table",
    "certifi_data",
    "zoneinfo_tzdata",
    "pytz_zones",
    "pygments_highlight",
    "sympy_solve",
];

/// Snippets whose acceptance differs between CPython 3.12, 3.13 and 3.14, or does not.
const SNIPPETS: &[&str] = &[
    "try:\n    pass\nexcept ValueError, TypeError:\n    pass\n",
    "x = t'{y}'\n",
    "x = f\"{'a' + \"b\"}\"\n",
    "type Alias = int\n",
    "def f[T](x: T) -> T:\n    return x\n",
    "match x:\n    case 1:\n        pass\n",
    "try:\n    pass\nexcept* ValueError:\n    pass\n",
    "def broken(:\n    pass\n",
];

fn cli(args: &[String]) -> Output {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    pyodide_pack(&args)
}

/// `analyze APP --wheels WHEELS EXTRA...`.
fn analyze(app: &Path, wheels: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "analyze".to_string(),
        app.display().to_string(),
        "--wheels".into(),
        wheels.display().to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    cli(&args)
}

fn older_versions() -> Vec<String> {
    runtime_versions()
        .into_iter()
        .filter(|v| v != PINNED_PYODIDE_VERSION)
        .collect()
}

fn probe(dir: &Path) -> Value {
    let tmp = tempfile::tempdir().unwrap();
    let snippets = tmp.path().join("snippets.json");
    std::fs::write(&snippets, serde_json::to_string(SNIPPETS).unwrap()).unwrap();
    let output = Command::new("node")
        .arg(repo().join("tests").join("runtime_probe.mjs"))
        .arg(dir)
        .arg(&snippets)
        .output()
        .expect("node runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(text.lines().last().unwrap()).unwrap()
}

#[test]
fn the_pinned_version_is_the_first_of_the_fetched_runtimes() {
    let versions = runtime_versions();
    assert_eq!(versions[0], PINNED_PYODIDE_VERSION);
    // One core of every supported line.
    for line in pyodide_pack_env::RELEASE_LINES {
        assert!(
            versions
                .iter()
                .any(|v| v.starts_with(&format!("{}.", line.line))),
            "no {} core in corpus/runtimes.txt",
            line.line
        );
    }
}

/// Each row of the table, and each fact read from the files, against the runtime itself.
#[test]
fn what_the_tool_reads_from_each_runtime_is_what_the_runtime_says_in_node() {
    let expected_wheels = [
        ("0.27", "pyodide_2024_0_wasm32", "pyodide.asm.js"),
        ("0.28", "pyodide_2025_0_wasm32", "pyodide.asm.js"),
        ("0.29", "pyemscripten_2025_0_wasm32", "pyodide.asm.js"),
        ("314", "pyemscripten_2026_0_wasm32", "pyodide.asm.mjs"),
    ];
    for version in runtime_versions() {
        let dir = runtime_dir_of(&version);
        let runtime = Runtime::open(&dir).unwrap();
        let facts = runtime.facts().unwrap();
        let real = probe(&dir);
        assert_eq!(runtime.version, real["version"], "{version}");
        assert_eq!(runtime.python, real["python"], "{version}");
        for name in real["frozen"].as_array().unwrap() {
            let name = name.as_str().unwrap();
            // `__phello__.__init__`-style names are the package's own module under a second key.
            if name.ends_with(".__init__") {
                continue;
            }
            assert!(
                facts.frozen_modules.contains(name),
                "{version}: {name} is frozen but not in the table"
            );
        }
        // (`collections.abc` is `_collections_abc` under a second name: provided, no file.)
        for name in real["frozen_in_sys_modules"].as_array().unwrap() {
            assert!(
                facts.is_fileless(name.as_str().unwrap()),
                "{version}: {name} came from frozen data but is not in the table"
            );
        }
        let sys_path: Vec<&str> = real["sys_path"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap())
            .collect();
        assert!(
            sys_path.contains(&runtime.stdlib_mount().as_str()),
            "{version}"
        );
        assert_eq!(runtime.site_packages(), real["site_packages"], "{version}");
        let (_, wheels, bootstrap) = expected_wheels
            .iter()
            .find(|(line, ..)| version.starts_with(&format!("{line}.")))
            .unwrap();
        assert_eq!(runtime.wheel_platform(), *wheels, "{version}");
        assert!(runtime.bootstrap_js.ends_with(bootstrap), "{version}");
        // The parser targets this CPython: it refuses what CPython refuses, accepts the rest.
        let python = runtime.python_version();
        let target = PythonVersion::from((python.major, python.minor));
        for (snippet, accepts) in SNIPPETS.iter().zip(real["accepts"].as_array().unwrap()) {
            let parsed = python_facts(snippet, target).parse_error.is_none();
            assert_eq!(
                parsed,
                accepts.as_bool().unwrap(),
                "{version}: CPython {} and the parser disagree on {snippet:?}",
                runtime.python
            );
        }
    }
}

/// Packs `app` against the runtime folder `runtime` (traced, validated in Node) into a new folder.
fn pack(app: &str, runtime: &Path, extra: &[&str]) -> (tempfile::TempDir, PathBuf, Value) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("dist");
    let mut args = vec![
        "pack".to_string(),
        corpus_app(app).display().to_string(),
        "--wheels".into(),
        corpus_wheels(app).display().to_string(),
        "--runtime".into(),
        runtime.display().to_string(),
        "-o".into(),
        out.display().to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    let output = cli(&args);
    assert!(
        output.status.success(),
        "{app} on {}: {}",
        runtime.display(),
        stderr(&output)
    );
    let report: Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    (dir, out, report)
}

/// `validate OUTDIR` with the app's untraced input: the record of the runs.
fn validate_untraced(out: &Path, app: &str, runtime: &Path, extra: &[&str]) -> Value {
    let mut args = vec![
        corpus_app(app).display().to_string(),
        "--wheels".into(),
        corpus_wheels(app).display().to_string(),
        "--runtime".into(),
        runtime.display().to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    let input = repo().join("corpus").join(app).join("untraced.py");
    validate_input_record(out, &args, &input)
}

/// Every portable corpus app on one older runtime: packed from a traced run and validated against
/// the full environment (and expected.txt); where the app has an untraced input, `validate` runs
/// the app and that input from the bundle (one validation, not `pack`'s and then `validate`'s),
/// and the input prints what the full environment prints and fetches lazy files.
fn portable_corpus_on(version: &str) {
    let runtime = runtime_dir_of(version);
    let python = Runtime::open(&runtime).unwrap().python_minor();
    for app in PORTABLE_APPS {
        let untraced = repo().join("corpus").join(app).join("untraced.py");
        let validate_later: &[&str] = if untraced.is_file() {
            &["--no-validate"]
        } else {
            &[]
        };
        let (_dir, out, report) = pack(app, &runtime, validate_later);
        assert_eq!(report["analysis"]["runtime"]["version"], version, "{app}");
        let stdlib = report["pack"]["packages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["package"] == "stdlib")
            .unwrap()["version"]
            .clone();
        assert!(
            stdlib.as_str().unwrap().starts_with(&format!("{python}.")),
            "{app}: {stdlib}"
        );
        let validation = if untraced.is_file() {
            validate_untraced(&out, app, &runtime, &[])
        } else {
            report["validation"].clone()
        };
        let runs = validation["runs"].as_array().unwrap();
        assert!(
            runs[0]["stdout"].as_str().is_some_and(|s| !s.is_empty()),
            "{app}: {validation}"
        );
        if !untraced.is_file() {
            continue;
        }
        assert_eq!(runs[1]["traced"], false, "{app}");
        // Lazy paths are this runtime's (`/lib/python3.12/...`), or the app's own.
        for fetched in runs[1]["lazy_fetched"].as_array().unwrap() {
            let path = fetched["path"].as_str().unwrap();
            assert!(
                path.starts_with(&format!("/lib/python{python}/"))
                    || path.starts_with("/home/pyodide/"),
                "{app} on {version}: {path}"
            );
        }
    }
}

#[test]
fn portable_corpus_on_the_0_27_core() {
    portable_corpus_on(&older_versions()[0]);
}

#[test]
fn portable_corpus_on_the_0_28_core() {
    portable_corpus_on(&older_versions()[1]);
}

#[test]
fn portable_corpus_on_the_0_29_core() {
    portable_corpus_on(&older_versions()[2]);
}

/// The 0.27 bundle in headless Chromium on the main thread and in a worker, with its untraced
/// input fetching lazy files by synchronous requests (MEMFS of Emscripten 3.1.58); then the same
/// bundle with a 314 runtime is refused by its loader, naming both versions.
#[test]
fn a_0_27_bundle_runs_in_chromium_and_refuses_a_314_runtime() {
    let app = "stdlib_codecs";
    let old = runtime_dir_of(&older_versions()[0]);
    let (_dir, out, report) = pack(app, &old, &["--browser=both"]);
    let runs = report["validation"]["browser"]["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2, "{}", report["validation"]["browser"]);
    let record = validate_untraced(&out, app, &old, &["--browser=both"]);
    let browser_runs = record["browser"]["runs"].as_array().unwrap();
    let untraced: Vec<&Value> = browser_runs
        .iter()
        .filter(|r| r["label"].as_str().unwrap().contains("untraced"))
        .collect();
    assert_eq!(untraced.len(), 2, "{record}");
    for run in untraced {
        assert!(!run["lazy_fetched"].as_array().unwrap().is_empty(), "{run}");
    }

    let newest = runtime_dir();
    let args = vec![
        "validate".to_string(),
        out.display().to_string(),
        corpus_app(app).display().to_string(),
        "--runtime".into(),
        newest.display().to_string(),
    ];
    let output = cli(&args);
    assert!(!output.status.success());
    let err = stderr(&output);
    let old_version = &older_versions()[0];
    assert!(
        err.contains(&format!(
            "this bundle was packed for Pyodide {old_version}, but {}",
            newest.display()
        )) && err.contains(&format!("serves Pyodide {PINNED_PYODIDE_VERSION}")),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

/// `analyze` and `why` offline on an older runtime, named by version, by config and by folder.
#[test]
fn a_runtime_is_named_by_version_by_config_or_by_folder_and_works_offline() {
    let version = &older_versions()[0];
    let (_dir, app, wheels) = scratch_app("app.py", "import json\nprint(json.dumps([1]))\n");
    let by_version = analyze(&app, &wheels, &["--pyodide", version]);
    assert!(by_version.status.success(), "{}", stderr(&by_version));
    let text = String::from_utf8_lossy(&by_version.stdout);
    assert!(
        text.contains(&format!(
            "runtime: Pyodide {version} (Python 3.12.7, wheels pyodide_2024_0_wasm32)"
        )),
        "{text}"
    );

    std::fs::write(
        app.parent().unwrap().join("pyproject.toml"),
        format!("[tool.pyodide-pack]\npyodide = \"{version}\"\n"),
    )
    .unwrap();
    let why = cli(&[
        "why".into(),
        app.display().to_string(),
        "json.decoder".into(),
        "--wheels".into(),
        wheels.display().to_string(),
    ]);
    assert!(why.status.success(), "{}", stderr(&why));
    let text = String::from_utf8_lossy(&why.stdout);
    assert!(
        text.contains("/lib/python312.zip/json/decoder.py"),
        "{text}"
    );

    let folder = runtime_dir_of(&older_versions()[2]).display().to_string();
    let by_folder = analyze(&app, &wheels, &["--runtime", &folder]);
    assert!(by_folder.status.success(), "{}", stderr(&by_folder));
    assert!(String::from_utf8_lossy(&by_folder.stdout).contains("Python 3.13"));
}

#[test]
fn an_unsupported_or_unreadable_runtime_is_one_error_naming_what_is_supported() {
    let (_dir, app, wheels) = scratch_app("app.py", "print(1)\n");
    let base = |extra: &[&str]| analyze(&app, &wheels, extra);
    for version in ["0.26.4", "latest", "0.27"] {
        let output = base(&["--pyodide", version]);
        assert_eq!(output.status.code(), Some(1), "{version}");
        let err = stderr(&output);
        assert_eq!(
            err.trim(),
            format!("error: Pyodide {version} is not supported: the tool supports Pyodide 0.27.x, 0.28.x, 0.29.x, 314.x (a release version such as 0.27.7 or 314.0.8)"),
        );
    }

    // A folder without the 0.27-0.29 bootstrap.
    let broken = tempfile::tempdir().unwrap();
    let source = runtime_dir_of(&older_versions()[0]);
    for name in [
        "pyodide-lock.json",
        "python_stdlib.zip",
        "pyodide.mjs",
        "pyodide.asm.wasm",
        "package.json",
    ] {
        std::fs::copy(source.join(name), broken.path().join(name)).unwrap();
    }
    let output = base(&["--runtime", &broken.path().display().to_string()]);
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert!(
        err.contains("it has no pyodide.asm.mjs or pyodide.asm.js (expected a Pyodide distribution folder of 0.27.x, 0.28.x, 0.29.x, 314.x)"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");

    // A release folder of an unsupported line.
    std::fs::copy(
        source.join("pyodide.asm.js"),
        broken.path().join("pyodide.asm.js"),
    )
    .unwrap();
    std::fs::write(
        broken.path().join("package.json"),
        r#"{"name": "pyodide", "version": "0.26.4"}"#,
    )
    .unwrap();
    let err = stderr(&base(&["--runtime", &broken.path().display().to_string()]));
    assert!(err.contains("Pyodide 0.26.4 is not supported"), "{err}");

    // Both ways at once.
    let output = base(&["--pyodide", "0.27.7", "--runtime", "/x"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("cannot be used with"));
}

/// Code a runtime's CPython refuses is refused by the analysis of that runtime, with the reason;
/// a wheel of another Pyodide ABI is refused naming both.
#[test]
fn syntax_and_wheels_of_a_newer_python_are_refused_on_an_older_runtime() {
    let source = "import json\ntry:\n    pass\nexcept ValueError, TypeError:\n    pass\n";
    let (_dir, app, wheels) = scratch_app("app.py", source);
    let on = |version: &str| {
        let dir = runtime_dir_of(version).display().to_string();
        analyze(&app, &wheels, &["--runtime", &dir])
    };
    assert!(on(PINNED_PYODIDE_VERSION).status.success());
    let output = on(&older_versions()[0]);
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert!(
        err.contains("app.py:4:") && err.contains("Python 3.12") && err.contains("3.14"),
        "{err}"
    );

    // A wheel tagged with the Emscripten version of 0.27's toolchain (older build tools' naming)
    // is 0.27's; on 314 it is another ABI.
    let (_dir3, app, wheels) = scratch_app("app.py", "import oldtag\nprint(oldtag.X)\n");
    write_wheel(
        &wheels.join("oldtag-1.0-cp312-cp312-emscripten_3_1_58_wasm32.whl"),
        &[("oldtag/__init__.py", b"X = 1\n")],
    );
    let on = |version: &str| analyze(&app, &wheels, &["--pyodide", version]);
    assert!(on(&older_versions()[0]).status.success());
    let refused = stderr(&on(PINNED_PYODIDE_VERSION));
    assert!(refused.contains("another Pyodide ABI"), "{refused}");

    // msgpack's real cp314 wheel, offered to 0.27.
    let (_dir2, app, _) = scratch_app("app.py", "import msgpack\n");
    let output = analyze(
        &app,
        &corpus_wheels("msgpack_roundtrip"),
        &["--pyodide", &older_versions()[0]],
    );
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert!(
        err.contains("built for pyemscripten_2026_0_wasm32, another Pyodide ABI than this runtime's (Pyodide 0.27.7: pyodide_2024_0_wasm32)"),
        "{err}"
    );
}
