//! Validation: the app run from the bundle through `loader.mjs` in a fresh Pyodide, against a run
//! of the full environment, for each traced run (the app alone, then each input), one at a time so
//! the load times compare.

use std::path::{Path, PathBuf};
use std::time::Duration;

use pyodide_pack_env::{CacheRoot, Environment};
use pyodide_pack_trace::{
    app_files, harness_error, install_harness, run_node_script, run_plan, RunPlan, RunTimings,
    TraceProgress, TraceRequest,
};
use serde::{Deserialize, Serialize};

use crate::PackError;

pub struct ValidationRequest<'a> {
    pub env: &'a Environment,
    /// The folder holding `loader.mjs`, `bundle.zip` and `python_stdlib.zip`.
    pub bundle_dir: &'a Path,
    pub inputs: Vec<PathBuf>,
    pub timeout: Duration,
    pub cache: &'a CacheRoot,
    /// `expected.txt` beside the app, if there is one: the app alone must print exactly this.
    pub expected: Option<(PathBuf, String)>,
    /// The runs the pack was traced with (each by its input; `None` is the app alone): the eager
    /// tier must cover them, so a lazy fetch in one of them fails the validation.
    pub traced: TracedRuns,
    /// Runs of the full environment already made (the pack's own trace, of this environment):
    /// their output is the reference for the same input.
    pub known: Vec<KnownRun>,
}

/// A run of the full environment whose output and timings are known.
#[derive(Debug, Clone)]
pub struct KnownRun {
    pub input: Option<PathBuf>,
    pub stdout: String,
    pub timings: RunTimings,
}

/// Which runs the pack under validation traced.
#[derive(Debug, Clone, Default)]
pub struct TracedRuns {
    inputs: Vec<Option<PathBuf>>,
}

impl TracedRuns {
    pub fn new(inputs: impl IntoIterator<Item = Option<PathBuf>>) -> TracedRuns {
        TracedRuns {
            inputs: inputs
                .into_iter()
                .map(|i| i.map(|p| canonical(&p)))
                .collect(),
        }
    }

    /// Whether a run with this input was traced.
    pub fn contains(&self, input: Option<&Path>) -> bool {
        let input = input.map(canonical);
        self.inputs.contains(&input)
    }
}

fn canonical(path: &Path) -> PathBuf {
    path.canonicalize().unwrap_or_else(|_| path.to_path_buf())
}

/// A lazy file a run fetched.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LazyFetch {
    pub path: String,
    pub bytes: u64,
    #[serde(default)]
    pub ms: f64,
}

/// Fails a traced run that fetched lazy files: what a traced run touched must be eager.
pub(crate) fn check_lazy_fetches(
    traced: &TracedRuns,
    plan: &RunPlan,
    fetched: &[LazyFetch],
    place: &str,
) -> Result<(), PackError> {
    if fetched.is_empty() || !traced.contains(plan.input.as_deref()) {
        return Ok(());
    }
    Err(PackError::LazyFetchInTracedRun {
        run: plan.label.clone(),
        place: place.to_string(),
        files: fetched
            .iter()
            .map(|f| f.path.as_str())
            .collect::<Vec<_>>()
            .join(", "),
    })
}

