//! A page runs only the bytes that were packed: `loader.mjs` carries the size and sha256 of every
//! file it fetches and checks each before use, in Node and in Chromium; `pyodide-pack validate`
//! checks an output folder the same way. Each case changes one file of a packed output (a byte of
//! the eager bundle, of the stdlib archive, of a lazy file; a truncated bundle; a lazy file of
//! another pack of the same app) and expects one error naming the file, where it came from, and
//! what was expected against what arrived; the untouched output still loads.

use crate::common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use common::page::{copy_dir, load_in_node, load_in_node_with, load_page, CuttingServer, Server};
use common::*;
use serde_json::Value;

/// Prints a line always (through a module of its own, in the bundle); in a browser, on the page's
/// thread or in a worker (not in the traced Node run), it also imports a stdlib module nothing
/// traced, so its file is in the lazy tier and the page fetches it.
const APP: &str = "import js, greeting\ngreeting.hello()\nif hasattr(js, 'XMLHttpRequest'):\n    import colorsys\n    print(colorsys.rgb_to_hsv(1, 0, 0))\n";
const LAZY: &str = "lazy/lib/python3.14/colorsys.pyc";

/// A file of the output as its URL path under the output's root.
fn relative(out: &Path, path: &Path) -> String {
    path.strip_prefix(out)
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

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
        assert!(deployed(&out, LAZY).is_file(), "colorsys is lazy");
        let other = dir.path().join("other");
        pack(&other, &["--strip-docstrings"]);
        assert_ne!(
            std::fs::read(deployed(&out, LAZY)).unwrap(),
            std::fs::read(deployed(&other, LAZY)).unwrap()
        );
        (dir, out, other)
    })
}

/// The app packed with the runtime left on the CDN (the default), once for the whole file.
fn packed_for_the_cdn() -> &'static Path {
    static PACKED: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    &PACKED
        .get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let out = dir.path().join("dist");
            let src = &packed().0;
            let mut args: Vec<String> = vec!["pack".into()];
            args.extend(env_flags(
                &src.path().join("app.py"),
                &src.path().join("wheels"),
            ));
            args.extend(["-o".into(), out.display().to_string(), "--no-html".into()]);
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let output = pyodide_pack(&args);
            assert!(output.status.success(), "{}", stderr(&output));
            add_worker_page(&out);
            (dir, out)
        })
        .1
}

/// A copy of the runtime the app was packed against, with one byte of `file` changed (a CDN or
/// a deploy that mixes files of two builds).
fn runtime_with_a_changed(file: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for name in [
        "pyodide.mjs",
        "pyodide.asm.mjs",
        "pyodide.asm.wasm",
        "pyodide-lock.json",
        "package.json",
    ] {
        std::fs::copy(runtime_dir().join(name), dir.path().join(name)).unwrap();
    }
    let path = dir.path().join(file);
    let size = std::fs::metadata(&path).unwrap().len() as usize;
    // Near the end: the body streams to Pyodide as it arrives, all but the checked last part.
    flip_byte(&path, size - 100);
    dir
}

/// A copy of the packed output to break, with a page that runs the app in a worker beside
/// `index.html` (which runs it on the page's thread).
fn copy_of_output() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("dist");
    copy_dir(&packed().1, &out);
    add_worker_page(&out);
    (dir, out)
}

/// The worker page beside `index.html`, with the entry script under the name it fetches.
fn add_worker_page(out: &Path) {
    for page in ["worker_page.html", "worker_page.mjs"] {
        std::fs::copy(repo().join("tests").join(page), out.join(page)).unwrap();
    }
    std::fs::copy(deployed(out, "app.py"), out.join("app.py")).unwrap();
}

/// The page's thread and a worker.
const THREADS: [&str; 2] = ["", "worker_page.html"];

fn flip_byte(path: &Path, at: usize) {
    let mut bytes = std::fs::read(path).unwrap();
    let at = at.min(bytes.len() - 1);
    bytes[at] ^= 0x20;
    std::fs::write(path, bytes).unwrap();
}

/// The page in Chromium, served by `pyodide-pack serve`: `index.html` (`page` ""), or
/// `worker_page.html`; every request outside 127.0.0.1 fails.
fn load_in_chromium(out: &Path, page: &str) -> Value {
    let server = Server::start(out, &[]);
    let page = load_page(&format!("{}{page}", server.url), true, None, None);
    assert!(page["error"].is_null(), "{page}");
    page
}

