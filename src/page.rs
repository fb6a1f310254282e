//! Packing a page that loads Pyodide itself (PyScript, or a module script of its own): the page
//! read (`pyodide_pack_page`), its runtime resolved from the interpreter it names, the original
//! page traced in Chromium with an instrumented runtime, the page's Python analysed with the
//! trace merged, the bundle packed beside a copy of the site with a drop-in `pyodide.mjs`, the
//! page's interpreter pointed at it, and the packed page validated against the original.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use pyodide_pack_env::{CacheRoot, EnvironmentRequest, Runtime};
use pyodide_pack_pack::{PackOptions, StagedOutput, PAGE_PACK_DIR};
use pyodide_pack_page::{copy_site, InterpreterTarget, Page};
use pyodide_pack_report::{AnalyzeRecord, PackReport};
use pyodide_pack_trace::{run_page, PageRecord, PageRunRequest};
use sha2::{Digest, Sha256};

use crate::pipeline::{load_analysis, Loaded, PackFlags, Settings, TraceMode};
use crate::progress::Spinner;
use crate::TraceArgs;

/// The entry the page's Python is analysed from: it imports each of the page's Python sources.
const PAGE_ENTRY: &str = "__page__.py";
/// Without a host's done signal or `--until`, the page is done after this long without a
/// request, a console message or a busy page thread.
const QUIET: Duration = Duration::from_secs(3);
/// Where a host writes its own Python (PyScript's `pyscript` package): Pyodide's home folder.
const HOST_HOME: &str = "/home/pyodide/";

/// Whether a command's input is a page rather than an entry script.
pub fn is_page(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("html") || e.eq_ignore_ascii_case("htm"))
}

/// The page's own flags.
#[derive(Clone, Default)]
pub struct PageArgs {
    /// Done once the page shows this text (instead of the host's done signal).
    pub until: Option<String>,
}

/// A page read, traced and analysed.
pub struct PageAnalysis {
    pub page: Page,
    pub settings: Settings,
    pub loaded: Loaded,
    /// The original page's run under the instrumented runtime.
    pub original: PageRecord,
}

/// The runtime the page's interpreter resolves to, unless the flags name one.
fn page_runtime(page: &Page, request: &EnvironmentRequest, cache: &CacheRoot) -> Result<Runtime> {
    let named = request.runtime_dir.is_some() || request.pyodide_version.is_some();
    let runtime = match (&page.interpreter.target, named) {
        (_, true) => Runtime::locate(
            request.runtime_dir.as_deref(),
            request.pyodide_version.as_deref(),
            cache,
        )?,
        (InterpreterTarget::Folder(dir), false) => Runtime::locate(Some(dir), None, cache)?,
        (InterpreterTarget::Release { version }, false) => {
            Runtime::locate(None, Some(version), cache)?
        }
        (InterpreterTarget::Unknown, false) => bail!(
            "{}: interpreter {}: which Pyodide release this URL serves is unknown; pass --pyodide VERSION (that release, from npm) or --runtime DIR (a release folder with its packages)",
            page.path.display(),
            page.interpreter.url
        ),
    };
    if let InterpreterTarget::Release { version } = &page.interpreter.target {
        if *version != runtime.version {
            bail!(
                "{}: interpreter {} is Pyodide {version}, but the runtime given is Pyodide {} ({}): pass a runtime of the page's release",
                page.path.display(),
                page.interpreter.url,
                runtime.version,
                runtime.dir.display()
            );
        }
    }
    Ok(runtime)
}

