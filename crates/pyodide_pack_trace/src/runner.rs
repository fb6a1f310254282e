//! Running the app under Pyodide in Node: one Node process per run, the app alone first, then the
//! app followed by each input. Runs are independent processes, so they run side by side.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use pyodide_pack_env::write_atomically;
use pyodide_pack_env::{hex, ArchiveKind, CacheRoot, Environment};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::record::{ImportEvent, ModuleOrigin, RunTimings, Trace, TraceRun, TRACE_SCHEMA};
use crate::TraceError;

/// The Node side, carried in the binary so the tool works from any folder: written into the cache
/// (one folder per harness version) before Node runs it.
pub const HARNESS_FILES: &[(&str, &str)] = &[
    ("run_app.mjs", include_str!("../../../harness/run_app.mjs")),
    (
        "run_bundle.mjs",
        include_str!("../../../harness/run_bundle.mjs"),
    ),
    (
        "compile_pyc.mjs",
        include_str!("../../../harness/compile_pyc.mjs"),
    ),
    ("runner.py", include_str!("../../../harness/runner.py")),
    ("common.mjs", include_str!("../../../harness/common.mjs")),
    (
        "run_browser.mjs",
        include_str!("../../../harness/run_browser.mjs"),
    ),
    (
        "browser_page.mjs",
        include_str!("../../../harness/browser_page.mjs"),
    ),
    (
        "run_page.mjs",
        include_str!("../../../harness/run_page.mjs"),
    ),
    (
        "trace_pyodide.mjs",
        include_str!("../../../harness/trace_pyodide.mjs"),
    ),
    (
        "trace_hooks.mjs",
        include_str!("../../../harness/trace_hooks.mjs"),
    ),
];

/// Where inputs are written in Pyodide's file system: outside the app's folder, so an input is
/// never importable as a module of the app.
const INPUTS_DIR: &str = "/tmp/pyodide-pack-inputs";

pub struct TraceRequest<'a> {
    pub env: &'a Environment,
    /// Python files run after the app, one more run each.
    pub inputs: Vec<PathBuf>,
    pub timeout: Duration,
    pub cache: &'a CacheRoot,
    /// How many runs at once (0: one per core). Validation runs one at a time so timings compare.
    pub jobs: usize,
}

/// One run to make.
#[derive(Debug, Clone)]
pub struct RunPlan {
    pub label: String,
    pub input: Option<PathBuf>,
}

/// What the caller hears while the runs go (a progress display).
pub trait TraceProgress: Sync {
    fn run_started(&self, _plan: &RunPlan) {}
    /// `ok`: whether the run succeeded (a failure is reported by the returned error).
    fn run_finished(&self, _plan: &RunPlan, _seconds: f64, _ok: bool) {}
}

impl TraceProgress for () {}

impl TraceRequest<'_> {
    pub fn plans(&self) -> Vec<RunPlan> {
        let app = app_name(self.env);
        let mut plans = vec![RunPlan {
            label: app.clone(),
            input: None,
        }];
        for input in &self.inputs {
            let name = input
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            plans.push(RunPlan {
                label: format!("{app} + {name}"),
                input: Some(input.clone()),
            });
        }
        plans
    }

    /// A key for the cached trace: the harness, the runtime, every archive's digest (the app's
    /// folder included) and every input's content.
    pub fn cache_key(&self) -> Result<String, TraceError> {
        let mut hasher = self.environment_hasher();
        for input in &self.inputs {
            hasher.update(input.to_string_lossy().as_bytes());
            hasher.update(std::fs::read(input).map_err(|e| io(input, e))?);
        }
        Ok(hex(&hasher.finalize()))
    }

    /// A key for one run of `plan` in the full environment (a validation's reference run): what
    /// [`TraceRequest::cache_key`] covers, but for this run's input alone, by the name the run
    /// sees it under and its content. Where the input lies does not change the run (it is
    /// copied to the same place in Pyodide's file system), so it is not part of the key.
    pub fn run_cache_key(&self, plan: &RunPlan) -> Result<String, TraceError> {
        let mut hasher = self.environment_hasher();
        // Never the same as a trace's key, whatever the inputs.
        hasher.update(b"one run\0");
        if let Some(input) = &plan.input {
            let name = input.file_name().unwrap_or_default();
            hasher.update(name.to_string_lossy().as_bytes());
            hasher.update(b"\0");
            hasher.update(std::fs::read(input).map_err(|e| io(input, e))?);
        }
        Ok(hex(&hasher.finalize()))
    }

    /// The harness, the runtime and every archive's digest (the app's folder included).
    fn environment_hasher(&self) -> Sha256 {
        let mut hasher = Sha256::new();
        hasher.update(harness_digest().as_bytes());
        hasher.update(self.env.runtime.dir.to_string_lossy().as_bytes());
        hasher.update(self.env.runtime.version.as_bytes());
        for archive in &self.env.archives {
            hasher.update(archive.sha256.as_bytes());
        }
        hasher
    }
}

