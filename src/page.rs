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
    /// The runs (the page alone, then each input) and the original page's record of each,
    /// under the instrumented runtime.
    pub runs: Vec<(PageRun, PageRecord)>,
    /// The input pages, read, for the rewrite.
    pub input_pages: Vec<Page>,
}

/// One run of the page in Chromium: the page alone, another page of the same site (an input
/// page), or the page and then a Python script in its interpreter (an input script).
#[derive(Clone)]
pub struct PageRun {
    /// `index.html`, `other.html`, `index.html + extra.py`.
    pub label: String,
    /// The page, relative to the site.
    pub page: String,
    pub done_event: Option<&'static str>,
    /// The input script: its path and its source.
    pub script: Option<(PathBuf, String)>,
    /// The input, as the trace records it.
    pub input: Option<PathBuf>,
}

/// The runs for a page and its inputs: an `.html` input is another page of the site (its
/// interpreter the same runtime), anything else a script run after the page.
fn page_runs(page: &Page, inputs: &[PathBuf]) -> Result<(Vec<PageRun>, Vec<Page>)> {
    let name = page.file_name();
    let mut runs = vec![PageRun {
        label: name.clone(),
        page: name.clone(),
        done_event: page.host.done_event(),
        script: None,
        input: None,
    }];
    let mut pages = Vec::new();
    for input in inputs {
        if is_page(input) {
            let other = Page::read(input)?;
            let relative = other.path.strip_prefix(&page.dir).map_err(|_| {
                anyhow::anyhow!(
                    "--input {}: not a page of {}'s site ({})",
                    input.display(),
                    name,
                    page.dir.display()
                )
            })?;
            if other.interpreter.target != page.interpreter.target {
                bail!(
                    "--input {}: its interpreter {} is not {name}'s ({}): the pages of one pack share one runtime",
                    input.display(),
                    other.interpreter.url,
                    page.interpreter.url
                );
            }
            let relative = relative.to_string_lossy().into_owned();
            runs.push(PageRun {
                label: relative.clone(),
                page: relative,
                done_event: other.host.done_event(),
                script: None,
                input: Some(input.clone()),
            });
            pages.push(other);
        } else {
            let source = std::fs::read_to_string(input)
                .with_context(|| format!("--input {}", input.display()))?;
            let file = input
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            runs.push(PageRun {
                label: format!("{name} + {file}"),
                page: name.clone(),
                done_event: page.host.done_event(),
                script: Some((input.clone(), source)),
                input: Some(input.clone()),
            });
        }
    }
    Ok((runs, pages))
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
fn trace_key(page: &Page, runtime: &Runtime, until: Option<&str>, run: &PageRun) -> Result<String> {
    let mut hasher = Sha256::new();
    hasher.update(run.label.as_bytes());
    if let Some((_, source)) = &run.script {
        hasher.update(source.as_bytes());
    }
    if run.page != page.file_name() {
        let other = page.dir.join(&run.page);
        hasher.update(std::fs::read(&other).with_context(|| other.display().to_string())?);
    }
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
#[allow(clippy::too_many_arguments)]
fn trace_page(
    page: &Page,
    run: &PageRun,
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
    let spinner = Spinner::new("tracing the page in Chromium", 1);
    spinner.message(&format!("{} (Pyodide {})", run.label, runtime.version));
    // (An input page in a subfolder names the interpreter relative to itself: the trace answers
    // the one folder, as the main page names it.)
    let folder = page.dir.join(page.interpreter.folder_url());
    let run_dir = page.dir.join(&run.page);
    let run_dir = run_dir.parent().unwrap_or(&page.dir);
    let folder_url = match &page.interpreter.target {
        InterpreterTarget::Folder(_) => relative_folder_url(run_dir, &folder),
        _ => page.interpreter.folder_url(),
    };
    let record = run_page(&PageRunRequest {
        site: &page.dir,
        page: &run.page,
        url: None,
        runtime: Some((folder_url, runtime.dir.clone())),
        script: run.script.as_ref().map(|(_, source)| source.as_str()),
        interpreter: None,
        done_event: run.done_event,
        until: args.until.as_deref(),
        quiet: QUIET,
        network: None,
        timeout,
        chromium: &chromium,
        driver: &driver,
        cache,
    })?;
    drop(spinner);
    let shown = match &run.input {
        Some(input) => format!("{} (--input {})", page.path.display(), input.display()),
        None => page.path.display().to_string(),
    };
    if let Some(error) = &record.error {
        if error.kind == "python" {
            bail!(
                "{shown}: the input fails in the original page, with the full runtime:\n{}",
                error.message.trim_end()
            );
        }
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

/// The URL of `folder` from a page in `from` (both inside the site): `./pyodide/`, `../pyodide/`.
fn relative_folder_url(from: &Path, folder: &Path) -> String {
    let normal = |p: &Path| -> Vec<String> {
        let mut parts: Vec<String> = Vec::new();
        for c in p.components() {
            match c {
                std::path::Component::CurDir => {}
                std::path::Component::ParentDir => {
                    parts.pop();
                }
                c => parts.push(c.as_os_str().to_string_lossy().into_owned()),
            }
        }
        parts
    };
    let (from, to) = (normal(from), normal(folder));
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut url = if common == from.len() {
        "./".to_string()
    } else {
        "../".repeat(from.len() - common)
    };
    for part in &to[common..] {
        url.push_str(part);
        url.push('/');
    }
    url
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
fn write_app_folder(pages: &[&Page], records: &[&PageRecord], dir: &Path) -> Result<PathBuf> {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).with_context(|| dir.display().to_string())?;
    let mut entry = format!(
        "# The Python of {} ({}), as pyodide-pack analyses it.\n",
        pages[0].file_name(),
        pages[0].host.name()
    );
    let mut written = std::collections::HashSet::new();
    for (i, source) in pages.iter().flat_map(|p| &p.python).enumerate() {
        // (Two pages' sources of one name: the later one is analysed under another.)
        let name = if written.insert(source.name.clone()) {
            source.name.clone()
        } else {
            format!("page_source_{}_{}", i + 1, source.name)
        };
        let module = name.trim_end_matches(".py");
        let path = dir.join(&name);
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
    let mut packages: Vec<String> = pages.iter().flat_map(|p| p.packages.clone()).collect();
    for record in records {
        if let Some(trace) = &record.trace {
            packages.extend(trace.packages.iter().cloned());
        }
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
    if !args.trace_file.is_empty() {
        bail!("--trace-file with a page: a page's trace is its own run in Chromium (--trace)");
    }
    let (plans, input_pages) = page_runs(&page, &settings.inputs)?;
    let trace_it = run || args.trace || args.fresh_trace;
    let mut runs = Vec::new();
    for plan in plans {
        let key = trace_key(&page, &runtime, page_args.until.as_deref(), &plan)?;
        let record = if trace_it {
            trace_page(
                &page,
                &plan,
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
        runs.push((plan, record));
    }
    let key = trace_key(&page, &runtime, page_args.until.as_deref(), &runs[0].0)?;
    let app_dir = cache.dir("pages")?.join(&key[..16]);
    let pages: Vec<&Page> = std::iter::once(&page).chain(&input_pages).collect();
    let records: Vec<&PageRecord> = runs.iter().map(|(_, r)| r).collect();
    let entry = write_app_folder(&pages, &records, &app_dir)?;
    let mut trace: Option<pyodide_pack_trace::Trace> = None;
    for (plan, record) in &runs {
        let Some(mut one) = record.to_trace(Path::new(PAGE_ENTRY), &plan.label, &runtime.version)
        else {
            continue;
        };
        for run in &mut one.runs {
            run.input = plan.input.clone();
            // What the host wrote into the home folder (PyScript's `pyscript` package) is the
            // host's, not a file of the environment the run missed.
            run.opened.retain(|p| !p.starts_with(HOST_HOME));
            run.modules.retain(|m| {
                !m.origin
                    .as_deref()
                    .is_some_and(|o| o.starts_with(HOST_HOME))
            });
        }
        match &mut trace {
            Some(all) => all.runs.extend(one.runs),
            None => trace = Some(one),
        }
    }
    let mut trace_files = Vec::new();
    if let Some(trace) = &trace {
        let trace_path = app_dir.join("trace.json");
        std::fs::write(&trace_path, serde_json::to_vec(trace)?)?;
        trace_files.push(trace_path);
    }
    // The host's modules: its static list and what the runs found in its own folder.
    let mut provided: Vec<String> = pages
        .iter()
        .flat_map(|p| p.host.provided_modules())
        .map(|s| s.to_string())
        .collect();
    for record in &records {
        for (name, origin) in record.trace.iter().flat_map(|t| &t.modules) {
            if origin.as_deref().is_some_and(|o| o.starts_with(HOST_HOME)) {
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
        runs,
        input_pages,
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
) -> Result<Vec<PageRecord>> {
    let chromium = pyodide_pack_pack::find_chromium()?;
    let driver = pyodide_pack_pack::browser_driver(cache)?;
    let spinner = Spinner::new(
        "validating the packed page in Chromium",
        analysis.runs.len(),
    );
    let mut packed_runs = Vec::new();
    for (run, original) in &analysis.runs {
        spinner.message(&run.label);
        let run_dir = site.join(&run.page);
        let run_dir = run_dir.parent().unwrap_or(site);
        let dropin = format!(
            "{}pyodide.mjs",
            relative_folder_url(run_dir, &site.join(PAGE_PACK_DIR))
        );
        let packed = run_page(&PageRunRequest {
            site,
            page: &run.page,
            url: None,
            runtime: None,
            script: run.script.as_ref().map(|(_, source)| source.as_str()),
            interpreter: Some(&dropin),
            done_event: run.done_event,
            until: args.until.as_deref(),
            quiet: QUIET,
            network: None,
            timeout: analysis.settings.timeout,
            chromium: &chromium,
            driver: &driver,
            cache,
        })?;
        compare_page_runs(&run.label, original, &packed)?;
        packed_runs.push(packed);
    }
    drop(spinner);
    Ok(packed_runs)
}

/// The packed page's run against the original's: the same text and console, nothing asked for
/// outside the site, no lazy file fetched (the run was traced: the eager tier holds what it
/// touched).
fn compare_page_runs(label: &str, original: &PageRecord, packed: &PageRecord) -> Result<()> {
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
            "validation (run {label}): the packed page asked for files outside its folder: {}",
            packed.outside.join(", ")
        );
    }
    if let Some(error) = &packed.error {
        if error.kind == "python" {
            bail!("validation (run {label}): the input fails in the packed page; if it misses an import or a data file, --include it:\n{}", error.message.trim_end());
        }
        bail!(
            "validation (run {label}): the packed page did not finish in Chromium: {}; it logged:\n{}",
            error.message,
            log(packed)
        );
    }
    if let Some(traceback) = packed.python_failure() {
        bail!("validation (run {label}): the page's Python fails in the packed page; if it misses an import or a data file, --include it:\n{traceback}");
    }
    if !packed.page_errors.is_empty() {
        bail!(
            "validation (run {label}): the packed page raised in Chromium: {}; it logged:\n{}",
            packed.page_errors.join("; "),
            log(packed)
        );
    }
    if packed.text.trim_end() != original.text.trim_end() {
        bail!(
            "validation (run {label}): the packed page shows other text than the original\n--- the original page\n{}\n--- the packed page\n{}",
            original.text.trim_end(),
            packed.text.trim_end()
        );
    }
    let (before, after) = (compared_console(original), compared_console(packed));
    if before != after {
        bail!(
            "validation (run {label}): the packed page's console differs from the original's\n--- the original page\n{}\n--- the packed page\n{}",
            before.join("\n"),
            after.join("\n")
        );
    }
    let lazy: Vec<&str> = packed
        .requests
        .iter()
        .filter(|u| {
            u.contains(&format!(
                "/{PAGE_PACK_DIR}/{}/",
                pyodide_pack_pack::LAZY_DIR
            ))
        })
        .map(String::as_str)
        .collect();
    if !lazy.is_empty() {
        bail!(
            "validation (run {label}): the run was traced, yet the packed page fetched lazy file(s) {}: the eager tier must hold everything a traced run touched",
            lazy.join(", ")
        );
    }
    Ok(())
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
    let options = page_pack_options(settings, flags);
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
    // The page's interpreter, and each input page's, pointing at the drop-in.
    for one in std::iter::once(page).chain(&analysis.input_pages) {
        let folder = one.dir.strip_prefix(&page.dir).unwrap_or(Path::new(""));
        let dropin = format!(
            "{}pyodide.mjs",
            relative_folder_url(
                &staged.path().join(folder),
                &staged.path().join(PAGE_PACK_DIR)
            )
        );
        let dropin = dropin.trim_start_matches("./");
        for (relative, bytes) in one.rewrite(dropin)? {
            let path = staged.path().join(folder).join(&relative);
            std::fs::write(&path, bytes).with_context(|| path.display().to_string())?;
        }
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

/// What a page's pack writes: as for an entry script, but no page of the tool's own, the app
/// folder's Python left to the host, and the runtime copied unless told otherwise (the site then
/// asks for nothing outside itself).
fn page_pack_options(settings: &Settings, flags: &PackFlags) -> PackOptions {
    let config = &settings.config.config;
    PackOptions {
        strip_docstrings: flags.strip_docstrings || config.strip_docstrings.unwrap_or(false),
        docstring_exclude: config.docstring_exclude.clone(),
        compile_pyc: flags.compile_pyc.or(config.compile_pyc).unwrap_or(true),
        transfer: flags.transfer.or(config.transfer).unwrap_or_default(),
        timeout: settings.timeout,
        page: false,
        runtime_files: flags
            .runtime_files
            .or(config.runtime_files)
            .unwrap_or(pyodide_pack_pack::RuntimeFiles::Copy),
        page_host: true,
    }
}

/// `size PAGE.html`: what `pack` would ship for the page, from its cached trace (else its static
/// analysis), measured and checked; nothing written.
pub fn size_page(
    page_path: &Path,
    request: &EnvironmentRequest,
    args: &TraceArgs,
    flags: &PackFlags,
    cache: &CacheRoot,
) -> Result<pyodide_pack_budget::BudgetReport> {
    let analysis = analyse_page(page_path, request, args, &PageArgs::default(), cache, false)?;
    let (settings, loaded) = (&analysis.settings, &analysis.loaded);
    let touched: Option<Vec<_>> = loaded
        .trace_summary
        .as_ref()
        .map(|s| s.touched.iter().map(|f| f.file).collect());
    let summary = pyodide_pack_pack::pack(
        &loaded.env,
        &loaded.analysis,
        &loaded.traces,
        touched.as_deref(),
        &page_pack_options(settings, flags),
        cache,
        None,
    )?;
    let title = format!(
        "pyodide-pack: size of `{}` (Pyodide {})",
        analysis.page.file_name(),
        loaded.env.runtime.version
    );
    let report = crate::pipeline::check_sizes(&summary, settings, &flags.budget, &title, true)?;
    Ok(report.expect("size always checks"))
}

/// `validate OUTDIR PAGE.html`: the packed site's files checked against its manifest, then each
/// run of the page (its cached traces, else traced now) run from OUTDIR in Chromium and compared
/// with the original page. Returns the text for people and the packed runs.
pub fn validate_page_output(
    out_dir: &Path,
    page_path: &Path,
    request: &EnvironmentRequest,
    args: &TraceArgs,
    cache: &CacheRoot,
) -> Result<(String, Vec<PageRecord>)> {
    let pack_dir = out_dir.join(PAGE_PACK_DIR);
    if !pack_dir.join(pyodide_pack_pack::LOADER).is_file() {
        bail!(
            "{}: no {PAGE_PACK_DIR}/{} here: not a folder `pack PAGE.html` wrote",
            out_dir.display(),
            pyodide_pack_pack::LOADER
        );
    }
    let mismatches = pyodide_pack_pack::integrity::check_output(&pack_dir)?;
    if !mismatches.is_empty() {
        return Err(pyodide_pack_pack::PackError::Integrity {
            dir: pack_dir,
            mismatches,
        }
        .into());
    }
    let analysis = analyse_page(page_path, request, args, &PageArgs::default(), cache, true)?;
    let packed = validate_page(&analysis, out_dir, &PageArgs::default(), cache)?;
    let mut text = String::new();
    for ((run, _), record) in analysis.runs.iter().zip(&packed) {
        text.push_str(&format!(
            "{}: the packed page shows what the original showed (text and console) in {:.1} s, nothing asked for outside {}\n",
            run.label,
            record.timings.done_ms / 1000.0,
            out_dir.display()
        ));
    }
    Ok((text, packed))
}
