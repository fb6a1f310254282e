//! The stages in order, as every command runs them: settings -> environment -> facts -> graph ->
//! traces merged -> rules and prune.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use pyodide_pack_budget::{check_budget, Baseline, BudgetReport, MaxGrowth};
use pyodide_pack_config::{find_config, BrowserSetting, LoadedConfig};
use pyodide_pack_env::{CacheRoot, Environment, EnvironmentRequest, FileRef};
use pyodide_pack_graph::{
    assign_tiers, build_graph, finish, Analysis, BuildOptions, KeptSet, RuleGlob, TierOptions,
    UserRules,
};
use pyodide_pack_pack::{
    expected_output, reference_outputs, validate, validate_in_browser, BrowserModes,
    BrowserRequest, KnownRun, PackOptions, PackSummary, StagedOutput, TracedRuns, Validation,
    ValidationRequest,
};
use pyodide_pack_report::{AnalyzeRecord, PackReport};
use pyodide_pack_trace::{
    merge_traces, restrict_stdlib_to_touched, run_traces, Trace, TraceRequest, TraceSummary,
};

use crate::progress::Spinner;
use crate::{BrowserArgs, TraceArgs};

/// How long a traced run may take unless the user says otherwise.
const DEFAULT_TIMEOUT_SECONDS: u64 = 120;

/// The settings of one command: `[tool.pyodide-pack]` overridden by flags.
pub struct Settings {
    pub config: LoadedConfig,
    pub inputs: Vec<PathBuf>,
    pub rules: UserRules,
    pub timeout: Duration,
    pub stdlib_from_trace: bool,
    pub tiers: TierOptions,
}

impl Settings {
    pub fn new(app: &Path, args: &TraceArgs) -> Result<Settings> {
        let config = find_config(app)?;
        let source = config.source();
        let inputs = if args.runs.input.is_empty() {
            config
                .config
                .inputs
                .iter()
                .map(|p| config.resolve(p))
                .collect()
        } else {
            args.runs.input.clone()
        };
        let globs = |from_config: &[String], from_flags: &[String], flag: &str| {
            from_config
                .iter()
                .map(|p| RuleGlob {
                    pattern: p.clone(),
                    source: source.clone(),
                })
                .chain(from_flags.iter().map(|p| RuleGlob {
                    pattern: p.clone(),
                    source: flag.to_string(),
                }))
                .collect::<Vec<_>>()
        };
        let rules = UserRules::new(
            globs(&config.config.include, &args.include, "--include"),
            globs(&config.config.exclude, &args.exclude, "--exclude"),
        )?
        .with_eager(globs(&config.config.eager, &args.eager, "--eager"))?;
        let stdlib_from_trace =
            args.stdlib_from_trace || config.config.stdlib_from_trace.unwrap_or(false);
        let tiers = TierOptions {
            no_lazy: args.no_lazy || config.config.lazy == Some(false),
            stdlib_eager: stdlib_from_trace,
        };
        let timeout = Duration::from_secs(
            args.runs
                .timeout
                .or(config.config.timeout)
                .unwrap_or(DEFAULT_TIMEOUT_SECONDS),
        );
        Ok(Settings {
            config,
            inputs,
            rules,
            timeout,
            stdlib_from_trace,
            tiers,
        })
    }
}

/// Browser validation as the flags (else `[tool.pyodide-pack]`) ask for it: where the page runs
/// the app, and whether it is cross-origin isolated. `None`: Node validation only.
pub struct BrowserChoice {
    pub modes: BrowserModes,
    pub isolate: bool,
}

impl BrowserChoice {
    pub fn new(args: &BrowserArgs, config: &LoadedConfig) -> Option<BrowserChoice> {
        let from_config = config.config.browser.map(|b| match b {
            BrowserSetting::Main => BrowserModes::Main,
            BrowserSetting::Worker => BrowserModes::Worker,
            BrowserSetting::Both => BrowserModes::Both,
        });
        let modes = args
            .browser
            .as_deref()
            .and_then(BrowserModes::parse)
            .or(from_config)?;
        Some(BrowserChoice {
            modes,
            isolate: args.isolate || config.config.isolate.unwrap_or(false),
        })
    }
}

