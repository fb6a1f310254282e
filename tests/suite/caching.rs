//! Second visits, redeploys and offline use, in one Chromium profile with its cache on
//! (harness/visits.mjs), against `pyodide-pack serve` and the `_headers` rules `pack` writes:
//! every file but the page and its entry files is named by its content and cached for ever; a
//! redeploy keeps the last deployment's files for the pages still open on it; a cached copy that
//! is not the file packed is fetched again, past the cache, or refused; with `--offline` a
//! service worker runs the app with the server gone.

use crate::common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::page::Server;
use common::visits::{requests, Visits, PAGE_FINISHED};
use common::*;
use serde_json::Value;

/// Prints its version; `later()`, called from the page, imports a stdlib module no traced run
/// imports (so its file is in the lazy tier) unless `eager` imports it up front.
fn app_source(version: &str, eager: bool) -> String {
    let colorsys = if eager { "import colorsys\n" } else { "" };
    format!(
        "import js, greeting\n{colorsys}from pyodide.ffi import create_proxy\n\
         greeting.hello()\nprint({version:?})\n\
         def later():\n    import colorsys\n    return 'later: %s' % (colorsys.rgb_to_hsv(1, 0, 0),)\n\
         js.globalThis.later = create_proxy(later)\n"
    )
}

const LAZY: &str = "lazy/lib/python3.14/colorsys.pyc";
const LATER: &str = "later()";
const LATER_OUTPUT: &str = "later: (0.0, 1.0, 1)";

/// An app folder: `app.py` of `version` and its module.
fn app_dir(version: &str, eager: bool) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let (dir, app, wheels) = scratch_app("app.py", &app_source(version, eager));
    std::fs::write(
        dir.path().join("greeting.py"),
        "def hello():\n    print('hello')\n",
    )
    .unwrap();
    (dir, app, wheels)
}

