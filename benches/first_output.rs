//! `cargo bench --bench first_output`: time to first output in a real browser. Each app is run in
//! headless Chromium on the page's main thread from the full environment (the pinned
//! `pyodide.mjs`, the full `python_stdlib.zip`, every wheel fetched and unpacked with
//! `pyodide.unpackArchive`) and from bundles packed with the release CLI (the default pack and
//! each option that changes the download), served the way a CDN serves them (brotli / gzip,
//! `application/wasm`, no caching), under network and CPU profiles set through the DevTools
//! protocol. Each run is a fresh browser context with the HTTP cache disabled; variants take
//! turns run by run. Prints one Markdown table of medians (time from navigation to the app's
//! first output line, the loader's breakdown, bytes on the wire, the app's part of them) with
//! ratios to the full environment of the same app and profile, what the loader's digest checks
//! cost (the default bundle against the same pack loaded with `checkIntegrity: false`), where the
//! time goes (when the downloads finished), the runtime's share of the bytes, and the goals.
//!
//! `-- --quick`: pydantic_model, cable, 3 runs, the default bundle against the full environment.
//! `-- --write-readme`: also put the report in docs/benchmarks.md between its first-output markers.
//! `-- APP...`: only those apps (of the default plan's, also with `--quick`); `--variants=default,gzip`
//! and `--profiles=fast,cable`: only those (`--variants=full,default,unchecked`: the cost of the
//! digest checks); `--runs=5`: that many runs of every row;
//! `--pyodide=0.27.7`: another supported release than the pinned one (its npm core; an app with
//! extension modules runs only on the release its wheels were built for). Needs
//! `corpus/fetch.sh` and Chromium.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use pyodide_pack_env::{install_npm_package, CacheRoot, Runtime, PINNED_PYODIDE_VERSION};
use pyodide_pack_pack::{find_chromium, DRIVER_VERSION};
use serde_json::{json, Value};

/// A way to ship the app: the full environment, or a bundle packed with these extra flags and
/// loaded with or without its digest checks (`loadBundle({ checkIntegrity })`).
struct Variant {
    name: &'static str,
    flags: Option<&'static [&'static str]>,
    check_integrity: bool,
}

const FULL: &str = "full";
const DEFAULT: &str = "default";
const UNCHECKED: &str = "unchecked";

/// The default is `.pyc` in one zstd stream per zip; each other variant changes one thing, and
/// `py-deflate` is the default before transfer forms (`.py`, per-file deflate). `unchecked` is the
/// default's pack loaded with `checkIntegrity: false`: what checking every file's digest costs.
const VARIANTS: &[Variant] = &[
    Variant {
        name: FULL,
        flags: None,
        check_integrity: true,
    },
    Variant {
        name: DEFAULT,
        flags: Some(&[]),
        check_integrity: true,
    },
    Variant {
        name: UNCHECKED,
        flags: Some(&[]),
        check_integrity: false,
    },
    Variant {
        name: "gzip",
        flags: Some(&["--transfer", "gzip"]),
        check_integrity: true,
    },
    Variant {
        name: "precompressed",
        flags: Some(&["--transfer", "precompressed"]),
        check_integrity: true,
    },
    Variant {
        name: "deflate",
        flags: Some(&["--transfer", "deflate"]),
        check_integrity: true,
    },
    Variant {
        name: "py",
        flags: Some(&["--no-compile-pyc"]),
        check_integrity: true,
    },
    Variant {
        name: "py-deflate",
        flags: Some(&["--no-compile-pyc", "--transfer", "deflate"]),
        check_integrity: true,
    },
    Variant {
        name: "no-lazy",
        flags: Some(&["--no-lazy"]),
        check_integrity: true,
    },
    Variant {
        name: "strip-docstrings",
        flags: Some(&["--strip-docstrings"]),
        check_integrity: true,
    },
];