fn app_name(env: &Environment) -> String {
    env.entry(env.entry).path.clone()
}

fn io(path: &Path, source: std::io::Error) -> TraceError {
    TraceError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The digest of every harness file: part of the trace cache key and the harness folder name.
pub fn harness_digest() -> String {
    let mut hasher = Sha256::new();
    for (name, source) in HARNESS_FILES {
        hasher.update(name.as_bytes());
        hasher.update(source.as_bytes());
    }
    hex(&hasher.finalize())
}

/// Writes the harness into the cache (once per harness version) and returns its folder.
pub fn install_harness(cache: &CacheRoot) -> Result<PathBuf, TraceError> {
    let digest = harness_digest();
    let dir = cache.root().join("harness").join(&digest[..16]);
    for (name, source) in HARNESS_FILES {
        let path = dir.join(name);
        if !path.is_file() {
            write_atomically(&path, source.as_bytes()).map_err(|e| TraceError::Harness {
                run: "-".into(),
                message: format!("cannot write the harness into the cache: {e}"),
            })?;
        }
    }
    Ok(dir)
}

/// `$PYODIDE_PACK_NODE`, else `node` on the PATH.
pub fn node_program() -> String {
    std::env::var("PYODIDE_PACK_NODE")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "node".to_string())
}

/// Runs every plan (the app alone, then app + each input), `jobs` at a time, and
/// returns the trace. The first failing run (in plan order) is the error; no trace is returned then.
pub fn run_traces(
    request: &TraceRequest,
    progress: &dyn TraceProgress,
) -> Result<Trace, TraceError> {
    for input in &request.inputs {
        if !input.is_file() {
            return Err(io(
                input,
                std::io::Error::new(std::io::ErrorKind::NotFound, "no such input file"),
            ));
        }
    }
    let harness = install_harness(request.cache)?.join("run_app.mjs");
    let plans = request.plans();
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let jobs = if request.jobs == 0 {
        cores
    } else {
        request.jobs
    };
    let workers = jobs.min(plans.len());
    let next = Mutex::new(0usize);
    let results: Mutex<Vec<Option<Result<TraceRun, TraceError>>>> =
        Mutex::new((0..plans.len()).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let i = {
                    let mut next = next.lock().unwrap_or_else(|e| e.into_inner());
                    let i = *next;
                    *next += 1;
                    i
                };
                let Some(plan) = plans.get(i) else { break };
                progress.run_started(plan);
                let start = Instant::now();
                let result = run_one(request, &harness, plan);
                progress.run_finished(plan, start.elapsed().as_secs_f64(), result.is_ok());
                results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(result);
            });
        }
    });
    let mut runs = Vec::new();
    for result in results.into_inner().unwrap_or_else(|e| e.into_inner()) {
        runs.push(result.expect("every plan ran")?);
    }
    Ok(Trace {
        schema: TRACE_SCHEMA.to_string(),
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        app: request
            .env
            .archive(request.env.entry)
            .path
            .join(app_name(request.env)),
        pyodide_version: Some(request.env.runtime.version.clone()),
        runs,
    })
}

