//! The `analyze` command on crafted inputs: bad wheels and runtimes give one clear error and no
//! output; crafted side modules and lazy packages give the right edges; the cache works.

use crate::common;

use std::path::Path;

use common::*;
use serde_json::Value;

fn app_importing(dir: &Path, source: &str) -> std::path::PathBuf {
    let app = dir.join("app.py");
    std::fs::write(&app, source).unwrap();
    app
}

/// Runs analyze with --wheels and --json; returns (output, record if written).
fn analyze(dir: &Path, app: &Path, wheels: &Path) -> (std::process::Output, Option<Value>) {
    analyze_with(dir, app, wheels, &[])
}

fn analyze_with(
    dir: &Path,
    app: &Path,
    wheels: &Path,
    extra: &[&str],
) -> (std::process::Output, Option<Value>) {
    let json = dir.join("record.json");
    let runtime = runtime_dir();
    let mut args = vec![
        "analyze",
        app.to_str().unwrap(),
        "--wheels",
        wheels.to_str().unwrap(),
        "--runtime",
        runtime.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let output = pyodide_pack(&args);
    let record = std::fs::read(&json)
        .ok()
        .map(|b| serde_json::from_slice(&b).unwrap());
    (output, record)
}

fn expect_error(dir: &Path, app: &Path, wheels: &Path, needles: &[&str]) {
    let (output, record) = analyze(dir, app, wheels);
    assert!(!output.status.success(), "analyze should fail");
    let err = stderr(&output);
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    for needle in needles {
        assert!(err.contains(needle), "{needle:?} not in: {err}");
    }
    assert!(!err.contains("panicked"), "{err}");
    assert!(record.is_none(), "no record is written on failure");
}

#[test]
fn entry_escaping_the_install_folder_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let wheels = dir.path().join("wheels");
    std::fs::create_dir(&wheels).unwrap();
    write_wheel(
        &wheels.join("evil-1.0-py3-none-any.whl"),
        &[("evil/__init__.py", b""), ("../../outside.py", b"x = 1")],
    );
    let app = app_importing(dir.path(), "import evil\n");
    expect_error(
        dir.path(),
        &app,
        &wheels,
        &[
            "evil-1.0-py3-none-any.whl",
            "../../outside.py",
            "escapes the install folder",
        ],
    );
}

#[test]
fn absolute_entry_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let wheels = dir.path().join("wheels");
    std::fs::create_dir(&wheels).unwrap();
    write_wheel(
        &wheels.join("abs-1.0-py3-none-any.whl"),
        &[("/etc/passwd", b"x")],
    );
    let app = app_importing(dir.path(), "print(1)\n");
    expect_error(
        dir.path(),
        &app,
        &wheels,
        &["abs-1.0-py3-none-any.whl", "absolute path"],
    );
}

#[test]
fn symlink_entry_is_refused() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let wheels = dir.path().join("wheels");
    std::fs::create_dir(&wheels).unwrap();
    let path = wheels.join("link-1.0-py3-none-any.whl");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    zip.start_file("link/__init__.py", zip::write::SimpleFileOptions::default())
        .unwrap();
    zip.write_all(b"").unwrap();
    zip.add_symlink(
        "link/passwd",
        "/etc/passwd",
        zip::write::SimpleFileOptions::default(),
    )
    .unwrap();
    zip.finish().unwrap();
    let app = app_importing(dir.path(), "import link\n");
    expect_error(
        dir.path(),
        &app,
        &wheels,
        &["link-1.0-py3-none-any.whl", "link/passwd", "symbolic link"],
    );
}

#[test]
fn truncated_wheel_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let wheels = dir.path().join("wheels");
    std::fs::create_dir(&wheels).unwrap();
    let real = wheels_in(&corpus_wheels("tabulate_table"))
        .into_iter()
        .find(|p| p.to_string_lossy().contains("tabulate-"))
        .unwrap();
    let bytes = std::fs::read(&real).unwrap();
    std::fs::write(
        wheels.join(real.file_name().unwrap()),
        &bytes[..bytes.len() / 2],
    )
    .unwrap();
    let app = app_importing(dir.path(), "import tabulate\n");
    expect_error(
        dir.path(),
        &app,
        &wheels,
        &[
            "tabulate-0.10.0-py3-none-any.whl",
            "not a readable zip archive",
        ],
    );
}

