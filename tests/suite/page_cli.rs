//! `pack PAGE.html`: pages that load Pyodide themselves (PyScript 0.6.66 on the real 0.27.7
//! distribution, PyScript 0.7.31 on a 314 core, a hand-written module script, a page whose
//! interpreter is the CDN URL) packed, validated against the original page in Chromium, and run
//! again from `pyodide-pack serve` with every other host unreachable; and the pages refused.

use crate::common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::page::Server;
use common::{cache, distribution_dir, pyodide_pack, repo, stderr};
use pyodide_pack_trace::{run_page, PageRecord, PageRunRequest};

fn page(name: &str) -> PathBuf {
    let page = repo().join("corpus/pages").join(name).join("index.html");
    assert!(page.is_file(), "no {}", page.display());
    page
}

/// `pack PAGE -o OUT` (plus `extra`), which must succeed; the output folder.
fn pack_page(page: &Path, out: &Path, extra: &[&str]) {
    let mut args = vec![
        "pack".to_string(),
        page.display().to_string(),
        "-o".into(),
        out.display().to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = pyodide_pack(&args);
    assert!(
        output.status.success(),
        "pack {} failed:\n{}",
        page.display(),
        stderr(&output)
    );
}

/// Runs `page` (relative to the served folder) from `pyodide-pack serve` in Chromium, with every
/// request outside the server refused.
fn run_served(out: &Path, page: &str, done_event: Option<&str>, until: Option<&str>) -> PageRecord {
    let server = Server::start(out, &[]);
    let cache = cache();
    let chromium = pyodide_pack_pack::find_chromium().unwrap();
    let driver = pyodide_pack_pack::browser_driver(&cache).unwrap();
    let record = run_page(&PageRunRequest {
        site: out,
        page,
        url: Some(&server.url),
        runtime: None,
        script: None,
        interpreter: None,
        done_event,
        until,
        quiet: Duration::from_secs(3),
        cdn: None,
        network: None,
        timeout: Duration::from_secs(240),
        chromium: &chromium,
        driver: &driver,
        cache: &cache,
    })
    .unwrap();
    assert!(
        record.error.is_none(),
        "{:?}\n{:#?}",
        record.error,
        record.console
    );
    assert!(
        record.outside.is_empty(),
        "asked outside the site: {:?}",
        record.outside
    );
    assert!(record.page_errors.is_empty(), "{:?}", record.page_errors);
    record
}

/// No request of the packed page downloads a wheel: the packages are in the bundle.
fn assert_no_package_downloads(record: &PageRecord) {
    let wheels: Vec<_> = record
        .requests
        .iter()
        .filter(|u| u.ends_with(".whl") || u.ends_with("pyodide-lock.json.whl"))
        .collect();
    assert!(wheels.is_empty(), "{wheels:?}");
}

/// A page `NAME.html` of the packed site whose module script `NAME.mjs` is `script`.
fn write_module_page(out: &Path, name: &str, script: &str) {
    let html = format!(
        "<!doctype html><meta charset=utf-8><link rel=icon href=\"data:,\"><pre id=out></pre>\
         <script type=module src=./{name}.mjs></script>"
    );
    std::fs::write(out.join(format!("{name}.html")), html).unwrap();
    std::fs::write(out.join(format!("{name}.mjs")), script).unwrap();
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn pyscript_numpy_page_packs_and_runs_from_serve() {
    let out = tempfile::tempdir().unwrap();
    pack_page(&page("pyscript_numpy"), out.path(), &[]);
    let out = out.path();
    // The same site: the page as it was, the config pointing at the drop-in, PyScript's files.
    assert_eq!(read(&out.join("index.html")), read(&page("pyscript_numpy")));
    let config = read(&out.join("pyscript.toml"));
    assert!(
        config.contains("interpreter = \"./pyodide-pack/pyodide.mjs\""),
        "{config}"
    );
    assert!(config.contains("packages = [\"numpy\"]"), "{config}");
    assert!(out.join("pyscript/core.js").is_file());
    assert!(out.join("main.py").is_file());
    // The runtime folder the page named is replaced, not copied.
    assert!(!out.join("pyodide").exists());
    for file in [
        "pyodide.mjs",
        "loader.mjs",
        "report.json",
        "report.html",
        "deployments.json",
    ] {
        assert!(out.join("pyodide-pack").join(file).is_file(), "{file}");
    }
    assert!(common::deployed(&out.join("pyodide-pack"), "pyodide/pyodide.asm.wasm").is_file());
    let headers = read(&out.join("_headers"));
    assert!(
        headers.contains(
            "/pyodide-pack/immutable/*\n  Cache-Control: public, max-age=31536000, immutable\n"
        ) && headers.contains("/index.html\n  Cache-Control: no-cache\n")
            && headers.contains("/pyodide-pack/pyodide.mjs\n  Cache-Control: no-cache\n"),
        "{headers}"
    );
    let dropin = read(&out.join("pyodide-pack/pyodide.mjs"));
    assert!(dropin.contains("\"numpy\":\"2.0.2\""), "{dropin}");
    let record = run_served(out, "index.html", Some("py:all-done"), None);
    assert!(
        record.text.contains("sum of a 3x4 range: 66"),
        "{}",
        record.text
    );
    assert!(record.console.iter().any(|l| l.text == "mean 5.5"));
    assert_no_package_downloads(&record);
}

/// pack validates a page of the scientific stack against the original page (its text and
/// console); the served run shows it again. (One test a page: they run side by side.)
fn scientific_page_packs_and_validates(name: &str, shown: &str) {
    let out = tempfile::tempdir().unwrap();
    pack_page(&page(name), out.path(), &[]);
    let record = run_served(out.path(), "index.html", Some("py:all-done"), None);
    assert!(record.text.contains(shown), "{name}: {}", record.text);
    assert_no_package_downloads(&record);
    let report: serde_json::Value =
        serde_json::from_str(&read(&out.path().join("pyodide-pack/report.json"))).unwrap();
    let totals = &report["pack"]["totals"];
    assert!(
        totals["after"]["brotli"].as_u64() < totals["before"]["brotli"].as_u64(),
        "{name}: {totals}"
    );
}

#[test]
fn a_pyscript_pandas_page_packs_and_validates() {
    scientific_page_packs_and_validates("pyscript_pandas", "Lyon");
}

#[test]
fn a_pyscript_matplotlib_page_packs_and_validates() {
    scientific_page_packs_and_validates("pyscript_matplotlib", "lines drawn: 1, title: squares");
}

#[test]
fn a_pyscript_scikit_learn_page_packs_and_validates() {
    scientific_page_packs_and_validates("pyscript_sklearn", "coefficients: 1.50, -2.00, 0.50");
}

#[test]
fn pyscript_07_page_on_a_314_core_packs() {
    let out = tempfile::tempdir().unwrap();
    pack_page(&page("pyscript_314"), out.path(), &[]);
    let record = run_served(out.path(), "index.html", Some("py:all-done"), None);
    assert!(record.text.contains("Python 3.14"), "{}", record.text);
    assert!(record.text.contains("\"median\": 3.5"), "{}", record.text);
}

#[test]
fn module_script_page_packs_and_an_untraced_page_reaches_lazy_files() {
    let out = tempfile::tempdir().unwrap();
    pack_page(&page("module_numpy"), out.path(), &[]);
    let out = out.path();
    assert!(read(&out.join("app.mjs")).contains("from \"./pyodide-pack/pyodide.mjs\""));
    let record = run_served(out, "index.html", None, Some("366]]"));
    assert!(record.text.contains("[ 62 214 366]]"), "{}", record.text);
    assert!(record.console.iter().any(|l| l.text == "sum 66"));
    assert_no_package_downloads(&record);
    // Another page of the same site, never traced, imports what the first did not.
    write_module_page(
        out,
        "other",
        r#"import { loadPyodide } from "./pyodide-pack/pyodide.mjs";
const py = await loadPyodide();
await py.loadPackage("numpy");
document.getElementById("out").textContent = py.runPython(`
import decimal, difflib
import numpy as np
f"ratio {difflib.SequenceMatcher(None, 'pyodide', 'pyscript').ratio():.3f} {decimal.Decimal('1.10') + decimal.Decimal('2.20')} {np.arange(4).sum()}"
`);
"#,
    );
    let other = run_served(out, "other.html", None, Some("ratio"));
    assert!(other.text.contains("ratio 0.400 3.30 6"), "{}", other.text);
    // A package the bundle lacks: an error naming it, and no download from anywhere.
    write_module_page(
        out,
        "missing",
        r#"import { loadPyodide } from "./pyodide-pack/pyodide.mjs";
const py = await loadPyodide();
try {
  await py.loadPackage(["numpy", "pandas"]);
  document.getElementById("out").textContent = "loaded";
} catch (err) {
  document.getElementById("out").textContent = "refused: " + err.message;
}
"#,
    );
    let missing = run_served(out, "missing.html", None, Some("refused"));
    assert!(
        missing.text.contains("refused: pyodide-pack: the page asked for \"pandas\", which this bundle does not hold (packed: numpy)"),
        "{}",
        missing.text
    );
    assert_no_package_downloads(&missing);
    let lazy: Vec<_> = other
        .requests
        .iter()
        .filter(|u| u.contains("/pyodide-pack/immutable/lazy/"))
        .collect();
    assert!(
        !lazy.is_empty(),
        "no lazy file fetched: {:?}",
        other.requests
    );
}

#[test]
fn inputs_of_a_page_are_traced_and_validated() {
    // A script run in the page's interpreter once the page is done, and another page of the
    // site: both traced with the page, and validated in the packed site.
    let out = tempfile::tempdir().unwrap();
    let pages = repo().join("corpus/pages");
    let extra = pages.join("pyscript_numpy/extra.py");
    pack_page(
        &page("pyscript_numpy"),
        out.path(),
        &["--input", extra.to_str().unwrap()],
    );
    let report: serde_json::Value =
        serde_json::from_str(&read(&out.path().join("pyodide-pack/report.json"))).unwrap();
    let runs = report["analysis"]["trace"]["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2, "{runs:?}");

    let out = tempfile::tempdir().unwrap();
    let more = pages.join("module_numpy/more.html");
    pack_page(
        &page("module_numpy"),
        out.path(),
        &["--input", more.to_str().unwrap(), "--until", "]"],
    );
    assert!(read(&out.path().join("more.mjs")).contains("from \"./pyodide-pack/pyodide.mjs\""));
    let record = run_served(out.path(), "more.html", None, Some("median"));
    assert!(
        record
            .text
            .contains("linspace [0.0, 0.25, 0.5, 0.75, 1.0] median 0.5"),
        "{}",
        record.text
    );
    // Traced: everything it needs is eager.
    assert!(
        !record
            .requests
            .iter()
            .any(|u| u.contains("/pyodide-pack/immutable/lazy/")),
        "{:?}",
        record.requests
    );
}

#[test]
fn cdn_interpreter_is_resolved_by_its_version() {
    let out = tempfile::tempdir().unwrap();
    let dist = distribution_dir();
    // The page imports the jsDelivr URL of 0.27.7; the trace answers it from the release folder
    // (the stand-in CDN), and the packed page asks for nothing outside its folder.
    pack_page(
        &page("cdn_numpy"),
        out.path(),
        &["--runtime", dist.to_str().unwrap()],
    );
    let html = read(&out.path().join("index.html"));
    assert!(
        html.contains("from \"./pyodide-pack/pyodide.mjs\""),
        "{html}"
    );
    assert!(!html.contains("cdn.jsdelivr.net"), "{html}");
    let record = run_served(out.path(), "index.html", None, Some("0.25"));
    assert!(record.text.contains("[[0.5  0.  ]"), "{}", record.text);

    // The runtime left on the CDN: validation answers it from the release (a stand-in CDN).
    let out = tempfile::tempdir().unwrap();
    pack_page(
        &page("cdn_numpy"),
        out.path(),
        &[
            "--runtime",
            dist.to_str().unwrap(),
            "--runtime-files",
            "cdn",
        ],
    );
    let loader = common::deployed(&out.path().join("pyodide-pack"), "loader.mjs");
    assert_eq!(
        common::manifest_of(&loader)["runtime_dir"],
        serde_json::Value::Null
    );
    assert!(read(&loader).contains("https://cdn.jsdelivr.net/pyodide/v0.27.7/full/"));
}

/// A scratch page folder holding `files`, with PyScript 0.6.66 linked in.
fn scratch_page(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    let pyscript = std::fs::read_link(repo().join("corpus/pages/pyscript_numpy/pyscript"))
        .expect("corpus/fetch.sh links PyScript into the sample pages");
    std::os::unix::fs::symlink(pyscript, dir.path().join("pyscript")).unwrap();
    std::os::unix::fs::symlink(distribution_dir(), dir.path().join("pyodide")).unwrap();
    dir
}

const PYSCRIPT_PAGE: &str = "<!doctype html><meta charset=utf-8><script type=module \
    src=./pyscript/core.js></script><script type=py src=./main.py config=./pyscript.toml></script>";

fn pack_fails(page: &Path, extra: &[&str]) -> String {
    let out = tempfile::tempdir().unwrap();
    let target = out.path().join("out");
    let mut args = vec![
        "pack",
        page.to_str().unwrap(),
        "-o",
        target.to_str().unwrap(),
    ];
    args.extend(extra);
    let output = pyodide_pack(&args);
    assert!(
        !output.status.success(),
        "pack {} succeeded",
        page.display()
    );
    assert!(!target.exists(), "a failed pack left {}", target.display());
    stderr(&output)
}

#[test]
fn pages_that_cannot_be_packed_say_why() {
    let dir = scratch_page(&[
        ("plain.html", "<!doctype html><p>no Python here</p>"),
        (
            "mpy.html",
            "<!doctype html><script type=mpy>print(1)</script>",
        ),
        (
            "worker.html",
            "<!doctype html><script type=module src=./pyscript/core.js></script>\
             <script type=py worker src=./main.py></script>",
        ),
        (
            "classic.html",
            "<!doctype html><script src=\"https://cdn.jsdelivr.net/pyodide/v0.27.7/full/pyodide.js\"></script>",
        ),
        (
            "elsewhere.html",
            "<!doctype html><script type=module>import { loadPyodide } from \
             \"https://example.com/py/pyodide.mjs\"; await loadPyodide();</script>",
        ),
        (
            "missing.html",
            "<!doctype html><script type=module>import { loadPyodide } from \
             \"./nowhere/pyodide.mjs\"; await loadPyodide();</script>",
        ),
        ("main.py", "print('hi')\n"),
    ]);
    let at = |name: &str| dir.path().join(name);
    let message = pack_fails(&at("plain.html"), &[]);
    assert!(message.contains("no Pyodide in this page"), "{message}");
    let message = pack_fails(&at("mpy.html"), &[]);
    assert!(message.contains("MicroPython, not Pyodide"), "{message}");
    let message = pack_fails(&at("worker.html"), &[]);
    assert!(
        message.contains("<script type=\"py\" worker>") && message.contains("cannot honour"),
        "{message}"
    );
    let message = pack_fails(&at("classic.html"), &[]);
    assert!(message.contains("as a classic script"), "{message}");
    let message = pack_fails(&at("elsewhere.html"), &[]);
    assert!(
        message.contains("https://example.com/py/pyodide.mjs")
            && message.contains("--pyodide VERSION")
            && message.contains("--runtime DIR"),
        "{message}"
    );
    let message = pack_fails(&at("missing.html"), &[]);
    assert!(
        message.contains("./nowhere/pyodide.mjs") && message.contains("no such file"),
        "{message}"
    );
    // Each refusal is one line.
    for name in [
        "plain.html",
        "mpy.html",
        "worker.html",
        "elsewhere.html",
        "missing.html",
    ] {
        let message = pack_fails(&at(name), &[]);
        assert_eq!(message.trim_end().lines().count(), 1, "{message}");
    }
}

#[test]
fn a_page_whose_python_fails_or_never_finishes_is_not_packed() {
    let dir = scratch_page(&[
        ("index.html", PYSCRIPT_PAGE),
        ("pyscript.toml", "interpreter = \"./pyodide/pyodide.mjs\"\n"),
        (
            "main.py",
            "def compute():\n    raise ValueError('no data for the chart')\n\ncompute()\n",
        ),
    ]);
    let message = pack_fails(&dir.path().join("index.html"), &[]);
    assert!(
        message.contains("fails in the original page") && message.contains("nothing to pack"),
        "{message}"
    );
    assert!(
        message.contains("ValueError: no data for the chart"),
        "{message}"
    );

    std::fs::write(
        dir.path().join("main.py"),
        "import asyncio\nawait asyncio.sleep(3600)\n",
    )
    .unwrap();
    let message = pack_fails(&dir.path().join("index.html"), &["--timeout", "8"]);
    assert!(
        message.contains("did not finish") && message.contains("py:all-done"),
        "{message}"
    );
}
