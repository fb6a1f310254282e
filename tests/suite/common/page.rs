//! A packed output served and loaded in headless Chromium: `pyodide-pack serve` in the background,
//! and `tests/page_probe.mjs` reading what the page shows (tests/suite/page.rs, tests/suite/integrity.rs).

use std::io::{BufRead, BufReader, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;

use serde_json::{json, Value};

use super::{cache, repo, runtime_dir, stderr};

#[path = "../../../benches/support/serve.rs"]
mod serve;
#[allow(unused_imports)]
pub use serve::Server;

/// What the page shows in Chromium once it has finished. `cdn`: the folder the stand-in CDN
/// answers the pinned release's CDN URLs from (the runtime itself, or another to test with).
pub fn load_page(
    url: &str,
    loopback_only: bool,
    cdn: Option<&Path>,
    screenshot: Option<&Path>,
) -> Value {
    let cache = cache();
    let driver = pyodide_pack_env::install_npm_package(
        &cache,
        "browser-driver",
        "puppeteer-core",
        pyodide_pack_pack::DRIVER_VERSION,
    )
    .unwrap();
    let chromium = pyodide_pack_pack::find_chromium().unwrap();
    let version = pyodide_pack_env::PINNED_PYODIDE_VERSION;
    let dir = tempfile::tempdir().unwrap();
    let spec = json!({
        "chromium": chromium,
        "driver": driver,
        "url": url,
        "loopback_only": loopback_only,
        "cdn": cdn.map(|dir| json!({
            "prefix": format!("https://cdn.jsdelivr.net/pyodide/v{version}/full/"),
            "dir": dir,
        })),
        "screenshot": screenshot,
        "timeout_ms": 120_000,
    });
    let spec_path = dir.path().join("spec.json");
    std::fs::write(&spec_path, spec.to_string()).unwrap();
    let output = Command::new("node")
        .arg(repo().join("tests/page_probe.mjs"))
        .arg(&spec_path)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    serde_json::from_slice(&output.stdout).unwrap()
}

/// A packed output loaded through its loader.mjs in Node (tests/loader_probe.mjs), then a line of
/// Python run: `{error: loadBundle's error, python: what the line raised, stdout, stderr}`.
pub fn load_in_node(out: &Path, python: &str) -> Value {
    load_in_node_with(out, &runtime_dir(), python)
}

/// `load_in_node` with the runtime from `index` (the loader's `indexURL`).
pub fn load_in_node_with(out: &Path, index: &Path, python: &str) -> Value {
    let output = Command::new("node")
        .arg(repo().join("tests/loader_probe.mjs"))
        .arg(out.join("loader.mjs"))
        .arg(index)
        .arg(python)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    serde_json::from_slice(&output.stdout).unwrap()
}

/// Copies a folder tree.
pub fn copy_dir(from: &Path, to: &Path) {
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

/// A plain HTTP/1.1 server of one folder that cuts one file short, as a server or proxy failing
/// mid-response does: it announces the file's whole length, sends `keep` bytes of it and closes
/// the connection; or (`stalling`) sends them and then nothing more, the connection left open,
/// for the first `stalls` requests of the file. Every other file is served whole. (Runs until
/// the test process ends.)
pub struct CuttingServer {
    pub url: String,
}

/// What the server does after the `keep` bytes of the file it cuts.
#[derive(Clone, Copy)]
enum Cut {
    Close,
    /// Waits, for this many requests of the file; serves it whole after.
    Stall(usize),
}

impl CuttingServer {
    pub fn start(dir: &Path, cut: &str, keep: usize) -> CuttingServer {
        Self::serve(dir, cut, keep, Cut::Close)
    }

    pub fn stalling(dir: &Path, cut: &str, keep: usize, stalls: usize) -> CuttingServer {
        Self::serve(dir, cut, keep, Cut::Stall(stalls))
    }

    fn serve(dir: &Path, cut: &str, keep: usize, how: Cut) -> CuttingServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let (dir, cut) = (dir.to_path_buf(), cut.to_string());
        let asked = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (dir, cut, asked) = (dir.clone(), cut.clone(), asked.clone());
                std::thread::spawn(move || answer_cut(stream, &dir, &cut, keep, how, &asked));
            }
        });
        CuttingServer { url }
    }
}

fn answer_cut(
    mut stream: TcpStream,
    dir: &Path,
    cut: &str,
    keep: usize,
    how: Cut,
    asked: &std::sync::atomic::AtomicUsize,
) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request = String::new();
    if reader.read_line(&mut request).is_err() {
        return;
    }
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) <= 2 {
            break;
        }
    }
    let target = request.split_whitespace().nth(1).unwrap_or("/");
    let path = target
        .split(['?', '#'])
        .next()
        .unwrap()
        .trim_start_matches('/');
    let path = if path.is_empty() || path.ends_with('/') {
        format!("{path}index.html")
    } else {
        path.to_string()
    };
    let file = dir.join(&path);
    let Ok(body) = std::fs::read(&file) else {
        let _ = stream
            .write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        return;
    };
    let kind = match file.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html",
        Some("mjs" | "js") => "text/javascript",
        Some("wasm") => "application/wasm",
        Some("json") => "application/json",
        Some("css") => "text/css",
        _ => "application/octet-stream",
    };
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let stall = match how {
        Cut::Stall(stalls) if path == cut => {
            asked.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < stalls
        }
        _ => false,
    };
    let whole = path != cut || (matches!(how, Cut::Stall(_)) && !stall);
    let sent = if whole { &body[..] } else { &body[..keep] };
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(sent);
    let _ = stream.flush();
    if stall {
        // (Until the client gives up and closes: a read then ends.)
        let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(120)));
        let _ = std::io::Read::read(&mut stream, &mut [0u8; 1]);
    }
    let _ = stream.shutdown(Shutdown::Both);
}