#[test]
fn native_linux_extension_is_refused_with_its_platform() {
    let dir = tempfile::tempdir().unwrap();
    let wheels = dir.path().join("wheels");
    std::fs::create_dir(&wheels).unwrap();
    // An ELF64 little-endian header for x86-64 (e_machine 62).
    let mut elf = vec![0x7f, b'E', b'L', b'F', 2, 1, 1, 0];
    elf.extend([0; 8]);
    elf.extend([3, 0, 62, 0]);
    elf.extend([0; 44]);
    write_wheel(
        &wheels.join("fast-1.0-py3-none-any.whl"),
        &[("fast/__init__.py", b""), ("fast/_speed.so", &elf)],
    );
    let app = app_importing(dir.path(), "import fast\n");
    expect_error(
        dir.path(),
        &app,
        &wheels,
        &[
            "fast-1.0-py3-none-any.whl",
            "fast/_speed.so",
            "ELF",
            "X86_64",
            "Linux",
            "not a WebAssembly",
        ],
    );
}

#[test]
fn wheel_tagged_for_another_platform_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let wheels = dir.path().join("wheels");
    std::fs::create_dir(&wheels).unwrap();
    write_wheel(
        &wheels.join("fast-1.0-cp314-cp314-manylinux_2_17_x86_64.whl"),
        &[("fast/__init__.py", b"")],
    );
    let app = app_importing(dir.path(), "import fast\n");
    expect_error(
        dir.path(),
        &app,
        &wheels,
        &[
            "fast-1.0-cp314-cp314-manylinux_2_17_x86_64.whl",
            "manylinux_2_17_x86_64",
            "not for Pyodide",
        ],
    );
}

#[test]
fn missing_runtime_is_one_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let app = app_importing(dir.path(), "print(1)\n");
    let output = pyodide_pack(&[
        "analyze",
        app.to_str().unwrap(),
        "--runtime",
        "/nonexistent/pyodide",
    ]);
    assert!(!output.status.success());
    let err = stderr(&output);
    assert!(
        err.contains("/nonexistent/pyodide") && err.contains("no such folder"),
        "{err}"
    );
    let empty = tempfile::tempdir().unwrap();
    let output = pyodide_pack(&[
        "analyze",
        app.to_str().unwrap(),
        "--runtime",
        empty.path().to_str().unwrap(),
    ]);
    let err = stderr(&output);
    assert!(
        err.contains("pyodide-lock.json") && err.contains("not"),
        "{err}"
    );
}

#[test]
fn missing_app_is_one_clear_error() {
    let output = pyodide_pack(&[
        "analyze",
        "/nonexistent/app.py",
        "--runtime",
        runtime_dir().to_str().unwrap(),
    ]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("/nonexistent/app.py: no such file"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn requirement_without_a_pyodide_wheel_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let wheels = dir.path().join("wheels");
    std::fs::create_dir(&wheels).unwrap();
    let req = dir.path().join("requirements.txt");
    let app = app_importing(dir.path(), "import uvloop\n");
    let cache = tempfile::tempdir().unwrap();
    let analyze = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_pyodide-pack"))
            .args([
                "analyze",
                app.to_str().unwrap(),
                "--requirements",
                req.to_str().unwrap(),
            ])
            .args([
                "--wheels",
                wheels.to_str().unwrap(),
                "--runtime",
                runtime_dir().to_str().unwrap(),
            ])
            .env("PYODIDE_PACK_CACHE", cache.path())
            .output()
            .unwrap()
    };
    // Not in the runtime's lock, and no Pyodide wheel on the index.
    std::fs::write(&req, "uvloop==0.21.0\n").unwrap();
    let output = analyze();
    assert!(!output.status.success());
    let err = stderr(&output);
    assert!(
        err.contains("no Pyodide wheel")
            && err.contains("uvloop==0.21.0")
            && err.contains("requirements.txt"),
        "{err}"
    );
    // In the lock, but under another version: both versions named.
    std::fs::write(&req, "numpy==2.3.0\n").unwrap();
    let output = analyze();
    assert!(!output.status.success());
    let err = stderr(&output);
    assert!(
        err.contains(
            "requirements.txt: numpy ==2.3.0 is not in the runtime's pyodide-lock.json (it has numpy 2.4.6), and the package index has no Pyodide wheel for it"
        ),
        "{err}"
    );
}

fn edges_from<'a>(record: &'a Value, path: &str) -> Vec<&'a Value> {
    let files = record["files"].as_array().unwrap();
    let id = files.iter().find(|f| f["path"] == path).unwrap()["id"].clone();
    record["edges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["from"] == id)
        .collect()
}