/// The trace's cache key: the harness, the page's files that decide what it runs, the runtime.
fn trace_key(page: &Page, runtime: &Runtime, until: Option<&str>) -> Result<String> {
    let mut hasher = Sha256::new();
    hasher.update(pyodide_pack_trace::runner::harness_digest().as_bytes());
    hasher.update(std::fs::read(&page.path).with_context(|| page.path.display().to_string())?);
    for source in &page.python {
        hasher.update(source.name.as_bytes());
        hasher.update(source.text.as_bytes());
    }
    hasher.update(runtime.dir.to_string_lossy().as_bytes());
    hasher.update(runtime.version.as_bytes());
    hasher.update(until.unwrap_or("").as_bytes());
    Ok(pyodide_pack_env::hex(&hasher.finalize()))
}

/// Runs the original page in Chromium with its interpreter answered by the instrumented runtime
/// (or reuses the cached trace of the same page and runtime), and refuses a page that failed.
fn trace_page(
    page: &Page,
    runtime: &Runtime,
    args: &PageArgs,
    timeout: Duration,
    cache: &CacheRoot,
    fresh: bool,
    key: &str,
) -> Result<PageRecord> {
    if !fresh {
        if let Some(record) = cached_trace(cache, key) {
            eprintln!(
                "tracing: reusing the page's trace from the cache (--fresh-trace runs again)"
            );
            return Ok(record);
        }
    }
    let cached = cached_trace_path(cache, key);
    let chromium = pyodide_pack_pack::find_chromium()?;
    let driver = pyodide_pack_pack::browser_driver(cache)?;
    let name = page.file_name();
    let spinner = Spinner::new("tracing the page in Chromium", 1);
    spinner.message(&format!("{name} ({} runtime)", runtime.version));
    let record = run_page(&PageRunRequest {
        site: &page.dir,
        page: &name,
        url: None,
        runtime: Some((page.interpreter.folder_url(), runtime.dir.clone())),
        done_event: page.host.done_event(),
        until: args.until.as_deref(),
        quiet: QUIET,
        network: None,
        timeout,
        chromium: &chromium,
        driver: &driver,
        cache,
    })?;
    drop(spinner);
    let shown = page.path.display();
    if let Some(error) = &record.error {
        if error.kind == "timeout" {
            bail!(
                "{shown}: the original page did not finish: {}{}",
                error.message,
                match page.host.done_event() {
                    Some(_) => "",
                    None => " (pass --until TEXT: a text the page shows once done)",
                }
            );
        }
        bail!(
            "{shown}: the original page failed in Chromium: {}",
            error.message
        );
    }
    if let Some(traceback) = record.python_failure() {
        bail!("{shown}: the page's Python fails in the original page, with the full runtime: nothing to pack\n{traceback}");
    }
    if !record.page_errors.is_empty() {
        bail!(
            "{shown}: the original page raised in Chromium: nothing to pack: {}",
            record.page_errors.join("; ")
        );
    }
    if !record.trace.as_ref().is_some_and(|t| t.loaded) {
        bail!(
            "{shown}: the page never loaded Pyodide from {} ({}): is that its interpreter?",
            page.interpreter.url,
            record.waited_for
        );
    }
    let bytes = serde_json::to_vec(&record)?;
    pyodide_pack_env::cache::write_atomically(&cached, &bytes)
        .context("could not write the trace cache")?;
    Ok(record)
}

fn cached_trace_path(cache: &CacheRoot, key: &str) -> PathBuf {
    cache.root().join("traces").join(format!("page-{key}.json"))
}

fn cached_trace(cache: &CacheRoot, key: &str) -> Option<PageRecord> {
    std::fs::read(cached_trace_path(cache, key))
        .ok()
        .and_then(|b| serde_json::from_slice::<PageRecord>(&b).ok())
}