/// The load-time breakdown of a run from the bundle, in milliseconds.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct BundleTimings {
    #[serde(default)]
    pub load_pyodide_ms: f64,
    #[serde(default)]
    pub fetch_unpack_ms: f64,
    #[serde(default)]
    pub dynlibs_ms: f64,
    /// Importing and running the app.
    #[serde(default)]
    pub run_ms: f64,
    /// The whole Node process.
    #[serde(default)]
    pub wall_ms: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ValidationRun {
    pub label: String,
    /// The pack traced this run: it must fetch no lazy file.
    pub traced: bool,
    /// The lazy files the run from the bundle fetched, in order.
    pub lazy_fetched: Vec<LazyFetch>,
    /// The dynamic libraries loaded once `loader.mjs` was done, in load order.
    pub dynlibs_loaded: Vec<String>,
    /// The output both runs printed (identical, or validation failed).
    pub stdout: String,
    pub checked_against_expected: bool,
    pub full: RunTimings,
    pub bundle: BundleTimings,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Validation {
    pub runs: Vec<ValidationRun>,
    /// The same runs in headless Chromium, when asked for (`--browser`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub browser: Option<crate::BrowserValidation>,
}

#[derive(Deserialize)]
struct BundleRecord {
    #[serde(default)]
    stdout: String,
    #[serde(default)]
    stderr: String,
    error: Option<BundleError>,
    #[serde(default)]
    timings: BundleTimings,
    #[serde(default)]
    lazy_fetched: Vec<LazyFetch>,
    #[serde(default)]
    dynlibs_loaded: Vec<String>,
}

#[derive(Deserialize)]
struct BundleError {
    kind: String,
    message: String,
}

/// The output every run from the bundle must print: the full environment's, in Node.
#[derive(Debug, Clone)]
pub struct Reference {
    pub label: String,
    pub stdout: String,
    pub checked_against_expected: bool,
}

/// The full environment's run of `plan` (the `i`-th), checked against `expected.txt` for the app
/// alone.
fn reference_run(
    request: &ValidationRequest,
    trace_request: &TraceRequest,
    plan: &RunPlan,
    i: usize,
) -> Result<(Reference, RunTimings), PackError> {
    // The pack's own traced run of this input, in this environment, already printed the
    // reference output: Pyodide is not started again for it.
    let same = |known: &KnownRun| {
        known.input.as_deref().map(canonical) == plan.input.as_deref().map(canonical)
    };
    let full = match request.known.iter().find(|k| same(k)) {
        Some(known) => KnownRun::clone(known),
        None => {
            // (The key reads and hashes the input: once, for the lookup and the save.)
            let cached = reference_path(trace_request, plan);
            match cached
                .as_deref()
                .and_then(|path| cached_reference(path, plan))
            {
                Some(run) => run,
                None => {
                    let run = run_plan(trace_request, plan)?;
                    let run = KnownRun {
                        input: run.input,
                        stdout: run.stdout,
                        timings: run.timings,
                    };
                    if let Some(path) = &cached {
                        save_reference(path, &run);
                    }
                    run
                }
            }
        }
    };
    let mut checked_against_expected = false;
    if let (0, Some((path, expected))) = (i, &request.expected) {
        if &full.stdout != expected {
            return Err(PackError::OutputDiffers {
                run: plan.label.clone(),
                reference_name: path.display().to_string(),
                reference: expected.clone(),
                bundle_name: "full environment".into(),
                bundle: full.stdout,
            });
        }
        checked_against_expected = true;
    }
    let reference = Reference {
        label: plan.label.clone(),
        stdout: full.stdout,
        checked_against_expected,
    };
    Ok((reference, full.timings))
}

/// A reference run kept in the cache, as the trace cache keeps traces: the output of one run of
/// the full environment, by [`TraceRequest::run_cache_key`].
#[derive(Serialize, Deserialize)]
struct CachedReference {
    stdout: String,
    timings: RunTimings,
}

fn reference_path(trace_request: &TraceRequest, plan: &RunPlan) -> Option<PathBuf> {
    let key = trace_request.run_cache_key(plan).ok()?;
    Some(
        trace_request
            .cache
            .root()
            .join("references")
            .join(format!("{key}.json")),
    )
}

/// The full environment's run of `plan` made by an earlier validation (an input the pack did not
/// trace, validated again): Pyodide is not started again for it. An unreadable entry is no entry.
fn cached_reference(path: &Path, plan: &RunPlan) -> Option<KnownRun> {
    let bytes = std::fs::read(path).ok()?;
    let cached: CachedReference = serde_json::from_slice(&bytes).ok()?;
    Some(KnownRun {
        input: plan.input.clone(),
        stdout: cached.stdout,
        timings: cached.timings,
    })
}

/// Keeps a reference run for the next validation. The cache is a speed-up: a failure to write it
/// fails nothing.
fn save_reference(path: &Path, run: &KnownRun) {
    let cached = CachedReference {
        stdout: run.stdout.clone(),
        timings: run.timings.clone(),
    };
    if let Ok(bytes) = serde_json::to_vec(&cached) {
        let _ = pyodide_pack_env::write_atomically(path, &bytes);
    }
}

fn trace_request<'a>(request: &ValidationRequest<'a>) -> TraceRequest<'a> {
    TraceRequest {
        env: request.env,
        inputs: request.inputs.clone(),
        timeout: request.timeout,
        cache: request.cache,
        jobs: 1,
    }
}

/// The reference output of every run (the app alone, then each input), for a validation that
/// runs the bundle elsewhere (in a browser).
pub fn reference_outputs(
    request: &ValidationRequest,
    progress: &dyn TraceProgress,
) -> Result<Vec<Reference>, PackError> {
    let trace_request = trace_request(request);
    let mut references = Vec::new();
    for (i, plan) in trace_request.plans().into_iter().enumerate() {
        progress.run_started(&plan);
        let (reference, timings) = reference_run(request, &trace_request, &plan, i)?;
        progress.run_finished(&plan, timings.wall_ms / 1000.0, true);
        references.push(reference);
    }
    Ok(references)
}

