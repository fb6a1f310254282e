//! Running a page that loads Pyodide itself in headless Chromium (`harness/run_page.mjs`): the
//! original page traced, its interpreter answered by an instrumented runtime, or a packed page
//! run as it is served. The record holds what the page showed (its text, its console) and, for a
//! trace, what its Python opened, imported and loaded.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::record::{ImportEvent, ModuleOrigin, RunTimings, Trace, TraceRun, TRACE_SCHEMA};
use crate::runner::{install_harness, run_node_script};
use crate::TraceError;
use pyodide_pack_env::CacheRoot;

/// One run of a page.
pub struct PageRunRequest<'a> {
    /// The folder served at the origin's root, and the page in it (relative).
    pub site: &'a Path,
    pub page: &'a str,
    /// A server that already serves `site` (`pyodide-pack serve`): the page is `page` under it.
    pub url: Option<&'a str>,
    /// Trace: the interpreter's folder URL as the page names it, answered from this runtime
    /// folder by the instrumented interpreter. `None`: the page runs as it is served.
    pub runtime: Option<(String, PathBuf)>,
    /// The host's done signal (`py:all-done`), else `until`, else the page going quiet.
    pub done_event: Option<&'a str>,
    pub until: Option<&'a str>,
    pub quiet: Duration,
    pub timeout: Duration,
    /// Python run in the page's interpreter once the page is done (an input), and, for a page
    /// run as served, the URL of its interpreter module (relative to the page) that hands the
    /// interpreter over.
    pub script: Option<&'a str>,
    pub interpreter: Option<&'a str>,
    /// A stand-in CDN: requests under this URL answered from this folder as they are (a packed
    /// page that takes its runtime from the CDN).
    pub cdn: Option<(String, PathBuf)>,
    /// A shaped link: (download bytes/s, upload bytes/s, latency ms), for the bench.
    pub network: Option<(f64, f64, f64)>,
    pub chromium: &'a Path,
    /// The npm prefix holding puppeteer-core.
    pub driver: &'a Path,
    pub cache: &'a CacheRoot,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ConsoleLine {
    #[serde(rename = "type")]
    pub kind: String,
    pub text: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PageFailure {
    pub kind: String,
    pub message: String,
}

/// What a page showed, and for a trace what its Python used.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PageRecord {
    /// The page's text (`document.body.innerText`) once done.
    pub text: String,
    pub console: Vec<ConsoleLine>,
    pub page_errors: Vec<String>,
    pub failed_requests: Vec<String>,
    /// Requests outside the served folder (refused).
    pub outside: Vec<String>,
    pub requests: Vec<String>,
    pub error: Option<PageFailure>,
    pub waited_for: String,
    /// Bytes that came over the wire.
    #[serde(default)]
    pub bytes: u64,
    #[serde(default)]
    pub timings: PageTimings,
    pub trace: Option<PageTrace>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PageTimings {
    /// From navigation to the done signal.
    #[serde(default)]
    pub done_ms: f64,
    /// From navigation to the page's text first changing.
    #[serde(default)]
    pub first_output_ms: Option<f64>,
}

/// What the instrumented interpreter recorded.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PageTrace {
    pub opened: Vec<String>,
    pub dynlibs: Vec<String>,
    /// The lock packages loaded (`loadPackage`, micropip): `pyodide.loadedPackages`.
    pub packages: Vec<String>,
    pub imports: Vec<(String, bool)>,
    pub modules: Vec<(String, Option<String>)>,
    /// Whether the page loaded Pyodide at all.
    pub loaded: bool,
}

impl PageRecord {
    /// The Python failure the page showed, if any: a traceback on its console or in an uncaught
    /// error (PyScript writes it to `console.error` and into the page).
    pub fn python_failure(&self) -> Option<String> {
        const START: &str = "Traceback (most recent call last)";
        // PyScript shows it in the page, whole (its console message is the error object, of
        // which the console's text is the first line).
        if let Some(at) = self.text.find(START) {
            return Some(self.text[at..].trim_end().to_string());
        }
        // A host writes stderr a line at a time: the traceback is the error lines from its first.
        if let Some(first) = self
            .console
            .iter()
            .position(|l| l.kind == "error" && l.text.contains(START))
        {
            let lines: Vec<&str> = self.console[first..]
                .iter()
                .take_while(|l| l.kind == "error")
                .map(|l| l.text.trim_end())
                .collect();
            return Some(lines.join("\n"));
        }
        self.page_errors
            .iter()
            .find(|t| t.contains(START))
            .map(|t| t.trim_end().to_string())
    }