/// A bundle that fails to load after the user excluded a library its modules need says so: the
/// loader's message names the module, the analysis knows which library it was missing.
fn with_library_hint(error: anyhow::Error, analysis: &Analysis) -> anyhow::Error {
    let hints = &analysis.graph.excluded_needed;
    if hints.is_empty() {
        return error;
    }
    anyhow::anyhow!("{}; {}", crate::error_message(&error), hints.join("; "))
}

/// Which traces to merge.
pub struct TraceMode {
    /// Run the app (reusing a cached trace unless `fresh`).
    pub run: bool,
    pub fresh: bool,
    pub files: Vec<PathBuf>,
}

impl TraceMode {
    /// `--input` on the command line asks for runs, so it implies `--trace`.
    pub fn from_args(args: &TraceArgs) -> TraceMode {
        TraceMode {
            run: args.trace || args.fresh_trace || !args.runs.input.is_empty(),
            fresh: args.fresh_trace,
            files: args.trace_file.clone(),
        }
    }
}

/// An analysed environment, with the traces merged into it if any.
pub struct Loaded {
    pub env: Environment,
    pub analysis: Analysis,
    pub traces: Vec<Trace>,
    pub trace_summary: Option<TraceSummary>,
    /// What static analysis alone kept (set only when traces were merged).
    pub static_kept: Option<KeptSet>,
    /// Which of `traces` was run (or reused from the cache) for this very environment, as opposed
    /// to a `--trace-file` from elsewhere: its outputs are references for validation.
    pub own_trace: Option<usize>,
}

