//! A packed output served and loaded in headless Chromium: `pyodide-pack serve` in the background,
//! and `tests/page_probe.mjs` reading what the page shows (tests/page.rs, tests/integrity.rs).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use serde_json::{json, Value};

use super::{cache, repo, runtime_dir, stderr};

/// A running `pyodide-pack serve`, stopped with SIGINT when dropped.
pub struct Server {
    pub child: Child,
    pub url: String,
}

impl Server {
    pub fn start(dir: &Path, extra: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_pyodide-pack"))
            .arg("serve")
            .arg(dir)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no URL in {line:?}"))
            .to_string();
        Server { child, url }
    }

    /// SIGINT, as Ctrl-C sends it; the exit status.
    pub fn interrupt(&mut self) -> std::process::ExitStatus {
        unsafe { libc::kill(self.child.id() as i32, libc::SIGINT) };
        self.child.wait().unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            self.interrupt();
        }
    }
}

/// What the page shows in Chromium once it has finished.
pub fn load_page(url: &str, loopback_only: bool, cdn: bool, screenshot: Option<&Path>) -> Value {
    let cache = cache();
    let driver = pyodide_pack_env::install_npm_package(
        &cache,
        "browser-driver",
        "puppeteer-core",
        pyodide_pack_pack::browser::DRIVER_VERSION,
    )
    .unwrap();
    let chromium = pyodide_pack_pack::browser::find_chromium().unwrap();
    let version = pyodide_pack_env::PINNED_PYODIDE_VERSION;
    let dir = tempfile::tempdir().unwrap();
    let spec = json!({
        "chromium": chromium,
        "driver": driver,
        "url": url,
        "loopback_only": loopback_only,
        "cdn": cdn.then(|| json!({
            "prefix": format!("https://cdn.jsdelivr.net/pyodide/v{version}/full/"),
            "dir": runtime_dir(),
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
