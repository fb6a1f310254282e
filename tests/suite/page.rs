//! From `pack` to a page: the `index.html` pack writes, served by `pyodide-pack serve`, loaded in
//! headless Chromium (`tests/page_probe.mjs`): it shows the app's output from the root and from a
//! sub-path, runs with `--runtime-files copy` when every request outside 127.0.0.1 is blocked, and
//! shows the loader's error when the bundle cannot load. The server itself: CDN-like responses, a
//! taken port, Ctrl-C.

use crate::common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};

use std::sync::OnceLock;
use std::time::Duration;

use common::page::{copy_dir, load_page, Server};
use common::*;
use serde_json::{json, Value};

const APP: &str = "pydantic_model";

/// One pack per output kind for the whole file: packing and validating takes ~30 s.
fn packed(runtime_files: &str) -> PathBuf {
    static CDN: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    static COPY: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    let cell = if runtime_files == "copy" { &COPY } else { &CDN };
    cell.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("dist");
        let mut args: Vec<String> = vec!["pack".into()];
        args.extend(env_flags(&corpus_app(APP), &corpus_wheels(APP)));
        args.extend(["-o".into(), out.display().to_string()]);
        args.extend(["--runtime-files".into(), runtime_files.into()]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let output = pyodide_pack(&args);
        assert!(output.status.success(), "{}", stderr(&output));
        (dir, out)
    })
    .1
    .clone()
}

fn expected() -> String {
    std::fs::read_to_string(repo().join("corpus").join(APP).join("expected.txt")).unwrap()
}

#[test]
fn the_page_shows_the_apps_output_from_the_root_and_from_a_sub_path() {
    let out = packed("cdn");
    for name in ["index.html", "loader.mjs"] {
        assert!(out.join(name).is_file(), "{name} is written");
    }
    assert_eq!(
        immutable_names(&out),
        [
            "app.py",
            "bundle.zip.zst",
            "icon.svg",
            "index.css",
            "index.mjs",
            "loader.mjs",
            "python_stdlib.zip.zst",
            "zstd-decoder.mjs"
        ],
        "the page's files named by their content"
    );
    assert_eq!(
        manifest_of(&deployed(&out, "loader.mjs"))["runtime_dir"],
        Value::Null,
        "the CDN is the default"
    );

    // From the root, the runtime from the (stand-in) CDN. The screenshot in docs/ is this page.
    let server = Server::start(&out, &[]);
    let shot = tempfile::tempdir().unwrap();
    let png = match std::env::var_os("PYODIDE_PACK_UPDATE_SCREENSHOT") {
        Some(_) => repo().join("docs/page.png"),
        None => shot.path().join("page.png"),
    };
    let page = load_page(&server.url, false, Some(&runtime_dir()), Some(&png));
    assert_eq!(page["state"], "done", "{page}");
    assert_eq!(page["output"].as_str().unwrap(), expected(), "{page}");
    assert_eq!(page["title"], "app.py");
    assert!(
        page["status"].as_str().unwrap().starts_with("app.py ran"),
        "{page}"
    );
    assert_eq!(&std::fs::read(&png).unwrap()[..8], b"\x89PNG\r\n\x1a\n");
    // The output reaches the console too.
    let console = page["console"].as_array().unwrap();
    let first = expected().lines().next().unwrap().to_string();
    assert!(console.iter().any(|m| m == &json!(first)), "{page}");
    drop(server);

    // From a sub-path (a project site: https://user.github.io/repo/).
    let site = tempfile::tempdir().unwrap();
    copy_dir(&out, &site.path().join("repo"));
    let server = Server::start(site.path(), &[]);
    let page = load_page(
        &format!("{}repo/", server.url),
        false,
        Some(&runtime_dir()),
        None,
    );
    assert_eq!(page["state"], "done", "{page}");
    assert_eq!(page["output"].as_str().unwrap(), expected(), "{page}");
}