/// Packs `app` into `out` (the runtime copied: the page needs no CDN; no validation: these
/// tests are about what the browser does with the files).
fn pack(app: &Path, wheels: &Path, out: &Path, extra: &[&str]) -> String {
    let mut args: Vec<String> = vec!["pack".into()];
    args.extend(env_flags(app, wheels));
    args.extend(["-o".into(), out.display().to_string()]);
    args.extend(
        ["--runtime-files", "copy", "--no-html", "--no-validate"]
            .iter()
            .map(|s| s.to_string()),
    );
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = pyodide_pack(&args);
    assert!(output.status.success(), "{}", stderr(&output));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The URL path of a file of the output.
fn url_path(out: &Path, path: &Path) -> String {
    format!("/{}", path.strip_prefix(out).unwrap().display())
}

/// The answer's requests that reached the server (not from a cache or a service worker), by
/// path, and whether each was revalidated (304).
fn to_network(answer: &Value) -> Vec<(String, Option<u64>)> {
    requests(answer)
        .into_iter()
        .filter(|(_, from, _)| from == "network")
        .map(|(url, _, status)| {
            let path = url.splitn(4, '/').nth(3).unwrap_or("").to_string();
            (format!("/{path}"), status)
        })
        .collect()
}

fn assert_done(answer: &Value, text: &str) {
    assert_eq!(answer["ok"], true, "{answer}");
    let shown = answer["text"].as_str().unwrap_or("");
    assert!(
        shown.contains(text) && shown.contains(" ran ("),
        "expected {text:?} in the page: {answer}"
    );
}

fn port_of(server: &Server) -> String {
    server
        .url
        .trim_end_matches('/')
        .rsplit(':')
        .next()
        .unwrap()
        .to_string()
}

#[test]
fn a_second_visit_fetches_only_the_page_and_a_redeploy_keeps_open_pages_working() {
    let (dir, app, wheels) = app_dir("v1", false);
    let out = dir.path().join("dist");
    pack(&app, &wheels, &out, &[]);
    let old_lazy = deployed(&out, LAZY);
    assert!(old_lazy.is_file(), "colorsys is lazy");
    let server = Server::start(&out, &[]);
    let mut visits = Visits::start(Duration::from_secs(60));

    let first = visits.open(0, &server.url, PAGE_FINISHED);
    assert_done(&first, "v1");
    assert!(requests(&first)
        .iter()
        .all(|(_, from, _)| from == "network"));
    // The second visit: the page revalidated (304), everything else from the cache.
    let second = visits.open(1, &server.url, PAGE_FINISHED);
    assert_done(&second, "v1");
    assert_eq!(
        to_network(&second),
        [("/".to_string(), Some(304))],
        "{second}"
    );
    let cached = requests(&second)
        .iter()
        .filter(|(_, from, _)| from == "cache")
        .count();
    assert!(cached >= 10, "{second}");

    // A redeploy while the page is open: v2 imports colorsys up front, so its lazy file is no
    // longer in the new deployment's own files, only among the last deployment's, kept.
    std::fs::write(&app, app_source("v2", true)).unwrap();
    let text = pack(&app, &wheels, &out, &[]);
    assert!(
        text.contains("kept 1 earlier deployment(s) for the pages still open on them"),
        "{text}"
    );
    assert!(old_lazy.is_file(), "the open page's lazy file is kept");
    // The open page reads its lazy file now: the old deployment's, still served.
    let later = visits.eval(0, LATER);
    assert_eq!(later["value"], LATER_OUTPUT, "{later}");
    let fetched = to_network(&later);
    assert_eq!(fetched, [(url_path(&out, &old_lazy), Some(200))], "{later}");
    // The next load shows the new output; so does a reload of the open page.
    assert_done(&visits.open(2, &server.url, PAGE_FINISHED), "v2");
    assert_done(&visits.reload(0, PAGE_FINISHED), "v2");

    // --keep-deployments 0: the page of v2 still open, a v3 pack removes v2's files; v2's lazy
    // files are gone with them (v3 is v1's source: colorsys lazy again, under its own name).
    std::fs::write(&app, app_source("v3", false)).unwrap();
    let v2_files = deployments(&out)[0].clone();
    pack(&app, &wheels, &out, &["--keep-deployments", "0"]);
    assert_eq!(deployments(&out).len(), 1);
    let gone: Vec<&String> = v2_files.iter().filter(|f| !out.join(f).exists()).collect();
    assert!(!gone.is_empty(), "v2's own files are removed");
    assert_done(&visits.reload(0, PAGE_FINISHED), "v3");
}

/// The files of each deployment `deployments.json` lists, newest first.
fn deployments(out: &Path) -> Vec<Vec<String>> {
    let list: Value =
        serde_json::from_slice(&std::fs::read(out.join("deployments.json")).unwrap()).unwrap();
    list["deployments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            d["files"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f.as_str().unwrap().to_string())
                .collect()
        })
        .collect()
}

#[test]
fn a_cached_copy_that_is_not_the_file_packed_is_fetched_again_and_a_served_one_refused() {
    let (dir, app, wheels) = app_dir("v1", false);
    let out = dir.path().join("dist");
    pack(&app, &wheels, &out, &[]);
    // The stdlib is one part, read whole before its check: the browser caches the bad copy.
    let stdlib = deployed(&out, "python_stdlib.zip.zst");
    let good = std::fs::read(&stdlib).unwrap();
    let mut bad = good.clone();
    bad[100] ^= 0xff;
    std::fs::write(&stdlib, &bad).unwrap();
    let server = Server::start(&out, &[]);
    let mut visits = Visits::start(Duration::from_secs(60));

    // Served wrong, twice (the second time past every cache): refused, nothing runs.
    let refused = visits.open(0, &server.url, PAGE_FINISHED);
    let text = refused["text"].as_str().unwrap();
    assert!(
        text.contains("Failed: loadBundle: python_stdlib.zip.zst from ")
            && text.contains("is not the file packed"),
        "{refused}"
    );
    assert!(!text.contains("hello"), "nothing ran: {refused}");
    let stdlib_path = url_path(&out, &stdlib);
    let asked: Vec<String> = to_network(&refused)
        .into_iter()
        .map(|(path, _)| path)
        .filter(|p| p.starts_with(&stdlib_path))
        .collect();
    assert_eq!(asked.len(), 2, "fetched once more: {refused}");
    assert!(asked[1].contains("?pyodide-pack-retry="), "{asked:?}");

    // The server mended, the browser's cache still holds the bad copy: it is fetched again.
    std::fs::write(&stdlib, &good).unwrap();
    let mended = visits.reload(0, PAGE_FINISHED);
    assert_done(&mended, "hello");
    let from: Vec<(String, String)> = requests(&mended)
        .into_iter()
        .filter(|(url, _, _)| url.contains(&stdlib_path))
        .map(|(url, from, _)| (url, from))
        .collect();
    assert_eq!(from.len(), 2, "{mended}");
    assert_eq!(from[0].1, "cache", "{from:?}");
    assert!(
        from[1].0.contains("?pyodide-pack-retry=") && from[1].1 == "network",
        "{from:?}"
    );
}

