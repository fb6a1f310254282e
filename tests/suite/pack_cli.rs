//! `pack` and `validate` on real corpus apps under real Pyodide in Node: every corpus app packs and
//! validates; the bundle loads through `loader.mjs` in a plain Node script; the reducers; the
//! output folder is replaced atomically; validation failures show both outputs.

use crate::common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::*;
use serde_json::Value;

fn pack(app: &Path, wheels: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["pack".to_string()];
    args.extend(env_flags(app, wheels));
    args.extend(["-o".into(), out.display().to_string()]);
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    pyodide_pack(&args)
}

/// Every file below `dir`.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

fn report(out: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap()
}

/// The names of an eager zip in any transfer form, `.pyc` named as the `.py` it was compiled
/// from (as the analysis names files).
fn source_names(out: &Path, zip: &str) -> Vec<String> {
    eager_zip_names(out, zip)
        .into_iter()
        .map(|n| match n.strip_suffix(".pyc") {
            Some(stem) => format!("{stem}.py"),
            None => n,
        })
        .collect()
}

/// Packs a corpus app with the defaults (trace + validation) and checks the output.
fn pack_corpus(app: &str) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("dist");
    let output = pack(&corpus_app(app), &corpus_wheels(app), &out, &[]);
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "{app}: {}", stderr(&output));
    // The default form: .zst zips and their decoder, named by their content; the entry files
    // and the caching rules under their own names.
    for name in [
        "bundle.zip.zst",
        "python_stdlib.zip.zst",
        "zstd-decoder.mjs",
        "loader.mjs",
    ] {
        assert!(deployed(&out, name).is_file(), "{app}: no {name}");
    }
    for name in [
        "loader.mjs",
        "index.html",
        "report.json",
        "report.html",
        "_headers",
        "deployments.json",
    ] {
        assert!(out.join(name).is_file(), "{app}: no {name}");
    }
    // The page is the report made visible: self-contained, with the record's data in it.
    let page = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        page.contains("d3-hierarchy") && !page.contains("src=\"http"),
        "{app}"
    );
    assert!(text.contains("report.json, report.html"), "{text}");
    let report = report(&out);
    assert_eq!(report["schema"], "pyodide-pack/pack-2");
    assert_eq!(report["analysis"]["schema"], "pyodide-pack/analyze-2");
    let runs = report["validation"]["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0]["checked_against_expected"], true);
    let expected =
        std::fs::read_to_string(repo().join("corpus").join(app).join("expected.txt")).unwrap();
    assert_eq!(runs[0]["stdout"], expected.as_str());
    let totals = &report["pack"]["totals"];
    for kind in ["raw", "gzip", "brotli"] {
        assert!(
            totals["after"][kind].as_u64() < totals["before"][kind].as_u64(),
            "{app}: the bundle is not smaller ({kind})"
        );
        assert!(totals["floor"][kind].as_u64() <= totals["after"][kind].as_u64());
    }
    // The table people read: one row per package, the totals, the validation verdict.
    assert!(text.contains("eager download (brotli)"), "{text}");
    assert!(text.contains("validated: 1 run(s)"), "{text}");
    // Every eager stdlib file is in the pruned stdlib and nothing else; every lazy one is in the
    // lazy folder, below the lazy stdlib folder.
    let stdlib_files = |tier: &str| -> Vec<String> {
        let mut files: Vec<String> = report["analysis"]["files"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["kept"] == true && f["archive"] == 1 && f["tier"] == tier)
            .map(|f| f["path"].as_str().unwrap().to_string())
            .collect();
        files.sort();
        files
    };
    let mut names = source_names(&out, "python_stdlib.zip");
    names.sort();
    assert_eq!(
        names,
        stdlib_files("eager"),
        "{app}: python_stdlib.zip holds the eager stdlib files"
    );
    for path in stdlib_files("lazy") {
        assert!(
            deployed(&out, &format!("lazy/lib/python3.14/{path}")).is_file()
                || deployed(&out, &format!("lazy/lib/python3.14/{path}c")).is_file(),
            "{app}: lazy {path} is not in lazy/"
        );
    }
    // A traced run fetches nothing lazily.
    assert!(runs[0]["lazy_fetched"].as_array().unwrap().is_empty());
    report
}

