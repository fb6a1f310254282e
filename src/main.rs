//! pyodide-pack: a thin command line over the pipeline's crates
//! (config, env -> facts -> graph -> trace -> report).

mod deployment;
mod page;
mod pipeline;
mod progress;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use pyodide_pack_env::{CacheRoot, EnvironmentRequest};
use pyodide_pack_report::{render_analysis, render_why, AnalyzeRecord, WhyRecord};

use pipeline::{load_analysis, Settings, TraceMode};

/// The analysis allocates many small strings and maps (a warm `analyze` of sympy spent a fifth
/// of its time in glibc's malloc and free); mimalloc takes most of that back.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "pyodide-pack",
    version,
    about = "Bundle Python apps for Pyodide with only the files they need"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Where the app's environment comes from (shared by every command).
#[derive(Args, Clone)]
struct EnvArgs {
    /// The app's entry script.
    app: PathBuf,
    /// A folder of wheels. Alone: exactly these wheels, no resolver. With --requirements: pip
    /// resolves offline from this folder.
    #[arg(long, value_name = "DIR")]
    wheels: Option<PathBuf>,
    /// Requirements resolved with pip for the Pyodide platform (default: requirements.txt beside
    /// the app, unless --wheels is given alone).
    #[arg(long, value_name = "FILE")]
    requirements: Option<PathBuf>,
    /// A Pyodide distribution folder: an npm core or a full release (default: --pyodide, else
    /// `pyodide` in [tool.pyodide-pack], else $PYODIDE_PACK_RUNTIME, else the pinned version).
    #[arg(long, value_name = "DIR")]
    runtime: Option<PathBuf>,
    /// The Pyodide release to pack against, installed from npm into the cache on first use:
    /// any 0.27.x, 0.28.x, 0.29.x or 314.x (default: the pinned 314 release).
    #[arg(long, value_name = "VERSION", conflicts_with = "runtime")]
    pyodide: Option<String>,
    /// Where packages of the runtime's pyodide-lock.json are fetched from when the runtime folder
    /// does not hold them (default: the CDN folder of the runtime's version).
    #[arg(long, value_name = "URL")]
    index_url: Option<String>,
}

impl EnvArgs {
    /// The environment the flags ask for; `pyodide = "..."` in [tool.pyodide-pack] names the
    /// runtime when no flag does.
    fn request(&self) -> Result<EnvironmentRequest> {
        let pyodide_version = match (&self.pyodide, &self.runtime) {
            (Some(version), _) => Some(version.clone()),
            (None, Some(_)) => None,
            (None, None) => pyodide_pack_config::find_config(&self.app)?.config.pyodide,
        };
        Ok(EnvironmentRequest {
            entry: self.app.clone(),
            wheels_dir: self.wheels.clone(),
            requirements: self.requirements.clone(),
            runtime_dir: self.runtime.clone(),
            pyodide_version,
            index_url: self.index_url.clone(),
            provided_modules: Vec::new(),
        })
    }
}

/// What each run gets (shared by trace, validate and the traced commands).
#[derive(Args, Clone, Default)]
struct RunArgs {
    /// A Python file run after the app with the app's globals: one more run (repeatable).
    #[arg(long, value_name = "FILE")]
    input: Vec<PathBuf>,
    /// Seconds a run may take (default 120).
    #[arg(long, value_name = "SECONDS")]
    timeout: Option<u64>,
}

/// Browser validation (shared by pack and validate).
#[derive(Args, Clone, Default)]
pub(crate) struct BrowserArgs {
    /// Also validate in headless Chromium: on the page's main thread (`--browser`, the default),
    /// in a module worker (`--browser=worker`), or both (`--browser=both`).
    #[arg(
        long,
        value_name = "THREAD",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "main",
        value_parser = ["main", "worker", "both"]
    )]
    browser: Option<String>,
    /// Serve the browser validation's page cross-origin isolated (COOP/COEP headers).
    #[arg(long)]
    isolate: bool,
}