/// An expression that waits (up to 10 s) until this app's service worker holds a URL containing
/// `part` in one of its caches.
fn sw_holds(part: &str) -> String {
    format!(
        "(async () => {{ for (let i = 0; i < 100; i++) {{ for (const name of await caches.keys()) {{ \
         const keys = await (await caches.open(name)).keys(); \
         if (keys.some((r) => r.url.includes({part:?}))) return true; }} \
         await new Promise((r) => setTimeout(r, 100)); }} return false; }})()"
    )
}

/// Waits until the page is controlled by an active service worker.
const CONTROLLED: &str = "(async () => { await navigator.serviceWorker.ready; \
    for (let i = 0; i < 100 && !navigator.serviceWorker.controller; i++) \
    await new Promise((r) => setTimeout(r, 100)); return !!navigator.serviceWorker.controller; })()";

#[test]
fn offline_the_app_runs_with_the_server_gone_after_one_visit() {
    let (dir, app, wheels) = app_dir("v1", false);
    let out = dir.path().join("dist");
    let text = pack(&app, &wheels, &out, &["--offline"]);
    assert!(
        text.contains("offline after one visit (pyodide-pack-sw.js)"),
        "{text}"
    );
    assert!(out.join("pyodide-pack-sw.js").is_file());
    let headers = std::fs::read_to_string(out.join("_headers")).unwrap();
    assert!(
        headers.contains("/pyodide-pack-sw.js\n  Cache-Control: no-cache\n"),
        "{headers}"
    );
    let mut server = Server::start(&out, &[]);
    let port = port_of(&server);
    let mut visits = Visits::start(Duration::from_secs(60));

    // One visit: the worker registers once the app has loaded, and takes the page over; the
    // lazy file the page then reads is cached too.
    assert_done(&visits.open(0, &server.url, PAGE_FINISHED), "v1");
    assert_eq!(visits.eval(0, CONTROLLED)["value"], true);
    assert_eq!(visits.eval(0, LATER)["value"], LATER_OUTPUT);
    assert_eq!(visits.eval(0, &sw_holds("colorsys"))["value"], true);

    // The server gone: a reload and a new tab run the app, lazy file included.
    server.interrupt();
    let offline = visits.reload(0, PAGE_FINISHED);
    assert_done(&offline, "v1");
    assert!(to_network(&offline).is_empty(), "{offline}");
    assert_eq!(visits.eval(0, LATER)["value"], LATER_OUTPUT);
    assert_done(&visits.open(1, &server.url, PAGE_FINISHED), "v1");

    // A cached copy damaged: with the server back, fetched again past the cache; the page runs.
    let server = Server::start(&out, &["--port", &port]);
    let bundle = url_path(&out, &deployed(&out, "bundle.zip.zst"));
    let damage = format!(
        "(async () => {{ const url = new URL({bundle:?}, location.href).href; let n = 0; \
         for (const name of await caches.keys()) {{ const cache = await caches.open(name); \
         if (await cache.match(url)) {{ await cache.put(url, new Response('not the bundle')); n++; }} }} \
         return n; }})()"
    );
    assert_eq!(visits.eval(0, &damage)["value"], 1);
    let mended = visits.reload(0, PAGE_FINISHED);
    assert_done(&mended, "v1");
    // (The second request goes through the worker, which takes it to the network and puts
    // the answer in the damaged copy's place.)
    assert!(
        requests(&mended).iter().any(|(url, _, status)| url
            .contains(&format!("{bundle}?pyodide-pack-retry="))
            && *status == Some(200)),
        "{mended}"
    );
    let cached_size = format!(
        "(async () => {{ const url = new URL({bundle:?}, location.href).href;          const hit = await caches.match(url); return hit ? (await hit.arrayBuffer()).byteLength : 0; }})()"
    );
    let size = std::fs::metadata(deployed(&out, "bundle.zip.zst"))
        .unwrap()
        .len();
    assert_eq!(
        visits.eval(0, &cached_size)["value"],
        size,
        "the cache mended"
    );

    // A redeploy: once the new worker has taken over, a load shows the new output. (A reload
    // made while the new worker installs stalled twice in full-suite runs under CPU load, after
    // its downloads, and never when run alone: an open defect, not asserted here until it is
    // understood.)
    let before = visits.eval(0, "caches.keys()")["value"].clone();
    std::fs::write(&app, app_source("v2", false)).unwrap();
    pack(&app, &wheels, &out, &["--offline"]);
    let taken_over = format!(
        "(async () => {{ const before = {before}; const r = await navigator.serviceWorker.getRegistration(); \
         await r.update().catch(() => {{}}); \
         for (let i = 0; i < 300; i++) {{ const names = await caches.keys(); \
         if (!r.installing && !r.waiting && names.some((n) => !before.includes(n))) return true; \
         await new Promise((done) => setTimeout(done, 100)); }} return false; }})()"
    );
    assert_eq!(visits.eval(0, &taken_over)["value"], true);
    assert_done(&visits.reload(0, PAGE_FINISHED), "v2");
    assert_done(&visits.open(1, &server.url, PAGE_FINISHED), "v2");
    drop(server);
}