fn target_path<'a>(record: &'a Value, edge: &Value) -> &'a str {
    let id = edge["to"].as_u64().unwrap() as usize;
    record["files"][id]["path"].as_str().unwrap()
}

fn is_kept(record: &Value, path: &str) -> bool {
    record["files"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["path"] == path && f["kept"] == true)
}

#[test]
fn crafted_side_modules_give_dylink_and_symbol_edges() {
    let dir = tempfile::tempdir().unwrap();
    let wheels = dir.path().join("wheels");
    std::fs::create_dir(&wheels).unwrap();
    let ext = side_module(
        &["libhelper.so"],
        &["helper_add", "PyLong_FromLong"],
        &["PyInit__ext"],
    );
    let helper = side_module(&[], &[], &["helper_add"]);
    let unused = side_module(&[], &[], &["unused_fn"]);
    write_wheel(
        &wheels.join("native-1.0-cp314-cp314-pyemscripten_2026_0_wasm32.whl"),
        &[
            ("native/__init__.py", b"from . import _ext\n"),
            ("native/_ext.cpython-314-wasm32-emscripten.so", &ext),
            ("native.libs/libhelper.so", &helper),
            ("native.libs/libunused.so", &unused),
        ],
    );
    let app = app_importing(dir.path(), "import native\n");
    let (output, record) = analyze(dir.path(), &app, &wheels);
    assert!(output.status.success(), "{}", stderr(&output));
    let record = record.unwrap();
    let edges = edges_from(&record, "native/_ext.cpython-314-wasm32-emscripten.so");
    let kinds: Vec<(&str, &str, &str)> = edges
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap(),
                target_path(&record, e),
                e["reason"]["text"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(
        kinds.contains(&(
            "dylink-needed",
            "native.libs/libhelper.so",
            "dylink.0 needs libhelper.so"
        )),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&(
            "symbol",
            "native.libs/libhelper.so",
            "imports symbol helper_add"
        )),
        "{kinds:?}"
    );
    assert_eq!(
        kinds.len(),
        2,
        "PyLong_FromLong comes from the main module: no edge"
    );
    assert!(is_kept(&record, "native.libs/libhelper.so"));
    assert!(!is_kept(&record, "native.libs/libunused.so"));
}

#[test]
fn lazy_loader_stub_imports_become_lazy_stub_edges() {
    let dir = tempfile::tempdir().unwrap();
    let wheels = dir.path().join("wheels");
    std::fs::create_dir(&wheels).unwrap();
    write_wheel(
        &wheels.join("lazypkg-1.0-py3-none-any.whl"),
        &[
            ("lazypkg/__init__.py", b"import lazy_loader as lazy\n__getattr__, __dir__, __all__ = lazy.attach_stub(__name__, __file__)\n"),
            ("lazypkg/__init__.pyi", b"from .filters import gaussian\nfrom . import io\n"),
            ("lazypkg/filters.py", b"def gaussian(): pass\n"),
            ("lazypkg/io.py", b""),
            ("lazypkg/unused.py", b""),
            ("lazy_loader/__init__.py", b""),
        ],
    );
    let app = app_importing(dir.path(), "import lazypkg\nlazypkg.gaussian()\n");
    let (output, record) = analyze(dir.path(), &app, &wheels);
    assert!(output.status.success(), "{}", stderr(&output));
    let record = record.unwrap();
    let init = edges_from(&record, "lazypkg/__init__.py");
    let stub_edge = init
        .iter()
        .find(|e| target_path(&record, e) == "lazypkg/__init__.pyi")
        .expect("an edge to the stub");
    assert_eq!(stub_edge["kind"], "lazy-stub");
    assert_eq!(stub_edge["reason"]["line"], 2);
    let stub = edges_from(&record, "lazypkg/__init__.pyi");
    let targets: Vec<(&str, &str)> = stub
        .iter()
        .map(|e| (e["kind"].as_str().unwrap(), target_path(&record, e)))
        .collect();
    assert!(
        targets.contains(&("lazy-stub", "lazypkg/filters.py")),
        "{targets:?}"
    );
    assert!(
        targets.contains(&("lazy-stub", "lazypkg/io.py")),
        "{targets:?}"
    );
    assert!(!is_kept(&record, "lazypkg/unused.py"));
}