/// A profile, its number of runs, and the variants run on it (`None`: all).
type Runs = (&'static str, usize, Option<&'static [&'static str]>);

struct Plan {
    apps: Vec<&'static str>,
    variants: Vec<&'static str>,
    runs: Vec<Runs>,
}

const APPS: &[&str] = &["pydantic_model", "stdlib_codecs", "sympy_solve"];

/// The scientific stack's apps (`corpus/science/`): on the 0.27.7 distribution only, named as
/// `-- --runtime=DIR science/sklearn_ridge`.
const SCIENCE_APPS: &[&str] = &[
    "science/sklearn_ridge",
    "science/pandas_frame",
    "science/scipy_optimize",
    "science/matplotlib_png",
    "science/sqlite3_query",
];

/// The default plan, sized to fit 15 minutes on this 2-core machine (with the `.py` and per-file
/// deflate variants on cable, cpu4x and 3g too it took 22 minutes): every variant 3 times on "fast" (bytes do not
/// depend on the profile, so each variant's bytes are there); "cable" 3 times for the full
/// environment, the transfer forms that need nothing of the host or the least of it, and the
/// default unchecked (it reuses the default's pack, so it costs only its runs); the CPU
/// slowdown (4x the CPU time) and "3g" (bandwidth-bound, steady from run to run) once, for the
/// full environment and the default. `--runs=5` gives medians of 5 (about 25 minutes).
fn default_plan() -> Plan {
    Plan {
        apps: APPS.to_vec(),
        variants: VARIANTS.iter().map(|v| v.name).collect(),
        runs: vec![
            ("fast", 3, None),
            (
                "cable",
                3,
                Some(&[FULL, DEFAULT, UNCHECKED, "gzip", "precompressed"]),
            ),
            ("cpu4x", 1, Some(&[FULL, DEFAULT])),
            ("3g", 1, Some(&[FULL, DEFAULT])),
        ],
    }
}

fn quick_plan() -> Plan {
    Plan {
        apps: vec!["pydantic_model"],
        variants: vec![FULL, DEFAULT],
        runs: vec![("cable", 3, None)],
    }
}

const PROFILES: &[(&str, &str)] = &[
    ("fast", "no shaping"),
    ("cable", "20 Mbit/s down, 5 up, 20 ms"),
    ("cpu4x", "4x CPU slowdown, no network shaping"),
    ("3g", "1.6 Mbit/s down, 0.75 up, 150 ms"),
];

/// Goals, as ratios to the full environment (same app, profile and bench run).
const TIME_GOALS: &[(&str, f64)] = &[("cable", 0.5), ("fast", 0.6), ("cpu4x", 0.6)];
const BYTES_GOAL: f64 = 0.5;

/// The runtime files as served: the core files under /runtime/ (not python_stdlib.zip, and not
/// the lock's packages a full distribution serves there too: those are the app's bytes).
fn is_runtime(path: &str) -> bool {
    path.strip_prefix("/runtime/").is_some_and(|name| {
        matches!(
            name,
            "pyodide.mjs"
                | "pyodide.asm.mjs"
                | "pyodide.asm.js"
                | "pyodide.asm.wasm"
                | "pyodide-lock.json"
        )
    })
}

/// An app's wheels folder from `corpus/fetch.sh`, if it has one; else (the science apps) its
/// requirements come from the runtime's lock.
fn wheels_dir(cache: &CacheRoot, app: &str) -> Option<PathBuf> {
    Some(cache.root().join("corpus").join(app).join("wheels")).filter(|d| d.is_dir())
}

/// The lock packages an app without a wheels folder asks for (its `requirements.txt`): the full
/// environment loads them with `pyodide.loadPackage`, as a page does.
fn lock_packages(repo: &Path, app: &str) -> Vec<String> {
    std::fs::read_to_string(repo.join("corpus").join(app).join("requirements.txt"))
        .unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(String::from)
        .collect()
}

fn median(mut values: Vec<f64>) -> Option<f64> {
    values.retain(|v| v.is_finite());
    if values.is_empty() {
        return None;
    }
    values.sort_by(|a, b| a.total_cmp(b));
    let n = values.len();
    Some(if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    })
}

fn secs(ms: Option<f64>) -> String {
    ms.map_or("-".into(), |v| format!("{:.2} s", v / 1000.0))
}

fn mb(bytes: Option<f64>) -> String {
    bytes.map_or("-".into(), |v| format!("{:.2} MB", v / 1e6))
}

fn ratio(value: Option<f64>, base: Option<f64>) -> Option<f64> {
    match (value, base) {
        (Some(v), Some(b)) if b > 0.0 => Some(v / b),
        _ => None,
    }
}

fn times(r: Option<f64>) -> String {
    r.map_or("-".into(), |r| format!("{r:.2}x"))
}

/// How much more `value` is than `base`, in percent: (value - base) / base.
fn more(value: Option<f64>, base: Option<f64>) -> String {
    ratio(value, base).map_or("-".into(), |r| format!("{:+.1}%", (r - 1.0) * 100.0))
}

/// Packs `app` with `flags` into `out` (no validation: the trace is cached).
fn pack(repo: &Path, cache: &CacheRoot, runtime: &Path, app: &str, flags: &[&str], out: &Path) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_pyodide-pack"));
    command
        .arg("pack")
        .arg(repo.join("corpus").join(app).join("app.py"));
    if let Some(wheels) = wheels_dir(cache, app) {
        command.arg("--wheels").arg(wheels);
    }
    command
        .arg("--runtime")
        .arg(runtime)
        .arg("-o")
        .arg(out)
        .args(["--no-validate", "--no-html"])
        .args(flags);
    let output = command.output().expect("the CLI runs");
    assert!(
        output.status.success(),
        "pack {app} {flags:?} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// One run of the page, as serve_and_measure.mjs records it.
struct RunRecord {
    variant: String,
    profile: String,
    value: Value,
}

impl RunRecord {
    fn timing(&self, key: &str) -> Option<f64> {
        self.value["timings"][key].as_f64()
    }

    fn first_output(&self) -> Option<f64> {
        self.timing("first_output_ms")
    }

    fn to_first_line(&self) -> Option<f64> {
        Some(self.first_output()? - self.timing("run_start_ms")?)
    }

    fn wire(&self, key: &str) -> Option<f64> {
        self.value["wire"][key].as_f64()
    }

    fn resources(&self) -> Vec<&Value> {
        self.value["resources"]
            .as_array()
            .map(|a| a.iter().collect())
            .unwrap_or_default()
    }

    /// When the last resource whose path matches finished, from the document request.
    fn done(&self, matches: impl Fn(&str) -> bool) -> Option<f64> {
        self.resources()
            .into_iter()
            .filter(|r| matches(r["path"].as_str().unwrap_or("")))
            .filter_map(|r| r["end_ms"].as_f64())
            .reduce(f64::max)
    }

    fn lazy_fetched(&self) -> (usize, f64) {
        let lazy: Vec<_> = self
            .resources()
            .into_iter()
            .filter(|r| r["path"].as_str().unwrap_or("").contains("/lazy/"))
            .collect();
        let bytes = lazy.iter().filter_map(|r| r["bytes"].as_f64()).sum();
        (lazy.len(), bytes)
    }
}

/// Medians of one (app, profile, variant).
#[derive(Default, Clone)]
struct Row {
    runs: usize,
    failed: usize,
    first: Option<f64>,
    load_pyodide: Option<f64>,
    fetch_unpack: Option<f64>,
    dynlibs: Option<f64>,
    to_first_line: Option<f64>,
    wire: Option<f64>,
    app_bytes: Option<f64>,
    runtime_bytes: Option<f64>,
    wasm_done: Option<f64>,
    stdlib_done: Option<f64>,
    payload_done: Option<f64>,
    lazy_files: Option<f64>,
    lazy_bytes: Option<f64>,
}

fn summarize(runs: &[&RunRecord], expected: &str) -> Row {
    let good: Vec<&&RunRecord> = runs
        .iter()
        .filter(|r| r.value["error"].is_null() && r.value["stdout"].as_str() == Some(expected))
        .collect();
    let m =
        |f: &dyn Fn(&RunRecord) -> Option<f64>| median(good.iter().filter_map(|r| f(r)).collect());
    Row {
        runs: runs.len(),
        failed: runs.len() - good.len(),
        first: m(&|r| r.first_output()),
        load_pyodide: m(&|r| r.timing("load_pyodide_ms")),
        fetch_unpack: m(&|r| r.timing("fetch_unpack_ms")),
        dynlibs: m(&|r| r.timing("dynlibs_ms")),
        to_first_line: m(&|r| r.to_first_line()),
        wire: m(&|r| r.wire("total")),
        app_bytes: m(&|r| r.wire("app")),
        runtime_bytes: m(&|r| r.wire("runtime")),
        wasm_done: m(&|r| r.done(|p| p == "/runtime/pyodide.asm.wasm")),
        stdlib_done: m(&|r| r.done(|p| p.contains("/python_stdlib.zip"))),
        payload_done: m(&|r| r.done(|p| p.starts_with("/wheels/") || p.contains("/bundle.zip"))),
        lazy_files: m(&|r| Some(r.lazy_fetched().0 as f64)),
        lazy_bytes: m(&|r| Some(r.lazy_fetched().1)),
    }
}

fn main() {
    let started = Instant::now();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    let only: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
    let mut plan = if quick { quick_plan() } else { default_plan() };
    // `APP...`: these apps (of the default plan's) instead of the plan's: `-- --quick
    // stdlib_codecs` on a runtime that cannot load the quick plan's extension module.
    if !only.is_empty() {
        plan.apps = APPS
            .iter()
            .chain(SCIENCE_APPS)
            .copied()
            .filter(|a| only.iter().any(|o| o == a))
            .collect();
    }
    // `--variants=a,b` and `--profiles=fast,cable`: a part of the plan, for checking one change.
    let list = |flag: &str| {
        args.iter()
            .find_map(|a| a.strip_prefix(flag))
            .map(|v| v.split(',').map(str::to_string).collect::<Vec<_>>())
    };
    if let Some(variants) = list("--variants=") {
        plan.variants.retain(|v| variants.iter().any(|w| w == v));
    }
    if let Some(profiles) = list("--profiles=") {
        plan.runs
            .retain(|(p, _, _)| profiles.iter().any(|q| q == p));
    }
    // `--runs=5`: that many runs of every row (the default plan's 3 keep it within 15 minutes).
    if let Some(n) = list("--runs=").and_then(|v| v.first().and_then(|n| n.parse::<usize>().ok())) {
        for (_, runs, _) in &mut plan.runs {
            *runs = n;
        }
    }

    let cache = CacheRoot::from_env();
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    // `--pyodide=VERSION`: another release than the pinned one (installed from npm on first use).
    let version = args
        .iter()
        .find_map(|a| a.strip_prefix("--pyodide="))
        .unwrap_or(PINNED_PYODIDE_VERSION);
    // `--runtime=DIR`: a distribution folder (the 0.27.7 release with its packages, for the
    // science apps, whose packages come from its lock).
    let opened = match args.iter().find_map(|a| a.strip_prefix("--runtime=")) {
        Some(dir) => Runtime::open(Path::new(dir)),
        None => Runtime::from_npm(version, &cache),
    }
    .unwrap_or_else(|e| panic!("{e}"));
    let version = opened.version.clone();
    let version = version.as_str();
    let runtime = opened.dir;
    eprintln!("first_output: Pyodide {version} ({})", runtime.display());
    let chromium = find_chromium().expect("Chromium (apt-get install chromium)");
    let driver = install_npm_package(&cache, "browser-driver", "puppeteer-core", DRIVER_VERSION)
        .expect("puppeteer-core installs");
    let script = repo.join("benches/first_output/serve_and_measure.mjs");
    // Compressed bodies, kept between bench runs (brotli 11 of the 9.6 MB wasm takes ~30 s).
    let compress_cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("first_output-compressed");
    let work = tempfile::tempdir().unwrap();

    eprintln!(
        "first_output: {} app(s), variants {}, runs {}",
        plan.apps.len(),
        plan.variants.join(", "),
        plan.runs
            .iter()
            .map(|(p, n, v)| match v {
                Some(v) => format!("{p} x{n} ({})", v.join(", ")),
                None => format!("{p} x{n}"),
            })
            .collect::<Vec<_>>()
            .join("; ")
    );
    let mut records: BTreeMap<&str, Vec<RunRecord>> = BTreeMap::new();
    let mut encodings = Vec::new();
    for app in &plan.apps {
        let t = Instant::now();
        let mut variants = Vec::new();
        // Flags -> the folder packed with them: a variant that differs only in how the page loads
        // it (`unchecked`) serves the same output as the one packed first with its flags.
        let mut packed: Vec<(&[&str], PathBuf)> = Vec::new();
        for variant in VARIANTS.iter().filter(|v| plan.variants.contains(&v.name)) {
            let bundle_dir = variant.flags.map(|flags| {
                if let Some((_, out)) = packed.iter().find(|(f, _)| *f == flags) {
                    return out.clone();
                }
                let out = work.path().join(app).join(variant.name);
                pack(&repo, &cache, &runtime, app, flags, &out);
                packed.push((flags, out.clone()));
                out
            });
            variants.push(json!({
                "name": variant.name,
                "mode": if bundle_dir.is_some() { "bundle" } else { "full" },
                "bundle_dir": bundle_dir,
                "check_integrity": variant.check_integrity,
            }));
        }
        let packages = if wheels_dir(&cache, app).is_some() {
            Vec::new()
        } else {
            lock_packages(&repo, app)
        };
        let mut wheels: Vec<PathBuf> = wheels_dir(&cache, app)
            .and_then(|dir| std::fs::read_dir(dir).ok())
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        wheels.retain(|w| w.extension().is_some_and(|e| e == "whl"));
        wheels.sort();
        let out = work.path().join(format!("{app}.json"));
        let spec = json!({
            "label": app,
            "variants": variants,
            "runtime": runtime,
            "wheels": wheels,
            "packages": packages,
            "app": repo.join("corpus").join(app).join("app.py"),
            "chromium": chromium,
            "driver": driver,
            "compress_cache": compress_cache,
            "runs": plan.runs.iter().map(|(p, n, v)| json!([p, n, v])).collect::<Vec<_>>(),
            "timeout_ms": 240_000,
            "out": out,
        });
        let spec_path = work.path().join(format!("{app}.spec.json"));
        std::fs::write(&spec_path, serde_json::to_vec_pretty(&spec).unwrap()).unwrap();
        eprintln!("{app}: packed in {:.1} s", t.elapsed().as_secs_f64());
        let status = Command::new("node")
            .arg(&script)
            .arg(&spec_path)
            .status()
            .expect("node runs");
        let record: Value = match std::fs::read(&out) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap(),
            Err(e) => panic!("{app}: no record from the browser script ({status}): {e}"),
        };
        if let Some(error) = record["error"].as_str() {
            eprintln!("{app}: the browser script failed: {error}");
        }
        eprintln!(
            "{app}: done in {:.1} s (compressing before the runs: {:.1} s)",
            t.elapsed().as_secs_f64(),
            record["precompress_ms"].as_f64().unwrap_or(0.0) / 1000.0
        );
        if let Some(list) = record["accept_encoding"].as_array() {
            encodings.extend(list.iter().filter_map(|v| v.as_str().map(String::from)));
        }
        let runs = record["runs"].as_array().cloned().unwrap_or_default();
        records
            .entry(app)
            .or_default()
            .extend(runs.into_iter().map(|value| RunRecord {
                variant: value["variant"].as_str().unwrap_or("").to_string(),
                profile: value["profile"].as_str().unwrap_or("").to_string(),
                value,
            }));
    }
    let text = report(&plan, &repo, &records, &encodings, quick, version);
    print!("{text}");
    if args.iter().any(|a| a == "--write-readme") {
        write_readme(
            &repo.join("docs/benchmarks.md"),
            &text,
            started.elapsed().as_secs_f64(),
        );
    }
    println!(
        "\nbench wall time: {:.0} s{}",
        started.elapsed().as_secs_f64(),
        if quick { " (--quick)" } else { "" }
    );
}

fn report(
    plan: &Plan,
    repo: &Path,
    records: &BTreeMap<&str, Vec<RunRecord>>,
    encodings: &[String],
    quick: bool,
    version: &str,
) -> String {
    let mut out = String::new();
    // Everything the report says goes into `out`: printed, and with `--write-readme` put in
    // docs/benchmarks.md between its first-output markers.
    macro_rules! say {
        () => { out.push('\n') };
        ($($arg:tt)*) => {{ out.push_str(&format!($($arg)*)); out.push('\n'); }};
    }
    say!("Pyodide {version} (the runtime of every row, full environment and bundles alike).");
    say!();
    // (app, profile, variant) -> row, in the plan's order.
    let mut rows: Vec<(&str, &str, &str, Row)> = Vec::new();
    for app in &plan.apps {
        let expected = std::fs::read_to_string(repo.join("corpus").join(app).join("expected.txt"))
            .unwrap_or_default();
        let Some(runs) = records.get(app) else {
            continue;
        };
        for (profile, _, _) in &plan.runs {
            for variant in &plan.variants {
                let these: Vec<&RunRecord> = runs
                    .iter()
                    .filter(|r| r.profile == *profile && r.variant == *variant)
                    .collect();
                if !these.is_empty() {
                    rows.push((app, profile, variant, summarize(&these, &expected)));
                }
            }
        }
    }
    let full = |app: &str, profile: &str| {
        rows.iter()
            .find(|(a, p, v, _)| *a == app && *p == profile && *v == FULL)
            .map(|(_, _, _, r)| r.clone())
            .unwrap_or_default()
    };

    say!();
    say!(
        "Time to first output in headless Chromium (main thread), median of the runs; ratios to \
         the full environment of the same app and profile in this bench run."
    );
    say!(
        "Profiles: {}.",
        PROFILES
            .iter()
            .filter(|(p, _)| plan.runs.iter().any(|(q, _, _)| q == p))
            .map(|(p, d)| format!("{p} = {d}"))
            .collect::<Vec<_>>()
            .join("; ")
    );
    say!();
    say!(
        "| app | profile | variant | runs | first output | x full | loadPyodide | fetch+unpack | \
         dynamic libraries | import+run to 1st line | on the wire | app's bytes | x full |"
    );
    say!("| --- | --- | --- | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: |");
    let mut failures = Vec::new();
    for (app, profile, variant, row) in &rows {
        let base = full(app, profile);
        let dynlibs = if *variant == FULL {
            "(at import)".to_string()
        } else {
            secs(row.dynlibs)
        };
        let runs = if row.failed > 0 {
            failures.push(format!("{app} {profile} {variant}: {} run(s)", row.failed));
            format!("{} ({} failed)", row.runs, row.failed)
        } else {
            row.runs.to_string()
        };
        say!(
            "| {app} | {profile} | {variant} | {runs} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            secs(row.first),
            times(ratio(row.first, base.first)),
            secs(row.load_pyodide),
            secs(row.fetch_unpack),
            dynlibs,
            secs(row.to_first_line),
            mb(row.wire),
            mb(row.app_bytes),
            times(ratio(row.app_bytes, base.app_bytes)),
        );
    }
    say!();
    say!(
        "Bytes on the wire: the sum of Network.loadingFinished.encodedDataLength (headers \
         included); the app's bytes are all but the runtime (pyodide.mjs, \
         pyodide.asm.mjs or .js, pyodide.asm.wasm, pyodide-lock.json), its python_stdlib.zip counted as \
         the app's. Served with brotli 11 (Accept-Encoding: {}). loadPyodide includes fetching \
         and compiling pyodide.asm.wasm and the stdlib zip; fetch+unpack is the wait for the \
         bundle / wheels after loadPyodide plus unpacking; the full environment loads its \
         extension modules while importing.",
        {
            let mut e = encodings.to_vec();
            e.sort();
            e.dedup();
            e.join(" | ")
        }
    );
    if !failures.is_empty() {
        say!(
            "Runs that failed or printed other than expected.txt (left out of the medians): {}",
            failures.join("; ")
        );
    }

    // What the digest checks cost: the default bundle against the same pack loaded with
    // `checkIntegrity: false`, for each app and profile that ran both.
    let checks: Vec<(&str, &str, &Row, &Row)> = rows
        .iter()
        .filter(|(_, _, v, _)| *v == DEFAULT)
        .filter_map(|(app, profile, _, checked)| {
            let unchecked = rows
                .iter()
                .find(|(a, p, v, _)| a == app && p == profile && *v == UNCHECKED)?;
            Some((*app, *profile, checked, &unchecked.3))
        })
        .collect();
    if !checks.is_empty() {
        say!();
        say!(
            "What the loader's digest checks cost: {DEFAULT} (every file checked) against \
             {UNCHECKED} (the same pack, `loadBundle({{ checkIntegrity: false }})`), medians; \
             the cost is ({DEFAULT} - {UNCHECKED}) / {UNCHECKED}."
        );
        say!();
        say!(
            "| app | profile | first output, {DEFAULT} | {UNCHECKED} | checking costs | \
             loadPyodide costs | fetch+unpack costs |"
        );
        say!("| --- | --- | --: | --: | --: | --: | --: |");
        for (app, profile, checked, unchecked) in &checks {
            say!(
                "| {app} | {profile} | {} | {} | {} | {} | {} |",
                secs(checked.first),
                secs(unchecked.first),
                more(checked.first, unchecked.first),
                more(checked.load_pyodide, unchecked.load_pyodide),
                more(checked.fetch_unpack, unchecked.fetch_unpack),
            );
        }
    }

    // The runtime's share.
    let mut shares_full = Vec::new();
    let mut shares_default = Vec::new();
    let mut runtime_bytes = Vec::new();
    for (_, _, variant, row) in &rows {
        if let (Some(rt), Some(total)) = (row.runtime_bytes, row.wire) {
            runtime_bytes.push(rt);
            match *variant {
                FULL => shares_full.push(rt / total),
                DEFAULT => shares_default.push(rt / total),
                _ => {}
            }
        }
    }
    let mut per_file: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for runs in records.values() {
        for run in runs {
            for r in run.resources() {
                let path = r["path"].as_str().unwrap_or("");
                if is_runtime(path) {
                    per_file
                        .entry(path.trim_start_matches("/runtime/").to_string())
                        .or_default()
                        .push(r["bytes"].as_f64().unwrap_or(0.0));
                }
            }
        }
    }
    let mut files: Vec<(String, f64)> = per_file
        .into_iter()
        .filter_map(|(k, v)| median(v).map(|m| (k, m)))
        .collect();
    files.sort_by(|a, b| b.1.total_cmp(&a.1));
    say!();
    say!(
        "The runtime on the wire: {} ({}): {:.0}% of the full environment's bytes and \
         {:.0}% of the default bundle's (medians over apps and profiles).",
        mb(median(runtime_bytes)),
        files
            .iter()
            .map(|(f, b)| format!("{f} {}", mb(Some(*b))))
            .collect::<Vec<_>>()
            .join(", "),
        median(shares_full).unwrap_or(0.0) * 100.0,
        median(shares_default).unwrap_or(0.0) * 100.0,
    );

    // Where the time goes.
    say!();
    say!(
        "When the downloads finished (from the document request, medians) against the first \
         output:"
    );
    say!();
    say!(
        "| app | profile | variant | pyodide.asm.wasm in | python_stdlib.zip in | \
         bundle.zip / wheels in | loadPyodide | first output | lazy files fetched |"
    );
    say!("| --- | --- | --- | --: | --: | --: | --: | --: | --: |");
    for (app, profile, variant, row) in &rows {
        say!(
            "| {app} | {profile} | {variant} | {} | {} | {} | {} | {} | {} |",
            secs(row.wasm_done),
            secs(row.stdlib_done),
            secs(row.payload_done),
            secs(row.load_pyodide),
            secs(row.first),
            match (row.lazy_files, row.lazy_bytes) {
                (Some(n), Some(b)) if n > 0.0 => format!("{n:.0} / {:.1} kB", b / 1000.0),
                _ => "0".into(),
            },
        );
    }

    // Goals.
    say!();
    say!(
        "Goals (ratios to the full environment, same app, profile and run): first output <= \
         0.5x on cable, <= 0.6x on fast and cpu4x; app's bytes on the wire <= {BYTES_GOAL}x."
    );
    say!();
    let goal_profiles: Vec<&(&str, f64)> = TIME_GOALS
        .iter()
        .filter(|(p, _)| plan.runs.iter().any(|(q, _, _)| q == p))
        .collect();
    let mut header = "| app | variant |".to_string();
    let mut rule = "| --- | --- |".to_string();
    for (p, g) in &goal_profiles {
        header += &format!(" first output, {p} (<= {g}x) |");
        rule += " --: |";
    }
    header += &format!(" app's bytes (<= {BYTES_GOAL}x) |");
    rule += " --: |";
    say!("{header}");
    say!("{rule}");
    let (mut met, mut missed) = (0, 0);
    let mut verdict = |value: Option<f64>, goal: f64| match value {
        Some(r) if r <= goal => {
            met += 1;
            format!("{r:.2}x met")
        }
        Some(r) => {
            missed += 1;
            format!("{r:.2}x NOT met")
        }
        None => "-".into(),
    };
    for app in &plan.apps {
        // (`unchecked` is a measurement of the checks, not a way to ship: no goal.)
        for variant in plan
            .variants
            .iter()
            .filter(|v| ![FULL, UNCHECKED].contains(*v))
        {
            let row = |profile: &str| {
                rows.iter()
                    .find(|(a, p, v, _)| a == app && *p == profile && v == variant)
                    .map(|(_, _, _, r)| r.clone())
            };
            let mut line = format!("| {app} | {variant} |");
            for (p, g) in &goal_profiles {
                let r = row(p).and_then(|r| ratio(r.first, full(app, p).first));
                line += &format!(" {} |", verdict(r, *g));
            }
            // Bytes do not depend on the profile: the first profile that ran this variant.
            let bytes = plan.runs.iter().find_map(|(p, _, _)| {
                row(p).and_then(|r| ratio(r.app_bytes, full(app, p).app_bytes))
            });
            line += &format!(" {} |", verdict(bytes, BYTES_GOAL));
            say!("{line}");
        }
    }
    say!();
    say!("goals met: {met} of {}", met + missed);
    if quick {
        say!("(--quick: one app, one profile, 3 runs; the default plan is the reference)");
    }
    out
}

const README_START: &str = "<!-- first_output bench: start -->";
const README_END: &str = "<!-- first_output bench: end -->";

/// Puts the report between the markers in docs/benchmarks.md (`-- --write-readme`), so the table
/// there is the one the bench printed.
fn write_readme(readme: &Path, text: &str, wall_s: f64) {
    let old = std::fs::read_to_string(readme).expect("docs/benchmarks.md reads");
    let (Some(start), Some(end)) = (old.find(README_START), old.find(README_END)) else {
        panic!("docs/benchmarks.md has no {README_START} ... {README_END} block");
    };
    let new = format!(
        "{}{README_START}\n(written by `cargo bench --bench first_output -- --write-readme`, {wall_s:.0} s)\n{}\n{}",
        &old[..start],
        text.trim(),
        &old[end..]
    );
    std::fs::write(readme, new).expect("docs/benchmarks.md writes");
    eprintln!("first_output: the report is in {}", readme.display());
}
