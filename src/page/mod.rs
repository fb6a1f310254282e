//! Packing a page that loads Pyodide itself (PyScript, or a module script of its own): the page
//! read (`pyodide_pack_page`), its runtime resolved from the interpreter it names, the original
//! page traced in Chromium with an instrumented runtime, the page's Python analysed with the
//! trace merged, the bundle packed beside a copy of the site with a drop-in `pyodide.mjs`, the
//! page's interpreter pointed at it, and the packed page validated against the original.

mod app;
mod check;
mod runs;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use pyodide_pack_env::{CacheRoot, EnvironmentRequest, Runtime};
use pyodide_pack_pack::{PackOptions, StagedOutput, PAGE_PACK_DIR};
use pyodide_pack_page::{copy_site, InterpreterTarget, Page};
use pyodide_pack_report::PackReport;
use pyodide_pack_trace::PageRecord;

use crate::pipeline::{load_analysis, Loaded, PackFlags, Settings, TraceMode};
use crate::TraceArgs;
use app::write_app_folder;
use check::validate_page;
use runs::{cached_trace, page_runs, relative_folder_url, trace_key, trace_page, PageRun};

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
    // (The first run's key, the page alone's, also names the page's app folder.)
    let mut page_key = None;
    for plan in plans {
        let key = trace_key(&page, &runtime, page_args.until.as_deref(), &plan)?;
        page_key.get_or_insert_with(|| key.clone());
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
    let key = page_key.expect("a page has its own run");
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
    let mut summary = crate::pipeline::write_bundle(loaded, &options, cache, Some(&pack_dir))?;
    std::fs::write(
        pack_dir.join(DROPIN),
        pyodide_pack_pack::dropin(&loaded.env, &summary.loader),
    )?;
    summary.entry_files.push(DROPIN.to_string());
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
    let pages: Vec<String> = std::iter::once(page)
        .chain(&analysis.input_pages)
        .map(|one| site_path(&page.dir, &one.path))
        .collect();
    let site = crate::deployment::Site {
        root: staged.path(),
        previous: &out_dir,
        prefix: &format!("{PAGE_PACK_DIR}/"),
        app: &page.file_name(),
        files: fetched_site_files(&analysis.runs, staged.path(), &pages),
        pages,
    };
    crate::deployment::finish_deployment(&site, &mut summary, &options)?;
    let validate_it = !flags.no_validate && config.validate.unwrap_or(true);
    if validate_it {
        validate_page(&analysis, staged.path(), page_args, cache)?;
    }
    let budget = crate::pipeline::check_sizes(
        &summary,
        settings,
        &flags.budget,
        &size_title(page, loaded),
        false,
    )?;
    let html = !flags.no_html && config.html.unwrap_or(true);
    let report =
        crate::pipeline::write_report(loaded, summary, None, budget, start, &pack_dir, html)?;
    staged.commit()?;
    Ok((report, out_dir))
}

/// The drop-in runtime a packed page's interpreter points at.
const DROPIN: &str = "pyodide.mjs";

/// A file of the site as a URL path relative to its root.
fn site_path(site: &Path, file: &Path) -> String {
    file.strip_prefix(site)
        .unwrap_or(file)
        .to_string_lossy()
        .replace('\\', "/")
}

/// The files of the site the traced runs fetched that the output holds (the host's scripts, the
/// page's config and Python), but for the pages themselves: what the first load needs beside
/// the packed folder.
fn fetched_site_files(
    runs: &[(PageRun, PageRecord)],
    root: &Path,
    pages: &[String],
) -> Vec<String> {
    let mut files: Vec<String> = runs
        .iter()
        .flat_map(|(_, record)| &record.requests)
        .filter_map(|url| {
            // (The runs' server is the site's root, on a loopback origin.)
            let rest = url.split_once("://")?.1;
            let path = rest.split_once('/')?.1;
            let path = path.split(['?', '#']).next()?;
            percent_decoded(path)
        })
        .filter(|path| {
            !path.is_empty()
                && !pages.contains(path)
                && !path.split('/').any(|c| c == ".." || c.is_empty())
                && root.join(path).is_file()
        })
        .collect();
    files.sort();
    files.dedup();
    files
}

/// A URL path with its `%XX` escapes decoded (`my%20file.txt` -> `my file.txt`); `None` if
/// that is not UTF-8.
fn percent_decoded(path: &str) -> Option<String> {
    percent_encoding::percent_decode_str(path)
        .decode_utf8()
        .ok()
        .map(|decoded| decoded.into_owned())
}

/// What a page's pack writes: as for an entry script, but no page of the tool's own, the app
/// folder's Python left to the host, and the runtime copied unless told otherwise (the site then
/// asks for nothing outside itself).
fn page_pack_options(settings: &Settings, flags: &PackFlags) -> PackOptions {
    let config = &settings.config.config;
    PackOptions {
        page: false,
        runtime_files: flags
            .runtime_files
            .or(config.runtime_files)
            .unwrap_or(pyodide_pack_pack::RuntimeFiles::Copy),
        page_host: true,
        ..crate::pipeline::pack_options(settings, flags)
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
    let options = page_pack_options(settings, flags);
    let summary = crate::pipeline::write_bundle(loaded, &options, cache, None)?;
    let title = size_title(&analysis.page, loaded);
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
    let mismatches = pyodide_pack_pack::check_output(&pack_dir)?;
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

/// The heading of the Markdown size table: which page.
fn size_title(page: &Page, loaded: &Loaded) -> String {
    format!(
        "pyodide-pack: size of `{}` (Pyodide {})",
        page.file_name(),
        loaded.env.runtime.version
    )
}

#[cfg(test)]
mod tests {
    use super::percent_decoded;

    #[test]
    fn a_request_path_is_read_as_the_file_it_names() {
        assert_eq!(percent_decoded("my%20file.txt").unwrap(), "my file.txt");
        assert_eq!(
            percent_decoded("donn%C3%A9es/a.py").unwrap(),
            "données/a.py"
        );
        assert_eq!(percent_decoded("100%.txt").unwrap(), "100%.txt");
        assert_eq!(percent_decoded("%FF"), None);
    }
}
