//! Browser validation: the bundle run in headless Chromium, the way a web page runs it.
//!
//! Node alone is no proof for a bundle made for web pages. After the Node validation (whose full
//! environment run stays the reference output), each run (the app, then each input) is repeated in
//! a page that imports `loader.mjs` over HTTP, on the main thread and/or in a module worker. The
//! harness (`run_browser.mjs`) serves the bundle, the runtime and the app on a loopback port and
//! drives the browser with puppeteer-core, installed from npm into the cache like the runtime.

use std::path::{Path, PathBuf};
use std::time::Duration;

use pyodide_pack_env::{install_npm_package, CacheRoot, Environment};
use pyodide_pack_trace::{install_harness, run_node_script, RunPlan, TraceProgress, TraceRequest};
use serde::{Deserialize, Serialize};

use crate::validate::{bundle_run_files, check_lazy_fetches, LazyFetch, Reference, TracedRuns};
use crate::PackError;

/// The browser driver: npm's puppeteer-core, which drives an installed Chromium and downloads none.
/// 24.x: the 25 line wants Node 22.
const DRIVER_PACKAGE: &str = "puppeteer-core";
pub const DRIVER_VERSION: &str = "24.43.1";

/// Names tried on the PATH when `$PYODIDE_PACK_CHROMIUM` is not set.
const CHROMIUM_NAMES: &[&str] = &[
    "chromium",
    "chromium-browser",
    "google-chrome",
    "google-chrome-stable",
];

/// Where a page runs the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BrowserThread {
    /// The page's own thread, as `<script type="module">` runs it.
    Main,
    /// A module worker the page starts.
    Worker,
}

impl BrowserThread {
    pub fn describe(self) -> &'static str {
        match self {
            BrowserThread::Main => "main thread",
            BrowserThread::Worker => "worker",
        }
    }

    fn key(self) -> &'static str {
        match self {
            BrowserThread::Main => "main",
            BrowserThread::Worker => "worker",
        }
    }
}

/// `--browser main | worker | both`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BrowserModes {
    Main,
    Worker,
    Both,
}

impl BrowserModes {
    pub fn parse(text: &str) -> Option<BrowserModes> {
        match text {
            "main" => Some(BrowserModes::Main),
            "worker" => Some(BrowserModes::Worker),
            "both" => Some(BrowserModes::Both),
            _ => None,
        }
    }

    pub fn threads(self) -> Vec<BrowserThread> {
        match self {
            BrowserModes::Main => vec![BrowserThread::Main],
            BrowserModes::Worker => vec![BrowserThread::Worker],
            BrowserModes::Both => vec![BrowserThread::Main, BrowserThread::Worker],
        }
    }
}

pub struct BrowserRequest<'a> {
    pub env: &'a Environment,
    /// The folder holding `loader.mjs` and what it loads.
    pub bundle_dir: &'a Path,
    pub inputs: Vec<PathBuf>,
    pub timeout: Duration,
    pub cache: &'a CacheRoot,
    pub modes: BrowserModes,
    /// Serve with COOP/COEP headers so the page is cross-origin isolated.
    pub isolate: bool,
    /// The full environment's output of each run, by label.
    pub references: &'a [Reference],
    /// The runs the pack traced: they must fetch no lazy file.
    pub traced: &'a TracedRuns,
}

/// The browser's load-time breakdown of a run, in milliseconds since navigation started where
/// it says so, else durations.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct BrowserTimings {
    /// Navigation start to the page's script running.
    #[serde(default)]
    pub page_ms: f64,
    #[serde(default)]
    pub load_pyodide_ms: f64,
    #[serde(default)]
    pub fetch_unpack_ms: f64,
    #[serde(default)]
    pub dynlibs_ms: f64,
    /// Importing and running the app.
    #[serde(default)]
    pub run_ms: f64,
    /// Navigation start to the app's first line of output.
    #[serde(default)]
    pub first_output_ms: Option<f64>,
    /// Navigation start to the end of the run.
    #[serde(default)]
    pub total_ms: f64,
}