#[test]
fn with_the_runtime_copied_the_page_needs_nothing_outside_loopback() {
    let out = packed("copy");
    let report: Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    let copied: Vec<&str> = report["pack"]["runtime_files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        copied,
        [
            "pyodide/pyodide.mjs",
            "pyodide/pyodide.asm.mjs",
            "pyodide/pyodide.asm.wasm",
            "pyodide/pyodide-lock.json"
        ]
    );
    let server = Server::start(&out, &[]);
    let page = load_page(&server.url, true, None, None);
    assert_eq!(page["outside"], json!([]), "{page}");
    assert_eq!(page["state"], "done", "{page}");
    assert_eq!(page["output"].as_str().unwrap(), expected(), "{page}");

    // The control: the default output, under the same block, cannot reach its CDN.
    let server = Server::start(&packed("cdn"), &[]);
    let page = load_page(&server.url, true, None, None);
    assert_eq!(page["state"], "failed", "{page}");
    let outside = page["outside"].as_array().unwrap();
    assert!(
        outside.iter().any(|u| u
            .as_str()
            .unwrap()
            .starts_with("https://cdn.jsdelivr.net/pyodide/")),
        "{page}"
    );
}

#[test]
fn a_bundle_that_cannot_load_shows_the_loaders_error_in_the_page() {
    let site = tempfile::tempdir().unwrap();
    let out = site.path().join("dist");
    copy_dir(&packed("copy"), &out);
    let bundle = deployed(&out, "bundle.zip.zst");
    std::fs::remove_file(&bundle).unwrap();
    let server = Server::start(&out, &[]);
    let page = load_page(&server.url, true, None, None);
    assert_eq!(page["state"], "failed", "{page}");
    let status = page["status"].as_str().unwrap();
    let path = bundle.strip_prefix(&out).unwrap().display();
    assert!(
        status.starts_with("Failed: loadBundle: ")
            && status.contains(&format!("{}{path}: HTTP 404", server.url)),
        "{page}"
    );
}

#[test]
fn serve_answers_as_a_cdn_does() {
    let out = packed("copy");
    let server = Server::start(&out, &[]);
    let addr = server
        .url
        .trim_start_matches("http://")
        .trim_end_matches('/');

    // Brotli when asked, the wasm type, a file named by its content cached for ever.
    let wasm_path = deployed(&out, "pyodide/pyodide.asm.wasm");
    let url_path = |path: &Path| format!("/{}", path.strip_prefix(&out).unwrap().display());
    let (head, body) = get(addr, &url_path(&wasm_path), "br");
    assert!(head.contains("content-type: application/wasm"), "{head}");
    assert!(head.contains("content-encoding: br"), "{head}");
    assert!(
        head.contains("cache-control: public, max-age=31536000, immutable"),
        "{head}"
    );
    let mut wasm = Vec::new();
    brotli::BrotliDecompress(&mut &body[..], &mut wasm).unwrap();
    assert_eq!(wasm, std::fs::read(&wasm_path).unwrap());
    // gzip when that is all the client takes; the page at the folder's URL, revalidated.
    let (head, _) = get(addr, "/", "gzip");
    assert!(
        head.contains("content-encoding: gzip") && head.contains("text/html"),
        "{head}"
    );
    assert!(head.contains("cache-control: no-cache"), "{head}");
    // A zstd stream is sent as it is.
    let bundle = deployed(&out, "bundle.zip.zst");
    let (head, body) = get(addr, &url_path(&bundle), "br, gzip");
    assert!(!head.contains("content-encoding"), "{head}");
    assert_eq!(body, std::fs::read(&bundle).unwrap());
    // A precompressed sibling is served in place of its file.
    let site = tempfile::tempdir().unwrap();
    std::fs::write(
        site.path().join("data.txt"),
        "plain text, repeated. ".repeat(50),
    )
    .unwrap();
    std::fs::write(site.path().join("data.txt.br"), b"not really brotli").unwrap();
    let sibling = Server::start(site.path(), &[]);
    let addr = sibling
        .url
        .trim_start_matches("http://")
        .trim_end_matches('/');
    let (head, body) = get(addr, "/data.txt", "br");
    assert!(head.contains("content-encoding: br"), "{head}");
    assert_eq!(body, b"not really brotli");
    let (head, _) = get(addr, "/missing.txt", "br");
    assert!(head.starts_with("HTTP/1.1 404"), "{head}");
}

