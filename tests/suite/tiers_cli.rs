//! The tiered bundle on real corpus apps under real Pyodide: each app is packed from a trace of the
//! app alone, then run from the bundle with a second input the pack never traced. What that input
//! needs (codecs by name, plugins by a mapping-table string, modules by prefix + name, data by a
//! computed path, sysconfig's data module, an entry point) comes from the lazy tier; each test
//! asserts the output and the exact lazy files fetched. Also: a traced run must fetch nothing
//! lazily, a missing lazy file is a clear error, `preload`, `--no-lazy`, and the browser.

use crate::common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::{Arc, Mutex, OnceLock};

use common::*;
use serde_json::Value;

fn cli(args: Vec<String>) -> Output {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    pyodide_pack(&args)
}

/// Packs `app` (traced alone, validated) into a new folder.
fn pack(app: &Path, wheels: &Path, extra: &[&str]) -> (tempfile::TempDir, PathBuf, Value) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("dist");
    let mut args = vec!["pack".to_string()];
    args.extend(env_flags(app, wheels));
    args.extend(["-o".into(), out.display().to_string()]);
    args.extend(extra.iter().map(|s| s.to_string()));
    let output = cli(args);
    assert!(output.status.success(), "{}", stderr(&output));
    let report: Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    (dir, out, report)
}

/// The default pack of a corpus app, made once for this file (one trace, one validation); each
/// caller gets a copy of its own, since a test may break its files or write records beside it.
fn packed(app: &str) -> (tempfile::TempDir, PathBuf, Value) {
    type Pack = (tempfile::TempDir, PathBuf, Value);
    static PACKS: Mutex<BTreeMap<String, Arc<OnceLock<Pack>>>> = Mutex::new(BTreeMap::new());
    let cell = PACKS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(app.to_string())
        .or_default()
        .clone();
    let (_, out, report) = cell.get_or_init(|| pack(&corpus_app(app), &corpus_wheels(app), &[]));
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("dist");
    common::page::copy_dir(out, &copy);
    (dir, copy, report.clone())
}

/// `validate OUTDIR APP --input INPUT --json`: the validation record.
fn validate_with_input(
    out: &Path,
    app: &Path,
    wheels: &Path,
    input: &Path,
    extra: &[&str],
) -> (Output, Option<Value>) {
    let record = out.parent().unwrap().join("validation.json");
    let mut args = vec!["validate".to_string(), out.display().to_string()];
    args.extend(env_flags(app, wheels));
    args.extend([
        "--input".into(),
        input.display().to_string(),
        "--json".into(),
        record.display().to_string(),
    ]);
    args.extend(extra.iter().map(|s| s.to_string()));
    let output = cli(args);
    let value = std::fs::read(&record)
        .ok()
        .map(|b| serde_json::from_slice(&b).unwrap());
    (output, value)
}

/// Packs a corpus app from a trace of the app alone, then runs `untraced.py` from the bundle:
/// the traced run fetches nothing lazily, the untraced one prints what the full environment
/// prints and fetches exactly `lazy`.
fn untraced_input_comes_from_the_lazy_tier(app: &str, expected_stdout: &str, lazy: &[&str]) {
    let (_dir, out, report) = packed(app);
    assert_eq!(report["schema"], "pyodide-pack/pack-2");
    assert!(report["pack"]["totals"]["lazy_files"].as_u64().unwrap() > 0);
    let input = repo().join("corpus").join(app).join("untraced.py");
    let (output, record) =
        validate_with_input(&out, &corpus_app(app), &corpus_wheels(app), &input, &[]);
    assert!(output.status.success(), "{app}: {}", stderr(&output));
    let runs = record.unwrap()["runs"].as_array().unwrap().clone();
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0]["traced"], true);
    assert!(
        lazy_paths(&runs[0]).is_empty(),
        "{:?}",
        lazy_paths(&runs[0])
    );
    assert_eq!(runs[1]["traced"], false);
    let stdout = runs[1]["stdout"].as_str().unwrap();
    assert!(
        stdout.ends_with(expected_stdout),
        "{app}: {stdout:?} does not end with {expected_stdout:?}"
    );
    assert_eq!(lazy_paths(&runs[1]), lazy, "{app}");
    // People see it too.
    if !lazy.is_empty() {
        let text = String::from_utf8_lossy(&output.stdout);
        assert!(
            text.contains(&format!("fetched {} lazy file(s)", lazy.len())),
            "{text}"
        );
    }
}