/// `pyodide-pack validate` of a copy of the output.
fn validate(out: &Path) -> std::process::Output {
    pyodide_pack(&[
        "validate",
        &out.display().to_string(),
        &packed().0.path().join("app.py").display().to_string(),
        "--runtime",
        &runtime_dir().display().to_string(),
    ])
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
    let output = validate(out);
    assert!(output.status.success(), "{}", stderr(&output));
}

/// `out` refused in Node and in Chromium (the page's thread and a worker), and nothing of the app
/// ran: Node's error starts with `node`; the page's status starts with `Failed: ` and `page`, then
/// has `then`.
fn assert_refused(out: &Path, node: &str, page: &str, then: &str) {
    let record = load_in_node(out, "pass");
    let error = record["error"].as_str().unwrap();
    assert!(error.starts_with(node), "{error}");
    assert_eq!(record["stdout"], "", "nothing ran: {record}");
    for thread in THREADS {
        let shown = load_in_chromium(out, thread);
        assert_eq!(shown["state"], "failed", "{thread}: {shown}");
        let status = shown["status"].as_str().unwrap();
        assert!(
            status.starts_with(&format!("Failed: {page}")) && status.contains(then),
            "{thread}: {status}"
        );
        assert_eq!(shown["output"], "", "nothing ran: {shown}");
    }
}

#[test]
fn a_changed_byte_in_the_eager_bundle_is_refused() {
    let (_dir, out) = copy_of_output();
    let bundle = deployed(&out, "bundle.zip.zst");
    let size = std::fs::metadata(&bundle).unwrap().len() as usize;
    flip_byte(&bundle, size / 2);
    let record = load_in_node(&out, "pass");
    let error = record["error"].as_str().unwrap();
    assert!(
        error.contains(&format!("the file packed: {size} bytes, sha256-")),
        "{error}"
    );
    assert_refused(
        &out,
        &format!(
            "loadBundle: bundle.zip.zst from {} is not the file packed: ",
            bundle.display()
        ),
        "loadBundle: bundle.zip.zst from http://127.0.0.1:",
        &format!("/{} is not the file packed: ", relative(&out, &bundle)),
    );
}

#[test]
fn a_changed_byte_in_the_stdlib_archive_is_refused() {
    let (_dir, out) = copy_of_output();
    let stdlib = deployed(&out, "python_stdlib.zip.zst");
    flip_byte(&stdlib, 100);
    let size = std::fs::metadata(&stdlib).unwrap().len();
    let record = load_in_node(&out, "pass");
    assert_eq!(
        record["stderr"], "",
        "Python's own complaint is not passed on"
    );
    let packed = format!(" is not the file packed: received {size} bytes, sha256-");
    assert_refused(
        &out,
        &format!(
            "loadBundle: python_stdlib.zip.zst from {}{packed}",
            stdlib.display()
        ),
        "loadBundle: python_stdlib.zip.zst from http://127.0.0.1:",
        &packed,
    );
}

#[test]
fn a_truncated_bundle_is_refused() {
    let (_dir, out) = copy_of_output();
    let bundle = deployed(&out, "bundle.zip.zst");
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
    let lazy = deployed(&out, LAZY);
    flip_byte(&lazy, 40);
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
            lazy.display()
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
            ) && output.contains(&format!(
                "/{}: not the file packed: received ",
                relative(&out, &lazy)
            )),
            "{output}"
        );
    }
}

#[test]
fn a_lazy_file_the_server_answers_404_for_fails_its_read_naming_it() {
    let (_dir, out) = copy_of_output();
    let lazy = deployed(&out, LAZY);
    std::fs::remove_file(&lazy).unwrap();
    for thread in THREADS {
        let page = load_in_chromium(&out, thread);
        assert_eq!(page["state"], "failed", "{thread}: {page}");
        assert!(
            page["status"]
                .as_str()
                .unwrap()
                .contains("OSError: [Errno 29] I/O error: '/lib/python3.14/colorsys.pyc'"),
            "{thread}: {page}"
        );
        let output = page["output"].as_str().unwrap();
        assert!(
            output.contains(
                "loadBundle: lazy file /lib/python3.14/colorsys.pyc from http://127.0.0.1:"
            ) && output.contains(&format!("/{}: HTTP 404", relative(&out, &lazy))),
            "{thread}: {output}"
        );
    }
}