#[test]
fn serve_stops_on_ctrl_c_and_says_when_its_port_is_taken() {
    let site = tempfile::tempdir().unwrap();
    std::fs::write(site.path().join("index.html"), "<p>hi</p>").unwrap();
    let mut server = Server::start(site.path(), &[]);
    let addr = server
        .url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    assert!(addr.starts_with("127.0.0.1:"), "{addr}");
    let (head, _) = get(&addr, "/", "identity");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");

    // The port is taken while it runs.
    let port = addr.rsplit(':').next().unwrap();
    let output = pyodide_pack(&["serve", &site.path().display().to_string(), "--port", port]);
    assert_eq!(output.status.code(), Some(1));
    let message = stderr(&output);
    assert_eq!(message.trim().lines().count(), 1, "{message}");
    assert!(
        message.contains(&format!(
            "cannot serve on 127.0.0.1:{port}: the port is taken"
        )),
        "{message}"
    );

    // Ctrl-C: a clean exit, and the port free again.
    let status = server.interrupt();
    assert!(status.success(), "{status:?}");
    let mut rest = String::new();
    server
        .child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut rest)
        .unwrap();
    assert_eq!(rest.trim(), "stopped");
    assert!(std::net::TcpListener::bind(&addr).is_ok(), "{addr} is free");

    // A folder that is not there is one line, before anything listens.
    let output = pyodide_pack(&["serve", "/nonexistent/dist"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stderr(&output).trim().lines().count(),
        1,
        "{}",
        stderr(&output)
    );
    assert!(stderr(&output).contains("/nonexistent/dist: no such folder"));
}

