//! The pages bench: the PyScript scikit-learn and pandas pages and the hand-written numpy page
//! (corpus/pages/), each packed, then the original page and the packed one served by
//! `pyodide-pack serve` (brotli/gzip as a CDN sends them) and loaded in headless Chromium with a
//! cold cache: bytes on the wire and time to first output (the page's text first changing), on
//! an unshaped loopback link and on cable (20 Mbit/s down, 5 up, 20 ms). Bytes on the wire: the
//! bodies of the files the page asked for as the server sends them to a browser (brotli where it
//! compresses; Chromium's own counts miss bodies a page reads as a stream).
//!
//! `cargo bench --bench pages` (needs `bash corpus/fetch.sh`); `-- NAME...`: only those pages;
//! `--runs=N`: N loads of each (the median is shown; default 1).

#[path = "support/serve.rs"]
mod serve;

use serve::Server;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use pyodide_pack_env::CacheRoot;
use pyodide_pack_trace::{run_page, PageRecord, PageRunRequest};

/// (page, the host's done signal, else a text the page shows once done)
const PAGES: &[(&str, Option<&str>, Option<&str>)] = &[
    ("pyscript_sklearn", Some("py:all-done"), None),
    ("pyscript_pandas", Some("py:all-done"), None),
    ("module_numpy", None, Some("366]]")),
];
const CABLE: (f64, f64, f64) = (20e6 / 8.0, 5e6 / 8.0, 20.0);
const BYTES_GOAL_SKLEARN: f64 = 0.5;
const BYTES_GOAL_MEDIAN: f64 = 0.6;
const CABLE_TIME_GOAL: f64 = 0.5;

/// The bodies the page asked for (each once), as the server sends them with brotli accepted.
fn wire_bytes(record: &PageRecord, origin: &str) -> f64 {
    let mut urls: Vec<&String> = record
        .requests
        .iter()
        .filter(|u| u.starts_with(origin))
        .collect();
    urls.sort();
    urls.dedup();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut total = 0u64;
    for url in urls {
        let response = agent
            .get(url.as_str())
            .header("Accept-Encoding", "br")
            .call()
            .expect("the server answers");
        let mut body = Vec::new();
        std::io::Read::read_to_end(&mut response.into_body().into_reader(), &mut body).unwrap();
        total += body.len() as u64;
    }
    total as f64
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values[values.len() / 2]
}

fn mb(bytes: f64) -> String {
    format!("{:.2} MB", bytes / 1e6)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runs: usize = args
        .iter()
        .find_map(|a| a.strip_prefix("--runs="))
        .map(|n| n.parse().expect("--runs=N"))
        .unwrap_or(1);
    let only: Vec<&str> = args
        .iter()
        .filter(|a| !a.starts_with("--"))
        .map(String::as_str)
        .collect();
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let cache = CacheRoot::from_env();
    let chromium = pyodide_pack_pack::find_chromium().expect("Chromium");
    let driver = pyodide_pack_pack::browser_driver(&cache).expect("puppeteer-core");
    let mut rows = Vec::new();
    let mut byte_ratios = Vec::new();
    for &(name, done_event, until) in PAGES {
        if !only.is_empty() && !only.contains(&name) {
            continue;
        }
        let site = repo.join("corpus/pages").join(name);
        let out = tempfile::tempdir().unwrap();
        eprintln!("pages bench: packing {name}");
        let status = Command::new(env!("CARGO_BIN_EXE_pyodide-pack"))
            .args(["pack", site.join("index.html").to_str().unwrap(), "-o"])
            .arg(out.path())
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "pack {name} failed");
        let original = Server::start(&site, &[]);
        let packed = Server::start(out.path(), &[]);
        let load = |serve: &Server, dir: &Path, network| -> PageRecord {
            let record = run_page(&PageRunRequest {
                site: dir,
                page: "index.html",
                url: Some(&serve.url),
                runtime: None,
                script: None,
                interpreter: None,
                done_event,
                until,
                quiet: Duration::from_secs(3),
                cdn: None,
                network,
                timeout: Duration::from_secs(600),
                chromium: &chromium,
                driver: &driver,
                cache: &cache,
            })
            .unwrap();
            assert!(record.error.is_none(), "{name}: {:?}", record.error);
            record
        };
        for (profile, network) in [("unshaped", None), ("cable", Some(CABLE))] {
            let measure = |serve: &Server, dir: &Path| {
                let records: Vec<PageRecord> =
                    (0..runs).map(|_| load(serve, dir, network)).collect();
                let bytes = median(records.iter().map(|r| wire_bytes(r, &serve.url)).collect());
                let first = median(
                    records
                        .iter()
                        .map(|r| r.timings.first_output_ms.unwrap_or(r.timings.done_ms))
                        .collect(),
                );
                (bytes, first)
            };
            eprintln!("pages bench: {name}, {profile}");
            let (bytes_before, time_before) = measure(&original, &site);
            let (bytes_after, time_after) = measure(&packed, out.path());
            if profile == "unshaped" {
                byte_ratios.push((name, bytes_after / bytes_before));
            }
            rows.push(format!(
                "| {name} | {profile} | {} | {} | {:.2}x | {:.1} s | {:.1} s | {:.2}x |",
                mb(bytes_before),
                mb(bytes_after),
                bytes_after / bytes_before,
                time_before / 1000.0,
                time_after / 1000.0,
                time_after / time_before,
            ));
        }
    }
    println!("\nPages: the original page against the packed page, served by `pyodide-pack serve`, cold cache, median of {runs} run(s)\n");
    println!("| page | profile | bytes on the wire: original | packed | ratio | first output: original | packed | ratio |");
    println!("| --- | --- | --: | --: | --: | --: | --: | --: |");
    for row in &rows {
        println!("{row}");
    }
    if !byte_ratios.is_empty() {
        let sklearn = byte_ratios.iter().find(|(n, _)| *n == "pyscript_sklearn");
        let median_ratio = median(byte_ratios.iter().map(|(_, r)| *r).collect());
        println!(
            "\ngoals: bytes scikit-learn <= {BYTES_GOAL_SKLEARN}x ({}), median of the pages <= {BYTES_GOAL_MEDIAN}x ({median_ratio:.2}x); first output on cable <= {CABLE_TIME_GOAL}x (the cable rows)",
            sklearn
                .map(|(_, r)| format!("{r:.2}x"))
                .unwrap_or_else(|| "not run".into())
        );
    }
}
