//! `trace` and the merged analysis, on real corpus apps under real Pyodide in Node: the exact files,
//! libraries and modules each run recorded; the runtime edges the merge adds and `why` shows;
//! inputs; hostile app sources; every failure (app raises, hangs, no Node, a wheel that does not
//! install, a bad trace file) with a clear message and no trace file left behind.

use crate::common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Output;

use common::*;
use serde_json::Value;

const SITE: &str = "/lib/python3.14/site-packages/";

fn run(args: &[String]) -> Output {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    pyodide_pack(&args)
}

/// `pyodide-pack trace` on a corpus app; returns the saved trace.
fn trace_corpus(app: &str) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("trace.json");
    let mut args = vec!["trace".to_string()];
    args.extend(env_flags(&corpus_app(app), &corpus_wheels(app)));
    args.extend(["-o".into(), out.display().to_string()]);
    let output = run(&args);
    assert!(output.status.success(), "{app}: {}", stderr(&output));
    serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap()
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

/// Files under site-packages the run opened, relative to it, in order.
fn opened_in_site_packages(run: &Value) -> Vec<String> {
    strings(&run["opened"])
        .into_iter()
        .filter_map(|p| p.strip_prefix(SITE).map(str::to_string))
        .collect()
}

/// Modules in `sys.modules` whose origin is in site-packages.
fn site_modules(run: &Value) -> BTreeSet<String> {
    run["modules"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["origin"].as_str().is_some_and(|o| o.starts_with(SITE)))
        .map(|m| m["name"].as_str().unwrap().to_string())
        .collect()
}