pub fn validate(
    request: &ValidationRequest,
    progress: &dyn TraceProgress,
) -> Result<Validation, PackError> {
    let env = request.env;
    let trace_request = trace_request(request);
    let script = install_harness(request.cache)?.join("run_bundle.mjs");
    let loader = request.bundle_dir.join("loader.mjs");
    let app = env.archive(env.entry).path.join(&env.entry(env.entry).path);
    let mut runs = Vec::new();
    for (i, plan) in trace_request.plans().into_iter().enumerate() {
        progress.run_started(&plan);
        let (reference, full) = reference_run(request, &trace_request, &plan, i)?;

        // Only the entry script and the input: everything else must come from the bundle.
        let (files, input_dest) = bundle_run_files(env, &plan);
        let spec = serde_json::json!({
            "loader": loader,
            "runtime": env.runtime.dir,
            "files": files,
            "entry": env.entry(env.entry).install_path,
            "input": input_dest,
        });
        let outcome = run_node_script(&script, spec, request.timeout, &app, &plan.label)?;
        let Some(text) = outcome.record else {
            return Err(PackError::BundleLoad {
                run: plan.label.clone(),
                message: format!(
                    "node exited with {} and wrote no record: {}",
                    outcome.status, outcome.stderr_tail
                ),
            });
        };
        let record: BundleRecord =
            serde_json::from_str(&text).map_err(|e| PackError::BundleLoad {
                run: plan.label.clone(),
                message: format!("unreadable record: {e}"),
            })?;
        if let Some(error) = record.error {
            return Err(match error.kind.as_str() {
                "load" => PackError::BundleLoad {
                    run: plan.label.clone(),
                    message: error.message,
                },
                "python" => PackError::BundleRaised {
                    run: plan.label.clone(),
                    traceback: with_stderr(error.message, &record.stderr),
                },
                kind => PackError::Trace(harness_error(&app, &plan.label, kind, error.message)),
            });
        }
        if !record.stderr.is_empty() {
            eprint!("{}", record.stderr);
        }
        if record.stdout != reference.stdout {
            return Err(PackError::OutputDiffers {
                run: plan.label.clone(),
                reference_name: "the full environment".into(),
                reference: reference.stdout,
                bundle_name: "bundle".into(),
                bundle: record.stdout,
            });
        }
        check_lazy_fetches(&request.traced, &plan, &record.lazy_fetched, "Node")?;
        let mut bundle = record.timings;
        bundle.wall_ms = outcome.wall_ms;
        progress.run_finished(&plan, (full.wall_ms + bundle.wall_ms) / 1000.0, true);
        runs.push(ValidationRun {
            label: plan.label.clone(),
            traced: request.traced.contains(plan.input.as_deref()),
            lazy_fetched: record.lazy_fetched,
            dynlibs_loaded: record.dynlibs_loaded,
            stdout: record.stdout,
            checked_against_expected: reference.checked_against_expected,
            full,
            bundle,
        });
    }
    Ok(Validation {
        runs,
        browser: None,
    })
}

/// A traceback with what the run wrote to stderr before it (the loader says there which lazy file
/// it could not fetch, and from where).
pub(crate) fn with_stderr(traceback: String, stderr: &str) -> String {
    let before: Vec<&str> = stderr
        .lines()
        .filter(|l| !traceback.contains(l.trim()))
        .collect();
    if before.is_empty() {
        traceback
    } else {
        format!("{}\n{traceback}", before.join("\n"))
    }
}

/// What a run from the bundle gets of the app: the entry script and the input only; everything
/// else must come from the bundle. Returns the files and where the input lands.
pub(crate) fn bundle_run_files(
    env: &Environment,
    plan: &RunPlan,
) -> (Vec<(PathBuf, String)>, Option<String>) {
    let (files, input_dest) = app_files(env, plan);
    let entry_dest = env.entry(env.entry).install_path.clone();
    let files = files
        .into_iter()
        .filter(|(_, dest)| *dest == entry_dest || Some(dest) == input_dest.as_ref())
        .collect();
    (files, input_dest)
}

impl Validation {
    /// The reference output of each run, for a browser validation after this one.
    pub fn references(&self) -> Vec<Reference> {
        self.runs
            .iter()
            .map(|r| Reference {
                label: r.label.clone(),
                stdout: r.stdout.clone(),
                checked_against_expected: r.checked_against_expected,
            })
            .collect()
    }
}

/// `expected.txt` beside the app, if any.
pub fn expected_output(app: &Path) -> Result<Option<(PathBuf, String)>, PackError> {
    let path = app.parent().unwrap_or(Path::new(".")).join("expected.txt");
    if !path.is_file() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&path).map_err(|e| PackError::io(&path, e))?;
    Ok(Some((path, text)))
}
