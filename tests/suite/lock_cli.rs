//! Pyodide's own packages, from the runtime's `pyodide-lock.json`. The CDN is out of reach here,
//! so the tests build the release they need: a folder laid out like a full release (the npm
//! runtime's files, plus real Pyodide wheels from the index re-listed in a `pyodide-lock.json`
//! with their real sha256 and `depends` between them), used as `--runtime DIR` and, served by a
//! loopback HTTP server, as `--index-url`.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::page::Server;
use common::*;
use serde_json::Value;

/// A release folder: the runtime's files (linked) and a lock listing `wheels` (name, version,
/// depends) with their real digests. With `beside`, the wheel files sit beside the lock; else
/// they are only in `cdn` (the returned second folder).
struct Release {
    _dir: tempfile::TempDir,
    runtime: PathBuf,
    cdn: PathBuf,
}

fn sha256(path: &Path) -> String {
    use sha2::Digest;
    let mut hasher = sha2::Sha256::new();
    hasher.update(std::fs::read(path).unwrap());
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn wheel_of(app: &str, prefix: &str) -> PathBuf {
    wheels_in(&corpus_wheels(app))
        .into_iter()
        .find(|w| w.file_name().unwrap().to_string_lossy().starts_with(prefix))
        .unwrap()
}

fn release(beside: bool, corrupt: Option<&str>) -> Release {
    release_with(beside, corrupt, None)
}

/// As [`release`]; `msgpack_version` makes the lock claim another version of msgpack.
fn release_with(beside: bool, corrupt: Option<&str>, msgpack_version: Option<&str>) -> Release {
    let dir = tempfile::tempdir().unwrap();
    let runtime = dir.path().join("full");
    let cdn = dir.path().join("cdn");
    std::fs::create_dir_all(&runtime).unwrap();
    std::fs::create_dir_all(&cdn).unwrap();
    for entry in std::fs::read_dir(runtime_dir()).unwrap() {
        let entry = entry.unwrap();
        if entry.file_name() != "pyodide-lock.json" {
            std::os::unix::fs::symlink(entry.path(), runtime.join(entry.file_name())).unwrap();
        }
    }
    let mut lock: Value =
        serde_json::from_slice(&std::fs::read(runtime_dir().join("pyodide-lock.json")).unwrap())
            .unwrap();
    let mut packages = serde_json::Map::new();
    for (key, name, wheel, depends) in [
        (
            "msgpack",
            "msgpack",
            wheel_of("msgpack_roundtrip", "msgpack-"),
            vec!["typing-extensions"],
        ),
        (
            "typing-extensions",
            "typing_extensions",
            wheel_of("pydantic_model", "typing_extensions-"),
            vec![],
        ),
    ] {
        let file_name = wheel.file_name().unwrap().to_string_lossy().into_owned();
        let mut version = file_name.split('-').nth(1).unwrap().to_string();
        if let (Some(claimed), "msgpack") = (msgpack_version, key) {
            version = claimed.to_string();
        }
        std::fs::copy(
            &wheel,
            if beside { &runtime } else { &cdn }.join(&file_name),
        )
        .unwrap();
        let digest = if corrupt == Some(key) {
            "0".repeat(64)
        } else {
            sha256(&wheel)
        };
        packages.insert(
            key.to_string(),
            serde_json::json!({
                "name": name, "version": version, "file_name": file_name,
                "install_dir": "site", "package_type": "package", "sha256": digest,
                "depends": depends, "imports": [name], "unvendored_tests": false,
            }),
        );
    }
    lock["packages"] = Value::Object(packages);
    std::fs::write(
        runtime.join("pyodide-lock.json"),
        serde_json::to_vec(&lock).unwrap(),
    )
    .unwrap();
    Release {
        _dir: dir,
        runtime,
        cdn,
    }
}

/// An app that needs a lock package (msgpack, whose lock entry depends on typing-extensions) and a
/// package only the index has (tabulate).
fn app(requirements: &str) -> (tempfile::TempDir, PathBuf) {
    let (dir, app, _) = scratch_app(
        "app.py",
        "import msgpack, tabulate\nprint(msgpack.unpackb(msgpack.packb([1, 2])), tabulate.tabulate([[1, 2]]).split())\n",
    );
    std::fs::write(dir.path().join("requirements.txt"), requirements).unwrap();
    (dir, app)
}

fn run(args: &[String], cache: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pyodide-pack"))
        .args(args)
        .env("PYODIDE_PACK_CACHE", cache)
        .output()
        .expect("the CLI runs")
}

fn analyze_args(app: &Path, runtime: &Path, extra: &[&str]) -> Vec<String> {
    let mut args = vec![
        "analyze".to_string(),
        app.display().to_string(),
        "--runtime".into(),
        runtime.display().to_string(),
        // pip resolves the rest offline from the corpus wheels.
        "--wheels".into(),
        corpus_wheels("tabulate_table").display().to_string(),
        "--requirements".into(),
        app.parent()
            .unwrap()
            .join("requirements.txt")
            .display()
            .to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

fn sources(record: &Value) -> Vec<(String, String)> {
    record["archives"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["kind"] == "wheel")
        .map(|a| {
            (
                a["package"].as_str().unwrap().to_string(),
                a["source"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// `pyodide-pack serve` on a free loopback port, serving `dir` (stopped when dropped).
fn serve(dir: &Path) -> Server {
    Server::start(dir, &[])
}

#[test]
fn a_lock_package_and_its_depends_come_from_the_lock_the_rest_from_pip() {
    let release = release(true, None);
    let (dir, app) = app("msgpack\ntabulate\n");
    let cache = dir.path().join("cache");
    let record = dir.path().join("record.json");
    let mut args = analyze_args(&app, &release.runtime, &[]);
    args.extend(["--json".into(), record.display().to_string()]);
    let output = run(&args, &cache);
    assert!(output.status.success(), "{}", stderr(&output));
    let record: Value = serde_json::from_slice(&std::fs::read(&record).unwrap()).unwrap();
    assert_eq!(
        sources(&record),
        [
            ("msgpack".to_string(), "lock".to_string()),
            ("typing_extensions".to_string(), "lock".to_string()),
            ("tabulate".to_string(), "index".to_string()),
        ]
    );
    // Beside the lock: used in place, nothing copied into the cache.
    assert!(!cache.join("lock-packages").exists());
}

#[test]
fn a_digest_that_does_not_match_the_lock_is_an_error_naming_the_file_and_both_digests() {
    let release = release(true, Some("msgpack"));
    let (dir, app) = app("msgpack\n");
    let output = run(
        &analyze_args(&app, &release.runtime, &[]),
        &dir.path().join("cache"),
    );
    assert!(!output.status.success());
    let err = stderr(&output);
    let wheel = wheel_of("msgpack_roundtrip", "msgpack-");
    let name = wheel.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        err.contains(&format!(
            "{}: sha256 is {}, but pyodide-lock.json says {}",
            release.runtime.join(&name).display(),
            sha256(&wheel),
            "0".repeat(64)
        )),
        "{err}"
    );
}

#[test]
fn a_pin_the_lock_does_not_have_is_an_error_naming_both_versions() {
    let release = release(true, None);
    let (dir, app) = app("msgpack==0.0.1\n");
    let output = run(
        &analyze_args(&app, &release.runtime, &[]),
        &dir.path().join("cache"),
    );
    assert!(!output.status.success());
    let err = stderr(&output);
    assert!(
        err.contains(
            "msgpack ==0.0.1 is not in the runtime's pyodide-lock.json (it has msgpack 1."
        ),
        "{err}"
    );
    assert!(
        err.contains("and the package index has no Pyodide wheel for it"),
        "{err}"
    );
}

#[test]
fn a_pin_the_lock_lacks_but_the_index_has_comes_from_the_index_and_says_so() {
    // The lock claims msgpack 1.0.0; the requirement pins the version pip finds in the corpus.
    let release = release_with(true, None, Some("1.0.0"));
    let wheel = wheel_of("msgpack_roundtrip", "msgpack-");
    let pinned = wheel
        .file_name()
        .unwrap()
        .to_string_lossy()
        .split('-')
        .nth(1)
        .unwrap()
        .to_string();
    let (dir, app) = app(&format!("msgpack=={pinned}\ntabulate\n"));
    let cache = dir.path().join("cache");
    let record = dir.path().join("record.json");
    let mut args = analyze_args(&app, &release.runtime, &[]);
    // pip resolves offline from a folder holding both wheels.
    let links = dir.path().join("links");
    std::fs::create_dir(&links).unwrap();
    for wheel in [wheel.clone(), wheel_of("tabulate_table", "tabulate-")] {
        std::fs::copy(&wheel, links.join(wheel.file_name().unwrap())).unwrap();
    }
    args[5] = links.display().to_string();
    args.extend(["--json".into(), record.display().to_string()]);
    let output = run(&args, &cache);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stderr(&output).contains(&format!(
            "msgpack =={pinned} comes from the package index (the lock has 1.0.0)"
        )),
        "{}",
        stderr(&output)
    );
    let record: Value = serde_json::from_slice(&std::fs::read(&record).unwrap()).unwrap();
    assert_eq!(
        sources(&record),
        [
            ("msgpack".to_string(), "index".to_string()),
            ("tabulate".to_string(), "index".to_string()),
        ]
    );
}

#[test]
fn a_lock_dependency_the_user_pins_elsewhere_comes_from_the_index() {
    // msgpack's lock entry depends on typing-extensions, which the lock says is 9.9.9; the user
    // pins the version the index has: the pin wins, the rest of the closure stays the lock's.
    let release = release(true, None);
    let lock_path = release.runtime.join("pyodide-lock.json");
    let mut lock: Value = serde_json::from_slice(&std::fs::read(&lock_path).unwrap()).unwrap();
    lock["packages"]["typing-extensions"]["version"] = "9.9.9".into();
    std::fs::write(&lock_path, serde_json::to_vec(&lock).unwrap()).unwrap();
    let typing = wheel_of("pydantic_model", "typing_extensions-");
    let version = typing
        .file_name()
        .unwrap()
        .to_string_lossy()
        .split('-')
        .nth(1)
        .unwrap()
        .to_string();
    let (dir, app) = app(&format!(
        "msgpack\ntabulate\ntyping-extensions=={version}\n"
    ));
    let links = dir.path().join("links");
    std::fs::create_dir(&links).unwrap();
    for wheel in [typing.clone(), wheel_of("tabulate_table", "tabulate-")] {
        std::fs::copy(&wheel, links.join(wheel.file_name().unwrap())).unwrap();
    }
    let record = dir.path().join("record.json");
    let mut args = analyze_args(&app, &release.runtime, &[]);
    args[5] = links.display().to_string();
    args.extend(["--json".into(), record.display().to_string()]);
    let output = run(&args, &dir.path().join("cache"));
    assert!(output.status.success(), "{}", stderr(&output));
    let record: Value = serde_json::from_slice(&std::fs::read(&record).unwrap()).unwrap();
    assert_eq!(
        sources(&record),
        [
            ("msgpack".to_string(), "lock".to_string()),
            ("tabulate".to_string(), "index".to_string()),
            ("typing_extensions".to_string(), "index".to_string()),
        ]
    );
}

#[test]
fn lock_packages_come_from_the_index_url_into_the_cache_then_offline() {
    let release = release(false, None);
    let (dir, app) = app("msgpack\ntabulate\n");
    let cache = dir.path().join("cache");
    let server = serve(&release.cdn);
    let output = run(
        &analyze_args(&app, &release.runtime, &["--index-url", &server.url]),
        &cache,
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let cached: Vec<String> = walk_names(&cache.join("lock-packages"));
    assert_eq!(cached.len(), 2, "{cached:?}");
    drop(server);
    // Everything cached: no network (the server is gone).
    let output = run(
        &analyze_args(
            &app,
            &release.runtime,
            &["--index-url", "http://127.0.0.1:9/"],
        ),
        &cache,
    );
    assert!(output.status.success(), "{}", stderr(&output));
    // A clean cache and no server: a clear error naming the URL.
    let output = run(
        &analyze_args(
            &app,
            &release.runtime,
            &["--index-url", "http://127.0.0.1:9/"],
        ),
        &dir.path().join("empty-cache"),
    );
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("cannot fetch http://127.0.0.1:9/msgpack-"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn an_app_with_a_lock_package_packs_end_to_end_from_the_loopback_cdn() {
    let release = release(false, None);
    let (dir, app) = app("msgpack\ntabulate\n");
    let cache = dir.path().join("cache");
    let server = serve(&release.cdn);
    let out = dir.path().join("dist");
    let mut args = analyze_args(&app, &release.runtime, &["--index-url", &server.url]);
    args[0] = "pack".into();
    args.extend(["-o".into(), out.display().to_string()]);
    let output = run(&args, &cache);
    assert!(output.status.success(), "{}", stderr(&output));
    let report: Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(
        report["validation"]["runs"][0]["stdout"],
        "[1, 2] ['-', '-', '1', '2', '-', '-']\n"
    );
    assert_eq!(
        sources(&report["analysis"]),
        [
            ("msgpack".to_string(), "lock".to_string()),
            ("typing_extensions".to_string(), "lock".to_string()),
            ("tabulate".to_string(), "index".to_string()),
        ]
    );
}

fn walk_names(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.path().is_dir() {
                out.extend(walk_names(&entry.path()));
            } else {
                out.push(entry.file_name().to_string_lossy().into_owned());
            }
        }
    }
    out
}

#[test]
fn a_shared_library_of_the_lock_is_kept_through_dylink_needed_and_loaded_before_its_dependent() {
    use wasm_encoder::Instruction;
    let release = release(true, None);
    let i32 = Some(wasm_encoder::ValType::I32);
    let libanswer = side_module_with(
        &[],
        &[],
        &[("answer", vec![Instruction::I32Const(42), Instruction::End])],
        i32,
    );
    let native = side_module_with(
        &["libanswer.so"],
        &["answer"],
        &[(
            "twice",
            vec![
                Instruction::Call(0),
                Instruction::I32Const(2),
                Instruction::I32Mul,
                Instruction::End,
            ],
        )],
        i32,
    );
    // The shared library: a zip of .so files, as the lock's `shared_library` packages are.
    let zip_path = release.runtime.join("libanswer-1.0.zip");
    write_wheel(&zip_path, &[("libanswer.so", &libanswer)]);
    let so = "nativepkg/_native.cpython-314-wasm32-emscripten.so";
    let wheel_path = release
        .runtime
        .join("nativepkg-1.0-cp314-cp314-pyemscripten_2026_0_wasm32.whl");
    write_wheel(
        &wheel_path,
        &[
            (
                "nativepkg/__init__.py",
                b"import ctypes, os\n\ndef twice():\n    here = os.path.dirname(__file__)\n    lib = ctypes.CDLL(os.path.join(here, '_native.cpython-314-wasm32-emscripten.so'))\n    return lib.twice()\n\ndef _static_edge():\n    from . import _native\n",
            ),
            (so, &native),
            (
                "nativepkg-1.0.dist-info/METADATA",
                b"Metadata-Version: 2.1\nName: nativepkg\nVersion: 1.0\n",
            ),
            ("nativepkg-1.0.dist-info/RECORD", b""),
        ],
    );
    let lock_path = release.runtime.join("pyodide-lock.json");
    let mut lock: Value = serde_json::from_slice(&std::fs::read(&lock_path).unwrap()).unwrap();
    lock["packages"]["libanswer"] = serde_json::json!({
        "name": "libanswer", "version": "1.0", "file_name": "libanswer-1.0.zip",
        "install_dir": "dynlib", "package_type": "shared_library", "sha256": sha256(&zip_path),
        "depends": [], "imports": [], "unvendored_tests": false,
    });
    lock["packages"]["nativepkg"] = serde_json::json!({
        "name": "nativepkg", "version": "1.0",
        "file_name": wheel_path.file_name().unwrap().to_string_lossy(),
        "install_dir": "site", "package_type": "package", "sha256": sha256(&wheel_path),
        "depends": ["libanswer"], "imports": ["nativepkg"], "unvendored_tests": false,
    });
    std::fs::write(&lock_path, serde_json::to_vec(&lock).unwrap()).unwrap();

    let (dir, app, _) = scratch_app("app.py", "import nativepkg\nprint(nativepkg.twice())\n");
    std::fs::write(dir.path().join("requirements.txt"), "nativepkg\n").unwrap();
    let cache = dir.path().join("cache");
    let out = dir.path().join("dist");
    let mut args = analyze_args(&app, &release.runtime, &["-o", &out.display().to_string()]);
    args[0] = "pack".into();
    let output = run(&args, &cache);
    assert!(output.status.success(), "{}", stderr(&output));
    let report: Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    // Statically: the extension module names the library in dylink.0; no include glob.
    let analysis = &report["analysis"];
    let files = analysis["files"].as_array().unwrap();
    let id = |path: &str| files.iter().position(|f| f["path"] == path).unwrap();
    assert!(analysis["edges"].as_array().unwrap().iter().any(|e| {
        e["kind"] == "dylink-needed" && e["from"] == id(so) && e["to"] == id("libanswer.so")
    }));
    assert_eq!(
        files[id("libanswer.so")]["install_path"],
        "/usr/lib/libanswer.so"
    );
    assert_eq!(files[id("libanswer.so")]["kept"], true);
    // The run loaded the library before its dependent, from Pyodide's library folder, and the
    // dependent resolved the library's symbol: 2 * 42.
    assert_eq!(report["validation"]["runs"][0]["stdout"], "84\n");
    let dynlibs: Vec<&str> = report["pack"]["dynlibs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap())
        .collect();
    assert_eq!(
        dynlibs,
        [
            "/usr/lib/libanswer.so",
            "/lib/python3.14/site-packages/nativepkg/_native.cpython-314-wasm32-emscripten.so"
        ]
    );
    assert!(eager_zip_names(&out, "bundle.zip").contains(&"usr/lib/libanswer.so".to_string()));
    // The loader's own record: it loaded the library before the module that needs it.
    let loaded: Vec<&str> = report["validation"]["runs"][0]["dynlibs_loaded"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap())
        .collect();
    assert_eq!(loaded, dynlibs);
}