#[test]
fn a_lazy_file_of_another_pack_is_refused() {
    let (_dir, out) = copy_of_output();
    let lazy = deployed(&out, LAZY);
    std::fs::copy(deployed(&packed().2, LAZY), &lazy).unwrap();
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
            page["output"].as_str().unwrap().contains(&format!(
                "/{}: not the file packed: ",
                relative(&out, &lazy)
            )),
            "{page}"
        );
    }
}

#[test]
fn validate_names_every_file_that_is_not_the_one_packed() {
    let (_dir, out) = copy_of_output();
    let (lazy, bundle, decoder) = (
        deployed(&out, LAZY),
        deployed(&out, "bundle.zip.zst"),
        deployed(&out, "zstd-decoder.mjs"),
    );
    std::fs::copy(deployed(&packed().2, LAZY), &lazy).unwrap();
    flip_byte(&bundle, 1000);
    std::fs::remove_file(&decoder).unwrap();
    let output = validate(&out);
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
        [&bundle, &decoder, &lazy].map(|p| relative(&out, p)),
        "{message}"
    );
    assert!(
        message.contains(&format!(
            "  {}: missing (expected ",
            relative(&out, &decoder)
        )),
        "{message}"
    );
}

/// The two downloads the page checks as they arrive, each as (its path under `out` as deployed,
/// the name errors give it, its size): the bundle (framed, read by the loader) and the
/// runtime's wasm (streamed to Pyodide).
fn checked_downloads(out: &Path) -> Vec<(String, &'static str, usize)> {
    [
        ("bundle.zip.zst", "bundle.zip.zst"),
        ("pyodide/pyodide.asm.wasm", "pyodide.asm.wasm"),
    ]
    .into_iter()
    .map(|(file, name)| {
        let path = deployed(out, file);
        let size = std::fs::metadata(&path).unwrap().len() as usize;
        (relative(out, &path), name, size)
    })
    .collect()
}

/// The page cannot check a file Node reads from disk as it arrives: a short file is Node's case
/// (`a_truncated_bundle_is_refused`); here a server announces the whole file and closes early.
#[test]
fn a_response_the_server_cuts_short_is_refused() {
    let (_dir, out) = copy_of_output();
    for (file, name, size) in &checked_downloads(&out) {
        let server = CuttingServer::start(&out, file, size / 2);
        for thread in THREADS {
            let page = load_page(&format!("{}{thread}", server.url), true, None, None);
            assert_eq!(page["state"], "failed", "{file} {thread}: {page}");
            let status = page["status"].as_str().unwrap();
            assert!(
                status.starts_with(&format!(
                    "Failed: loadBundle: {name} from {}{file} ",
                    server.url
                )) && status.contains(&format!("(the file packed: {size} bytes, sha256-")),
                "{file} {thread}: {status}"
            );
            assert_eq!(page["output"], "", "nothing ran: {page}");
        }
    }
}

/// A download that stalls (half the file, then nothing, the connection open) is fetched once
/// more past caches and the page runs; stalled twice, it fails naming the file and the wait.
/// The bundle (framed, read by the loader) and the runtime's wasm (streamed to Pyodide).
#[test]
fn a_download_that_stalls_is_fetched_once_more_and_a_second_stall_is_named() {
    let (_dir, out) = copy_of_output();
    for (file, name, size) in &checked_downloads(&out) {
        let page = "worker_page.html?stallTimeoutMs=1500";
        let server = CuttingServer::stalling(&out, file, size / 2, 1);
        let once = load_page(&format!("{}{page}", server.url), true, None, None);
        assert_eq!(once["state"], "done", "{file}: {once}");
        assert_eq!(once["output"], "hello\n(0.0, 1.0, 1)\n", "{file}: {once}");

        let server = CuttingServer::stalling(&out, file, size / 2, usize::MAX);
        let twice = load_page(&format!("{}{page}", server.url), true, None, None);
        assert_eq!(twice["state"], "failed", "{file}: {twice}");
        let status = twice["status"].as_str().unwrap();
        assert!(
            status.starts_with(&format!(
                "Failed: loadBundle: {name} from {}{file} ",
                server.url
            )) && status.ends_with("no bytes came for 1.5 s"),
            "{file}: {status}"
        );
        assert_eq!(twice["output"], "", "nothing ran: {twice}");
    }
}