#[test]
fn unparsable_file_is_kept_with_a_warning_naming_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let wheels = dir.path().join("wheels");
    std::fs::create_dir(&wheels).unwrap();
    write_wheel(
        &wheels.join("broken-1.0-py3-none-any.whl"),
        &[
            (
                "broken/__init__.py",
                b"import json\ndef f(:\n    import broken.helper\n",
            ),
            ("broken/helper.py", b""),
        ],
    );
    let app = app_importing(dir.path(), "import broken\n");
    let (output, record) = analyze(dir.path(), &app, &wheels);
    assert!(output.status.success(), "{}", stderr(&output));
    let record = record.unwrap();
    let warnings = warnings_of(&record);
    assert!(
        warnings.iter().any(
            |w| w.contains("broken-1.0-py3-none-any.whl:broken/__init__.py:2")
                && w.contains("does not parse")
        ),
        "{warnings:?}"
    );
    assert!(is_kept(&record, "broken/__init__.py"));
    assert!(
        is_kept(&record, "broken/helper.py"),
        "the line scan still finds the nested import"
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("does not parse"));
}

#[test]
fn record_has_typed_edges_with_reasons_and_optional_flags() {
    let dir = tempfile::tempdir().unwrap();
    let app = corpus_app("pydantic_model");
    let (output, record) = analyze(dir.path(), &app, &corpus_wheels("pydantic_model"));
    assert!(output.status.success(), "{}", stderr(&output));
    let record = record.unwrap();
    assert_eq!(record["schema"], "pyodide-pack/analyze-2");
    let from_app = edges_from(&record, "app.py");
    let first = from_app
        .iter()
        .find(|e| target_path(&record, e) == "pydantic/__init__.py")
        .unwrap();
    assert_eq!(first["kind"], "import");
    assert_eq!(first["reason"]["line"], 2);
    assert_eq!(
        first["reason"]["text"],
        "from pydantic import BaseModel, Field, ValidationError"
    );
    // The wasm side module is kept, reached through pydantic_core's __init__.
    assert!(is_kept(
        &record,
        "pydantic_core/_pydantic_core.cpython-314-wasm32-emscripten.so"
    ));
    // Every edge kind used is one of the documented names.
    let kinds = [
        "import",
        "package-init",
        "dynamic-literal",
        "lazy-stub",
        "dylink-needed",
        "symbol",
        "runtime",
        "rule",
        "dynamic-family",
        "name-literal",
        "entry-point",
        "data-family",
        "stdlib-rule",
    ];
    for edge in record["edges"].as_array().unwrap() {
        assert!(kinds.contains(&edge["kind"].as_str().unwrap()), "{edge}");
    }
    let edges = record["edges"].as_array().unwrap();
    assert!(
        edges.iter().any(|e| e["optional"] == true),
        "some import sits in try/except ImportError"
    );
    assert!(
        edges.iter().any(|e| e["nested"] == true),
        "some import sits in a function"
    );
    assert!(edges.iter().any(|e| e["kind"] == "rule"
        && e["reason"]["text"]
            .as_str()
            .unwrap()
            .contains("metadata of kept distribution pydantic")));
    // The boot set is a root.
    let roots = record["roots"].as_array().unwrap();
    assert!(roots
        .iter()
        .any(|r| r["module"] == "_pyodide._importhook" && r["kind"] == "boot"));
    assert!(roots
        .iter()
        .any(|r| r["kind"] == "entry" && r["path"] == "app.py"));
}