/// What the browser said during a run, other than the app's output.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ConsoleMessage {
    #[serde(rename = "type")]
    pub kind: String,
    /// `page` or `worker`.
    pub r#where: String,
    pub text: String,
    pub url: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BrowserRun {
    pub label: String,
    pub thread: BrowserThread,
    /// The lazy files the page fetched, in order.
    pub lazy_fetched: Vec<LazyFetch>,
    pub isolated: bool,
    /// The output, identical to the full environment's (or validation failed).
    pub stdout: String,
    pub stderr: String,
    pub timings: BrowserTimings,
    /// Console warnings (and other non-error messages the page did not print itself).
    pub warnings: Vec<ConsoleMessage>,
    /// DevTools issues by name (`DeprecationIssue: SharedArrayBufferConstructedWithoutIsolation`).
    pub issues: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BrowserValidation {
    pub browser: String,
    pub runs: Vec<BrowserRun>,
}

#[derive(Deserialize)]
struct BrowserRecord {
    #[serde(default)]
    stdout: String,
    #[serde(default)]
    stderr: String,
    error: Option<RecordError>,
    #[serde(default)]
    timings: BrowserTimings,
    #[serde(default)]
    console: Vec<ConsoleMessage>,
    #[serde(default)]
    page_errors: Vec<String>,
    #[serde(default)]
    issues: Vec<String>,
    #[serde(default)]
    failed_requests: Vec<String>,
    #[serde(default)]
    isolated: Option<bool>,
    #[serde(default)]
    lazy_fetched: Vec<LazyFetch>,
}

/// What `run_browser.mjs` writes: a record per run made, and what stopped it before any.
#[derive(Deserialize)]
struct BrowserBatch {
    #[serde(default)]
    runs: Vec<BrowserRecord>,
    error: Option<RecordError>,
}

#[derive(Deserialize)]
struct RecordError {
    kind: String,
    message: String,
}

/// The Chromium to drive: `$PYODIDE_PACK_CHROMIUM`, else the first of the usual names on the PATH.
pub fn find_chromium() -> Result<PathBuf, PackError> {
    if let Some(named) = std::env::var_os("PYODIDE_PACK_CHROMIUM").filter(|v| !v.is_empty()) {
        let path = PathBuf::from(&named);
        return which::which(&path).map_err(|_| PackError::BrowserMissing {
            what: format!(
                "PYODIDE_PACK_CHROMIUM names {}, which is not an executable",
                path.display()
            ),
        });
    }
    CHROMIUM_NAMES
        .iter()
        .find_map(|name| which::which(name).ok())
        .ok_or_else(|| PackError::BrowserMissing {
            what: format!(
                "no Chromium on the PATH (looked for {})",
                CHROMIUM_NAMES.join(", ")
            ),
        })
}

/// The browser driver (puppeteer-core from npm, installed into the cache on first use): the npm
/// prefix that holds it.
pub fn browser_driver(cache: &CacheRoot) -> Result<PathBuf, PackError> {
    Ok(install_npm_package(
        cache,
        "browser-driver",
        DRIVER_PACKAGE,
        DRIVER_VERSION,
    )?)
}

/// Runs each plan in each thread mode in headless Chromium and compares the output with the
/// reference of the Node validation's full-environment run of the same plan. One browser serves
/// every run (a fresh context each): its start costs more than a small app's run.
pub fn validate_in_browser(
    request: &BrowserRequest,
    progress: &dyn TraceProgress,
) -> Result<BrowserValidation, PackError> {
    let chromium = find_chromium()?;
    let driver = install_npm_package(
        request.cache,
        "browser-driver",
        DRIVER_PACKAGE,
        DRIVER_VERSION,
    )?;
    let script = install_harness(request.cache)?.join("run_browser.mjs");
    let env = request.env;
    let trace_request = TraceRequest {
        env,
        inputs: request.inputs.clone(),
        timeout: request.timeout,
        cache: request.cache,
        jobs: 1,
    };
    let app = env.archive(env.entry).path.join(&env.entry(env.entry).path);
    // Every (plan, thread), in the order they run and are reported, with the output expected.
    let mut runs = Vec::new();
    for plan in trace_request.plans() {
        let expected = request
            .references
            .iter()
            .find(|r| r.label == plan.label)
            .map(|r| r.stdout.clone())
            .ok_or_else(|| PackError::BrowserLoad {
                run: plan.label.clone(),
                thread: "-".into(),
                message: "no reference run of this name to compare with".into(),
            })?;
        for thread in request.modes.threads() {
            runs.push((plan.clone(), thread, expected.clone()));
        }
    }
    let shown = |plan: &RunPlan, thread: BrowserThread| RunPlan {
        label: format!("{} ({})", plan.label, thread.describe()),
        input: plan.input.clone(),
    };
    if let Some((plan, thread, _)) = runs.first() {
        progress.run_started(&shown(plan, *thread));
    }
    let planned: Vec<(&RunPlan, BrowserThread)> = runs
        .iter()
        .map(|(plan, thread, _)| (plan, *thread))
        .collect();
    let mut records = run_in_browser(request, &script, &chromium, &driver, &app, &planned)?;
    let mut done = Vec::new();
    for (plan, thread, expected) in &runs {
        let Some(record) = records.next() else {
            // (The harness stops at the first failure, which is reported below.)
            break;
        };
        let run = browser_run(request, plan, *thread, record)?;
        if run.stdout != *expected {
            return Err(PackError::OutputDiffers {
                run: plan.label.clone(),
                reference_name: "the full environment".into(),
                reference: expected.clone(),
                bundle_name: format!("bundle in Chromium ({})", thread.describe()),
                bundle: run.stdout,
            });
        }
        progress.run_finished(&shown(plan, *thread), run.timings.total_ms / 1000.0, true);
        done.push(run);
    }
    if done.len() < runs.len() {
        let (plan, thread, _) = &runs[done.len()];
        return Err(PackError::BrowserLoad {
            run: plan.label.clone(),
            thread: thread.describe().into(),
            message: "the browser harness ended before this run".into(),
        });
    }
    Ok(BrowserValidation {
        browser: chromium.display().to_string(),
        runs: done,
    })
}

/// The runs' records, in order, from one harness process and one browser: as many as were made
/// (the harness stops at the first that fails). A failure before any run (the browser would not
/// start) is the first run's error.
fn run_in_browser(
    request: &BrowserRequest,
    script: &Path,
    chromium: &Path,
    driver: &Path,
    app: &Path,
    runs: &[(&RunPlan, BrowserThread)],
) -> Result<std::vec::IntoIter<BrowserRecord>, PackError> {
    let env = request.env;
    let entry_dest = env.entry(env.entry).install_path.clone();
    let specs: Vec<_> = runs
        .iter()
        .map(|(plan, thread)| {
            let (files, input_dest) = bundle_run_files(env, plan);
            serde_json::json!({
                "files": files,
                "entry": entry_dest,
                "input": input_dest,
                "mode": thread.key(),
            })
        })
        .collect();
    let spec = serde_json::json!({
        "bundle_dir": request.bundle_dir,
        "runtime": env.runtime.dir,
        "runs": specs,
        "isolate": request.isolate,
        "chromium": chromium,
        "driver": driver,
        "timeout_ms": request.timeout.as_millis() as u64,
    });
    let Some((first, thread)) = runs.first() else {
        return Ok(Vec::new().into_iter());
    };
    let load_error = |message: String| PackError::BrowserLoad {
        run: first.label.clone(),
        thread: thread.describe().into(),
        message,
    };
    // The harness keeps its own clock for each page (Python runs in the browser, not in Node);
    // the parent's limit is a backstop for a browser that does not close.
    let backstop =
        (request.timeout + Duration::from_secs(10)) * runs.len() as u32 + Duration::from_secs(20);
    let outcome = run_node_script(script, spec, backstop, app, &first.label)?;
    let Some(text) = outcome.record else {
        return Err(load_error(format!(
            "node exited with {} and wrote no record: {}",
            outcome.status, outcome.stderr_tail
        )));
    };
    let mut batch: BrowserBatch =
        serde_json::from_str(&text).map_err(|e| load_error(format!("unreadable record: {e}")))?;
    // What stopped the harness is the failure of the run it was making, if any.
    if let Some(error) = batch.error.take() {
        match batch.runs.last_mut() {
            None => return Err(load_error(error.message)),
            Some(last) => {
                last.error.get_or_insert(error);
            }
        }
    }
    Ok(batch.runs.into_iter())
}

/// One run's record as a result: its failure, if it failed in any way the page can show.
fn browser_run(
    request: &BrowserRequest,
    plan: &RunPlan,
    thread: BrowserThread,
    record: BrowserRecord,
) -> Result<BrowserRun, PackError> {
    let where_ = thread.describe().to_string();
    let load_error = |message: String| PackError::BrowserLoad {
        run: plan.label.clone(),
        thread: where_.clone(),
        message,
    };
    let log = page_log(&record);
    if let Some(error) = record.error {
        return Err(match error.kind.as_str() {
            "python" => PackError::BrowserRaised {
                run: plan.label.clone(),
                thread: where_,
                traceback: crate::validate::with_stderr(error.message, &record.stderr),
            },
            "timeout" => PackError::BrowserTimeout {
                run: plan.label.clone(),
                thread: where_,
                seconds: request.timeout.as_secs(),
                log,
            },
            "exit" => load_error(error.message),
            _ => load_error(format!("{}{}", error.message, indent_log(&log))),
        });
    }
    let errors: Vec<String> = record
        .console
        .iter()
        .filter(|m| m.kind == "error")
        .map(|m| format!("console error ({}): {}", m.r#where, m.text))
        .chain(
            record
                .page_errors
                .iter()
                .map(|e| format!("uncaught error: {e}")),
        )
        .collect();
    if !errors.is_empty() {
        return Err(PackError::BrowserErrors {
            run: plan.label.clone(),
            thread: where_,
            errors: errors.join("\n"),
        });
    }
    if !record.stderr.is_empty() {
        eprint!("{}", record.stderr);
    }
    check_lazy_fetches(
        request.traced,
        plan,
        &record.lazy_fetched,
        &format!("Chromium, {where_}"),
    )?;
    Ok(BrowserRun {
        label: plan.label.clone(),
        thread,
        lazy_fetched: record.lazy_fetched,
        isolated: record.isolated.unwrap_or(false),
        stdout: record.stdout,
        stderr: record.stderr,
        timings: record.timings,
        warnings: record
            .console
            .into_iter()
            .filter(|m| m.kind != "log" && m.kind != "info" && m.kind != "debug")
            .collect(),
        issues: record.issues,
    })
}

/// What the page logged, for a failure that has no traceback: console messages, uncaught errors,
/// failed requests, then the end of the app's output.
fn page_log(record: &BrowserRecord) -> String {
    let mut lines: Vec<String> = record
        .console
        .iter()
        .map(|m| format!("console {} ({}): {}", m.kind, m.r#where, m.text))
        .collect();
    lines.extend(
        record
            .page_errors
            .iter()
            .map(|e| format!("uncaught error: {e}")),
    );
    lines.extend(
        record
            .failed_requests
            .iter()
            .map(|r| format!("request failed: {r}")),
    );
    for (stream, text) in [("stdout", &record.stdout), ("stderr", &record.stderr)] {
        let tail: Vec<&str> = text.lines().collect();
        for line in &tail[tail.len().saturating_sub(5)..] {
            lines.push(format!("{stream}: {line}"));
        }
    }
    if lines.is_empty() {
        "(the page logged nothing)".to_string()
    } else {
        lines.join("\n")
    }
}

fn indent_log(log: &str) -> String {
    format!("\nthe page logged:\n{log}")
}