/// The page's Python as an app folder for analysis: each source under its name, an entry that
/// imports them (so `why` starts from the page), and the lock packages the run loaded and the
/// config names as requirements.
fn write_app_folder(page: &Page, record: &PageRecord, dir: &Path) -> Result<PathBuf> {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).with_context(|| dir.display().to_string())?;
    let mut entry = format!(
        "# The Python of {} ({}), as pyodide-pack analyses it.\n",
        page.file_name(),
        page.host.name()
    );
    for source in &page.python {
        let module = source.name.trim_end_matches(".py");
        let path = dir.join(&source.name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, &source.text).with_context(|| path.display().to_string())?;
        if !module.contains('/') && !module.contains('.') && !module.is_empty() {
            entry.push_str(&format!("import {module}  # {}\n", source.origin));
        }
    }
    let entry_path = dir.join(PAGE_ENTRY);
    std::fs::write(&entry_path, entry)?;
    let mut packages: Vec<String> = page.packages.clone();
    if let Some(trace) = &record.trace {
        packages.extend(trace.packages.iter().cloned());
    }
    packages.sort();
    packages.dedup();
    let requirements: String = packages.iter().map(|p| format!("{p}\n")).collect();
    std::fs::write(dir.join("requirements.txt"), requirements)?;
    Ok(entry_path)
}

/// Reads, traces and analyses a page. `run`: trace the page in Chromium (a cached trace of the
/// same page and runtime is reused unless `--fresh-trace`); without it a cached trace is merged
/// if there is one, else the analysis is static (the page's Python and its config's packages).
pub fn analyse_page(
    page_path: &Path,
    request: &EnvironmentRequest,
    args: &TraceArgs,
    page_args: &PageArgs,
    cache: &CacheRoot,
    run: bool,
) -> Result<PageAnalysis> {
    let page = Page::read(page_path)?;
    let runtime = page_runtime(&page, request, cache)?;
    let settings = Settings::new(&page.path, args)?;
    if !settings.inputs.is_empty() {
        bail!("--input with a page: not supported yet; a page's other inputs are not traced");
    }
    if !args.trace_file.is_empty() {
        bail!("--trace-file with a page: a page's trace is its own run in Chromium (--trace)");
    }
    let key = trace_key(&page, &runtime, page_args.until.as_deref())?;
    let original = if run || args.trace || args.fresh_trace {
        trace_page(
            &page,
            &runtime,
            page_args,
            settings.timeout,
            cache,
            args.fresh_trace,
            &key,
        )?
    } else {
        cached_trace(cache, &key).unwrap_or_default()
    };
    let app_dir = cache.dir("pages")?.join(&key[..16]);
    let entry = write_app_folder(&page, &original, &app_dir)?;
    let trace_path = app_dir.join("trace.json");
    let mut trace_files = Vec::new();
    if let Some(mut trace) =
        original.to_trace(Path::new(PAGE_ENTRY), &page.file_name(), &runtime.version)
    {
        // What the host wrote into the home folder (PyScript's `pyscript` package) is the
        // host's, not a file of the environment the run missed.
        for run in &mut trace.runs {
            run.opened.retain(|p| !p.starts_with(HOST_HOME));
            run.modules.retain(|m| {
                !m.origin
                    .as_deref()
                    .is_some_and(|o| o.starts_with(HOST_HOME))
            });
        }
        std::fs::write(&trace_path, serde_json::to_vec(&trace)?)?;
        trace_files.push(trace_path);
    }
    // The host's modules: its static list and what the run found in its own folder.
    let mut provided: Vec<String> = page
        .host
        .provided_modules()
        .iter()
        .map(|s| s.to_string())
        .collect();
    if let Some(t) = &original.trace {
        for (name, origin) in &t.modules {
            if origin
                .as_deref()
                .is_some_and(|o| o.starts_with("/home/pyodide/"))
            {
                provided.push(name.clone());
            }
        }
    }
    let env_request = EnvironmentRequest {
        entry,
        wheels_dir: None,
        requirements: Some(app_dir.join("requirements.txt")),
        runtime_dir: Some(runtime.dir.clone()),
        pyodide_version: None,
        index_url: request.index_url.clone(),
        provided_modules: provided,
    };
    let mode = TraceMode {
        run: false,
        fresh: false,
        files: trace_files,
    };
    let loaded = load_analysis(&env_request, &settings, mode, cache)?;
    Ok(PageAnalysis {
        page,
        settings,
        loaded,
        original,
    })
}