#[test]
fn data_files_of_kept_packages_are_kept_by_the_default_rule() {
    let dir = tempfile::tempdir().unwrap();
    let (output, record) = analyze(
        dir.path(),
        &corpus_app("certifi_data"),
        &corpus_wheels("certifi_data"),
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let record = record.unwrap();
    assert!(is_kept(&record, "certifi/cacert.pem"));
    assert!(!is_kept(
        &record,
        "certifi-2026.10.19.post1.dist-info/RECORD"
    ));
    assert!(is_kept(
        &record,
        "certifi-2026.10.19.post1.dist-info/METADATA"
    ));
}

#[test]
fn second_analyze_reads_the_facts_cache() {
    let dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let run = || {
        let json = dir.path().join("r.json");
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_pyodide-pack"))
            .args(["analyze", corpus_app("tabulate_table").to_str().unwrap()])
            .args([
                "--wheels",
                corpus_wheels("tabulate_table").to_str().unwrap(),
            ])
            .args([
                "--runtime",
                runtime_dir().to_str().unwrap(),
                "--json",
                json.to_str().unwrap(),
            ])
            .env("PYODIDE_PACK_CACHE", cache.path())
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", stderr(&output));
        let record: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
        record
    };
    let cold = run();
    let warm = run();
    let parsed = |r: &Value| r["stats"]["files_parsed"].as_u64().unwrap();
    assert!(parsed(&cold) > 100, "cold run parses: {}", parsed(&cold));
    assert_eq!(parsed(&warm), 1, "warm run parses only the app script");
    let kept = |r: &Value| {
        r["files"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["kept"] == true)
            .count()
    };
    assert_eq!(kept(&cold), kept(&warm));
}

#[test]
fn json_to_stdout_is_pure_json() {
    let output = pyodide_pack(&[
        "analyze",
        corpus_app("stdlib_codecs").to_str().unwrap(),
        "--runtime",
        runtime_dir().to_str().unwrap(),
        "--json",
        "-",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let record: Value = serde_json::from_slice(&output.stdout).expect("stdout is the JSON record");
    // encodings imports each codec by a computed name with a literal prefix: a family, not an
    // unresolved site.
    assert!(record["edges"].as_array().unwrap().iter().any(|e| {
        e["kind"] == "dynamic-family"
            && e["reason"]["path"] == "python_stdlib.zip:encodings/__init__.py"
            && e["name"] == "encodings.cp1252"
    }));
    assert!(
        stderr(&output).contains("reduction"),
        "the table goes to stderr"
    );
}

#[test]
fn pyproject_settings_apply_and_unknown_keys_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let app_dir = dir.path().join("src");
    std::fs::create_dir(&app_dir).unwrap();
    let app = app_importing(&app_dir, "import json\n");
    let wheels = dir.path().join("wheels");
    std::fs::create_dir(&wheels).unwrap();

    // Found in a parent folder: json's decoder is dropped, and so is what only it imports.
    std::fs::write(
        dir.path().join("pyproject.toml"),
        "[project]\nname = \"demo\"\n\n[tool.pyodide-pack]\nexclude = [\"json/decoder.py\"]\n",
    )
    .unwrap();
    let (output, record) = analyze(dir.path(), &app, &wheels);
    assert!(output.status.success(), "{}", stderr(&output));
    let record = record.unwrap();
    let decoder = record["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "json/decoder.py")
        .unwrap();
    assert_eq!(decoder["kept"], false);
    let source = format!(
        "exclude glob \"json/decoder.py\" ({} [tool.pyodide-pack])",
        dir.path()
            .canonicalize()
            .unwrap()
            .join("pyproject.toml")
            .display()
    );
    assert_eq!(decoder["excluded_by"], source.as_str());

    std::fs::remove_file(dir.path().join("record.json")).unwrap();
    std::fs::write(
        dir.path().join("pyproject.toml"),
        "[tool.pyodide-pack]\nexclude = []\nincludes = [\"x\"]\nouput = \"dist\"\n",
    )
    .unwrap();
    let (output, record) = analyze(dir.path(), &app, &wheels);
    assert!(!output.status.success());
    let err = stderr(&output);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains(
            "pyproject.toml: [tool.pyodide-pack] has unknown key(s) \"includes\", \"ouput\""
        ),
        "{err}"
    );
    assert!(record.is_none());
}

#[test]
fn a_bad_glob_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let app = app_importing(dir.path(), "import json\n");
    let wheels = dir.path().join("wheels");
    std::fs::create_dir(&wheels).unwrap();
    let (output, record) = analyze_with(dir.path(), &app, &wheels, &["--include", "pkg/[a"]);
    assert!(!output.status.success());
    assert!(record.is_none());
    let err = stderr(&output);
    assert!(
        err.starts_with("error: --include: bad glob \"pkg/[a\""),
        "{err}"
    );
}

#[test]
fn a_closed_pipe_is_a_quiet_successful_end() {
    // `pyodide-pack analyze --json - | head -c 0`: the reader goes away before the record.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_pyodide-pack"))
        .args([
            "analyze",
            corpus_app("stdlib_codecs").to_str().unwrap(),
            "--runtime",
            runtime_dir().to_str().unwrap(),
            "--json",
            "-",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    let err = stderr(&output);
    assert!(output.status.success(), "{err}");
    assert!(!err.contains("error"), "{err}");
}

#[test]
fn a_cause_is_printed_once_and_records_honour_the_umask() {
    let (dir, app, _) = scratch_app("app.py", "import json\n");
    std::fs::write(
        dir.path().join("pyproject.toml"),
        b"[tool.pyodide-pack]\nx = \"\xff\"\n",
    )
    .unwrap();
    let output = pyodide_pack(&[
        "analyze",
        app.to_str().unwrap(),
        "--runtime",
        runtime_dir().to_str().unwrap(),
    ]);
    assert!(!output.status.success());
    let err = stderr(&output);
    assert_eq!(err.matches("valid UTF-8").count(), 1, "{err}");
    assert!(err.contains("pyproject.toml"), "{err}");

    std::fs::remove_file(dir.path().join("pyproject.toml")).unwrap();
    let record = dir.path().join("record.json");
    let output = pyodide_pack(&[
        "analyze",
        app.to_str().unwrap(),
        "--runtime",
        runtime_dir().to_str().unwrap(),
        "--json",
        record.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    // The same mode as any file this process creates: the umask decides, not 0600.
    use std::os::unix::fs::PermissionsExt;
    let plain = dir.path().join("plain.txt");
    std::fs::write(&plain, "x").unwrap();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&record), mode(&plain));
}

#[test]
fn a_module_nested_far_beyond_any_limit_is_a_warning_not_a_crash() {
    // 200,000 parentheses, a 100,000-term chain, 100,000 `not`: CPython refuses each; the tool
    // keeps the files whole and goes on. At CPython's own limits a file still parses.
    let dir = tempfile::tempdir().unwrap();
    let wheels = dir.path().join("wheels");
    std::fs::create_dir(&wheels).unwrap();
    let parens = format!(
        "import json\nx = {}1{}\n",
        "(".repeat(200_000),
        ")".repeat(200_000)
    );
    let chain = format!("x = {}\nimport csv\n", vec!["1"; 100_000].join("+"));
    let nots = format!("x = {}1\n", "not ".repeat(100_000));
    // 500,000 trailers: an attribute chain and a call chain (each nests the tree once).
    let trailers = format!(
        "x = a{}\ny = f{}\n",
        ".b".repeat(500_000),
        "()".repeat(500_000)
    );
    let limits = format!(
        "x = {}1{}\ny = {}\n",
        "(".repeat(200),
        ")".repeat(200),
        vec!["1"; 1000].join("+")
    );
    write_wheel(
        &wheels.join("deep-1.0-py3-none-any.whl"),
        &[
            (
                "deep/__init__.py",
                b"from . import parens, chain, nots, trailers, limits\n",
            ),
            ("deep/trailers.py", trailers.as_bytes()),
            ("deep/parens.py", parens.as_bytes()),
            ("deep/chain.py", chain.as_bytes()),
            ("deep/nots.py", nots.as_bytes()),
            ("deep/limits.py", limits.as_bytes()),
            ("deep-1.0.dist-info/METADATA", b"Name: deep\nVersion: 1.0\n"),
        ],
    );
    let app = app_importing(dir.path(), "import deep\n");
    let (output, record) = analyze(dir.path(), &app, &wheels);
    assert!(output.status.success(), "{}", stderr(&output));
    let record = record.unwrap();
    let warnings = warnings_of(&record);
    let wheel = "deep-1.0-py3-none-any.whl";
    for expected in [
        format!("{wheel}:deep/parens.py:2: does not parse (too many nested brackets"),
        format!("{wheel}:deep/chain.py:1: does not parse (too many chained operators"),
        format!("{wheel}:deep/nots.py:1: does not parse (too many chained operators"),
        format!("{wheel}:deep/trailers.py:1: does not parse (too many chained operators"),
    ] {
        assert!(
            warnings.iter().any(|w| w.starts_with(&expected)),
            "{expected} in {warnings:?}"
        );
    }
    assert!(
        !warnings.iter().any(|w| w.contains("limits.py")),
        "{warnings:?}"
    );
    // Their imports still come from the line scan.
    let kept: Vec<&str> = record["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kept"] == true)
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert!(kept.contains(&"json/__init__.py") && kept.contains(&"csv.py"));
}

#[test]
fn an_entry_script_python_would_refuse_is_an_error_naming_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let wheels = dir.path().join("wheels");
    std::fs::create_dir(&wheels).unwrap();
    let app = dir.path().join("app.py");
    let record = dir.path().join("record.json");
    let run = || {
        let _ = std::fs::remove_file(&record);
        analyze(dir.path(), &app, &wheels)
    };
    // Not UTF-8, no coding declaration.
    std::fs::write(&app, b"import json\ns = 'caf\xe9'\n").unwrap();
    let (output, written) = run();
    assert!(!output.status.success());
    let err = stderr(&output);
    assert!(
        err.contains(&format!(
            "{}:2: not valid UTF-8 (byte 20 of the file) and no coding declaration; Python cannot run this entry script",
            app.canonicalize().unwrap().display()
        )),
        "{err}"
    );
    assert!(written.is_none(), "no record for a failed analysis");
    // Does not parse.
    std::fs::write(&app, b"import json\n\ndef f(:\n    pass\n").unwrap();
    let (output, _) = run();
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("app.py:3: "),
        "{}",
        stderr(&output)
    );
    // With a PEP 263 declaration, or a UTF-8 byte-order mark, it is fine.
    std::fs::write(
        &app,
        b"# -*- coding: latin-1 -*-\nimport json\ns = 'caf\xe9'\n",
    )
    .unwrap();
    let (output, _) = run();
    assert!(output.status.success(), "{}", stderr(&output));
    std::fs::write(&app, b"\xef\xbb\xbfimport json\n").unwrap();
    let (output, record) = run();
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(is_kept(&record.unwrap(), "json/__init__.py"));
}