/// Runs one plan in the full environment (the trace harness), on its own.
pub fn run_plan(request: &TraceRequest, plan: &RunPlan) -> Result<TraceRun, TraceError> {
    let harness = install_harness(request.cache)?.join("run_app.mjs");
    run_one(request, &harness, plan)
}

/// What the harness writes (see `harness/run_app.mjs`).
#[derive(Deserialize)]
struct HarnessRecord {
    #[serde(default)]
    opened: Vec<String>,
    #[serde(default)]
    dynlibs: Vec<String>,
    #[serde(default)]
    imports: Vec<(String, bool)>,
    #[serde(default)]
    modules: Vec<(String, Option<String>)>,
    #[serde(default)]
    stdout: String,
    #[serde(default)]
    stderr: String,
    error: Option<HarnessError>,
    #[serde(default)]
    timings: HarnessTimings,
}

#[derive(Deserialize)]
struct HarnessError {
    kind: String,
    message: String,
}

#[derive(Deserialize, Default)]
struct HarnessTimings {
    #[serde(default)]
    load_pyodide_ms: f64,
    #[serde(default)]
    install_ms: f64,
    #[serde(default)]
    run_ms: f64,
}

/// The app's files (its folder, at their install paths) plus the plan's input, and where the input
/// lands: what every harness copies into Pyodide's file system before running the app.
pub fn app_files(env: &Environment, plan: &RunPlan) -> (Vec<(PathBuf, String)>, Option<String>) {
    let app = env.archive(env.entry);
    let mut files: Vec<(PathBuf, String)> = app
        .entries
        .iter()
        .map(|e| (app.path.join(&e.path), e.install_path.clone()))
        .collect();
    let input_dest = plan.input.as_ref().map(|input| {
        let name = input
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "input.py".into());
        let dest = format!("{INPUTS_DIR}/{name}");
        files.push((input.clone(), dest.clone()));
        dest
    });
    (files, input_dest)
}

/// Set once the user asked the process to stop (the CLI's Ctrl-C handler calls
/// [`interrupt_runs`]): a running Node script is killed and the run ends as
/// [`TraceError::Interrupted`], so the caller's clean-up (temporary and staging folders) runs.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Stops every Node script this process runs, now and later.
pub fn interrupt_runs() {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// A child killed by the terminal's Ctrl-C (the whole foreground process group gets SIGINT) was
/// interrupted, not broken.
#[cfg(unix)]
fn killed_by_interrupt(status: &std::process::ExitStatus) -> bool {
    use std::os::unix::process::ExitStatusExt;
    matches!(status.signal(), Some(2 | 15))
}

#[cfg(not(unix))]
fn killed_by_interrupt(_: &std::process::ExitStatus) -> bool {
    false
}

/// What a finished Node script left: its JSON record (if it wrote one), exit status, stderr tail.
pub struct NodeOutcome {
    pub record: Option<String>,
    pub success: bool,
    pub status: String,
    pub stderr_tail: String,
    pub wall_ms: f64,
}

/// Runs `node SCRIPT SPEC.json` with `spec` plus `"out"` (where the script writes its record),
/// killing it after `timeout`. `app` and `run` name the run in errors.
pub fn run_node_script(
    script: &Path,
    mut spec: serde_json::Value,
    timeout: Duration,
    app: &Path,
    run: &str,
) -> Result<NodeOutcome, TraceError> {
    let work = tempfile::tempdir().map_err(|e| io(&std::env::temp_dir(), e))?;
    let out = work.path().join("record.json");
    spec["out"] = serde_json::json!(out);
    let spec_path = work.path().join("spec.json");
    std::fs::write(&spec_path, spec.to_string()).map_err(|e| io(&spec_path, e))?;
    let stderr_path = work.path().join("stderr.txt");
    let stderr_file = std::fs::File::create(&stderr_path).map_err(|e| io(&stderr_path, e))?;

    let node = node_program();
    if interrupted() {
        return Err(TraceError::Interrupted);
    }
    let start = Instant::now();
    let mut child = Command::new(&node)
        .arg(script)
        .arg(&spec_path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr_file)
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => TraceError::NodeMissing { node: node.clone() },
            _ => TraceError::Harness {
                run: run.to_string(),
                message: format!("cannot start {node}: {e}"),
            },
        })?;
    // Python code blocks Node's event loop, so only the parent can enforce the timeout.
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) if killed_by_interrupt(&status) || interrupted() => {
                return Err(TraceError::Interrupted)
            }
            Ok(Some(status)) => break status,
            Ok(None) if interrupted() => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(TraceError::Interrupted);
            }
            Ok(None) if start.elapsed() >= timeout => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(TraceError::Timeout {
                    app: app.to_path_buf(),
                    run: run.to_string(),
                    seconds: timeout.as_secs(),
                });
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => {
                return Err(TraceError::Harness {
                    run: run.to_string(),
                    message: e.to_string(),
                })
            }
        }
    };
    Ok(NodeOutcome {
        record: std::fs::read_to_string(&out).ok(),
        success: status.success(),
        status: status.to_string(),
        stderr_tail: last_lines(&stderr_path),
        wall_ms: start.elapsed().as_secs_f64() * 1000.0,
    })
}