fn modules_with_prefix(run: &Value, prefix: &str) -> BTreeSet<String> {
    run["modules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap().to_string())
        .filter(|n| n == prefix || n.starts_with(&format!("{prefix}.")))
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn data_file_app_records_the_opened_bundle() {
    let trace = trace_corpus("certifi_data");
    assert_eq!(trace["schema"], "pyodide-pack/trace-1");
    let runs = trace["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    assert_eq!(run["label"], "app.py");
    assert_eq!(
        opened_in_site_packages(run),
        [
            "certifi/__init__.py",
            "certifi/core.py",
            "certifi/cacert.pem"
        ]
    );
    assert!(strings(&run["opened"]).contains(&"/home/pyodide/app.py".to_string()));
    assert!(strings(&run["dynlibs"]).is_empty());
    assert_eq!(site_modules(run), set(&["certifi", "certifi.core"]));
    let expected =
        std::fs::read_to_string(repo().join("corpus/certifi_data/expected.txt")).unwrap();
    assert_eq!(run["stdout"], expected.as_str());
}

#[test]
fn wasm_extension_app_records_the_library_load() {
    let trace = trace_corpus("msgpack_roundtrip");
    let run = &trace["runs"][0];
    assert_eq!(
        strings(&run["dynlibs"]),
        [format!(
            "{SITE}msgpack/_cmsgpack.cpython-314-wasm32-emscripten.so"
        )]
    );
    assert_eq!(
        site_modules(run),
        set(&[
            "msgpack",
            "msgpack._cmsgpack",
            "msgpack.exceptions",
            "msgpack.ext"
        ])
    );
    assert_eq!(
        opened_in_site_packages(run),
        [
            "msgpack/__init__.py",
            "msgpack/exceptions.py",
            "msgpack/ext.py",
            "msgpack/_cmsgpack.cpython-314-wasm32-emscripten.so"
        ]
    );
}

#[test]
fn computed_name_imports_are_recorded() {
    let trace = trace_corpus("pygments_highlight");
    let run = &trace["runs"][0];
    assert_eq!(
        site_modules(run),
        set(&[
            "pygments",
            "pygments.filter",
            "pygments.filters",
            "pygments.formatter",
            "pygments.formatters",
            "pygments.formatters._mapping",
            "pygments.formatters.html",
            "pygments.lexer",
            "pygments.lexers",
            "pygments.lexers._mapping",
            "pygments.lexers.python",
            "pygments.modeline",
            "pygments.plugin",
            "pygments.regexopt",
            "pygments.style",
            "pygments.styles",
            "pygments.styles._mapping",
            "pygments.styles.default",
            "pygments.token",
            "pygments.unistring",
            "pygments.util",
        ])
    );
    // pygments tries an optional `ctags` import: the audit hook sees the failed import too.
    let failed: Vec<&str> = run["imports"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["found"] == false)
        .map(|i| i["module"].as_str().unwrap())
        .collect();
    assert_eq!(failed, ["ctags"]);
}

#[test]
fn stdlib_codec_app_records_every_codec_module() {
    let trace = trace_corpus("stdlib_codecs");
    let run = &trace["runs"][0];
    assert_eq!(
        modules_with_prefix(run, "encodings"),
        set(&[
            "encodings",
            "encodings.aliases",
            "encodings.base64_codec",
            "encodings.cp1252",
            "encodings.idna",
            "encodings.koi8_r",
            "encodings.punycode",
            "encodings.rot_13",
            "encodings.shift_jis",
            "encodings.utf_8",
        ])
    );
    let origin = run["modules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "encodings.cp1252")
        .unwrap()["origin"]
        .clone();
    assert_eq!(origin, "/lib/python314.zip/encodings/cp1252.py");
    assert!(opened_in_site_packages(run).is_empty());
}

/// `analyze --trace --json -`: the record.
fn analyze_traced(app: &Path, wheels: &Path, extra: &[&str]) -> (Output, Option<Value>) {
    let mut args = vec!["analyze".to_string()];
    args.extend(env_flags(app, wheels));
    args.extend(extra.iter().map(|s| s.to_string()));
    args.extend(["--json".into(), "-".into()]);
    let output = run(&args);
    let record = serde_json::from_slice(&output.stdout).ok();
    (output, record)
}

fn kept_paths(record: &Value) -> BTreeSet<String> {
    record["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kept"] == true)
        .map(|f| f["path"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn merged_codec_trace_adds_runtime_edges_and_why_shows_them() {
    let app = corpus_app("stdlib_codecs");
    let wheels = corpus_wheels("stdlib_codecs");
    let (output, record) = analyze_traced(&app, &wheels, &["--fresh-trace"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let record = record.unwrap();
    let found: BTreeSet<String> = record["trace"]["found_by_trace"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap().to_string())
        .collect();
    let stdlib = |names: &[&str]| -> BTreeSet<String> {
        names
            .iter()
            .map(|n| format!("python_stdlib.zip:{n}"))
            .collect()
    };
    // encodings imports each codec by a computed name with a literal prefix: static analysis
    // reaches the whole family, so the run finds nothing it missed.
    assert_eq!(found, stdlib(&[]));
    // What the run imported is eager; the rest of the family is lazy.
    let tier_of = |path: &str| {
        record["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["archive"] == 1 && f["path"] == path)
            .map(|f| (f["tier"].clone(), f["eager_reason"].clone()))
            .unwrap()
    };
    assert_eq!(
        tier_of("encodings/cp1252.py"),
        (Value::from("eager"), Value::from("touched"))
    );
    assert_eq!(tier_of("encodings/cp850.py").0, "lazy");
    let kept = kept_paths(&record);
    assert!(kept.contains("encodings/cp1252.py"));
    let runtime_edge = record["edges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "runtime" && e["name"] == "encodings.cp1252")
        .expect("a runtime edge to encodings.cp1252");
    assert_eq!(
        runtime_edge["reason"]["text"],
        "run app.py: imported encodings.cp1252"
    );
    assert_eq!(runtime_edge["reason"]["path"], "app.py");

    // `why` shows the family that reaches it rather than the run, and the import chain otherwise.
    let mut args = vec!["why".to_string()];
    args.extend(env_flags(&app, &wheels));
    args.extend(["encodings.cp1252".into(), "--trace".into()]);
    let output = run(&args);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "python_stdlib.zip:encodings/cp1252.py is kept (/lib/python314.zip/encodings/cp1252.py)\n\
         eager (downloaded up front): a traced run touched it\n\
         root: python_stdlib.zip:encodings/__init__.py (boot set: imported by CPython while it starts)\n  \
         python_stdlib.zip:encodings/__init__.py:99: __import__('encodings.' + modname, fromlist=_import_tail, level=0)  [dynamic-family, optional, nested] -> python_stdlib.zip:encodings/cp1252.py\n\n\
         no single file's removal would drop it (several roads lead there)\n"
    );
    let mut args = vec!["why".to_string()];
    args.extend(env_flags(&app, &wheels));
    args.extend(["codecs".into(), "--trace".into()]);
    let text = String::from_utf8_lossy(&run(&args).stdout).into_owned();
    assert!(!text.contains("[runtime]"), "{text}");
}

#[test]
fn traced_data_rule_keeps_opened_data_and_include_globs() {
    let app = corpus_app("certifi_data");
    let wheels = corpus_wheels("certifi_data");
    let (output, record) = analyze_traced(&app, &wheels, &["--trace"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let record = record.unwrap();
    let kept = kept_paths(&record);
    assert!(kept.contains("certifi/cacert.pem"));
    // A data file of a kept package that no run opened stays available, in the lazy tier.
    assert!(kept.contains("certifi/py.typed"));
    let tier = |path: &str| {
        record["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["path"] == path)
            .unwrap()["tier"]
            .clone()
    };
    assert_eq!(tier("certifi/cacert.pem"), "eager");
    assert_eq!(tier("certifi/py.typed"), "lazy");
    let dropped: Vec<String> = record["trace"]["dropped_by_trace"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| {
            record["files"][id.as_u64().unwrap() as usize]["path"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert!(dropped.is_empty(), "{dropped:?}");

    let (output, record) =
        analyze_traced(&app, &wheels, &["--trace", "--include", "certifi/*.typed"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let record = record.unwrap();
    assert!(kept_paths(&record).contains("certifi/py.typed"));
    let rule = record["edges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "rule" && e["name"] == "certifi/py.typed")
        .unwrap();
    assert_eq!(
        rule["reason"]["text"],
        "include glob \"certifi/*.typed\" (--include)"
    );
}

#[test]
fn inputs_are_extra_runs_with_the_apps_globals() {
    let (dir, app, wheels) = scratch_app(
        "app.py",
        "import importlib\n\ndef load(name):\n    return importlib.import_module(name)\n\nprint(load('json').dumps([1]))\n",
    );
    let input = dir.path().join("more.py");
    std::fs::write(&input, "print(load('colorsys').rgb_to_hsv(1, 0, 0))\n").unwrap();

    let out = dir.path().join("trace.json");
    let mut args = vec!["trace".to_string()];
    args.extend(env_flags(&app, &wheels));
    args.extend([
        "--input".into(),
        input.display().to_string(),
        "-o".into(),
        out.display().to_string(),
    ]);
    let output = run(&args);
    assert!(output.status.success(), "{}", stderr(&output));
    let trace: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let runs = trace["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0]["label"], "app.py");
    assert_eq!(runs[1]["label"], "app.py + more.py");
    assert_eq!(runs[0]["stdout"], "[1]\n");
    assert_eq!(runs[1]["stdout"], "[1]\n(0.0, 1.0, 1)\n");
    assert!(modules_with_prefix(&runs[0], "colorsys").is_empty());
    assert_eq!(
        modules_with_prefix(&runs[1], "colorsys"),
        set(&["colorsys"])
    );

    // The saved trace merges with --trace-file, no run needed.
    let (output, record) = analyze_traced(&app, &wheels, &["--trace-file", out.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    let record = record.unwrap();
    assert!(kept_paths(&record).contains("colorsys.py"));
    let finding = record["trace"]["found_by_trace"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "python_stdlib.zip:colorsys.py")
        .expect("colorsys is found by the trace");
    assert_eq!(finding["run"], "app.py + more.py");
}

#[test]
fn hostile_app_source_runs_as_data() {
    let source = "# `backticks` ${not_js} </script> \"\"\" '''\n\
                  s = \"`tick` ${x} \\\"dq\\\" 'sq' \\\\ naïve ünïcödé 🐍\"\n\
                  print(s)\n\
                  print('''${`${}`}''')\n";
    let (dir, app, wheels) = scratch_app("app.py", source);
    let out = dir.path().join("trace.json");
    let mut args = vec!["trace".to_string()];
    args.extend(env_flags(&app, &wheels));
    args.extend(["-o".into(), out.display().to_string()]);
    let output = run(&args);
    assert!(output.status.success(), "{}", stderr(&output));
    let trace: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(
        trace["runs"][0]["stdout"],
        "`tick` ${x} \"dq\" 'sq' \\ naïve ünïcödé 🐍\n${`${}`}\n"
    );
}

/// A `trace` that must fail: non-zero exit, the needles in stderr, no trace file.
fn expect_trace_failure(
    app: &Path,
    wheels: &Path,
    extra: &[&str],
    envs: &[(&str, &str)],
) -> String {
    let out = app.parent().unwrap().join("trace.json");
    let mut args = vec!["trace".to_string()];
    args.extend(env_flags(app, wheels));
    args.extend(extra.iter().map(|s| s.to_string()));
    args.extend(["-o".into(), out.display().to_string()]);
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_pyodide-pack"))
        .args(&args)
        .envs(envs.iter().copied())
        .output()
        .unwrap();
    let err = stderr(&output);
    assert!(!output.status.success(), "should fail: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(!out.exists(), "no trace file is left behind");
    err
}

#[test]
fn an_app_that_raises_shows_its_traceback() {
    let (_dir, app, wheels) = scratch_app(
        "app.py",
        "def f():\n    return 1 / 0\n\nprint('before')\nf()\n",
    );
    let err = expect_trace_failure(&app, &wheels, &[], &[]);
    assert!(
        err.contains("raised an exception under Pyodide (run app.py)"),
        "{err}"
    );
    assert!(
        err.contains("File \"/home/pyodide/app.py\", line 5, in <module>"),
        "{err}"
    );
    assert!(err.contains("line 2, in f"), "{err}");
    assert!(err.contains("ZeroDivisionError: division by zero"), "{err}");
    assert!(
        !err.contains("<exec>"),
        "the runner's frames are hidden: {err}"
    );
}

#[test]
fn a_hanging_app_times_out() {
    let (_dir, app, wheels) = scratch_app("app.py", "while True:\n    pass\n");
    let err = expect_trace_failure(&app, &wheels, &["--timeout", "8"], &[]);
    assert!(err.contains("did not finish within 8 s"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

#[test]
fn missing_node_is_named() {
    let (_dir, app, wheels) = scratch_app("app.py", "print(1)\n");
    let err = expect_trace_failure(
        &app,
        &wheels,
        &[],
        &[("PYODIDE_PACK_NODE", "/nonexistent/bin/node")],
    );
    assert_eq!(
        err.trim(),
        "error: \"/nonexistent/bin/node\" was not found: install Node.js 18 or newer, or set PYODIDE_PACK_NODE to its path"
    );
}

#[test]
fn a_wheel_that_does_not_install_is_named() {
    // A file and a folder of the same name: zipfile cannot extract both.
    let (_dir, app, wheels) = scratch_app("app.py", "import clash\n");
    write_wheel(
        &wheels.join("clash-1.0-py3-none-any.whl"),
        &[
            ("clash/__init__.py", b""),
            ("clash/data", b"x"),
            ("clash/data/inner.txt", b"y"),
        ],
    );
    let err = expect_trace_failure(&app, &wheels, &[], &[]);
    assert!(
        err.contains("a wheel failed to install into Pyodide: clash-1.0-py3-none-any.whl:"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

#[test]
fn a_bad_trace_file_is_refused() {
    let (dir, app, wheels) = scratch_app("app.py", "print(1)\n");
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\"runs\": []}").unwrap();
    let (output, _) = analyze_traced(&app, &wheels, &["--trace-file", bad.to_str().unwrap()]);
    assert!(!output.status.success());
    let err = stderr(&output);
    assert!(
        err.contains("bad.json: not a usable trace file: no \"schema\""),
        "{err}"
    );
    assert!(output.stdout.is_empty());
}