impl Loaded {
    /// The full environment's runs this analysis already made, for validation to reuse.
    pub fn known_runs(&self) -> Vec<KnownRun> {
        self.own_trace
            .and_then(|i| self.traces.get(i))
            .map(|trace| {
                trace
                    .runs
                    .iter()
                    .map(|run| KnownRun {
                        input: run.input.clone(),
                        stdout: run.stdout.clone(),
                        timings: run.timings.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

pub fn load_analysis(
    request: &EnvironmentRequest,
    settings: &Settings,
    mode: TraceMode,
    cache: &CacheRoot,
) -> Result<Loaded> {
    let env = Environment::load(request, cache)?;
    for glob in settings.rules.unmatched(&env) {
        eprintln!(
            "warning: {}: glob {:?} matches no file of this environment",
            glob.source, glob.pattern
        );
    }
    let mut store = pyodide_pack_graph::facts_store_for(&env, Some(cache.root().join("facts")));
    let graph = build_graph(&env, &mut store, &BuildOptions::default());
    // Saved before the verdict is acted on: a refused environment (a damaged `.so`, an entry
    // script that does not parse) keeps its facts too, so the next run pays nothing to refuse it.
    if let Err(e) = store.save() {
        eprintln!("warning: could not write the facts cache: {e}");
    }
    let graph = graph?;

    let mut traces = Vec::new();
    for file in &mode.files {
        let trace = Trace::read(file)?;
        let entry_name = &env.entry(env.entry).path;
        if trace.app.file_name().map(|n| n.to_string_lossy()) != Some(entry_name.into()) {
            eprintln!(
                "warning: {}: this trace is of {}, not of {entry_name}",
                file.display(),
                trace.app.display()
            );
        }
        traces.push(trace);
    }
    let mut own_trace = None;
    if mode.run {
        traces.push(run_trace(&env, settings, cache, mode.fresh)?);
        own_trace = Some(traces.len() - 1);
    }
    if traces.is_empty() {
        if settings.stdlib_from_trace {
            anyhow::bail!(
                "--stdlib-from-trace needs a trace (drop --no-trace, or give --trace / --trace-file)"
            );
        }
        let mut analysis = finish(graph, &env, &settings.rules);
        analysis.tiers = assign_tiers(
            &analysis.graph,
            &env,
            &analysis.kept,
            None,
            &settings.rules,
            settings.tiers,
        );
        return Ok(Loaded {
            env,
            analysis,
            traces,
            trace_summary: None,
            static_kept: None,
            own_trace,
        });
    }
    let static_only = finish(graph.clone(), &env, &settings.rules);
    let mut graph = graph;
    let summary = merge_traces(&mut graph, &env, &traces, &static_only.kept);
    if settings.stdlib_from_trace {
        restrict_stdlib_to_touched(&mut graph, &env, &summary, &settings.rules);
    }
    // Data files no run opened stay available (lazy); the trace decides what is eager.
    let mut analysis = finish(graph, &env, &settings.rules);
    let touched: HashSet<FileRef> = summary.touched.iter().map(|f| f.file).collect();
    analysis.tiers = assign_tiers(
        &analysis.graph,
        &env,
        &analysis.kept,
        Some(&touched),
        &settings.rules,
        settings.tiers,
    );
    Ok(Loaded {
        env,
        analysis,
        traces,
        trace_summary: Some(summary),
        static_kept: Some(static_only.kept),
        own_trace,
    })
}

/// Runs the app (and each input) under Pyodide in Node, or reuses the cached trace of the same
/// app, inputs, wheels and runtime unless `fresh`. A new trace is saved to the cache.
pub fn run_trace(
    env: &Environment,
    settings: &Settings,
    cache: &CacheRoot,
    fresh: bool,
) -> Result<Trace> {
    let request = TraceRequest {
        env,
        inputs: settings.inputs.clone(),
        timeout: settings.timeout,
        cache,
        jobs: 0,
    };
    let cached = cache
        .root()
        .join("traces")
        .join(format!("{}.json", request.cache_key()?));
    if !fresh && cached.is_file() {
        if let Ok(trace) = Trace::read(&cached) {
            eprintln!(
                "tracing: reusing the trace of {} run(s) from the cache (--fresh-trace runs again)",
                trace.runs.len()
            );
            return Ok(trace);
        }
    }
    let spinner = Spinner::new("tracing", request.plans().len());
    let trace = run_traces(&request, &spinner)?;
    drop(spinner);
    let bytes = serde_json::to_vec(&trace)?;
    pyodide_pack_env::write_atomically(&cached, &bytes)
        .with_context(|| "could not write the trace cache".to_string())?;
    Ok(trace)
}

/// One line per run, for `trace`.
pub fn describe_trace(trace: &Trace) -> String {
    let mut out = String::new();
    for run in &trace.runs {
        let failed = run.imports.iter().filter(|i| !i.found).count();
        out.push_str(&format!(
            "{}: {} modules in sys.modules, {} imports ({failed} failed), {} files opened, {} libraries loaded; {:.1} s (load Pyodide {:.1} s, install {:.1} s, run {:.1} s)\n",
            run.label,
            run.modules.len(),
            run.imports.len(),
            run.opened.len(),
            run.dynlibs.len(),
            run.timings.wall_ms / 1000.0,
            run.timings.load_pyodide_ms / 1000.0,
            run.timings.install_ms / 1000.0,
            run.timings.run_ms / 1000.0,
        ));
    }
    out
}

/// `pack`'s own flags (and `size`'s: it measures what `pack` would ship).
pub struct PackFlags {
    pub output: Option<PathBuf>,
    pub browser: BrowserArgs,
    pub no_trace: bool,
    pub no_validate: bool,
    pub strip_docstrings: bool,
    /// `--compile-pyc` / `--no-compile-pyc`; `None`: the config's, else true.
    pub compile_pyc: Option<bool>,
    /// `--transfer`; `None`: the config's, else zstd.
    pub transfer: Option<pyodide_pack_pack::TransferForm>,
    pub budget: BudgetFlags,
    /// No `report.html`.
    pub no_html: bool,
    /// `--no-page`: `Some(false)`; `None`: the config's, else true.
    pub page: Option<bool>,
    /// `--runtime-files`; `None`: the config's, else the CDN.
    pub runtime_files: Option<pyodide_pack_pack::RuntimeFiles>,
    pub offline: Option<bool>,
    pub keep_deployments: Option<usize>,
}

/// The size check's inputs besides `[tool.pyodide-pack.budget]`.
#[derive(Default)]
pub struct BudgetFlags {
    pub baseline: Option<PathBuf>,
    pub save_baseline: Option<PathBuf>,
    pub max_growth: Option<MaxGrowth>,
    pub markdown: Option<PathBuf>,
}

impl BudgetFlags {
    fn asked(&self) -> bool {
        self.baseline.is_some()
            || self.save_baseline.is_some()
            || self.max_growth.is_some()
            || self.markdown.is_some()
    }
}

/// The analysis a pack is made from: the settings, and the trace merged (a cached trace is
/// reused).
fn analyse_for_pack(
    request: &EnvironmentRequest,
    app: &Path,
    args: &TraceArgs,
    flags: &PackFlags,
    cache: &CacheRoot,
) -> Result<(Settings, Loaded)> {
    let settings = Settings::new(app, args)?;
    let mode = TraceMode {
        run: !flags.no_trace && settings.config.config.trace.unwrap_or(true),
        fresh: args.fresh_trace,
        files: args.trace_file.clone(),
    };
    let loaded = load_analysis(request, &settings, mode, cache)?;
    Ok((settings, loaded))
}

/// What an entry script's pack writes: the flags over `[tool.pyodide-pack]`.
pub fn pack_options(settings: &Settings, flags: &PackFlags) -> PackOptions {
    let config = &settings.config.config;
    PackOptions {
        strip_docstrings: flags.strip_docstrings || config.strip_docstrings.unwrap_or(false),
        docstring_exclude: config.docstring_exclude.clone(),
        // `.pyc` by default: compiling sources is most of a page's start-up (see docs/benchmarks.md).
        compile_pyc: flags.compile_pyc.or(config.compile_pyc).unwrap_or(true),
        transfer: flags.transfer.or(config.transfer).unwrap_or_default(),
        timeout: settings.timeout,
        page: flags.page.or(config.page).unwrap_or(true),
        runtime_files: flags
            .runtime_files
            .or(config.runtime_files)
            .unwrap_or_default(),
        page_host: false,
        offline: flags.offline.or(config.offline).unwrap_or(false),
        keep_deployments: flags
            .keep_deployments
            .or(config.keep_deployments)
            .unwrap_or(pyodide_pack_pack::KEEP_DEPLOYMENTS),
    }
}

/// The bundle of an analysis, written into `dir` (with `None`: only measured).
pub fn write_bundle(
    loaded: &Loaded,
    options: &PackOptions,
    cache: &CacheRoot,
    dir: Option<&Path>,
) -> Result<PackSummary> {
    let touched: Option<Vec<_>> = loaded
        .trace_summary
        .as_ref()
        .map(|s| s.touched.iter().map(|f| f.file).collect());
    let spinner = Spinner::new("packing", 1);
    spinner.message("writing the bundle and the pruned standard library");
    let summary = pyodide_pack_pack::pack(
        &loaded.env,
        &loaded.analysis,
        &loaded.traces,
        touched.as_deref(),
        options,
        cache,
        dir,
    )?;
    drop(spinner);
    Ok(summary)
}

/// The pack's record: the analysis (with the traces merged), what was written, the validation
/// and the size check; `report.json` written into `dir`, and `report.html` if `html`.
pub fn write_report(
    loaded: &Loaded,
    summary: PackSummary,
    validation: Option<Validation>,
    budget: Option<BudgetReport>,
    start: std::time::Instant,
    dir: &Path,
    html: bool,
) -> Result<PackReport> {
    let mut record =
        AnalyzeRecord::new(&loaded.env, &loaded.analysis, start.elapsed().as_secs_f64());
    if let (Some(s), Some(k)) = (&loaded.trace_summary, &loaded.static_kept) {
        record = record.with_trace(&loaded.env, &loaded.analysis, &loaded.traces, s, k);
    }
    let mut report = PackReport::new(record, summary, validation, start.elapsed().as_secs_f64())
        .with_budget(budget);
    let value = serde_json::to_value(&report)?;
    let report_path = dir.join("report.json");
    std::fs::write(&report_path, serde_json::to_vec_pretty(&value)?)
        .with_context(|| format!("{}: cannot write the report", report_path.display()))?;
    if html {
        let html_path = dir.join("report.html");
        std::fs::write(&html_path, pyodide_pack_report::render_report_html(&value))
            .with_context(|| format!("{}: cannot write the report", html_path.display()))?;
        report.html_written = true;
    }
    Ok(report)
}

/// The size check of a pack: the budget of `[tool.pyodide-pack.budget]`, the baseline and the
/// allowed growth; the baseline and the Markdown table written if asked. `None` when nothing asks
/// for a check (`always` is set by `size`, whose whole job it is).
pub fn check_sizes(
    summary: &PackSummary,
    settings: &Settings,
    flags: &BudgetFlags,
    title: &str,
    always: bool,
) -> Result<Option<BudgetReport>> {
    let budget = settings.config.config.budget.clone().unwrap_or_default();
    if !always && budget.is_empty() && !flags.asked() {
        return Ok(None);
    }
    let baseline = match &flags.baseline {
        Some(path) => Some(Baseline::read(path)?),
        None => None,
    };
    if flags.max_growth.is_some() && baseline.is_none() {
        anyhow::bail!("--max-growth needs --baseline FILE: growth is measured against it");
    }
    let report = check_budget(summary, &budget, baseline.as_ref(), flags.max_growth)?;
    if let Some(path) = &flags.save_baseline {
        crate::write_json(path, &Baseline::of(&report))?;
    }
    if let Some(path) = &flags.markdown {
        crate::write_text(path, &report.render_markdown(title))?;
    }
    Ok(Some(report))
}

/// The main job: analysis with the trace merged, the bundle written into a staging folder,
/// validation, the report, and the staging folder swapped in. Any failure leaves the previous
/// output as it was. A size budget is checked after the swap: a breach leaves a validated
/// output to look at, and the caller exits non-zero.
pub fn pack(
    request: &EnvironmentRequest,
    app: &Path,
    args: &TraceArgs,
    flags: &PackFlags,
    cache: &CacheRoot,
) -> Result<(PackReport, PathBuf)> {
    let start = std::time::Instant::now();
    let (settings, loaded) = analyse_for_pack(request, app, args, flags, cache)?;
    let out_dir = flags
        .output
        .clone()
        .or_else(|| {
            let config = &settings.config.config;
            config.output.as_ref().map(|p| settings.config.resolve(p))
        })
        .unwrap_or_else(|| PathBuf::from("dist"));
    let staged = StagedOutput::new(&out_dir)?;
    let options = pack_options(&settings, flags);
    let mut summary = write_bundle(&loaded, &options, cache, Some(staged.path()))?;
    let app_name = Path::new(&loaded.env.entry(loaded.env.entry).path)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "app".into());
    let site = crate::deployment::Site {
        root: staged.path(),
        previous: &out_dir,
        prefix: "",
        app: &app_name,
        pages: summary.page_files.iter().take(1).cloned().collect(),
        files: Vec::new(),
    };
    crate::deployment::finish_deployment(&site, &mut summary, &options)?;
    let config = &settings.config.config;
    let validate_it = !flags.no_validate && config.validate.unwrap_or(true);
    let validation = if validate_it {
        let browser = BrowserChoice::new(&flags.browser, &settings.config);
        Some(
            validate_bundle(
                &loaded.env,
                &settings,
                staged.path(),
                cache,
                browser.as_ref(),
                true,
                PriorRuns {
                    traced: traced_runs(&loaded.traces),
                    known: loaded.known_runs(),
                },
            )
            .map_err(|e| with_library_hint(e, &loaded.analysis))?,
        )
    } else {
        None
    };
    let budget = check_sizes(
        &summary,
        &settings,
        &flags.budget,
        &size_title(&loaded.env),
        false,
    )?;
    let html = !flags.no_html && config.html.unwrap_or(true);
    let report = write_report(
        &loaded,
        summary,
        validation,
        budget,
        start,
        staged.path(),
        html,
    )?;
    staged.commit()?;
    Ok((report, out_dir))
}

/// The heading of the Markdown table: which app.
fn size_title(env: &Environment) -> String {
    format!(
        "pyodide-pack: size of `{}` (Pyodide {})",
        env.entry(env.entry).path.trim_start_matches('/'),
        env.runtime.version
    )
}

/// `size`: what `pack` would ship, measured and checked, without validation and without an
/// output folder (the bundle is built in memory and measured; sizes come from the content-keyed
/// cache, so a warm run compresses nothing).
pub fn size(
    request: &EnvironmentRequest,
    app: &Path,
    args: &TraceArgs,
    flags: &PackFlags,
    cache: &CacheRoot,
) -> Result<BudgetReport> {
    let (settings, loaded) = analyse_for_pack(request, app, args, flags, cache)?;
    let summary = write_bundle(&loaded, &pack_options(&settings, flags), cache, None)?;
    let report = check_sizes(
        &summary,
        &settings,
        &flags.budget,
        &size_title(&loaded.env),
        true,
    )?;
    Ok(report.expect("size always checks"))
}

/// The runs the traces merged into a pack came from, by input.
fn traced_runs(traces: &[Trace]) -> TracedRuns {
    TracedRuns::new(traces.iter().flat_map(|t| &t.runs).map(|r| r.input.clone()))
}

/// The inputs a packed folder was traced with (`None`: the app alone), from its `report.json`
/// (none if it has no report or was packed without a trace).
fn traced_inputs_of(dir: &Path) -> Vec<Option<PathBuf>> {
    let Ok(bytes) = std::fs::read(dir.join("report.json")) else {
        return Vec::new();
    };
    let Ok(report) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
        return Vec::new();
    };
    report["analysis"]["trace"]["runs"]
        .as_array()
        .map(|runs| {
            runs.iter()
                .map(|r| r["input"].as_str().map(PathBuf::from))
                .collect()
        })
        .unwrap_or_default()
}

/// The runs a packed folder was traced with.
pub fn traced_runs_of(dir: &Path) -> TracedRuns {
    TracedRuns::new(traced_inputs_of(dir))
}

/// The full environment's runs of a packed folder's traced inputs that the trace cache holds for
/// this environment (the same app, inputs, wheels and runtime): references `validate` need not
/// run again.
pub fn cached_known_runs(env: &Environment, dir: &Path, cache: &CacheRoot) -> Vec<KnownRun> {
    let request = TraceRequest {
        env,
        inputs: traced_inputs_of(dir).into_iter().flatten().collect(),
        timeout: std::time::Duration::ZERO,
        cache,
        jobs: 0,
    };
    let Ok(key) = request.cache_key() else {
        return Vec::new();
    };
    let path = cache.root().join("traces").join(format!("{key}.json"));
    let Ok(trace) = Trace::read(&path) else {
        return Vec::new();
    };
    trace
        .runs
        .into_iter()
        .map(|run| KnownRun {
            input: run.input,
            stdout: run.stdout,
            timings: run.timings,
        })
        .collect()
}

/// What validation knows of the pack's runs before it starts.
pub struct PriorRuns {
    /// The inputs the pack was traced with: they must fetch no lazy file.
    pub traced: TracedRuns,
    /// The full environment's runs already made: their outputs are references.
    pub known: Vec<KnownRun>,
}

/// Runs the app from the bundle in `dir` against the full environment, for each input: in Node
/// (`node`), then, if asked, in headless Chromium against the same reference output. Without the
/// Node runs, the reference comes from runs of the full environment alone.
pub fn validate_bundle(
    env: &Environment,
    settings: &Settings,
    dir: &Path,
    cache: &CacheRoot,
    browser: Option<&BrowserChoice>,
    node: bool,
    prior: PriorRuns,
) -> Result<Validation> {
    let PriorRuns { traced, known } = prior;
    // The loader names the rest (their names depend on the transfer form).
    let loader = pyodide_pack_pack::LOADER;
    if !dir.join(loader).is_file() {
        anyhow::bail!(
            "{}: no {loader} here: not a folder `pack` wrote",
            dir.display()
        );
    }
    // Every file the loader fetches, as its manifest pins it, before anything runs.
    let mismatches = pyodide_pack_pack::check_output(dir)?;
    if !mismatches.is_empty() {
        return Err(pyodide_pack_pack::PackError::Integrity {
            dir: dir.to_path_buf(),
            mismatches,
        }
        .into());
    }
    let app = env.archive(env.entry).path.join(&env.entry(env.entry).path);
    let request = ValidationRequest {
        env,
        bundle_dir: dir,
        inputs: settings.inputs.clone(),
        timeout: settings.timeout,
        cache,
        expected: expected_output(&app)?,
        traced: traced.clone(),
        known,
    };
    let runs = request.inputs.len() + 1;
    let (mut validation, references) = if node || browser.is_none() {
        let spinner = Spinner::new("validating", runs);
        let validation = validate(&request, &spinner)?;
        let references = validation.references();
        (validation, references)
    } else {
        let spinner = Spinner::new("reference run (full environment)", runs);
        let references = reference_outputs(&request, &spinner)?;
        (Validation::default(), references)
    };
    if let Some(choice) = browser {
        let browser_request = BrowserRequest {
            env,
            bundle_dir: dir,
            inputs: settings.inputs.clone(),
            timeout: settings.timeout,
            cache,
            modes: choice.modes,
            isolate: choice.isolate,
            references: &references,
            traced: &traced,
        };
        let spinner = Spinner::new(
            "validating in Chromium",
            runs * choice.modes.threads().len(),
        );
        validation.browser = Some(validate_in_browser(&browser_request, &spinner)?);
    }
    Ok(validation)
}
