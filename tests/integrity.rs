//! A page runs only the bytes that were packed: `loader.mjs` carries the size and sha256 of every
//! file it fetches and checks each before use, in Node and in Chromium; `pyodide-pack validate`
//! checks an output folder the same way. Each case changes one file of a packed output (a byte of
//! the eager bundle, of the stdlib archive, of a lazy file; a truncated bundle; a lazy file of
//! another pack of the same app) and expects one error naming the file, where it came from, and
//! what was expected against what arrived; the untouched output still loads.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use common::*;
use serde_json::{json, Value};

/// Prints a line always (through a module of its own, in the bundle); in a browser, on the page's
/// thread or in a worker (not in the traced Node run), it also imports a stdlib module nothing
/// traced, so its file is in the lazy tier and the page fetches it.
const APP: &str = "import js, greeting\ngreeting.hello()\nif hasattr(js, 'XMLHttpRequest'):\n    import colorsys\n    print(colorsys.rgb_to_hsv(1, 0, 0))\n";
const LAZY: &str = "lazy/lib/python3.14/colorsys.pyc";

/// One pack of the app for the whole file (the runtime copied, so the page needs no CDN), and
/// another pack of the same app (docstrings stripped: its lazy `.pyc` files differ).
fn packed() -> &'static (tempfile::TempDir, PathBuf, PathBuf) {
    static PACKED: OnceLock<(tempfile::TempDir, PathBuf, PathBuf)> = OnceLock::new();
    PACKED.get_or_init(|| {
        let (dir, app, wheels) = scratch_app("app.py", APP);
        std::fs::write(
            dir.path().join("greeting.py"),
            "def hello():\n    print('hello')\n",
        )
        .unwrap();
        let pack = |out: &Path, extra: &[&str]| {
            let mut args: Vec<String> = vec!["pack".into()];
            args.extend(env_flags(&app, &wheels));
            args.extend(["-o".into(), out.display().to_string()]);
            args.extend(["--runtime-files".into(), "copy".into(), "--no-html".into()]);
            args.extend(extra.iter().map(|s| s.to_string()));
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let output = pyodide_pack(&args);
            assert!(output.status.success(), "{}", stderr(&output));
        };
        let out = dir.path().join("dist");
        pack(&out, &[]);
        assert!(out.join(LAZY).is_file(), "colorsys is lazy");
        let other = dir.path().join("other");
        pack(&other, &["--strip-docstrings"]);
        assert_ne!(
            std::fs::read(out.join(LAZY)).unwrap(),
            std::fs::read(other.join(LAZY)).unwrap()
        );
        (dir, out, other)
    })
}

/// A copy of the packed output to break, with a page that runs the app in a worker beside
/// `index.html` (which runs it on the page's thread).
fn copy_of_output() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("dist");
    copy_dir(&packed().1, &out);
    for page in ["worker_page.html", "worker_page.mjs"] {
        std::fs::copy(repo().join("tests").join(page), out.join(page)).unwrap();
    }
    (dir, out)
}

/// The page's thread and a worker.
const THREADS: [&str; 2] = ["", "worker_page.html"];

fn flip_byte(path: &Path, at: usize) {
    let mut bytes = std::fs::read(path).unwrap();
    let at = at.min(bytes.len() - 1);
    bytes[at] ^= 0x20;
    std::fs::write(path, bytes).unwrap();
}

/// loader.mjs in Node: the error of loadBundle, or what a line of Python raised.
fn load_in_node(out: &Path, python: &str) -> Value {
    let output = Command::new("node")
        .arg(repo().join("tests/loader_probe.mjs"))
        .arg(out.join("loader.mjs"))
        .arg(runtime_dir())
        .arg(python)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    serde_json::from_slice(&output.stdout).unwrap()
}