/// Console lines that differ between the original and the packed page by design: the full
/// runtime's package downloads, which the packed page does not make.
fn compared_console(record: &PageRecord) -> Vec<String> {
    record
        .console
        .iter()
        .filter(|l| matches!(l.kind.as_str(), "log" | "info" | "warn" | "error"))
        .filter(|l| {
            let t = l.text.as_str();
            !(t.starts_with("Loading ")
                || t.starts_with("Loaded ")
                || t.starts_with("No new packages to load")
                || t.starts_with("Didn't find package")
                || t.contains(" already loaded from "))
        })
        .map(|l| format!("{}: {}", l.kind, l.text))
        .collect()
}

/// Runs the packed page from `site` and compares what it shows with the original page.
fn validate_page(
    analysis: &PageAnalysis,
    site: &Path,
    args: &PageArgs,
    cache: &CacheRoot,
) -> Result<PageRecord> {
    let chromium = pyodide_pack_pack::find_chromium()?;
    let driver = pyodide_pack_pack::browser_driver(cache)?;
    let name = analysis.page.file_name();
    let spinner = Spinner::new("validating the packed page in Chromium", 1);
    let packed = run_page(&PageRunRequest {
        site,
        page: &name,
        url: None,
        runtime: None,
        done_event: analysis.page.host.done_event(),
        until: args.until.as_deref(),
        quiet: QUIET,
        network: None,
        timeout: analysis.settings.timeout,
        chromium: &chromium,
        driver: &driver,
        cache,
    })?;
    drop(spinner);
    let log = |r: &PageRecord| {
        r.console
            .iter()
            .map(|l| format!("  {}: {}\n", l.kind, l.text))
            .chain(r.page_errors.iter().map(|e| format!("  uncaught: {e}\n")))
            .chain(
                r.failed_requests
                    .iter()
                    .map(|e| format!("  request failed: {e}\n")),
            )
            .collect::<String>()
    };
    if !packed.outside.is_empty() {
        bail!(
            "validation: the packed page asked for files outside its folder: {}",
            packed.outside.join(", ")
        );
    }
    if let Some(error) = &packed.error {
        bail!(
            "validation: the packed page did not finish in Chromium: {}; it logged:\n{}",
            error.message,
            log(&packed)
        );
    }
    if let Some(traceback) = packed.python_failure() {
        bail!("validation: the page's Python fails in the packed page; if it misses an import or a data file, --include it:\n{traceback}");
    }
    if !packed.page_errors.is_empty() {
        bail!(
            "validation: the packed page raised in Chromium: {}; it logged:\n{}",
            packed.page_errors.join("; "),
            log(&packed)
        );
    }
    let original = &analysis.original;
    if packed.text.trim_end() != original.text.trim_end() {
        bail!(
            "validation: the packed page shows other text than the original\n--- the original page\n{}\n--- the packed page\n{}",
            original.text.trim_end(),
            packed.text.trim_end()
        );
    }
    let (before, after) = (compared_console(original), compared_console(&packed));
    if before != after {
        bail!(
            "validation: the packed page's console differs from the original's\n--- the original page\n{}\n--- the packed page\n{}",
            before.join("\n"),
            after.join("\n")
        );
    }
    Ok(packed)
}