#[test]
fn codecs_by_name_and_sysconfig_data_come_from_the_lazy_tier() {
    untraced_input_comes_from_the_lazy_tier(
        "stdlib_codecs",
        "b'fa\\x87ade' b'\\xbfmega'\nemscripten\n",
        &[
            "/lib/python3.14/encodings/cp850.pyc",
            "/lib/python3.14/encodings/mac_greek.pyc",
            "/lib/python3.14/sysconfig/__init__.pyc",
            "/lib/python3.14/_sysconfigdata__emscripten_wasm32-emscripten.pyc",
        ],
    );
}

#[test]
fn plugins_by_mapping_table_strings_come_from_the_lazy_tier() {
    untraced_input_comes_from_the_lazy_tier(
        "pygments_highlight",
        "RustLexer MonokaiStyle 16\n",
        &[
            "/lib/python3.14/site-packages/pygments/lexers/rust.pyc",
            "/lib/python3.14/site-packages/pygments/formatters/terminal256.pyc",
            "/lib/python3.14/site-packages/pygments/console.pyc",
            "/lib/python3.14/site-packages/pygments/styles/monokai.pyc",
        ],
    );
}

#[test]
fn zone_files_by_a_computed_path_come_from_the_lazy_tier() {
    // zoneinfo joins the zone's key onto the package "tzdata.zoneinfo" (a name literal) and
    // opens it with importlib.resources: the zone's folder package and its file.
    untraced_input_comes_from_the_lazy_tier(
        "zoneinfo_tzdata",
        "2026-01-15T08:30:00-03:00\n2026-01-15T08:30:00+10:30\n",
        &[
            "/lib/python3.14/site-packages/tzdata/zoneinfo/America/__init__.pyc",
            "/lib/python3.14/site-packages/tzdata/zoneinfo/America/Sao_Paulo",
            "/lib/python3.14/site-packages/tzdata/zoneinfo/Australia/__init__.pyc",
            "/lib/python3.14/site-packages/tzdata/zoneinfo/Australia/Adelaide",
        ],
    );
}

#[test]
fn pytz_opens_every_zone_at_import_so_all_are_eager() {
    // pytz checks each zone file exists by opening it: the traced run touched them all.
    untraced_input_comes_from_the_lazy_tier(
        "pytz_zones",
        "2026-01-15T08:30:00-03:00\n2026-01-15T08:30:00+10:30\n",
        &[],
    );
}

#[test]
fn modules_by_prefix_and_locale_data_by_path_come_from_the_lazy_tier() {
    untraced_input_comes_from_the_lazy_tier(
        "computed_imports",
        "\\paragraph{hello}\nBonjour\n",
        &[
            "/home/pyodide/writers/latex.py",
            "/home/pyodide/i18n/locale/fr.json",
        ],
    );
}