/// The error a harness reported for a run, typed.
pub fn harness_error(app: &Path, run: &str, kind: &str, message: String) -> TraceError {
    let (app, run) = (app.to_path_buf(), run.to_string());
    match kind {
        "python" => TraceError::AppRaised {
            app,
            run,
            traceback: message,
        },
        "exit" => TraceError::AppExited { app, run, message },
        "install" => TraceError::Install { message },
        _ => TraceError::Harness { run, message },
    }
}

fn run_one(request: &TraceRequest, harness: &Path, plan: &RunPlan) -> Result<TraceRun, TraceError> {
    let env = request.env;
    let (files, input_dest) = app_files(env, plan);
    let archives_of = |shared: bool| -> Vec<&Path> {
        env.archives
            .iter()
            .filter(|a| match a.kind {
                ArchiveKind::Wheel { .. } => !shared,
                ArchiveKind::SharedLibrary { .. } => shared,
                _ => false,
            })
            .map(|a| a.path.as_path())
            .collect()
    };
    let (wheels, shared_libraries) = (archives_of(false), archives_of(true));
    // The libraries those zips install, loaded up front by the harness (see run_app.mjs).
    let libraries: Vec<&str> = env
        .archives
        .iter()
        .filter(|a| matches!(a.kind, ArchiveKind::SharedLibrary { .. }))
        .flat_map(|a| &a.entries)
        .filter(|e| e.kind == pyodide_pack_env::FileKind::Extension)
        .map(|e| e.install_path.as_str())
        .collect();
    let spec = serde_json::json!({
        "runtime": env.runtime.dir,
        "wheels": wheels,
        "shared_libraries": shared_libraries,
        "libraries": libraries,
        "dso_dir": pyodide_pack_env::DSO_DIR,
        "files": files,
        "entry": env.entry(env.entry).install_path,
        "input": input_dest,
    });
    let app = env.archive(env.entry).path.join(app_name(env));
    let outcome = run_node_script(harness, spec, request.timeout, &app, &plan.label)?;
    let Some(text) = outcome.record else {
        return Err(TraceError::Harness {
            run: plan.label.clone(),
            message: format!(
                "{} exited with {} and wrote no record: {}",
                node_program(),
                outcome.status,
                outcome.stderr_tail
            ),
        });
    };
    let record: HarnessRecord = serde_json::from_str(&text).map_err(|e| TraceError::Harness {
        run: plan.label.clone(),
        message: format!("unreadable record: {e}"),
    })?;
    if let Some(error) = record.error {
        return Err(harness_error(&app, &plan.label, &error.kind, error.message));
    }
    if !record.stderr.is_empty() {
        // Warnings the app printed: shown, since they often explain a surprise in the trace.
        eprint!("{}", record.stderr);
    }
    Ok(TraceRun {
        label: plan.label.clone(),
        input: plan.input.clone(),
        opened: record.opened,
        dynlibs: record.dynlibs,
        imports: record
            .imports
            .into_iter()
            .map(|(module, found)| ImportEvent { module, found })
            .collect(),
        modules: record
            .modules
            .into_iter()
            .map(|(name, origin)| ModuleOrigin { name, origin })
            .collect(),
        stdout: record.stdout,
        timings: RunTimings {
            load_pyodide_ms: record.timings.load_pyodide_ms,
            install_ms: record.timings.install_ms,
            run_ms: record.timings.run_ms,
            wall_ms: outcome.wall_ms,
        },
    })
}