#[test]
fn pack_tabulate_table() {
    pack_corpus("tabulate_table");
}

#[test]
fn pack_pygments_highlight() {
    let report = pack_corpus("pygments_highlight");
    // The lexer found by name is reached statically (a name in the mapping table): the trace
    // finds nothing static analysis missed, and makes the lexer the run used eager.
    let found = report["analysis"]["trace"]["found_by_trace"]
        .as_array()
        .unwrap();
    assert!(found.is_empty(), "{found:?}");
    let lexer = report["analysis"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "pygments/lexers/python.py")
        .unwrap();
    assert_eq!(lexer["tier"], "eager");
}

#[test]
fn pack_certifi_data() {
    pack_corpus("certifi_data");
}

#[test]
fn pack_pytz_zones() {
    let report = pack_corpus("pytz_zones");
    // pytz checks every zone file exists by opening it (`resource_exists`), so the run opened
    // them all and all ship; its test module does not.
    let pytz = report["pack"]["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["package"] == "pytz")
        .unwrap()
        .clone();
    assert_eq!(
        pytz["py_after"].as_u64().unwrap() + 1,
        pytz["py_before"].as_u64().unwrap()
    );
    assert!(pytz["files_after"].as_u64().unwrap() > 590, "{pytz}");
}

#[test]
fn pack_pydantic_model() {
    let report = pack_corpus("pydantic_model");
    assert_eq!(
        report["pack"]["dynlibs"],
        serde_json::json!([
            "/lib/python3.14/site-packages/pydantic_core/_pydantic_core.cpython-314-wasm32-emscripten.so"
        ])
    );
}

#[test]
fn pack_msgpack_roundtrip() {
    pack_corpus("msgpack_roundtrip");
}

#[test]
fn pack_jiter_parse() {
    pack_corpus("jiter_parse");
}

#[test]
fn pack_stdlib_codecs() {
    let report = pack_corpus("stdlib_codecs");
    // The stdlib, and the app folder's other files (its untraced input), none of them packed.
    let packages = report["pack"]["packages"].as_array().unwrap();
    let rows: Vec<(&str, u64)> = packages
        .iter()
        .map(|p| {
            (
                p["kind"].as_str().unwrap(),
                p["files_after"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[0], ("app", 0));
    assert_eq!(rows[1].0, "stdlib");
}

#[test]
fn pack_sympy_solve() {
    pack_corpus("sympy_solve");
}

/// A page-like Node script: import loader.mjs, loadBundle, run the app's source.
#[test]
fn loader_mjs_loads_the_bundle_in_plain_node() {
    let app = "pydantic_model";
    let dir = tempfile::tempdir().unwrap();
    // A folder name with a space and a '#': paths must not be read as URLs.
    let out = dir.path().join("my dist #1");
    let output = pack(
        &corpus_app(app),
        &corpus_wheels(app),
        &out,
        &["--no-validate"],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let script = dir.path().join("page.mjs");
    std::fs::write(
        &script,
        r#"
import fs from "node:fs";
import { pathToFileURL } from "node:url";
const [loaderPath, runtime, appPath] = process.argv.slice(2);
const { loadBundle } = await import(pathToFileURL(loaderPath).href);
let out = "";
let timings = null;
const pyodide = await loadBundle({ indexURL: runtime, stdout: (s) => { out += s + "\n"; }, timings: (t) => { timings = t; } });
const preloaded = Object.keys(pyodide._module.LDSO.loadedLibsByName).filter((k) => k.endsWith(".so"));
pyodide.runPython(fs.readFileSync(appPath, "utf8"));
process.stdout.write(JSON.stringify({ out, preloaded, timings }));
"#,
    )
    .unwrap();
    let result = Command::new("node")
        .arg(&script)
        .arg(out.join("loader.mjs"))
        .arg(runtime_dir())
        .arg(corpus_app(app))
        .output()
        .unwrap();
    assert!(result.status.success(), "{}", stderr(&result));
    let value: Value = serde_json::from_slice(&result.stdout).unwrap();
    let expected =
        std::fs::read_to_string(repo().join("corpus").join(app).join("expected.txt")).unwrap();
    assert_eq!(value["out"], expected.as_str());
    assert_eq!(
        value["preloaded"],
        serde_json::json!([
            "/lib/python3.14/site-packages/pydantic_core/_pydantic_core.cpython-314-wasm32-emscripten.so"
        ])
    );
    for key in ["load_pyodide_ms", "fetch_unpack_ms", "dynlibs_ms"] {
        assert!(value["timings"][key].as_f64().is_some(), "{key}");
    }

    // Without indexURL in Node: a clear error, not a crash deep inside Pyodide.
    std::fs::write(
        &script,
        "import { pathToFileURL } from 'node:url';\nconst { loadBundle } = await import(pathToFileURL(process.argv[2]).href);\ntry { await loadBundle(); } catch (e) { console.log(e.message); }\n",
    )
    .unwrap();
    let result = Command::new("node")
        .arg(&script)
        .arg(out.join("loader.mjs"))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&result.stdout).trim(),
        "loadBundle: indexURL (the folder holding pyodide.mjs) is required in Node"
    );
}

#[test]
fn reducers_strip_docstrings_and_compile_pyc() {
    // A wheel whose module reads its own __doc__ (usage text): its docstring must stay.
    let dir = tempfile::tempdir().unwrap();
    let wheels = dir.path().join("wheels");
    std::fs::create_dir(&wheels).unwrap();
    for w in wheels_in(&corpus_wheels("tabulate_table")) {
        std::fs::copy(&w, wheels.join(w.file_name().unwrap())).unwrap();
    }
    write_wheel(
        &wheels.join("usage-1.0-py3-none-any.whl"),
        &[
            (
                "usage/__init__.py",
                b"\"\"\"Usage: usage [--flag]\"\"\"\n\ndef text():\n    return __doc__\n",
            ),
            (
                "usage/helpers.py",
                b"\"\"\"Helpers.\"\"\"\n\ndef helper():\n    \"\"\"Docs\n    on two lines.\"\"\"\n    return helper.__name__\n",
            ),
            (
                "usage-1.0.dist-info/METADATA",
                b"Metadata-Version: 2.1\nName: usage\nVersion: 1.0\n",
            ),
        ],
    );
    let app = dir.path().join("app.py");
    std::fs::write(
        &app,
        "import usage, usage.helpers\nfrom tabulate import tabulate\nprint(usage.text())\nprint(usage.helpers.helper(), usage.helpers.helper.__doc__)\nprint(tabulate([[1, 2]], headers=['a', 'b']))\n",
    )
    .unwrap();
    let out = dir.path().join("dist");

    // app.py reads another module's docstring: no rule can see that, validation does.
    let output = pack(&app, &wheels, &out, &["--strip-docstrings"]);
    assert!(!output.status.success());
    let err = stderr(&output);
    assert!(
        err.contains(
            "--- the full environment\nUsage: usage [--flag]\nhelper Docs\non two lines.\n"
        ),
        "{err}"
    );
    assert!(
        err.contains("--- bundle\nUsage: usage [--flag]\nhelper None\n"),
        "{err}"
    );

    // The config's exclude list keeps that module's docstrings; the reducers come from it too.
    std::fs::write(
        dir.path().join("pyproject.toml"),
        "[tool.pyodide-pack]\nstrip-docstrings = true\ncompile-pyc = true\ndocstring-exclude = [\"usage.helpers\"]\n",
    )
    .unwrap();
    let output = pack(&app, &wheels, &out, &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    let report = report(&out);
    let runs = report["validation"]["runs"].as_array().unwrap();
    assert_eq!(
        runs[0]["stdout"],
        "Usage: usage [--flag]\nhelper Docs\non two lines.\n  a    b\n---  ---\n  1    2\n"
    );
    let reducers = &report["pack"]["reducers"];
    assert!(reducers["docstrings_stripped"].as_u64().unwrap() > 100);
    let kept: Vec<&str> = reducers["docstrings_kept"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        kept.contains(&"usage-1.0-py3-none-any.whl:usage/__init__.py: reads __doc__"),
        "{kept:?}"
    );
    assert!(
        kept.contains(
            &"usage-1.0-py3-none-any.whl:usage/helpers.py: excluded in docstring-exclude"
        ),
        "{kept:?}"
    );
    // Only byte-code ships for the wheels and the stdlib.
    let bundle = eager_zip_names(&out, "bundle.zip");
    assert!(bundle.contains(&"lib/python3.14/site-packages/usage/__init__.pyc".to_string()));
    assert!(!bundle.iter().any(|n| n.ends_with(".py")), "{bundle:?}");
    let stdlib = eager_zip_names(&out, "python_stdlib.zip");
    assert!(stdlib.contains(&"encodings/__init__.pyc".to_string()));
    assert!(!stdlib.iter().any(|n| n.ends_with(".py")));
    let lazy_pyc = walk(&out.join("immutable/lazy"))
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "pyc"))
        .count();
    assert_eq!(
        reducers["pyc_files"].as_u64().unwrap() as usize,
        bundle
            .iter()
            .chain(&stdlib)
            .filter(|n| n.ends_with(".pyc"))
            .count()
            + lazy_pyc
    );
}

#[test]
fn a_failed_pack_leaves_the_previous_output_and_a_foreign_folder_is_refused() {
    let app = "certifi_data";
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("dist");
    let output = pack(
        &corpus_app(app),
        &corpus_wheels(app),
        &out,
        &["--no-validate"],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let before = eager_zip(&out, "bundle.zip");

    // The same app with its bundle file excluded: validation fails, showing the traceback.
    let output = pack(
        &corpus_app(app),
        &corpus_wheels(app),
        &out,
        &["--exclude", "certifi/cacert.pem"],
    );
    assert!(!output.status.success());
    let err = stderr(&output);
    assert!(
        err.contains("validation: the app fails when run from the bundle (run app.py)"),
        "{err}"
    );
    assert!(err.contains("FileNotFoundError"), "{err}");
    assert_eq!(eager_zip(&out, "bundle.zip"), before);
    let leftovers: Vec<PathBuf> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p != &out)
        .collect();
    assert!(
        leftovers.is_empty(),
        "no staging folder left: {leftovers:?}"
    );

    // A folder pyodide-pack did not write is never replaced.
    let foreign = dir.path().join("mine");
    std::fs::create_dir(&foreign).unwrap();
    std::fs::write(foreign.join("notes.txt"), "keep me").unwrap();
    let output = pack(
        &corpus_app(app),
        &corpus_wheels(app),
        &foreign,
        &["--no-validate"],
    );
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("exists and was not written by pyodide-pack"),
        "{}",
        stderr(&output)
    );
    assert_eq!(
        std::fs::read_to_string(foreign.join("notes.txt")).unwrap(),
        "keep me"
    );
}

#[test]
fn different_output_fails_validation_with_both_outputs() {
    // The app checks for a data file it never opens; an exclude glob drops it, so the bundle's
    // output differs from the full environment's.
    let (dir, app, _) = scratch_app(
        "app.py",
        "import os, certifi\nprint(os.path.exists(os.path.join(os.path.dirname(certifi.__file__), 'py.typed')))\n",
    );
    let out = dir.path().join("dist");
    let output = pack(
        &app,
        &corpus_wheels("certifi_data"),
        &out,
        &["--exclude", "certifi/py.typed"],
    );
    assert!(!output.status.success());
    let err = stderr(&output);
    assert!(
        err.contains(
            "validation: the app's output from the bundle differs from the full environment (run app.py)\n--- the full environment\nTrue\n--- bundle\nFalse\n"
        ),
        "{err}"
    );
    assert!(!out.exists());

    // Without the glob the file is in the lazy tier: it exists, unread. `validate` then checks
    // the folder on its own.
    let output = pack(&app, &corpus_wheels("certifi_data"), &out, &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    let mut args = vec!["validate".to_string(), out.display().to_string()];
    args.extend(env_flags(&app, &corpus_wheels("certifi_data")));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = pyodide_pack(&args);
    assert!(output.status.success(), "{}", stderr(&output));
    let mut text = String::new();
    output.stdout.as_slice().read_to_string(&mut text).unwrap();
    assert!(
        text.starts_with(
            "validated: 1 run(s) from the bundle print the same output as the full environment\n"
        ),
        "{text}"
    );
}

/// The Node scripts a command started (their file names, in order), seen through
/// `PYODIDE_PACK_NODE` set to a script that notes each one and runs `node`.
fn node_scripts_of(args: &[String], dir: &Path) -> Vec<String> {
    let log = dir.join("node-scripts.log");
    let _ = std::fs::remove_file(&log);
    let wrapper = dir.join("node-noting-scripts.sh");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nbasename \"$1\" >> '{}'\nexec node \"$@\"\n",
            log.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(
        &wrapper,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_pyodide-pack"))
        .args(args)
        .env("PYODIDE_PACK_NODE", &wrapper)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    std::fs::read_to_string(&log)
        .unwrap_or_default()
        .lines()
        .map(String::from)
        .collect()
}

/// `validate --input` runs the full environment for an input the pack did not trace once, and
/// keeps that reference run in the cache as traces are kept: validating again starts Pyodide only
/// to run the bundle. The app alone's reference is the pack's own traced run.
#[test]
fn validate_keeps_the_reference_run_of_an_input_the_pack_did_not_trace() {
    // An app no earlier test run packed: nothing of it is in the cache yet.
    let nonce = format!(
        "{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let (dir, app, wheels) = scratch_app(
        "app.py",
        &format!("import json\nRUN = {nonce:?}\nprint(json.dumps([RUN]))\n"),
    );
    let input = dir.path().join("more.py");
    std::fs::write(
        &input,
        "import difflib\nprint(difflib.SequenceMatcher(None, 'pack', 'back').ratio())\n",
    )
    .unwrap();
    let out = dir.path().join("dist");
    let output = pack(&app, &wheels, &out, &[]);
    assert!(output.status.success(), "{}", stderr(&output));

    let record = dir.path().join("validation.json");
    let mut args = vec!["validate".to_string(), out.display().to_string()];
    args.extend(env_flags(&app, &wheels));
    args.extend(["--input".into(), input.display().to_string()]);
    args.extend(["--json".into(), record.display().to_string()]);
    let first = node_scripts_of(&args, dir.path());
    assert_eq!(
        first,
        ["run_bundle.mjs", "run_app.mjs", "run_bundle.mjs"],
        "the app alone's reference comes from the trace, the input's is run"
    );
    let runs = |record: &Path| -> Vec<String> {
        let record: Value = serde_json::from_slice(&std::fs::read(record).unwrap()).unwrap();
        record["runs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["stdout"].as_str().unwrap().to_string())
            .collect()
    };
    let printed = runs(&record);
    let app_printed = format!("[\"{nonce}\"]\n");
    assert_eq!(printed, [app_printed.clone(), app_printed + "0.75\n"]);

    // The same input from another folder (the run sees only its name) is the same reference.
    let elsewhere = tempfile::tempdir().unwrap();
    let moved = elsewhere.path().join("more.py");
    std::fs::copy(&input, &moved).unwrap();
    let last = args.len() - 3;
    args[last] = moved.display().to_string();
    let second = node_scripts_of(&args, dir.path());
    assert_eq!(second, ["run_bundle.mjs", "run_bundle.mjs"]);
    assert_eq!(runs(&record), printed);
}

#[test]
fn the_apps_own_modules_and_data_ship_in_the_bundle() {
    let (dir, app, wheels) = scratch_app(
        "main.py",
        "import helper\nfrom shapes import area\nprint(helper.greet('bundle'), area(3))\n",
    );
    std::fs::write(
        dir.path().join("helper.py"),
        "def greet(who):\n    return f'hello {who}'\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("unused.py"), "import this\n").unwrap();
    let package = dir.path().join("shapes");
    std::fs::create_dir(&package).unwrap();
    std::fs::write(
        package.join("__init__.py"),
        "from pathlib import Path\nFACTOR = float((Path(__file__).parent / 'factor.txt').read_text())\n\ndef area(r):\n    return round(FACTOR * r * r, 2)\n",
    )
    .unwrap();
    std::fs::write(package.join("factor.txt"), "3.14159").unwrap();
    std::fs::write(package.join("notes.txt"), "never read").unwrap();
    let out = dir.path().join("dist");
    let output = pack(&app, &wheels, &out, &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    let report = report(&out);
    assert_eq!(
        report["validation"]["runs"][0]["stdout"],
        "hello bundle 28.27\n"
    );
    let mut bundle = eager_zip_names(&out, "bundle.zip");
    bundle.sort();
    assert_eq!(
        bundle,
        [
            "home/pyodide/helper.py",
            "home/pyodide/shapes/__init__.py",
            "home/pyodide/shapes/factor.txt"
        ]
    );
}

#[test]
fn stdlib_from_trace_keeps_only_what_runs_touched() {
    let app = "certifi_data";
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("dist");
    let output = pack(
        &corpus_app(app),
        &corpus_wheels(app),
        &out,
        // (Sources: the floor is the touched sources, and the check is that nothing else ships.)
        &[
            "--stdlib-from-trace",
            "--include",
            "colorsys.py",
            "--no-compile-pyc",
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let report = report(&out);
    assert_eq!(report["validation"]["runs"].as_array().unwrap().len(), 1);
    // The pruned stdlib is exactly the stdlib files some run touched, plus the include glob.
    let analysis = &report["analysis"];
    let touched_stdlib: std::collections::BTreeSet<String> = analysis["edges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "runtime")
        .map(|e| &analysis["files"][e["to"].as_u64().unwrap() as usize])
        .filter(|f| f["archive"] == 1 && f["kind"] != "bytecode")
        .map(|f| f["path"].as_str().unwrap().to_string())
        .chain(["colorsys.py".to_string()])
        .collect();
    let names: std::collections::BTreeSet<String> = source_names(&out, "python_stdlib.zip")
        .into_iter()
        .collect();
    assert_eq!(names, touched_stdlib);
    assert!(!names.contains("argparse.py") && !names.contains("_pyrepl/reader.py"));
    let totals = &report["pack"]["totals"];
    let ratio =
        totals["after"]["gzip"].as_f64().unwrap() / totals["floor"]["gzip"].as_f64().unwrap();
    assert!(ratio < 1.05, "the bundle is at its floor: {ratio}");

    // Without a trace there is nothing to keep the stdlib to: a clear error, nothing written.
    let other = dir.path().join("other");
    let output = pack(
        &corpus_app(app),
        &corpus_wheels(app),
        &other,
        &["--stdlib-from-trace", "--no-trace"],
    );
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("--stdlib-from-trace needs a trace"),
        "{}",
        stderr(&output)
    );
    assert!(!other.exists());
}

#[test]
fn staging_folders_of_killed_packs_are_removed_and_live_ones_kept() {
    let (dir, app, _) = scratch_app("app.py", "import json\nprint(json.dumps(1))\n");
    let out = dir.path().join("dist");
    // What a SIGKILL leaves: a staging folder whose process is gone; and one of a live process.
    let dead = dir.path().join(".dist.pyodide-pack-4000000000");
    let live = dir
        .path()
        .join(format!(".dist.pyodide-pack-{}", std::process::id()));
    for folder in [&dead, &live] {
        std::fs::create_dir(folder).unwrap();
        std::fs::write(folder.join("bundle.zip"), b"half written").unwrap();
    }
    let output = pack(
        &app,
        &dir.path().join("wheels"),
        &out,
        &["--no-trace", "--no-validate"],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(!dead.exists(), "the dead pack's staging folder is gone");
    assert!(live.exists(), "a live process's staging folder stays");
}

/// A child of process `pid` whose command line contains `needle`.
fn child_running(pid: u32, needle: &str) -> Option<u32> {
    let entries = std::fs::read_dir("/proc").ok()?;
    entries.filter_map(|e| e.ok()).find_map(|entry| {
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        // pid (comm) state ppid ...: the fields after the last ')'.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let child = entry.file_name().to_str()?.parse::<u32>().ok()?;
        (ppid == Some(pid) && String::from_utf8_lossy(&cmdline).contains(needle)).then_some(child)
    })
}

fn children_running(pid: u32, needle: &str) -> bool {
    child_running(pid, needle).is_some()
}

/// `pyodide-pack pack APP -o OUT EXTRA...` over the scratch app's wheels, to spawn.
fn pack_command(app: &Path, wheels: &Path, out: &Path, extra: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_pyodide-pack"));
    command
        .arg("pack")
        .args(env_flags(app, wheels))
        .arg("-o")
        .arg(out)
        .args(extra);
    command
}

/// Ctrl-C in a terminal: SIGINT to the whole foreground process group, the tool and its Node
/// child at once, while `script` runs. The pack ends at once, says "interrupted", exits 130 and
/// leaves no output and no staging folder.
fn interrupt_pack_during(script: &str, extra: &[&str]) {
    use std::os::unix::process::CommandExt;
    let (dir, app, wheels) = scratch_app("app.py", "import json\nprint(json.dumps([1, 2]))\n");
    let out = dir.path().join("dist");
    let mut child = pack_command(&app, &wheels, &out, extra)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap();
    let pid = child.id();
    let start = std::time::Instant::now();
    while !children_running(pid, script) {
        assert!(
            start.elapsed().as_secs() < 120,
            "{script} never started; pack ended with {:?}",
            child.try_wait()
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let signalled = std::time::Instant::now();
    assert!(pid > 1, "a real process group, never -1 (every process)");
    // SAFETY: kill(2) with a negative pid signals exactly that process group, the pack's own.
    let sent = unsafe { libc::kill(-(pid as libc::pid_t), libc::SIGINT) };
    assert_eq!(sent, 0);
    let output = child.wait_with_output().unwrap();
    let took = signalled.elapsed();
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(130), "{err}");
    assert_eq!(
        err.trim().lines().last(),
        Some("error: interrupted"),
        "{err}"
    );
    assert!(!err.contains("harness failed"), "{err}");
    assert!(took.as_secs_f64() < 1.5, "ended {took:?} after Ctrl-C");
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains("dist"))
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn ctrl_c_during_the_trace_says_interrupted_and_leaves_nothing() {
    interrupt_pack_during("run_app.mjs", &["--fresh-trace"]);
}

#[test]
fn ctrl_c_during_validation_says_interrupted_and_leaves_nothing() {
    interrupt_pack_during("run_bundle.mjs", &["--no-trace"]);
}

/// A pack killed outright (SIGKILL: no chance to end its children) while an endless app runs:
/// its Node run notices that its parent is gone and ends too, instead of spinning for ever.
#[test]
fn a_node_run_ends_when_the_pack_that_started_it_is_killed() {
    let (dir, app, wheels) = scratch_app("app.py", "while True:\n    pass\n");
    let out = dir.path().join("dist");
    let mut pack = pack_command(&app, &wheels, &out, &["--fresh-trace"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    let node = loop {
        if let Some(node) = child_running(pack.id(), "run_app.mjs") {
            break node;
        }
        assert!(start.elapsed().as_secs() < 120, "run_app.mjs never started");
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    // (Python is running the endless loop by the time its output would come: give it a moment.)
    std::thread::sleep(std::time::Duration::from_secs(2));
    pack.kill().unwrap();
    pack.wait().unwrap();
    let killed = std::time::Instant::now();
    let proc = std::path::PathBuf::from(format!("/proc/{node}"));
    // (A zombie's stat says Z; the init that adopted it reaps it.)
    let alive = || {
        std::fs::read_to_string(proc.join("stat"))
            .map(|stat| {
                !stat
                    .rsplit_once(')')
                    .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'))
            })
            .unwrap_or(false)
    };
    while alive() {
        assert!(
            killed.elapsed().as_secs() < 15,
            "run_app.mjs ({node}) still runs {:?} after its pack was killed",
            killed.elapsed()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}