#[test]
fn a_plugin_found_through_an_entry_point_comes_from_the_lazy_tier() {
    // A distribution that declares its plugins in entry_points.txt (no real Pyodide wheel at hand
    // shows the case offline): the app loads one, the untraced input another.
    let (dir, app, wheels) = scratch_app(
        "app.py",
        "from importlib.metadata import entry_points\ndef plugin(name):\n    return entry_points(group='textkit.filters')[name].load()\nprint(plugin('upper')('hello'))\n",
    );
    write_wheel(
        &wheels.join("textkit-1.0-py3-none-any.whl"),
        &[
            ("textkit/__init__.py", b""),
            ("textkit/upper.py", b"def apply(s):\n    return s.upper()\n"),
            ("textkit/reverse.py", b"def apply(s):\n    return s[::-1]\n"),
            (
                "textkit-1.0.dist-info/METADATA",
                b"Metadata-Version: 2.1\nName: textkit\nVersion: 1.0\n",
            ),
            (
                "textkit-1.0.dist-info/WHEEL",
                b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
            ),
            (
                "textkit-1.0.dist-info/entry_points.txt",
                b"[textkit.filters]\nupper = textkit.upper:apply\nreverse = textkit.reverse:apply\n",
            ),
            ("textkit-1.0.dist-info/RECORD", b""),
        ],
    );
    let (_out_dir, out, report) = pack(&app, &wheels, &[]);
    let edges = report["analysis"]["edges"].as_array().unwrap();
    assert!(
        edges.iter().any(|e| e["kind"] == "entry-point"
            && e["name"] == "textkit.reverse"
            && e["reason"]["text"] == "reverse = textkit.reverse:apply"
            && e["reason"]["line"] == 3),
        "no entry-point edge to textkit.reverse"
    );
    let input = dir.path().join("more.py");
    std::fs::write(&input, "print(plugin('reverse')('hello'))\n").unwrap();
    let (output, record) = validate_with_input(&out, &app, &wheels, &input, &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    let runs = record.unwrap()["runs"].as_array().unwrap().clone();
    assert_eq!(runs[1]["stdout"], "HELLO\nolleh\n");
    assert_eq!(
        lazy_paths(&runs[1]),
        ["/lib/python3.14/site-packages/textkit/reverse.pyc"]
    );
}

#[test]
fn no_lazy_makes_one_self_contained_download() {
    let app = "computed_imports";
    let (_dir, out, report) = pack(&corpus_app(app), &corpus_wheels(app), &["--no-lazy"]);
    assert_eq!(report["pack"]["totals"]["lazy_files"], 0);
    assert!(!out.join("lazy").exists());
    let input = repo().join("corpus").join(app).join("untraced.py");
    let (output, record) =
        validate_with_input(&out, &corpus_app(app), &corpus_wheels(app), &input, &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    let runs = record.unwrap()["runs"].as_array().unwrap().clone();
    assert!(lazy_paths(&runs[1]).is_empty());
}

#[test]
fn preload_fetches_the_whole_lazy_tier_in_the_background() {
    let app = "computed_imports";
    let (dir, out, report) = packed(app);
    let lazy_count = report["pack"]["totals"]["lazy_files"].as_u64().unwrap();
    // Once preloaded, the lazy folder can go: the untraced input still runs.
    let script = dir.path().join("preload.mjs");
    std::fs::write(
        &script,
        format!(
            r#"import {{ loadBundle }} from {loader};
import fs from "node:fs";
const fetched = [];
let done;
const preloaded = new Promise((r) => {{ done = r; }});
const pyodide = await loadBundle({{
  indexURL: {runtime},
  lazyFetch: "preload",
  onLazyFetch: (f) => fetched.push(f),
  onLazyPreloaded: () => done(),
}});
await preloaded;
fs.rmSync({lazy}, {{ recursive: true }});
pyodide.FS.mkdirTree("/home/pyodide");
pyodide.FS.writeFile("/home/pyodide/app.py", fs.readFileSync({app}));
pyodide.runPython(`import os, sys; os.chdir("/home/pyodide"); sys.path.insert(0, "/home/pyodide")`);
pyodide.runPython(fs.readFileSync({app}, "utf8") + "\n" + fs.readFileSync({input}, "utf8"));
console.log(JSON.stringify({{ count: fetched.length, preload: fetched.every((f) => f.preload) }}));
"#,
            loader = serde_json::to_string(&format!("file://{}", out.join("loader.mjs").display()))
                .unwrap(),
            runtime = serde_json::to_string(&runtime_dir()).unwrap(),
            lazy = serde_json::to_string(&out.join("immutable/lazy")).unwrap(),
            app = serde_json::to_string(&corpus_app(app)).unwrap(),
            input = serde_json::to_string(&repo().join("corpus").join(app).join("untraced.py"))
                .unwrap(),
        ),
    )
    .unwrap();
    let output = std::process::Command::new("node")
        .arg(&script)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let text = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        text,
        format!(
            "<p>hello</p>\nHello\n\\paragraph{{hello}}\nBonjour\n{{\"count\":{lazy_count},\"preload\":true}}\n"
        )
    );
}

#[test]
fn the_lazy_tier_loads_in_chromium_on_the_main_thread_and_in_a_worker() {
    let app = "pygments_highlight";
    let (_dir, out, _) = packed(app);
    let input = repo().join("corpus").join(app).join("untraced.py");
    let (output, record) = validate_with_input(
        &out,
        &corpus_app(app),
        &corpus_wheels(app),
        &input,
        &["--browser=both"],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let runs = record.unwrap()["browser"]["runs"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(runs.len(), 4);
    for run in &runs {
        let fetched = lazy_paths(run);
        if run["label"] == "app.py" {
            assert!(fetched.is_empty(), "{fetched:?}");
        } else {
            assert_eq!(
                fetched,
                [
                    "/lib/python3.14/site-packages/pygments/lexers/rust.pyc",
                    "/lib/python3.14/site-packages/pygments/formatters/terminal256.pyc",
                    "/lib/python3.14/site-packages/pygments/console.pyc",
                    "/lib/python3.14/site-packages/pygments/styles/monokai.pyc",
                ],
                "{}",
                run["thread"]
            );
            assert!(run["stdout"]
                .as_str()
                .unwrap()
                .ends_with("RustLexer MonokaiStyle 16\n"));
        }
    }
}

#[test]
fn a_lazy_extension_module_loads_when_imported_in_chromium() {
    // msgpack's wasm extension, imported only inside a function the traced run never calls: the
    // whole package is lazy, and the untraced input loads the extension through Pyodide's own
    // path (a synchronous compile, under Chromium's 8 MiB limit for a page's main thread).
    let (dir, app, wheels) = scratch_app(
        "app.py",
        "def roundtrip(x):\n    import msgpack\n    return msgpack.unpackb(msgpack.packb(x))\nprint('ready')\n",
    );
    for wheel in wheels_in(&corpus_wheels("msgpack_roundtrip")) {
        std::fs::copy(&wheel, wheels.join(wheel.file_name().unwrap())).unwrap();
    }
    let (_out_dir, out, report) = pack(&app, &wheels, &[]);
    let so = report["analysis"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == "extension")
        .unwrap()
        .clone();
    assert_eq!(so["tier"], "lazy");
    assert!(report["pack"]["dynlibs"].as_array().unwrap().is_empty());
    let input = dir.path().join("more.py");
    std::fs::write(
        &input,
        "import sys\nprint(roundtrip([1, 'two']), sys.modules['msgpack'].Packer.__module__)\n",
    )
    .unwrap();
    let (output, record) = validate_with_input(&out, &app, &wheels, &input, &["--browser=both"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let record = record.unwrap();
    let runs = record["browser"]["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 4);
    for run in runs.iter().filter(|r| r["label"] != "app.py") {
        // The extension itself, not msgpack's pure-Python fallback.
        assert_eq!(run["stdout"], "ready\n[1, 'two'] msgpack._cmsgpack\n");
        assert!(
            lazy_paths(run).contains(&so["install_path"].as_str().unwrap().to_string()),
            "{:?}",
            lazy_paths(run)
        );
    }
}

#[test]
fn an_extension_over_the_sync_compile_limit_stays_eager() {
    // A kept side module of 9 MiB that no run loads: a page could not compile it synchronously
    // on its main thread, so it is eager and preloaded.
    let (_dir, app, wheels) = scratch_app("app.py", "import bigext\nprint(bigext.NAME)\n");
    let mut big = side_module(&[], &[], &["f"]);
    // A custom section pads the module past the limit.
    let payload = 9 * 1024 * 1024;
    let mut section = vec![0u8];
    let mut size = payload + 2;
    loop {
        let byte = (size & 0x7f) as u8;
        size >>= 7;
        section.push(if size == 0 { byte } else { byte | 0x80 });
        if size == 0 {
            break;
        }
    }
    section.extend([1, b'x']);
    section.resize(section.len() + payload, 0);
    big.extend(section);
    write_wheel(
        &wheels.join("bigext-1.0-cp314-cp314-pyemscripten_2026_0_wasm32.whl"),
        &[
            (
                "bigext/__init__.py",
                b"NAME = 'big'\ndef load():\n    from . import _big\n    return _big\n",
            ),
            ("bigext/_big.cpython-314-wasm32-emscripten.so", &big),
            (
                "bigext-1.0.dist-info/METADATA",
                b"Metadata-Version: 2.1\nName: bigext\nVersion: 1.0\n",
            ),
            ("bigext-1.0.dist-info/RECORD", b""),
        ],
    );
    let (_out_dir, out, report) = pack(&app, &wheels, &["--no-validate"]);
    let so = report["analysis"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == "extension")
        .unwrap()
        .clone();
    assert_eq!(so["tier"], "eager");
    assert_eq!(so["eager_reason"], "large-extension");
    assert_eq!(
        report["pack"]["dynlibs"],
        serde_json::json!([so["install_path"]])
    );
    let loader = std::fs::read_to_string(deployed(&out, "loader.mjs")).unwrap();
    assert!(loader.contains("bigext/_big.cpython-314-wasm32-emscripten.so"));
}

#[test]
fn an_eager_glob_puts_a_file_in_the_download() {
    let app = "computed_imports";
    let (_dir, out, report) = pack(
        &corpus_app(app),
        &corpus_wheels(app),
        &["--eager", "writers/latex.py"],
    );
    let latex = report["analysis"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "writers/latex.py")
        .unwrap()
        .clone();
    assert_eq!(latex["tier"], "eager");
    assert_eq!(
        latex["eager_reason"]["eager-glob"],
        "writers/latex.py (--eager)"
    );
    let input = repo().join("corpus").join(app).join("untraced.py");
    let (output, record) =
        validate_with_input(&out, &corpus_app(app), &corpus_wheels(app), &input, &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    let runs = record.unwrap()["runs"].as_array().unwrap().clone();
    assert_eq!(lazy_paths(&runs[1]), ["/home/pyodide/i18n/locale/fr.json"]);
}

#[test]
fn why_from_a_pack_record_names_the_tier_and_the_edge() {
    let app = "stdlib_codecs";
    let (_dir, out, _) = packed(app);
    let report = out.join("report.json");
    let why = |target: &str| {
        let mut args = vec!["why".to_string()];
        args.extend(env_flags(&corpus_app(app), &corpus_wheels(app)));
        args.extend([
            "--report".into(),
            report.display().to_string(),
            target.to_string(),
        ]);
        let output = cli(args);
        assert!(output.status.success(), "{}", stderr(&output));
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let family = "python_stdlib.zip:encodings/__init__.py:99: __import__('encodings.' + modname, fromlist=_import_tail, level=0)";
    assert_eq!(
        why("encodings.cp850"),
        format!(
            "python_stdlib.zip:encodings/cp850.py is kept (/lib/python3.14/encodings/cp850.pyc)\n\
             lazy (fetched on first read): dynamic-family from {family}\n\
             root: python_stdlib.zip:encodings/__init__.py (boot set: imported by CPython while it starts)\n  \
             {family}  [dynamic-family, optional, nested] -> python_stdlib.zip:encodings/cp850.py\n\n\
             (answered from {})\n",
            report.display()
        )
    );
    let text = why("encodings.cp1252");
    assert!(
        text.starts_with(
            "python_stdlib.zip:encodings/cp1252.py is kept (/lib/python314.zip/encodings/cp1252.py)\n\
             eager (downloaded up front): a traced run touched it\n"
        ),
        "{text}"
    );
}

#[test]
fn lazy_files_behave_like_files_and_are_fetched_once_on_first_read() {
    // The MEMFS-internals part of loader.mjs on its own: stat and listdir cost no fetch, a
    // seek-then-read works, a second read fetches nothing, importlib.resources finds the file.
    let app = "computed_imports";
    let (dir, out, _) = packed(app);
    let script = dir.path().join("lazy_fs.mjs");
    let python = r#"
import os
p = "/home/pyodide/i18n/locale/de.json"
print(os.stat(p).st_size, sorted(os.listdir("/home/pyodide/i18n/locale")))
print(repr(fetched()))
with open(p, "rb") as f:
    f.seek(3)
    print(f.read(8))
print(open(p, encoding="utf-8").read().strip())
print(fetched())
import importlib.resources
print((importlib.resources.files("writers") / "markdown.py").read_text().splitlines()[0])
print(fetched().split(",")[-1])
"#;
    std::fs::write(
        &script,
        format!(
            r#"import {{ loadBundle }} from {loader};
const fetched = [];
const pyodide = await loadBundle({{ indexURL: {runtime}, onLazyFetch: (f) => fetched.push(f.path) }});
pyodide.globals.set("fetched", () => fetched.join(","));
pyodide.runPython({python});
"#,
            loader = serde_json::to_string(&format!("file://{}", out.join("loader.mjs").display()))
                .unwrap(),
            runtime = serde_json::to_string(&runtime_dir()).unwrap(),
            python = serde_json::to_string(python).unwrap(),
        ),
    )
    .unwrap();
    let output = std::process::Command::new("node")
        .arg(&script)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "22 ['de.json', 'en.json', 'fr.json']\n''\n\
         b'reeting\"'\n\
         {\"greeting\": \"Hallo\"}\n\
         /home/pyodide/i18n/locale/de.json\n\
         def render(text):\n\
         /home/pyodide/writers/markdown.py\n"
    );
}

#[test]
fn a_traced_run_that_fetches_a_lazy_file_fails_validation() {
    // The record says the input was traced, but the pack's eager tier does not hold what it
    // needs: the eager tier must cover every traced run.
    let app = "computed_imports";
    let (_dir, out, _) = packed(app);
    let input = repo().join("corpus").join(app).join("untraced.py");
    let report_path = out.join("report.json");
    let mut report: Value = serde_json::from_slice(&std::fs::read(&report_path).unwrap()).unwrap();
    report["analysis"]["trace"]["runs"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({"label": "app.py + untraced.py", "input": input}));
    std::fs::write(&report_path, serde_json::to_vec(&report).unwrap()).unwrap();
    let (output, _) = validate_with_input(&out, &corpus_app(app), &corpus_wheels(app), &input, &[]);
    assert!(!output.status.success());
    let err = stderr(&output);
    assert!(
        err.contains("validation: run app.py + untraced.py was traced, yet from the bundle (Node) it fetched lazy file(s) /home/pyodide/writers/latex.py, /home/pyodide/i18n/locale/fr.json"),
        "{err}"
    );
}

#[test]
fn a_missing_lazy_file_is_named_by_validate_and_by_the_loader() {
    let app = "computed_imports";
    let (_dir, out, _) = packed(app);
    let path = deployed(&out, "lazy/home/pyodide/writers/latex.py");
    std::fs::remove_file(&path).unwrap();
    let missing = path.strip_prefix(&out).unwrap().display().to_string();
    // validate checks the folder against the loader's manifest before anything runs.
    let input = repo().join("corpus").join(app).join("untraced.py");
    let (output, _) = validate_with_input(&out, &corpus_app(app), &corpus_wheels(app), &input, &[]);
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert!(
        err.contains(&format!("  {missing}: missing (expected ")),
        "{err}"
    );
    // The loader, reading it: the read fails naming the path, the loader says why.
    let record = common::page::load_in_node(&out, "open('/home/pyodide/writers/latex.py').read()");
    assert_eq!(
        record["python"], "OSError: [Errno 29] I/O error: '/home/pyodide/writers/latex.py'",
        "{record}"
    );
    assert!(
        record["stderr"].as_str().unwrap().starts_with(&format!(
            "loadBundle: lazy file /home/pyodide/writers/latex.py from {}: ENOENT",
            path.display()
        )),
        "{record}"
    );
}