/// Where `serve` (and `pack --serve`) listens.
#[derive(Args, Clone)]
struct ServeArgs {
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// The port (default: a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// A header to send with every response, "Name: value" (repeatable): try the page under the
    /// Content-Security-Policy it will be deployed with (docs/integrity.md has the minimal one).
    #[arg(long = "header", value_name = "NAME: VALUE")]
    headers: Vec<String>,
}

/// Serves `dir` until Ctrl-C.
fn serve(dir: &Path, at: &ServeArgs) -> Result<()> {
    let mut preview = pyodide_pack_serve::Preview::bind(dir, &at.host, at.port)?;
    for header in &at.headers {
        preview = preview.header(header)?;
    }
    let page = if dir.join(pyodide_pack_pack::PAGE).is_file() {
        String::new()
    } else {
        format!(" (no {}: packed with --no-page)", pyodide_pack_pack::PAGE)
    };
    let shown = dir.display().to_string();
    out(&format!(
        "serving {}/ at {}{page} (Ctrl-C stops)\n",
        shown.trim_end_matches('/'),
        preview.url()
    ))?;
    preview.run()?;
    eprintln!("stopped");
    Ok(())
}

/// What form the shipped files take (shared by pack and size).
#[derive(Args, Clone, Default)]
struct FormArgs {
    /// Ship `.pyc` compiled by the runtime's own interpreter instead of `.py` (the default, or
    /// `compile-pyc` in [tool.pyodide-pack]).
    #[arg(long, overrides_with = "no_compile_pyc")]
    compile_pyc: bool,
    /// Ship `.py` sources, not `.pyc` (`compile-pyc = false`).
    #[arg(long)]
    no_compile_pyc: bool,
    /// How bundle.zip and python_stdlib.zip travel: zstd (default: one zstd stream each, decoded
    /// by a small decoder shipped beside the loader), gzip (one gzip stream each, decoded by the
    /// browser's own DecompressionStream), precompressed (stored zips with .br and .gz siblings,
    /// for hosts that serve them), deflate (per-file deflate zips, the old form).
    #[arg(long, value_name = "FORM")]
    transfer: Option<pyodide_pack_pack::TransferForm>,
}

impl FormArgs {
    fn compile_pyc(&self) -> Option<bool> {
        if self.no_compile_pyc {
            Some(false)
        } else if self.compile_pyc {
            Some(true)
        } else {
            None
        }
    }
}

/// The size check (shared by pack and size), besides `[tool.pyodide-pack.budget]`.
#[derive(Args, Clone, Default)]
struct BudgetArgs {
    /// Compare with a baseline written by --save-baseline: each size's change is shown.
    #[arg(long, value_name = "FILE")]
    baseline: Option<PathBuf>,
    /// Write this run's sizes as a baseline for later --baseline checks.
    #[arg(long, value_name = "FILE")]
    save_baseline: Option<PathBuf>,
    /// Fail when any size grew more than this over the --baseline (`1%`, `0.5`).
    #[arg(long, value_name = "PERCENT")]
    max_growth: Option<String>,
    /// Write the size table as Markdown here, for a pull-request comment (`-` for stdout).
    #[arg(long, value_name = "FILE")]
    markdown: Option<PathBuf>,
}

impl BudgetArgs {
    fn flags(&self) -> Result<pipeline::BudgetFlags> {
        Ok(pipeline::BudgetFlags {
            baseline: self.baseline.clone(),
            save_baseline: self.save_baseline.clone(),
            max_growth: match &self.max_growth {
                Some(text) => Some(text.parse()?),
                None => None,
            },
            markdown: self.markdown.clone(),
        })
    }
}