#[test]
fn a_wheel_module_that_is_not_utf8_is_kept_whole_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let wheels = dir.path().join("wheels");
    std::fs::create_dir(&wheels).unwrap();
    write_wheel(
        &wheels.join("legacy-1.0-py3-none-any.whl"),
        &[
            ("legacy/__init__.py", b"import csv\nNAME = 'caf\xe9'\n"),
            (
                "legacy-1.0.dist-info/METADATA",
                b"Name: legacy\nVersion: 1.0\n",
            ),
        ],
    );
    let app = app_importing(dir.path(), "import legacy\n");
    let (output, record) = analyze(dir.path(), &app, &wheels);
    assert!(output.status.success(), "{}", stderr(&output));
    let record = record.unwrap();
    let warnings = record["warnings"].to_string();
    assert!(
        warnings.contains(
            "legacy-1.0-py3-none-any.whl:legacy/__init__.py:2: does not parse (not valid UTF-8"
        ),
        "{warnings}"
    );
    assert!(is_kept(&record, "legacy/__init__.py") && is_kept(&record, "csv.py"));
}

/// The real msgpack wheel with its `.so` cut to a third, the rest unchanged.
fn msgpack_with_truncated_extension(wheels: &Path) -> (String, usize) {
    use std::io::{Read, Write};
    let real = wheels_in(&corpus_wheels("msgpack_roundtrip"))
        .into_iter()
        .find(|p| p.to_string_lossy().contains("msgpack-"))
        .unwrap();
    let mut source = zip::ZipArchive::new(std::fs::File::open(&real).unwrap()).unwrap();
    let out = wheels.join(real.file_name().unwrap());
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&out).unwrap());
    let mut cut = 0;
    for i in 0..source.len() {
        let mut entry = source.by_index(i).unwrap();
        let name = entry.name().unwrap().to_string();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        if name.ends_with(".so") {
            cut = bytes.len() / 3;
            bytes.truncate(cut);
        }
        drop(entry);
        zip.start_file(name, zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.write_all(&bytes).unwrap();
    }
    zip.finish().unwrap();
    (
        real.file_name().unwrap().to_string_lossy().into_owned(),
        cut,
    )
}

