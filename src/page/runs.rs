//! The runs of a page in Chromium: the page alone, another page of its site, or the page and a
//! script; each traced with the instrumented runtime (cached by what decides the run).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use pyodide_pack_env::{CacheRoot, Runtime};
use pyodide_pack_page::{InterpreterTarget, Page};
use pyodide_pack_trace::{run_page, PageRecord, PageRunRequest};
use sha2::{Digest, Sha256};

use super::{is_page, PageArgs, QUIET};
use crate::progress::Spinner;

/// One run of the page in Chromium: the page alone, another page of the same site (an input
/// page), or the page and then a Python script in its interpreter (an input script).
#[derive(Clone)]
pub(crate) struct PageRun {
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
pub(super) fn page_runs(page: &Page, inputs: &[PathBuf]) -> Result<(Vec<PageRun>, Vec<Page>)> {
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

/// The trace's cache key: the harness, the page's files that decide what it runs, the runtime.
pub(super) fn trace_key(
    page: &Page,
    runtime: &Runtime,
    until: Option<&str>,
    run: &PageRun,
) -> Result<String> {
    let mut hasher = Sha256::new();
    hasher.update(run.label.as_bytes());
    if let Some((_, source)) = &run.script {
        hasher.update(source.as_bytes());
    }
    if run.page != page.file_name() {
        let other = page.dir.join(&run.page);
        hasher.update(std::fs::read(&other).with_context(|| other.display().to_string())?);
    }
    hasher.update(pyodide_pack_trace::harness_digest().as_bytes());
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
pub(super) fn trace_page(
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
        cdn: None,
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
    pyodide_pack_env::write_atomically(&cached, &bytes)
        .context("could not write the trace cache")?;
    Ok(record)
}

/// The URL of `folder` from a page in `from` (both inside the site): `./pyodide/`, `../pyodide/`.
pub(super) fn relative_folder_url(from: &Path, folder: &Path) -> String {
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

pub(super) fn cached_trace(cache: &CacheRoot, key: &str) -> Option<PageRecord> {
    std::fs::read(cached_trace_path(cache, key))
        .ok()
        .and_then(|b| serde_json::from_slice::<PageRecord>(&b).ok())
}

#[cfg(test)]
mod tests {
    use super::relative_folder_url;
    use std::path::Path;

    #[test]
    fn folder_urls_from_a_page() {
        let site = Path::new("/site");
        assert_eq!(
            relative_folder_url(site, &site.join("pyodide")),
            "./pyodide/"
        );
        assert_eq!(
            relative_folder_url(&site.join("docs"), &site.join("pyodide")),
            "../pyodide/"
        );
        assert_eq!(
            relative_folder_url(&site.join("a/b"), &site.join("pyodide-pack")),
            "../../pyodide-pack/"
        );
        assert_eq!(
            relative_folder_url(site, &site.join("./x/../pyodide/")),
            "./pyodide/"
        );
    }
}