/// A deployment with one file not as packed (the page's icon, which the loader does not check, as
/// a host's optimiser might rewrite it): the app runs, the worker's install fails on that file,
/// and the page's console says the deployment will not run offline.
#[test]
fn offline_a_worker_that_does_not_install_is_said_on_the_console() {
    let (dir, app, wheels) = app_dir("v1", false);
    let out = dir.path().join("dist");
    pack(&app, &wheels, &out, &["--offline"]);
    let icon = std::fs::read_dir(out.join("immutable"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "svg"))
        .expect("the page's icon");
    std::fs::write(&icon, "<svg xmlns='http://www.w3.org/2000/svg'/>").unwrap();
    let server = Server::start(&out, &[]);
    let mut visits = Visits::start(Duration::from_secs(60));
    let opened = visits.open(0, &server.url, PAGE_FINISHED);
    assert_done(&opened, "v1");
    // Until the registration settles: its worker active, or the registration gone (a first
    // worker that fails to install takes its registration with it; the page registered it
    // before the app ran).
    let settled = visits.eval(
        0,
        "(async () => { for (let i = 0; i < 200; i++) { \
         const r = await navigator.serviceWorker.getRegistration(); \
         if (!r) return 'none'; if (r.active) return 'active'; \
         await new Promise((done) => setTimeout(done, 100)); } return 'still installing'; })()",
    );
    assert_eq!(settled["value"], "none", "{settled}");
    // (The page's console message may come a moment after.)
    let after = visits.eval(
        0,
        "new Promise((done) => setTimeout(() => done(true), 500))",
    );
    let warned = [&opened, &settled, &after].iter().any(|answer| {
        answer["console"].as_array().unwrap().iter().any(|m| {
            m["type"] == "warn"
                && m["text"]
                    .as_str()
                    .unwrap()
                    .contains("the offline service worker did not install")
        })
    });
    assert!(warned, "{opened}\n{settled}\n{after}");
    drop(server);
}