/// Sizes a pack would ship; a budget breach is an error after the output is written.
fn budget_verdict(budget: Option<&pyodide_pack_budget::BudgetReport>, after: &str) -> ExitCode {
    let Some(budget) = budget.filter(|b| !b.ok) else {
        return ExitCode::SUCCESS;
    };
    for breach in budget.breaches() {
        eprintln!("error: {breach}");
    }
    eprintln!(
        "error: size budget exceeded: {} size(s) over their limits{after}",
        budget.items.iter().filter(|i| i.over.is_some()).count()
    );
    ExitCode::FAILURE
}

/// The dynamic fallback and the user's globs (shared by analyze, why and pack). Flags add to
/// `[tool.pyodide-pack]` in the nearest pyproject.toml (inputs given here replace its inputs).
#[derive(Args, Clone, Default)]
struct TraceArgs {
    /// Run the app under Pyodide in Node and merge what it used (cached; see --fresh-trace).
    #[arg(long)]
    trace: bool,
    /// Merge a trace saved by `pyodide-pack trace` instead of running the app (repeatable).
    #[arg(long, value_name = "FILE")]
    trace_file: Vec<PathBuf>,
    /// Run the trace again even if a cached trace of the same app, inputs and wheels exists.
    #[arg(long)]
    fresh_trace: bool,
    #[command(flatten)]
    runs: RunArgs,
    /// Keep the files matching this glob (path inside the wheel, stdlib zip or app folder).
    #[arg(long, value_name = "GLOB")]
    include: Vec<String>,
    /// Drop the files matching this glob, and what only they import.
    #[arg(long, value_name = "GLOB")]
    exclude: Vec<String>,
    /// Keep only the stdlib files a traced run touched (smaller; validation checks it).
    #[arg(long)]
    stdlib_from_trace: bool,
    /// Put the files matching this glob in the eager tier (downloaded up front), and keep them.
    #[arg(long, value_name = "GLOB")]
    eager: Vec<String>,
    /// No lazy tier: everything kept is downloaded up front (one self-contained download).
    #[arg(long)]
    no_lazy: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Which files of the environment the app needs: static analysis (offline, no Node), plus
    /// traced runs with --trace or --trace-file.
    Analyze {
        #[command(flatten)]
        env: EnvArgs,
        #[command(flatten)]
        trace: TraceArgs,
        /// Write the machine-readable record here (`-` for stdout).
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
        /// Write the analysis as a self-contained page here: a treemap of the environment, the
        /// package table, each file's why chain.
        #[arg(long, value_name = "FILE")]
        html: Option<PathBuf>,
    },
    /// Why is a file in the bundle: the chain of imports from the entry script, with file:line.
    Why {
        #[command(flatten)]
        env: EnvArgs,
        #[command(flatten)]
        trace: TraceArgs,
        /// A module (`sympy.polys.polytools`), a path in the environment (`json/decoder.py`), or a
        /// package (`mpmath`).
        target: String,
        /// Also every kept file that imports TARGET directly, each with its own chain.
        #[arg(long)]
        all: bool,
        /// Answer from a pack's record (OUTDIR/report.json): the tiers and chains that pack
        /// decided, without loading the environment.
        #[arg(long, value_name = "FILE")]
        report: Option<PathBuf>,
        /// Write the machine-readable answer here (`-` for stdout).
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
    },
    /// Run the app under real Pyodide in Node (once alone, once more per --input) and save what
    /// it imported, opened and loaded.
    Trace {
        #[command(flatten)]
        env: EnvArgs,
        #[command(flatten)]
        runs: RunArgs,
        /// Where to write the trace.
        #[arg(short, long, value_name = "FILE", default_value = "trace.json")]
        output: PathBuf,
    },
    /// The main job: trace, pack the kept files into OUTDIR (bundle.zip, python_stdlib.zip,
    /// loader.mjs, report.json), and validate the bundle against the full environment.
    Pack {
        #[command(flatten)]
        env: EnvArgs,
        #[command(flatten)]
        trace: TraceArgs,
        /// The output folder (default: `output` in [tool.pyodide-pack], else `dist`), replaced
        /// atomically.
        #[arg(short, long, value_name = "OUTDIR")]
        output: Option<PathBuf>,
        /// Static analysis only: no traced run (data files: every one of a kept package).
        #[arg(long)]
        no_trace: bool,
        /// Skip running the app from the bundle.
        #[arg(long)]
        no_validate: bool,
        /// Strip docstrings from the stdlib's and the wheels' Python files.
        #[arg(long)]
        strip_docstrings: bool,
        #[command(flatten)]
        form: FormArgs,
        /// Write no OUTDIR/report.html (the treemap page of the report).
        #[arg(long)]
        no_html: bool,
        /// Write no OUTDIR/index.html (the page that runs the app) and no copy of the entry
        /// script (`page = false`).
        #[arg(long)]
        no_page: bool,
        /// Where the page takes the Pyodide runtime from: cdn (default: the jsDelivr folder of
        /// the packed release) or copy (its files copied into OUTDIR/pyodide/, for a site that
        /// needs no CDN) (`runtime-files = "..."`).
        #[arg(long, value_name = "cdn|copy")]
        runtime_files: Option<pyodide_pack_pack::RuntimeFiles>,
        /// Write a service worker (OUTDIR/pyodide-pack-sw.js) that keeps the app working offline
        /// after one visit: the eager files precached and checked, the runtime and each lazy
        /// file cached as fetched (`offline = true`).
        #[arg(long)]
        offline: bool,
        /// How many earlier deployments a pack into the same OUTDIR keeps serving, so that a
        /// page opened before the redeploy still finds its files (`keep-deployments = N`,
        /// default 2).
        #[arg(long, value_name = "N")]
        keep_deployments: Option<usize>,
        /// Then serve OUTDIR as `pyodide-pack serve` does, until Ctrl-C.
        #[arg(long)]
        serve: bool,
        #[command(flatten)]
        serve_at: ServeArgs,
        #[command(flatten)]
        browser: BrowserArgs,
        #[command(flatten)]
        budget: BudgetArgs,
        /// A page (PAGE.html) is done once it shows this text, instead of at its host's done
        /// signal (PyScript: py:all-done) or once it goes quiet.
        #[arg(long, value_name = "TEXT")]
        until: Option<String>,
        /// Also write the report here (`-` for stdout).
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
    },
    /// Serve a packed OUTDIR on localhost the way a CDN serves it (brotli or gzip when asked, a
    /// .br/.gz sibling when there is one, application/wasm, no caching), to open its index.html
    /// in a browser. Ctrl-C stops it.
    Serve {
        /// The folder `pack` wrote.
        #[arg(default_value = "dist")]
        outdir: PathBuf,
        #[command(flatten)]
        at: ServeArgs,
    },
    /// What `pack` would ship, measured and checked against `[tool.pyodide-pack.budget]`, from the
    /// cached analysis and trace: no validation, no output folder. Exits 1 on a breach.
    Size {
        #[command(flatten)]
        env: EnvArgs,
        #[command(flatten)]
        trace: TraceArgs,
        /// Static analysis only: no traced run.
        #[arg(long)]
        no_trace: bool,
        /// Measure with docstrings stripped, as `pack --strip-docstrings` ships.
        #[arg(long)]
        strip_docstrings: bool,
        #[command(flatten)]
        form: FormArgs,
        #[command(flatten)]
        budget: BudgetArgs,
        /// Also write the size record here (`-` for stdout).
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
    },
    /// Run the app from a packed OUTDIR through its loader.mjs and compare its output with the
    /// full environment (and expected.txt beside the app).
    Validate {
        /// The folder `pack` wrote.
        outdir: PathBuf,
        #[command(flatten)]
        env: EnvArgs,
        #[command(flatten)]
        runs: RunArgs,
        #[command(flatten)]
        browser: BrowserArgs,
        /// Also write the validation record (outputs, timings, lazy files fetched) here (`-` for
        /// stdout).
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
    },
}