    /// The trace as a one-run trace of `app` (the page's analysed entry), for the merge.
    pub fn to_trace(&self, app: &Path, label: &str, pyodide_version: &str) -> Option<Trace> {
        let trace = self.trace.as_ref()?;
        Some(Trace {
            schema: TRACE_SCHEMA.to_string(),
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            app: app.to_path_buf(),
            pyodide_version: Some(pyodide_version.to_string()),
            runs: vec![TraceRun {
                label: label.to_string(),
                input: None,
                opened: trace.opened.clone(),
                dynlibs: trace.dynlibs.clone(),
                imports: trace
                    .imports
                    .iter()
                    .map(|(module, found)| ImportEvent {
                        module: module.clone(),
                        found: *found,
                    })
                    .collect(),
                modules: trace
                    .modules
                    .iter()
                    .map(|(name, origin)| ModuleOrigin {
                        name: name.clone(),
                        origin: origin.clone(),
                    })
                    .collect(),
                stdout: self.text.clone(),
                timings: RunTimings {
                    wall_ms: self.timings.done_ms,
                    ..RunTimings::default()
                },
            }],
        })
    }
}

/// Runs the page once and returns its record; a page that did not finish, or a browser that
/// could not run it, is the record's `error` (the caller words it), a harness that wrote no
/// record is an error here.
pub fn run_page(request: &PageRunRequest) -> Result<PageRecord, TraceError> {
    let script = install_harness(request.cache)?.join("run_page.mjs");
    let spec = serde_json::json!({
        "site": request.site,
        "page": request.page,
        "url": request.url,
        "runtime": request.runtime.as_ref().map(|(url, dir)| serde_json::json!({"url": url, "dir": dir})),
        "done_event": request.done_event,
        "until": request.until,
        "quiet_ms": request.quiet.as_millis() as u64,
        "script": request.script,
        "cdn": request.cdn.as_ref().map(|(url, dir)| serde_json::json!({"url": url, "dir": dir})),
        "interpreter": request.interpreter,
        "network": request.network.map(|(download, upload, latency)| serde_json::json!({"download": download, "upload": upload, "latency": latency})),
        "timeout_ms": request.timeout.as_millis() as u64,
        "chromium": request.chromium,
        "driver": request.driver,
    });
    // The harness keeps its own clock; the parent's limit is a backstop for a browser that does
    // not close.
    let backstop = request.timeout + Duration::from_secs(30);
    let page = request.site.join(request.page);
    let outcome = run_node_script(&script, spec, backstop, &page, request.page)?;
    let Some(text) = outcome.record else {
        return Err(TraceError::Harness {
            run: request.page.to_string(),
            message: format!(
                "node exited with {} and wrote no record: {}",
                outcome.status, outcome.stderr_tail
            ),
        });
    };
    serde_json::from_str(&text).map_err(|e| TraceError::Harness {
        run: request.page.to_string(),
        message: format!("unreadable page record: {e}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(kind: &str, text: &str) -> ConsoleLine {
        ConsoleLine {
            kind: kind.into(),
            text: text.into(),
        }
    }

    #[test]
    fn a_traceback_is_read_from_the_page_else_from_the_console_lines() {
        let shown = PageRecord {
            text: "numpy\nTraceback (most recent call last):\n  File \"<exec>\", line 2\nValueError: x\n"
                .into(),
            ..PageRecord::default()
        };
        assert_eq!(
            shown.python_failure().unwrap(),
            "Traceback (most recent call last):\n  File \"<exec>\", line 2\nValueError: x"
        );
        let logged = PageRecord {
            console: vec![
                line("log", "before"),
                line("error", "Traceback (most recent call last):"),
                line("error", "  File \"<exec>\", line 1"),
                line("error", "KeyError: 'k'"),
                line("log", "after"),
            ],
            ..PageRecord::default()
        };
        assert_eq!(
            logged.python_failure().unwrap(),
            "Traceback (most recent call last):\n  File \"<exec>\", line 1\nKeyError: 'k'"
        );
        let fine = PageRecord {
            console: vec![line("error", "Failed to load resource")],
            ..PageRecord::default()
        };
        assert_eq!(fine.python_failure(), None);
    }

    #[test]
    fn a_page_trace_is_a_one_run_trace_of_the_page_entry() {
        let record = PageRecord {
            text: "sum 66".into(),
            timings: PageTimings {
                done_ms: 1500.0,
                first_output_ms: Some(1200.0),
            },
            trace: Some(PageTrace {
                opened: vec!["/lib/python314.zip".into()],
                dynlibs: vec!["/lib/x.so".into()],
                packages: vec!["numpy".into()],
                imports: vec![("numpy".into(), true), ("missing".into(), false)],
                modules: vec![("numpy".into(), Some("/lib/numpy/__init__.py".into()))],
                loaded: true,
            }),
            ..PageRecord::default()
        };
        let trace = record
            .to_trace(Path::new("__page__.py"), "index.html", "0.27.7")
            .unwrap();
        assert_eq!(trace.app, Path::new("__page__.py"));
        assert_eq!(trace.pyodide_version.as_deref(), Some("0.27.7"));
        let run = &trace.runs[0];
        assert_eq!(run.label, "index.html");
        assert_eq!(run.stdout, "sum 66");
        assert_eq!(run.dynlibs, ["/lib/x.so"]);
        assert!(!run.imports[1].found);
        assert_eq!(run.timings.wall_ms, 1500.0);
        assert!(PageRecord::default()
            .to_trace(Path::new("__page__.py"), "index.html", "0.27.7")
            .is_none());
    }
}
