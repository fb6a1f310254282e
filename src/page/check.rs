//! Validation of a packed page: each run of the page from the packed site in Chromium, against
//! the original page's run.

use std::path::Path;

use anyhow::{bail, Result};
use pyodide_pack_env::CacheRoot;
use pyodide_pack_pack::PAGE_PACK_DIR;
use pyodide_pack_trace::{run_page, PageRecord, PageRunRequest};

use super::runs::relative_folder_url;
use super::{PageAnalysis, PageArgs, QUIET};
use crate::progress::Spinner;

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
pub(super) fn validate_page(
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
    // A packed folder without the runtime's files takes them from the CDN, which a stand-in
    // answers from the runtime packed against.
    let runtime = &analysis.loaded.env.runtime;
    let copied = pyodide_pack_pack::copied_runtime(&site.join(PAGE_PACK_DIR))?;
    let cdn = (!copied).then(|| {
        (
            pyodide_pack_pack::cdn_folder(&runtime.version),
            runtime.dir.clone(),
        )
    });
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
            cdn: cdn.clone(),
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
                "/{PAGE_PACK_DIR}/{}/{}/",
                pyodide_pack_pack::IMMUTABLE_DIR,
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

#[cfg(test)]
mod tests {
    use super::*;
    use pyodide_pack_trace::ConsoleLine;

    fn record(text: &str, console: &[(&str, &str)]) -> PageRecord {
        PageRecord {
            text: text.into(),
            console: console
                .iter()
                .map(|(kind, text)| ConsoleLine {
                    kind: kind.to_string(),
                    text: text.to_string(),
                })
                .collect(),
            ..PageRecord::default()
        }
    }

    #[test]
    fn the_runtimes_package_messages_are_not_compared() {
        let original = record(
            "out",
            &[
                ("log", "Loading micropip, packaging"),
                ("log", "Loaded micropip, packaging"),
                ("log", "packaging already loaded from default channel"),
                ("debug", "[pyscript/main] PyScript Ready"),
                ("log", "mean 5.5"),
            ],
        );
        let packed = record("out", &[("log", "mean 5.5")]);
        assert_eq!(compared_console(&original), ["log: mean 5.5"]);
        compare_page_runs("index.html", &original, &packed).unwrap();
    }

    #[test]
    fn a_difference_names_what_differs() {
        let original = record("sum 66", &[("log", "mean 5.5")]);
        let err = compare_page_runs(
            "index.html",
            &original,
            &record("sum 67", &[("log", "mean 5.5")]),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("other text") && err.contains("sum 66") && err.contains("sum 67"),
            "{err}"
        );
        let err = compare_page_runs(
            "index.html",
            &original,
            &record("sum 66", &[("error", "mean 5.5")]),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("console differs"), "{err}");
        let mut outside = record("sum 66", &[("log", "mean 5.5")]);
        outside
            .outside
            .push("https://cdn.jsdelivr.net/pyodide/v0.27.7/full/numpy.whl".into());
        let err = compare_page_runs("index.html", &original, &outside)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("outside its folder") && err.contains("numpy.whl"),
            "{err}"
        );
        let mut lazy = record("sum 66", &[("log", "mean 5.5")]);
        lazy.requests
            .push("http://127.0.0.1:1/pyodide-pack/immutable/lazy/lib/python3.12/difflib.0123456789abcdef.pyc".into());
        let err = compare_page_runs("index.html", &original, &lazy)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("was traced") && err.contains("difflib.0123456789abcdef.pyc"),
            "{err}"
        );
        let failed = record(
            "sum 66\nTraceback (most recent call last):\n  File \"<exec>\", line 1\nValueError: x",
            &[("log", "mean 5.5")],
        );
        let err = compare_page_runs("index.html", &original, &failed)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("fails in the packed page") && err.contains("ValueError: x"),
            "{err}"
        );
    }
}