/// The end of Node's stderr, on one line, for a message.
fn last_lines(path: &Path) -> String {
    let mut text = String::new();
    if let Ok(mut f) = std::fs::File::open(path) {
        let _ = f.read_to_string(&mut text);
    }
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let tail = lines[lines.len().saturating_sub(3)..].join(" | ");
    if tail.is_empty() {
        "(nothing on stderr)".into()
    } else {
        tail.chars().take(600).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pyodide_pack_env::testing::TestEnv;

    fn request<'a>(env: &'a Environment, cache: &'a CacheRoot) -> TraceRequest<'a> {
        TraceRequest {
            env,
            inputs: Vec::new(),
            timeout: Duration::from_secs(1),
            cache,
            jobs: 1,
        }
    }

    fn plan(input: Option<&Path>) -> RunPlan {
        RunPlan {
            label: "app.py".into(),
            input: input.map(Path::to_path_buf),
        }
    }

    /// A reference run is keyed by its input's name and content, never by its folder; and a
    /// run's key is never a trace's.
    #[test]
    fn a_runs_key_is_its_inputs_name_and_content_in_this_environment() {
        let (dir, env) = TestEnv::new().app("app.py", "print(1)\n").build();
        let (_other_dir, other_env) = TestEnv::new().app("app.py", "print(2)\n").build();
        let cache = CacheRoot::new(dir.path().join("cache"));
        let write = |folder: &str, name: &str, text: &str| {
            let path = dir.path().join(folder).join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, text).unwrap();
            path
        };
        let here = write("a", "more.py", "print(3)\n");
        let there = write("b", "more.py", "print(3)\n");
        let changed = write("c", "more.py", "print(4)\n");
        let renamed = write("d", "other.py", "print(3)\n");

        let key = |env: &Environment, input: Option<&Path>| {
            request(env, &cache).run_cache_key(&plan(input)).unwrap()
        };
        assert_eq!(key(&env, Some(&here)), key(&env, Some(&there)));
        assert_ne!(key(&env, Some(&here)), key(&env, Some(&changed)));
        assert_ne!(key(&env, Some(&here)), key(&env, Some(&renamed)));
        assert_ne!(key(&env, Some(&here)), key(&env, None));
        // Another app is another environment.
        assert_ne!(key(&env, None), key(&other_env, None));
        assert_ne!(key(&env, Some(&here)), key(&other_env, Some(&here)));
        // The app alone: not the key of the trace of the app alone.
        assert_ne!(key(&env, None), request(&env, &cache).cache_key().unwrap());
    }

    #[test]
    fn an_input_that_cannot_be_read_is_an_error_naming_it() {
        let (dir, env) = TestEnv::new().app("app.py", "print(1)\n").build();
        let cache = CacheRoot::new(dir.path().join("cache"));
        let missing = dir.path().join("gone.py");
        let err = request(&env, &cache)
            .run_cache_key(&plan(Some(&missing)))
            .unwrap_err();
        assert!(err.to_string().contains("gone.py"), "{err}");
    }
}