#[test]
fn truncated_side_module_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let wheels = dir.path().join("wheels");
    std::fs::create_dir(&wheels).unwrap();
    let (wheel, cut) = msgpack_with_truncated_extension(&wheels);
    let app = app_importing(dir.path(), "import msgpack\n");
    expect_error(
        dir.path(),
        &app,
        &wheels,
        &[
            &wheel,
            "msgpack/_cmsgpack.cpython-314-wasm32-emscripten.so",
            "is not a complete, valid WebAssembly module",
            &format!("truncated at byte {cut}"),
        ],
    );
    // The verdict is cached with the wheel's facts: a second run refuses it the same way.
    expect_error(
        dir.path(),
        &app,
        &wheels,
        &[&wheel, &format!("truncated at byte {cut}")],
    );
}

#[test]
fn side_module_with_a_bad_header_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let wheels = dir.path().join("wheels");
    std::fs::create_dir(&wheels).unwrap();
    // The wasm magic with version 2: wasm in name only.
    write_wheel(
        &wheels.join("odd-1.0-cp314-cp314-pyemscripten_2026_0_wasm32.whl"),
        &[
            ("odd/__init__.py", b""),
            ("odd/_odd.so", b"\0asm\x02\0\0\0"),
        ],
    );
    let app = app_importing(dir.path(), "import odd\n");
    expect_error(
        dir.path(),
        &app,
        &wheels,
        &[
            "odd-1.0-cp314-cp314-pyemscripten_2026_0_wasm32.whl",
            "odd/_odd.so",
            "is not a complete, valid WebAssembly module",
        ],
    );
}

