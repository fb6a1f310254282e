//! One headless Chromium with one profile (its HTTP cache, its service workers) and several tabs,
//! driven a step at a time through `harness/visits.mjs`: the second visit, the visit with the
//! server gone, the visit after a redeploy, with the test acting between two steps.
//!
//! Each step is a JSON command answered by one JSON line (see visits.mjs for the fields):
//! `{ok, error, ms, text, value, requests: [{url, method, status, from, resource_type, error?}],
//! console, page_errors, service_worker}`.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::{cache, repo};

/// `until` for the page `pack` writes: its body's `data-state` is no longer "loading".
pub const PAGE_FINISHED: &str =
    r#"document.body.dataset.state === "done" || document.body.dataset.state === "failed""#;

/// A shaped link (bytes/s, ms) for every tab and every service worker.
#[derive(Clone, Copy, Debug)]
pub struct Network {
    pub download_bps: u64,
    pub upload_bps: u64,
    pub latency_ms: u64,
}

/// The running driver: `send` a command, get its answer.
pub struct Visits {
    child: Child,
    stdin: Option<ChildStdin>,
    answers: Receiver<String>,
    stderr: Arc<Mutex<String>>,
    stderr_thread: Option<JoinHandle<()>>,
    timeout: Duration,
    _dir: tempfile::TempDir,
}

impl Visits {
    /// The browser started; each command waits up to `timeout` (unless it says otherwise).
    pub fn start(timeout: Duration) -> Visits {
        Visits::start_with(timeout, None)
    }

    pub fn start_with(timeout: Duration, network: Option<Network>) -> Visits {
        let chromium = pyodide_pack_pack::find_chromium().unwrap();
        let driver = pyodide_pack_pack::browser_driver(&cache()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let spec = json!({
            "chromium": chromium,
            "driver": driver,
            "timeout_ms": timeout.as_millis() as u64,
            "network": network.map(|n| json!({
                "download_bps": n.download_bps,
                "upload_bps": n.upload_bps,
                "latency_ms": n.latency_ms,
            })),
        });
        let spec_path = dir.path().join("visits.json");
        std::fs::write(&spec_path, spec.to_string()).unwrap();
        let mut child = Command::new("node")
            .arg(repo().join("harness").join("visits.mjs"))
            .arg(&spec_path)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("node runs (is Node.js installed?)");
        // Both pipes drained by threads of their own: the answers one line at a time, the
        // diagnostics kept for a panic's message (a full pipe would stop the harness).
        let (sender, answers) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut pipe = child.stderr.take().unwrap();
        let sink = Arc::clone(&stderr);
        let stderr_thread = std::thread::spawn(move || {
            let mut buffer = [0u8; 8192];
            while let Ok(n) = pipe.read(&mut buffer) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buffer[..n]));
            }
        });
        Visits {
            stdin: child.stdin.take(),
            child,
            answers,
            stderr,
            stderr_thread: Some(stderr_thread),
            timeout,
            _dir: dir,
        }
    }

    /// What the harness wrote on stderr so far (its diagnostics).
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Sends one command and returns its answer; panics, with the harness's stderr, if the
    /// harness died or did not answer in time.
    pub fn send(&mut self, command: Value) -> Value {
        let line = command.to_string() + "\n";
        let written = self.stdin.as_mut().map(|stdin| {
            stdin
                .write_all(line.as_bytes())
                .and_then(|()| stdin.flush())
        });
        if !matches!(written, Some(Ok(()))) {
            self.died(&command, "its stdin is closed");
        }
        // The harness bounds every command by its timeout (plus its quiet wait); this margin
        // only catches a harness stuck for good.
        let waited = command["timeout_ms"]
            .as_u64()
            .map(Duration::from_millis)
            .unwrap_or(self.timeout)
            + Duration::from_secs(60);
        match self.answers.recv_timeout(waited) {
            Ok(answer) => {
                let value: Value = serde_json::from_str(&answer).unwrap_or_else(|err| {
                    panic!(
                        "visits.mjs answered {command} with a line that is not JSON ({err}): {answer}\n{}",
                        self.stderr()
                    )
                });
                // A crash's line: the harness is going away.
                if value["error"]
                    .as_str()
                    .is_some_and(|e| e.starts_with("visits.mjs: "))
                {
                    self.died(&command, value["error"].as_str().unwrap());
                }
                value
            }
            Err(RecvTimeoutError::Timeout) => {
                self.died(&command, &format!("no answer in {} s", waited.as_secs()))
            }
            Err(RecvTimeoutError::Disconnected) => self.died(&command, "it exited"),
        }
    }

    fn died(&mut self, command: &Value, why: &str) -> ! {
        let status = self.finish(Duration::from_secs(5));
        panic!(
            "visits.mjs failed on {command}: {why} ({status})\n{}",
            self.stderr()
        )
    }

    /// Opens `url` in tab `tab` (made if new; an existing tab navigates), until the expression
    /// `until_js` holds.
    pub fn open(&mut self, tab: u32, url: &str, until_js: &str) -> Value {
        self.send(json!({"cmd": "open", "tab": tab, "url": url, "until": {"js": until_js}}))
    }

    /// Reloads tab `tab`, until the expression `until_js` holds.
    pub fn reload(&mut self, tab: u32, until_js: &str) -> Value {
        self.send(json!({"cmd": "reload", "tab": tab, "until": {"js": until_js}}))
    }

    /// Evaluates the (async) expression `js` in tab `tab`: the answer's `value`.
    pub fn eval(&mut self, tab: u32, js: &str) -> Value {
        self.send(json!({"cmd": "eval", "tab": tab, "js": js}))
    }

    pub fn close(&mut self, tab: u32) -> Value {
        self.send(json!({"cmd": "close", "tab": tab}))
    }

    /// What the service workers requested since the last call.
    pub fn sw_requests(&mut self) -> Value {
        self.send(json!({"cmd": "sw_requests"}))
    }

    /// Quits (closing stdin), waits up to `grace` for the harness to close the browser and remove
    /// its profile, then SIGTERM (the harness still cleans up), then SIGKILL. Its exit status, in
    /// words.
    fn finish(&mut self, grace: Duration) -> String {
        if let Some(mut stdin) = self.stdin.take() {
            let _ = stdin.write_all(b"{\"cmd\":\"quit\"}\n");
            let _ = stdin.flush();
        }
        let mut status = wait_for(&mut self.child, grace);
        if status.is_none() {
            unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
            status = wait_for(&mut self.child, Duration::from_secs(5));
        }
        if status.is_none() {
            let _ = self.child.kill();
            status = self.child.wait().ok();
        }
        if let Some(thread) = self.stderr_thread.take() {
            let _ = thread.join();
        }
        status.map_or("not waited for".into(), |s| s.to_string())
    }
}

fn wait_for(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let start = Instant::now();
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        if start.elapsed() >= limit {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

impl Drop for Visits {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            self.finish(Duration::from_secs(10));
        }
    }
}

/// The requests of an answer (`requests`), as `(url, from, status)`.
pub fn requests(answer: &Value) -> Vec<(String, String, Option<u64>)> {
    answer["requests"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|r| {
                    (
                        r["url"].as_str().unwrap_or_default().to_string(),
                        r["from"].as_str().unwrap_or_default().to_string(),
                        r["status"].as_u64(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The URLs of an answer's requests whose response came from `from` ("network", "cache",
/// "service-worker", "failed").
pub fn urls_from(answer: &Value, from: &str) -> Vec<String> {
    requests(answer)
        .into_iter()
        .filter(|(_, f, _)| f == from)
        .map(|(url, _, _)| url)
        .collect()
}