/// The analysis `analyze` and `why` answer from: settings, environment, traces as the flags say.
fn analysis_for(env: &EnvArgs, trace: &TraceArgs, cache: &CacheRoot) -> Result<pipeline::Loaded> {
    if page::is_page(&env.app) {
        let page_args = page::PageArgs::default();
        let analysis =
            page::analyse_page(&env.app, &env.request()?, trace, &page_args, cache, false)?;
        return Ok(analysis.loaded);
    }
    let settings = Settings::new(&env.app, trace)?;
    load_analysis(
        &env.request()?,
        &settings,
        TraceMode::from_args(trace),
        cache,
    )
}

/// Prints `text` for people and writes `record` where `--json` says (`-`: stdout, text to stderr).
fn emit(text: &str, json: Option<&Path>, record: &impl serde::Serialize) -> Result<()> {
    match json {
        Some(path) if path == Path::new("-") => {
            eprint!("{text}");
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            serde_json::to_writer(&mut out, record).map_err(std::io::Error::from)?;
            writeln!(out)?;
        }
        Some(path) => {
            out(text)?;
            write_json(path, record)?;
        }
        None => out(text)?,
    }
    Ok(())
}

/// Writes to stdout, returning the error (a closed pipe among them) instead of panicking as
/// `print!` does.
fn out(text: &str) -> std::io::Result<()> {
    let stdout = std::io::stdout();
    let mut lock = stdout.lock();
    lock.write_all(text.as_bytes())?;
    lock.flush()
}