fn warnings_of(record: &Value) -> Vec<String> {
    record["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap().to_string())
        .collect()
}

/// A wheel of `distribution` with `modules` modules in its package.
fn wheel_with_modules(wheels: &Path, distribution: &str, version: &str, modules: usize) {
    let sources: Vec<(String, Vec<u8>)> = (0..modules)
        .map(|i| (format!("many/m{i}.py"), format!("X = {i}\n").into_bytes()))
        .chain([("many/__init__.py".to_string(), b"".to_vec())])
        .collect();
    let entries: Vec<(&str, &[u8])> = sources
        .iter()
        .map(|(p, b)| (p.as_str(), b.as_slice()))
        .collect();
    write_wheel(
        &wheels.join(format!("{distribution}-{version}-py3-none-any.whl")),
        &entries,
    );
}

#[test]
fn two_versions_of_one_distribution_give_one_warning_and_the_newest_is_used() {
    let dir = tempfile::tempdir().unwrap();
    let wheels = dir.path().join("wheels");
    std::fs::create_dir(&wheels).unwrap();
    // 1.10 is newer than 1.9 (versions compare as PEP 440 versions, not as text).
    wheel_with_modules(&wheels, "many", "1.9", 300);
    wheel_with_modules(&wheels, "many", "1.10", 300);
    let app = app_importing(dir.path(), "import many.m1\n");
    let (output, record) = analyze(dir.path(), &app, &wheels);
    assert!(output.status.success(), "{}", stderr(&output));
    let record = record.unwrap();
    let warnings = warnings_of(&record);
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    assert!(
        warnings[0].ends_with(
            "2 versions of many: many-1.9-py3-none-any.whl and many-1.10-py3-none-any.whl; \
             using 1.10 (the newest, as pip would) and ignoring the other"
        ),
        "{}",
        warnings[0]
    );
    let archives = record.to_string();
    assert!(archives.contains("many-1.10-py3-none-any.whl"));
    assert!(
        !archives.contains("many-1.9-py3-none-any.whl\""),
        "the older wheel is left out"
    );
}

#[test]
fn two_distributions_providing_the_same_modules_give_one_warning() {
    let dir = tempfile::tempdir().unwrap();
    let wheels = dir.path().join("wheels");
    std::fs::create_dir(&wheels).unwrap();
    wheel_with_modules(&wheels, "many", "1.0", 200);
    wheel_with_modules(&wheels, "many_fork", "1.0", 200);
    let app = app_importing(dir.path(), "import many.m1\n");
    let (output, record) = analyze(dir.path(), &app, &wheels);
    assert!(output.status.success(), "{}", stderr(&output));
    let warnings = warnings_of(&record.unwrap());
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    assert!(
        warnings[0].starts_with(
            "many-1.0-py3-none-any.whl and many_fork-1.0-py3-none-any.whl both provide 201 module(s) ("
        ),
        "{}",
        warnings[0]
    );
    assert!(warnings[0].contains("and 198 more)"), "{}", warnings[0]);
}