/// A raw GET (the headers lowercased, the body as sent).
fn get(addr: &str, path: &str, accept_encoding: &str) -> (String, Vec<u8>) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept-Encoding: {accept_encoding}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a header block");
    let head = String::from_utf8_lossy(&response[..split]).to_lowercase();
    let mut body = response[split + 4..].to_vec();
    if head.contains("transfer-encoding: chunked") {
        body = dechunk(&body);
    }
    (head.replacen("http/1.1", "HTTP/1.1", 1), body)
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n").unwrap();
        let size =
            usize::from_str_radix(std::str::from_utf8(&data[..line_end]).unwrap().trim(), 16)
                .unwrap();
        data = &data[line_end + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

#[test]
fn the_page_and_the_runtime_copy_follow_the_flags_and_the_settings() {
    let (dir, app, wheels) = scratch_app("hello.py", "print('hello')\n");
    let pack = |extra: &[&str]| {
        let out = dir.path().join("out");
        let mut args: Vec<String> = vec!["pack".into()];
        args.extend(env_flags(&app, &wheels));
        args.extend([
            "-o".into(),
            out.display().to_string(),
            "--no-validate".into(),
        ]);
        args.extend(extra.iter().map(|s| s.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        (pyodide_pack(&args), out)
    };
    // By default: the page and the entry's copy, the runtime from the CDN.
    let (output, out) = pack(&[]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(text.contains(", index.html (runs hello.py)"), "{text}");
    assert!(text.contains(&format!(
        "to see it in a browser: pyodide-pack serve {}",
        out.display()
    )));
    assert_eq!(
        std::fs::read(deployed(&out, "hello.py")).unwrap(),
        b"print('hello')\n"
    );
    let loader = std::fs::read_to_string(deployed(&out, "loader.mjs")).unwrap();
    assert!(loader.contains("\"runtime_dir\":null"), "the CDN");

    // --no-page: neither (and no earlier deployment kept: the folder holds this pack alone).
    let (output, out) = pack(&["--no-page", "--keep-deployments", "0"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(!out.join("index.html").exists());
    assert_eq!(
        immutable_names(&out),
        [
            "bundle.zip.zst",
            "loader.mjs",
            "python_stdlib.zip.zst",
            "zstd-decoder.mjs"
        ]
    );

    // The settings: page = false, runtime-files = "copy"; a flag wins over them.
    std::fs::write(
        dir.path().join("pyproject.toml"),
        "[tool.pyodide-pack]\npage = false\nruntime-files = \"copy\"\n",
    )
    .unwrap();
    let (output, out) = pack(&[]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(!out.join("index.html").exists());
    assert!(deployed(&out, "pyodide/pyodide.asm.wasm").is_file());
    let loader = std::fs::read_to_string(deployed(&out, "loader.mjs")).unwrap();
    assert!(loader.contains("\"runtime_dir\":\"pyodide-"));
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(text.contains(", pyodide/ (4 runtime files, "), "{text}");
    let (output, out) = pack(&["--runtime-files", "cdn"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        manifest_of(&deployed(&out, "loader.mjs"))["runtime_dir"],
        Value::Null
    );

    // An unknown value is one line and writes nothing.
    std::fs::remove_dir_all(&out).unwrap();
    let (output, out) = pack(&["--runtime-files", "mirror"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("unknown runtime-files \"mirror\": expected cdn or copy"));
    assert!(!out.exists());
}

/// The minimal Content-Security-Policy of docs/integrity.md, the runtime from the CDN (with
/// `--runtime-files copy`, `connect-src 'self'` alone).
const STRICT_CSP: &str = "default-src 'none'; script-src 'self' blob: 'wasm-unsafe-eval'; \
    worker-src blob:; connect-src 'self' https://cdn.jsdelivr.net; style-src 'self'; img-src 'self'";

fn under_policy(out: &std::path::Path, policy: &str, cdn: bool) -> Value {
    let header = format!("Content-Security-Policy: {policy}");
    let server = Server::start(out, &["--header", &header]);
    let runtime = runtime_dir();
    load_page(&server.url, !cdn, cdn.then_some(runtime.as_path()), None)
}

fn violations(page: &Value) -> Vec<String> {
    page["console"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m.as_str())
        .filter(|m| m.contains("Content Security Policy"))
        .map(String::from)
        .collect()
}

#[test]
fn under_a_strict_content_security_policy_the_page_runs_the_app() {
    // The runtime from the CDN.
    let page = under_policy(&packed("cdn"), STRICT_CSP, true);
    assert_eq!(page["state"], "done", "{page}");
    assert_eq!(page["output"].as_str().unwrap(), expected(), "{page}");
    assert_eq!(violations(&page), Vec::<String>::new(), "{page}");

    // The runtime copied: nothing but the page's own origin.
    let own = STRICT_CSP.replace(" https://cdn.jsdelivr.net", "");
    let page = under_policy(&packed("copy"), &own, false);
    assert_eq!(page["state"], "done", "{page}");
    assert_eq!(page["output"].as_str().unwrap(), expected(), "{page}");
    assert_eq!(violations(&page), Vec::<String>::new(), "{page}");

    // With no worker allowed the loader decodes on the page's thread.
    let page = under_policy(
        &packed("copy"),
        &own.replace("worker-src blob:", "worker-src 'none'"),
        false,
    );
    assert_eq!(page["state"], "done", "{page}");
    assert_eq!(page["output"].as_str().unwrap(), expected(), "{page}");

    // The controls: the policy is enforced, and what it allows is needed.
    for (without, allowed) in [
        ("'wasm-unsafe-eval'", " 'wasm-unsafe-eval'"),
        ("blob: scripts", " blob:"),
    ] {
        let page = under_policy(&packed("copy"), &own.replacen(allowed, "", 1), false);
        assert_eq!(page["state"], "failed", "without {without}: {page}");
        assert_eq!(page["output"], "", "without {without}: {page}");
        // One error that says what the policy refused (from the browser's violation report: the
        // policy was enforced), not a page loading forever.
        let status = page["status"].as_str().unwrap();
        assert!(
            status.starts_with("Failed: loadBundle: the page's Content-Security-Policy refused ")
                && status.contains(&format!("\"{}\"", own.replacen(allowed, "", 1))),
            "without {without}: {status}"
        );
    }
}