/// The error and its causes, each once: a cause whose text the message already holds (a
/// `"{path}: {source}"` error) is not repeated.
pub(crate) fn error_message(error: &anyhow::Error) -> String {
    let mut message = error.to_string();
    for cause in error.chain().skip(1) {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
    }
    message
}

/// Output that stopped because the reader went away (`pyodide-pack analyze --json - | head`) is
/// a quiet, successful end, as in ripgrep.
fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// Set by the Ctrl-C handler: whatever error the stopped work ends with, the user is told one
/// word, "interrupted", not the failure it caused (a Node run killed by SIGINT).
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// The exit status of a process ended by SIGINT, as shells report it.
const EXIT_INTERRUPTED: u8 = 130;

/// Ctrl-C (and SIGTERM) stop the work in order: Node runs are killed and end as
/// `TraceError::Interrupted`, so every temporary and staging folder is removed on the way out.
/// Work with no child process to kill (compressing, writing) is not waited for long: after
/// `GRACE` the handler exits itself, and the staging folder it leaves is removed by the next
/// `pack` (it belongs to a process that is gone). A second Ctrl-C exits at once.
fn install_interrupt_handler() {
    const GRACE: std::time::Duration = std::time::Duration::from_secs(2);
    let result = ctrlc::set_handler(|| {
        if INTERRUPTED.swap(true, Ordering::SeqCst) {
            std::process::exit(EXIT_INTERRUPTED.into());
        }
        pyodide_pack_trace::interrupt_runs();
        pyodide_pack_serve::stop();
        std::thread::spawn(|| {
            std::thread::sleep(GRACE);
            eprintln!("error: interrupted");
            std::process::exit(EXIT_INTERRUPTED.into());
        });
    });
    if let Err(e) = result {
        eprintln!("warning: Ctrl-C will not clean up: {e}");
    }
}