/// A page that loads Pyodide itself (a module script), packed with `--offline`: after one visit
/// to it and one to a page of the site it never traced, both run with the server gone, the
/// untraced page's lazy files included.
#[test]
fn offline_a_packed_page_and_an_untraced_page_of_its_site_run_with_the_server_gone() {
    let site = tempfile::tempdir().unwrap();
    let module_page = |name: &str, runtime: &str, python: &str| {
        std::fs::write(
            site.path().join(format!("{name}.html")),
            format!(
                "<!doctype html><meta charset=utf-8><title>{name}</title>\
                 <pre id=out>loading</pre><script type=module src=./{name}.mjs></script>\n"
            ),
        )
        .unwrap();
        std::fs::write(
            site.path().join(format!("{name}.mjs")),
            format!(
                "import {{ loadPyodide }} from \"{runtime}\";\n\
                 const pyodide = await loadPyodide();\n\
                 document.getElementById(\"out\").textContent = pyodide.runPython({python:?});\n"
            ),
        )
        .unwrap();
    };
    module_page(
        "index",
        "./pyodide/pyodide.mjs",
        "import json\njson.dumps({'page': 'index'})",
    );
    std::os::unix::fs::symlink(runtime_dir(), site.path().join("pyodide")).unwrap();
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("site");
    let page = site.path().join("index.html");
    let output = pyodide_pack(&[
        "pack",
        page.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--offline",
        "--until",
        "\"page\"",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(out.join("pyodide-pack-sw.js").is_file());
    // A page of the site written after the pack: nothing traced it, its difflib is lazy.
    let site_path = site.path().to_path_buf();
    std::fs::copy(site_path.join("index.html"), out.join("other.html")).unwrap();
    std::fs::write(
        out.join("other.html"),
        std::fs::read_to_string(out.join("other.html"))
            .unwrap()
            .replace("index.mjs", "other.mjs"),
    )
    .unwrap();
    std::fs::write(
        out.join("other.mjs"),
        "import { loadPyodide } from \"./pyodide-pack/pyodide.mjs\";\n\
         const pyodide = await loadPyodide();\n\
         document.getElementById(\"out\").textContent = pyodide.runPython(\
         \"import difflib\\n'ratio %.3f' % difflib.SequenceMatcher(None, 'pyodide', 'pyscript').ratio()\");\n",
    )
    .unwrap();

    let mut server = Server::start(&out, &[]);
    let mut visits = Visits::start(Duration::from_secs(90));
    let index_done = "document.getElementById('out').textContent.includes('page')";
    let other_done = "document.getElementById('out').textContent.includes('ratio')";
    let first = visits.open(0, &format!("{}index.html", server.url), index_done);
    assert_eq!(first["ok"], true, "{first}");
    assert_eq!(visits.eval(0, CONTROLLED)["value"], true);
    let other = visits.open(1, &format!("{}other.html", server.url), other_done);
    assert_eq!(other["ok"], true, "{other}");
    assert!(
        other["text"].as_str().unwrap().contains("ratio 0.400"),
        "{other}"
    );
    assert!(
        requests(&other)
            .iter()
            .any(|(url, _, _)| url.contains("/pyodide-pack/immutable/lazy/")
                && url.contains("difflib")),
        "{other}"
    );
    assert_eq!(visits.eval(1, &sw_holds("difflib"))["value"], true);

    server.interrupt();
    let index = visits.reload(0, index_done);
    assert_eq!(index["ok"], true, "{index}");
    assert!(to_network(&index).is_empty(), "{index}");
    let other = visits.reload(1, other_done);
    assert_eq!(other["ok"], true, "{other}");
    assert!(
        other["text"].as_str().unwrap().contains("ratio 0.400"),
        "{other}"
    );
}