/// The page in Chromium, served by `pyodide-pack serve` (tests/page_probe.mjs): `index.html`
/// (`page` ""), or `worker_page.html`.
fn load_in_chromium(out: &Path, page: &str) -> Value {
    let mut server = Command::new(env!("CARGO_BIN_EXE_pyodide-pack"))
        .arg("serve")
        .arg(out)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(server.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap()
        .to_string()
        + page;
    let cache = cache();
    let driver = pyodide_pack_env::install_npm_package(
        &cache,
        "browser-driver",
        "puppeteer-core",
        pyodide_pack_pack::browser::DRIVER_VERSION,
    )
    .unwrap();
    let spec = json!({
        "chromium": pyodide_pack_pack::browser::find_chromium().unwrap(),
        "driver": driver,
        "url": url,
        "loopback_only": true,
        "cdn": null,
        "screenshot": null,
        "timeout_ms": 120_000,
    });
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("spec.json"), spec.to_string()).unwrap();
    let output = Command::new("node")
        .arg(repo().join("tests/page_probe.mjs"))
        .arg(dir.path().join("spec.json"))
        .output()
        .unwrap();
    unsafe { libc::kill(server.id() as i32, libc::SIGINT) };
    server.wait().unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let page: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(page["error"].is_null(), "{page}");
    page
}

const LAZY_IMPORT: &str = "import colorsys";