#[test]
fn a_changed_byte_in_the_decoder_is_refused() {
    let (_dir, out) = copy_of_output();
    let decoder = deployed(&out, "zstd-decoder.mjs");
    flip_byte(&decoder, 10);
    let size = std::fs::metadata(&decoder).unwrap().len();
    let packed = format!(" is not the file packed: received {size} bytes, sha256-");
    assert_refused(
        &out,
        &format!(
            "loadBundle: zstd-decoder.mjs from {}{packed}",
            decoder.display()
        ),
        "loadBundle: zstd-decoder.mjs from http://127.0.0.1:",
        &packed,
    );
}

#[test]
fn a_runtime_of_another_release_or_with_a_changed_file_is_refused() {
    let other = common::runtime_versions()
        .into_iter()
        .find(|v| v != pyodide_pack_env::PINNED_PYODIDE_VERSION)
        .unwrap();
    let other_dir = runtime_dir_of(&other);
    let changed_wasm = runtime_with_a_changed("pyodide.asm.wasm");
    let changed_lock = runtime_with_a_changed("pyodide-lock.json");
    let (_dir, out) = copy_of_output();

    // Node.
    let record = load_in_node_with(&out, &other_dir, "pass");
    let error = record["error"].as_str().unwrap();
    assert!(
        error.starts_with("loadBundle: this bundle was packed for Pyodide 314.0.8, but ")
            && error.contains(&format!(" serves Pyodide {other}: ")),
        "{error}"
    );
    let record = load_in_node_with(&out, changed_wasm.path(), "pass");
    let error = record["error"].as_str().unwrap();
    let wasm = changed_wasm.path().join("pyodide.asm.wasm");
    let size = std::fs::metadata(&wasm).unwrap().len();
    assert!(
        error.starts_with(&format!(
            "loadBundle: pyodide.asm.wasm from {} is not the file packed: received {size} bytes, sha256-",
            wasm.display()
        )) && error.contains(&format!("; the file packed: {size} bytes, sha256-")),
        "{error}"
    );

    // The page's thread, the runtime from the CDN's URL; a worker, from a runtime folder of the
    // site (?indexURL=).
    let cdn_out = packed_for_the_cdn();
    let server = Server::start(cdn_out, &[]);
    let site = tempfile::tempdir().unwrap();
    for (name, dir) in [
        ("other", other_dir.as_path()),
        ("wasm", changed_wasm.path()),
        ("lock", changed_lock.path()),
    ] {
        copy_dir(dir, &site.path().join(name));
    }
    copy_dir(cdn_out, site.path());
    let site_server = Server::start(site.path(), &[]);
    let cdn = format!(
        "https://cdn.jsdelivr.net/pyodide/v{}/full/",
        pyodide_pack_env::PINNED_PYODIDE_VERSION
    );
    // (`file`: the changed file the error names; None: another release, named by its version.)
    for (name, dir, file) in [
        ("other", other_dir.as_path(), None),
        ("wasm", changed_wasm.path(), Some("pyodide.asm.wasm")),
        ("lock", changed_lock.path(), Some("pyodide-lock.json")),
    ] {
        let refusal = |index: &str| match file {
            None => format!("but {index} serves Pyodide {other}: "),
            Some(file) => format!("loadBundle: {file} from {index}{file} is not the file packed: "),
        };
        let page = load_page(&server.url, false, Some(dir), None);
        assert_eq!(page["state"], "failed", "{name}: {page}");
        let status = page["status"].as_str().unwrap();
        assert!(
            status.starts_with("Failed: loadBundle: ") && status.contains(&refusal(&cdn)),
            "{name}: {status}"
        );
        assert_eq!(page["output"], "", "nothing ran: {page}");

        let index = format!("{}{name}/", site_server.url);
        let page = load_page(
            &format!("{}worker_page.html?indexURL={index}", site_server.url),
            true,
            None,
            None,
        );
        assert_eq!(page["state"], "failed", "{name} (worker): {page}");
        let status = page["status"].as_str().unwrap();
        assert!(
            status.contains(&refusal(&index)),
            "{name} (worker): {status}"
        );
    }
    // The untouched runtime, from the CDN and from a folder, still loads.
    let page = load_page(&server.url, false, Some(&runtime_dir()), None);
    assert_eq!(page["state"], "done", "{page}");
    copy_dir(&runtime_dir(), &site.path().join("same"));
    let page = load_page(
        &format!(
            "{}worker_page.html?indexURL={}same/",
            site_server.url, site_server.url
        ),
        true,
        None,
        None,
    );
    assert_eq!(page["state"], "done", "{page}");
}