/// `pack PAGE.html`: the site copied into OUTDIR with the page's interpreter pointing at the
/// packed runtime in OUTDIR/pyodide-pack/, validated against the original page. Any failure
/// leaves the previous output as it was.
pub fn pack_page(
    page_path: &Path,
    request: &EnvironmentRequest,
    args: &TraceArgs,
    page_args: &PageArgs,
    flags: &PackFlags,
    cache: &CacheRoot,
) -> Result<(PackReport, PathBuf)> {
    let start = std::time::Instant::now();
    if flags.no_trace {
        bail!("--no-trace with a page: a page's Python is known only by running it with its host");
    }
    let analysis = analyse_page(page_path, request, args, page_args, cache, true)?;
    let (page, settings, loaded) = (&analysis.page, &analysis.settings, &analysis.loaded);
    let config = &settings.config.config;
    let out_dir = flags
        .output
        .clone()
        .or_else(|| config.output.as_ref().map(|p| settings.config.resolve(p)))
        .unwrap_or_else(|| PathBuf::from("dist"));
    let staged = StagedOutput::new(&out_dir)?;
    let mut skip = vec![out_dir.clone(), staged.path().to_path_buf()];
    if let InterpreterTarget::Folder(dir) = &page.interpreter.target {
        skip.push(dir.clone());
    }
    copy_site(&page.dir, staged.path(), &skip)?;
    let pack_dir = staged.path().join(PAGE_PACK_DIR);
    std::fs::create_dir_all(&pack_dir)?;
    let options = PackOptions {
        strip_docstrings: flags.strip_docstrings || config.strip_docstrings.unwrap_or(false),
        docstring_exclude: config.docstring_exclude.clone(),
        compile_pyc: flags.compile_pyc.or(config.compile_pyc).unwrap_or(true),
        transfer: flags.transfer.or(config.transfer).unwrap_or_default(),
        timeout: settings.timeout,
        page: false,
        // The packed folder holds the runtime unless told otherwise: the site then asks for
        // nothing outside itself.
        runtime_files: flags
            .runtime_files
            .or(config.runtime_files)
            .unwrap_or(pyodide_pack_pack::RuntimeFiles::Copy),
        page_host: true,
    };
    let touched: Option<Vec<_>> = loaded
        .trace_summary
        .as_ref()
        .map(|s| s.touched.iter().map(|f| f.file).collect());
    let spinner = Spinner::new("packing", 1);
    spinner.message("writing the bundle, the pruned standard library and the drop-in runtime");
    let summary = pyodide_pack_pack::pack(
        &loaded.env,
        &loaded.analysis,
        &loaded.traces,
        touched.as_deref(),
        &options,
        cache,
        Some(&pack_dir),
    )?;
    std::fs::write(
        pack_dir.join("pyodide.mjs"),
        pyodide_pack_pack::dropin(&loaded.env),
    )?;
    for (relative, bytes) in page.rewrite(&format!("{PAGE_PACK_DIR}/pyodide.mjs"))? {
        let path = staged.path().join(&relative);
        std::fs::write(&path, bytes).with_context(|| path.display().to_string())?;
    }
    drop(spinner);
    let validate_it = !flags.no_validate && config.validate.unwrap_or(true);
    if validate_it {
        validate_page(&analysis, staged.path(), page_args, cache)?;
    }
    let mut record =
        AnalyzeRecord::new(&loaded.env, &loaded.analysis, start.elapsed().as_secs_f64());
    if let (Some(s), Some(k)) = (&loaded.trace_summary, &loaded.static_kept) {
        record = record.with_trace(&loaded.env, &loaded.analysis, &loaded.traces, s, k);
    }
    let mut report = PackReport::new(record, summary, None, start.elapsed().as_secs_f64());
    let value = serde_json::to_value(&report)?;
    let report_path = pack_dir.join("report.json");
    std::fs::write(&report_path, serde_json::to_vec_pretty(&value)?)
        .with_context(|| format!("{}: cannot write the report", report_path.display()))?;
    if !flags.no_html && config.html.unwrap_or(true) {
        let html_path = pack_dir.join("report.html");
        std::fs::write(&html_path, pyodide_pack_report::render_report_html(&value))
            .with_context(|| format!("{}: cannot write the report", html_path.display()))?;
        report.html_written = true;
    }
    staged.commit()?;
    Ok((report, out_dir))
}