#[test]
fn an_untouched_output_validates_and_loads_in_node_and_in_chromium() {
    let (_dir, out) = copy_of_output();
    let out = &out;
    let record = load_in_node(out, LAZY_IMPORT);
    assert_eq!(record["error"], Value::Null, "{record}");
    assert_eq!(record["python"], Value::Null, "{record}");
    for thread in THREADS {
        let page = load_in_chromium(out, thread);
        assert_eq!(page["state"], "done", "{thread}: {page}");
        assert_eq!(page["output"], "hello\n(0.0, 1.0, 1)\n", "{thread}: {page}");
    }
    let output = pyodide_pack(&[
        "validate",
        &out.display().to_string(),
        &packed().0.path().join("app.py").display().to_string(),
        "--runtime",
        &runtime_dir().display().to_string(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
}

#[test]
fn a_changed_byte_in_the_eager_bundle_is_refused() {
    let (_dir, out) = copy_of_output();
    let bundle = out.join("bundle.zip.zst");
    let size = std::fs::metadata(&bundle).unwrap().len() as usize;
    flip_byte(&bundle, size / 2);
    let record = load_in_node(&out, "pass");
    let error = record["error"].as_str().unwrap();
    assert!(
        error.starts_with(&format!(
            "loadBundle: bundle.zip.zst from {} is not the file packed: ",
            bundle.display()
        )) && error.contains(&format!("the file packed: {size} bytes, sha256-")),
        "{error}"
    );
    for thread in THREADS {
        let page = load_in_chromium(&out, thread);
        assert_eq!(page["state"], "failed", "{page}");
        let status = page["status"].as_str().unwrap();
        assert!(
            status.starts_with("Failed: loadBundle: bundle.zip.zst from http://127.0.0.1:")
                && status.contains("/bundle.zip.zst is not the file packed: "),
            "{status}"
        );
        assert_eq!(page["output"], "", "nothing ran: {page}");
    }
}

#[test]
fn a_changed_byte_in_the_stdlib_archive_is_refused() {
    let (_dir, out) = copy_of_output();
    let stdlib = out.join("python_stdlib.zip.zst");
    flip_byte(&stdlib, 100);
    let size = std::fs::metadata(&stdlib).unwrap().len();
    let record = load_in_node(&out, "pass");
    let error = record["error"].as_str().unwrap();
    assert!(
        error.starts_with(&format!(
            "loadBundle: python_stdlib.zip.zst from {} is not the file packed: received {size} bytes, sha256-",
            stdlib.display()
        )),
        "{error}"
    );
    assert_eq!(
        record["stderr"], "",
        "Python's own complaint is not passed on"
    );
    for thread in THREADS {
        let page = load_in_chromium(&out, thread);
        assert_eq!(page["state"], "failed", "{page}");
        assert!(
            page["status"]
                .as_str()
                .unwrap()
                .starts_with("Failed: loadBundle: python_stdlib.zip.zst from http://127.0.0.1:"),
            "{page}"
        );
    }
}

#[test]
fn a_truncated_bundle_is_refused() {
    let (_dir, out) = copy_of_output();
    let bundle = out.join("bundle.zip.zst");
    let bytes = std::fs::read(&bundle).unwrap();
    std::fs::write(&bundle, &bytes[..bytes.len() / 3]).unwrap();
    let record = load_in_node(&out, "pass");
    let error = record["error"].as_str().unwrap();
    assert!(
        error.starts_with(&format!(
            "loadBundle: bundle.zip.zst from {} was cut short: {} bytes arrived (the file packed: {} bytes, sha256-",
            bundle.display(),
            bytes.len() / 3,
            bytes.len()
        )),
        "{error}"
    );
    for thread in THREADS {
        let page = load_in_chromium(&out, thread);
        assert_eq!(page["state"], "failed", "{page}");
        assert!(
            page["status"].as_str().unwrap().contains("was cut short"),
            "{page}"
        );
    }
}

#[test]
fn a_changed_lazy_file_fails_its_read_naming_it() {
    let (_dir, out) = copy_of_output();
    flip_byte(&out.join(LAZY), 40);
    let record = load_in_node(&out, LAZY_IMPORT);
    assert_eq!(
        record["error"],
        Value::Null,
        "the eager files are fine: {record}"
    );
    assert_eq!(
        record["python"], "OSError: [Errno 29] I/O error: '/lib/python3.14/colorsys.pyc'",
        "{record}"
    );
    let stderr_text = record["stderr"].as_str().unwrap();
    assert!(
        stderr_text.starts_with(&format!(
            "loadBundle: lazy file /lib/python3.14/colorsys.pyc from {}: not the file packed: received ",
            out.join(LAZY).display()
        )),
        "{record}"
    );
    // In the page: the app's own import fails, its traceback shown, the loader's line in stderr.
    for thread in THREADS {
        let page = load_in_chromium(&out, thread);
        assert_eq!(page["state"], "failed", "{page}");
        let status = page["status"].as_str().unwrap();
        assert!(
            status.contains("OSError: [Errno 29] I/O error: '/lib/python3.14/colorsys.pyc'"),
            "{status}"
        );
        let output = page["output"].as_str().unwrap();
        assert!(
            output.starts_with(
                "hello\nloadBundle: lazy file /lib/python3.14/colorsys.pyc from http://127.0.0.1:"
            ) && output
                .contains("/lazy/lib/python3.14/colorsys.pyc: not the file packed: received "),
            "{output}"
        );
    }
}

#[test]
fn a_lazy_file_of_another_pack_is_refused() {
    let (_dir, out) = copy_of_output();
    std::fs::copy(packed().2.join(LAZY), out.join(LAZY)).unwrap();
    let record = load_in_node(&out, LAZY_IMPORT);
    assert_eq!(
        record["python"], "OSError: [Errno 29] I/O error: '/lib/python3.14/colorsys.pyc'",
        "{record}"
    );
    assert!(
        record["stderr"]
            .as_str()
            .unwrap()
            .contains(": not the file packed: received "),
        "{record}"
    );
    for thread in THREADS {
        let page = load_in_chromium(&out, thread);
        assert_eq!(page["state"], "failed", "{page}");
        assert!(
            page["output"]
                .as_str()
                .unwrap()
                .contains("/lazy/lib/python3.14/colorsys.pyc: not the file packed: "),
            "{page}"
        );
    }
}

#[test]
fn validate_names_every_file_that_is_not_the_one_packed() {
    let (_dir, out) = copy_of_output();
    std::fs::copy(packed().2.join(LAZY), out.join(LAZY)).unwrap();
    flip_byte(&out.join("bundle.zip.zst"), 1000);
    std::fs::remove_file(out.join("zstd-decoder.mjs")).unwrap();
    let output = pyodide_pack(&[
        "validate",
        &out.display().to_string(),
        &packed().0.path().join("app.py").display().to_string(),
        "--runtime",
        &runtime_dir().display().to_string(),
    ]);
    assert_eq!(output.status.code(), Some(1));
    let message = stderr(&output);
    assert!(
        message.contains(&format!(
            "error: {}: 3 file(s) are not what its loader.mjs pins (size and sha256)",
            out.display()
        )),
        "{message}"
    );
    let listed: Vec<&str> = message
        .lines()
        .filter_map(|l| l.strip_prefix("  "))
        .map(|l| l.split(':').next().unwrap())
        .collect();
    assert_eq!(
        listed,
        ["bundle.zip.zst", "zstd-decoder.mjs", LAZY],
        "{message}"
    );
    assert!(
        message.contains("  zstd-decoder.mjs: missing (expected "),
        "{message}"
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}