fn is_interrupted(error: &anyhow::Error) -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
        || error.chain().any(|cause| {
            use pyodide_pack_pack::PackError;
            use pyodide_pack_trace::TraceError;
            matches!(
                cause.downcast_ref::<TraceError>(),
                Some(TraceError::Interrupted)
            ) || matches!(
                cause.downcast_ref::<PackError>(),
                Some(PackError::Trace(TraceError::Interrupted))
            )
        })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    install_interrupt_handler();
    match run(cli) {
        Ok(code) => code,
        Err(error) if is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) if is_interrupted(&error) => {
            eprintln!("error: interrupted");
            ExitCode::from(EXIT_INTERRUPTED)
        }
        Err(error) => {
            eprintln!("error: {}", error_message(&error));
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    let cache = CacheRoot::from_env();
    match cli.command {
        Command::Analyze {
            env,
            trace,
            json,
            html,
        } => {
            let start = Instant::now();
            let loaded = analysis_for(&env, &trace, &cache)?;
            let mut record =
                AnalyzeRecord::new(&loaded.env, &loaded.analysis, start.elapsed().as_secs_f64());
            if let (Some(summary), Some(static_kept)) = (&loaded.trace_summary, &loaded.static_kept)
            {
                record = record.with_trace(
                    &loaded.env,
                    &loaded.analysis,
                    &loaded.traces,
                    summary,
                    static_kept,
                );
            }
            if let Some(path) = &html {
                let page = pyodide_pack_report::render_report_html(&serde_json::to_value(&record)?);
                write_text(path, &page)?;
            }
            emit(&render_analysis(&record), json.as_deref(), &record)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Why {
            env,
            trace,
            target,
            all,
            report,
            json,
        } => {
            if let Some(report) = report {
                let bytes = std::fs::read(&report)
                    .with_context(|| format!("{}: cannot read the report", report.display()))?;
                let record = pyodide_pack_report::why_from_report(
                    &bytes,
                    &report.display().to_string(),
                    &target,
                    all,
                )
                .map_err(|e| anyhow::anyhow!("{}: {e}", report.display()))?;
                emit(&render_why(&record), json.as_deref(), &record)?;
                return Ok(ExitCode::SUCCESS);
            }
            let loaded = analysis_for(&env, &trace, &cache)?;
            let (environment, analysis) = (&loaded.env, &loaded.analysis);
            let found = pyodide_pack_graph::find_target(environment, &analysis.graph, &target)
                .map_err(|closest| {
                    anyhow::anyhow!(
                        "{target:?} is not a module, path or package of this environment (closest: {})",
                        closest.join(", ")
                    )
                })?;
            let chains = pyodide_pack_graph::shortest_chains(&analysis.graph);
            let record = WhyRecord::new(environment, analysis, &chains, &target, &found, all);
            emit(&render_why(&record), json.as_deref(), &record)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Trace { env, runs, output } => {
            if page::is_page(&env.app) {
                anyhow::bail!(
                    "{}: `trace` runs an entry script in Node; a page is traced in Chromium by `pack` (or `analyze --trace`)",
                    env.app.display()
                );
            }
            let args = TraceArgs {
                runs,
                ..Default::default()
            };
            let settings = Settings::new(&env.app, &args)?;
            let environment = pyodide_pack_env::Environment::load(&env.request()?, &cache)?;
            let trace = pipeline::run_trace(&environment, &settings, &cache, true)?;
            out(&pipeline::describe_trace(&trace))?;
            write_json(&output, &trace)?;
            out(&format!("trace written to {}\n", output.display()))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Pack {
            env,
            trace,
            output,
            no_trace,
            no_validate,
            strip_docstrings,
            form,
            no_html,
            no_page,
            runtime_files,
            offline,
            keep_deployments,
            serve: then_serve,
            serve_at,
            browser,
            budget,
            until,
            json,
        } => {
            let flags = pipeline::PackFlags {
                output,
                browser,
                no_trace,
                no_validate,
                strip_docstrings,
                compile_pyc: form.compile_pyc(),
                transfer: form.transfer,
                budget: budget.flags()?,
                no_html,
                page: no_page.then_some(false),
                runtime_files,
                offline: offline.then_some(true),
                keep_deployments,
            };
            let is_page = page::is_page(&env.app);
            let (report, out_dir) = if is_page {
                let page_args = page::PageArgs { until };
                page::pack_page(
                    &env.app,
                    &env.request()?,
                    &trace,
                    &page_args,
                    &flags,
                    &cache,
                )?
            } else {
                pipeline::pack(&env.request()?, &env.app, &trace, &flags, &cache)?
            };
            let shown = out_dir.display().to_string();
            let shown = shown.trim_end_matches('/');
            let pack_dir = format!("{shown}/{}", pyodide_pack_pack::PAGE_PACK_DIR);
            let mut text =
                pyodide_pack_report::render_pack(&report, if is_page { &pack_dir } else { shown });
            if is_page {
                text.push_str(&format!(
                    "wrote {shown}/: the page's site, its interpreter pointing at {pack_dir}/pyodide.mjs\n"
                ));
            }
            emit(&text, json.as_deref(), &report)?;
            let verdict = budget_verdict(
                report.budget.as_ref(),
                &format!(" (the output in {} is written)", out_dir.display()),
            );
            if then_serve {
                serve(&out_dir, &serve_at)?;
            }
            Ok(verdict)
        }
        Command::Serve { outdir, at } => {
            serve(&outdir, &at)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Size {
            env,
            trace,
            no_trace,
            strip_docstrings,
            form,
            budget,
            json,
        } => {
            let flags = pipeline::PackFlags {
                output: None,
                browser: BrowserArgs::default(),
                no_trace,
                no_validate: true,
                strip_docstrings,
                compile_pyc: form.compile_pyc(),
                transfer: form.transfer,
                budget: budget.flags()?,
                no_html: true,
                page: Some(false),
                runtime_files: None,
                offline: None,
                keep_deployments: None,
            };
            let report = if page::is_page(&env.app) {
                page::size_page(&env.app, &env.request()?, &trace, &flags, &cache)?
            } else {
                pipeline::size(&env.request()?, &env.app, &trace, &flags, &cache)?
            };
            emit(&report.render_text(), json.as_deref(), &report)?;
            Ok(budget_verdict(Some(&report), ""))
        }
        Command::Validate {
            outdir,
            env,
            runs,
            browser,
            json,
        } => {
            let args = TraceArgs {
                runs,
                ..Default::default()
            };
            if page::is_page(&env.app) {
                let (text, records) =
                    page::validate_page_output(&outdir, &env.app, &env.request()?, &args, &cache)?;
                emit(&text, json.as_deref(), &records)?;
                return Ok(ExitCode::SUCCESS);
            }
            let settings = Settings::new(&env.app, &args)?;
            let environment = pyodide_pack_env::Environment::load(&env.request()?, &cache)?;
            let choice = pipeline::BrowserChoice::new(&browser, &settings.config);
            let validation = pipeline::validate_bundle(
                &environment,
                &settings,
                &outdir,
                &cache,
                choice.as_ref(),
                // With --browser, `validate` is the browser's proof; `pack --browser` does both.
                choice.is_none(),
                pipeline::PriorRuns {
                    traced: pipeline::traced_runs_of(&outdir),
                    known: pipeline::cached_known_runs(&environment, &outdir, &cache),
                },
            )?;
            let text = pyodide_pack_report::render_validation(&validation);
            emit(&text, json.as_deref(), &validation)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Writes through a temporary file so a failure leaves no partial record.
pub(crate) fn write_json(path: &Path, value: &impl serde::Serialize) -> Result<()> {
    write_bytes(path, &serde_json::to_vec_pretty(value)?)
}

/// A text for the user (`-` is stdout), written like a record.
pub(crate) fn write_text(path: &Path, text: &str) -> Result<()> {
    if path == Path::new("-") {
        return Ok(out(text)?);
    }
    write_bytes(path, text.as_bytes())
}

fn write_bytes(path: &Path, bytes: &[u8]) -> Result<()> {
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    // A temporary file created like any other (so the record honours the umask, where a
    // NamedTempFile would be 0600), then renamed over the target: never half a record.
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "record".into());
    let tmp = parent.join(format!(".{name}.{}.tmp", std::process::id()));
    std::fs::write(&tmp, bytes)
        .with_context(|| format!("{}: cannot write here", parent.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        anyhow::Error::new(e).context(format!("{}: cannot write the record", path.display()))
    })?;
    Ok(())
}
