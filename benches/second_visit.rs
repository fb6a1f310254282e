//! `cargo bench --bench second_visit`: what a second visit costs. Each app is packed with the
//! release CLI (`--runtime-files copy`: the site holds everything), served by `pyodide-pack
//! serve` (with the `_headers` rules `pack` writes: content-named files cached for ever, the page
//! revalidated) and opened twice in one headless Chromium profile with its cache on
//! (harness/visits.mjs): the first visit, then the same page in a new tab. Unshaped and on
//! "cable" (20 Mbit/s down, 5 up, 20 ms), a fresh profile per run. Prints the medians of the
//! time from navigation to the app's first output line, the second visit's requests (to the
//! network, and from the cache), and the goal: the second visit on cable within 15% of the first
//! visit unshaped (no network cost left).
//!
//! `-- --runs=N` (default 3). Needs `corpus/fetch.sh` (the pydantic wheels, the real 0.27.7
//! distribution for scikit-learn) and Chromium.

#[path = "support/serve.rs"]
mod serve;

use serve::Server;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use pyodide_pack_env::CacheRoot;
use serde_json::{json, Value};

/// The apps: the name shown, the entry script, and the runtime (None: the pinned one).
const APPS: &[(&str, &str, bool)] = &[
    ("pydantic_model", "corpus/pydantic_model/app.py", false),
    ("sklearn_ridge", "corpus/science/sklearn_ridge/app.py", true),
];

/// A link: bytes/s down and up, latency in ms.
type Shaping = (u64, u64, u64);

/// (name, shaping).
const PROFILES: &[(&str, Option<Shaping>)] = &[
    ("unshaped", None),
    ("cable", Some((20_000_000 / 8, 5_000_000 / 8, 20))),
];

const GOAL: f64 = 1.15;

/// The page `pack` writes has printed something.
const FIRST_OUTPUT: &str = "(document.getElementById('output')?.textContent ?? '').length > 0 \
    || document.body.dataset.state === 'failed'";

/// One Chromium profile, driven a command at a time.
struct Visits {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    _dir: tempfile::TempDir,
}

impl Visits {
    fn start(repo: &Path, cache: &CacheRoot, network: Option<Shaping>) -> Visits {
        let dir = tempfile::tempdir().unwrap();
        let spec = json!({
            "chromium": pyodide_pack_pack::find_chromium().expect("Chromium"),
            "driver": pyodide_pack_pack::browser_driver(cache).expect("puppeteer-core"),
            "timeout_ms": 180_000,
            "network": network.map(|(down, up, latency)| json!({
                "download_bps": down, "upload_bps": up, "latency_ms": latency,
            })),
        });
        let spec_path = dir.path().join("spec.json");
        std::fs::write(&spec_path, spec.to_string()).unwrap();
        let mut child = Command::new("node")
            .arg(repo.join("harness/visits.mjs"))
            .arg(&spec_path)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("node runs");
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Visits {
            child,
            stdin,
            stdout,
            _dir: dir,
        }
    }

    fn open(&mut self, tab: u32, url: &str) -> Value {
        let command = json!({"cmd": "open", "tab": tab, "url": url, "until": {"js": FIRST_OUTPUT}});
        writeln!(self.stdin, "{command}").unwrap();
        self.stdin.flush().unwrap();
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        let answer: Value = serde_json::from_str(&line).expect("visits.mjs answers a JSON line");
        assert_eq!(answer["ok"], true, "{answer}");
        assert!(
            !answer["text"].as_str().unwrap_or("").contains("Failed"),
            "{answer}"
        );
        answer
    }
}

impl Drop for Visits {
    fn drop(&mut self) {
        let _ = writeln!(self.stdin, "{{\"cmd\":\"quit\"}}");
        let _ = self.stdin.flush();
        let _ = self.child.wait();
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// (to the network, from the cache) among an answer's requests.
fn counts(answer: &Value) -> (usize, usize) {
    let list = answer["requests"].as_array().cloned().unwrap_or_default();
    let from = |kind: &str| list.iter().filter(|r| r["from"] == kind).count();
    (from("network"), from("cache"))
}

fn main() {
    let runs: usize = std::env::args()
        .find_map(|a| a.strip_prefix("--runs=").map(|n| n.parse().unwrap()))
        .unwrap_or(3);
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let cache = CacheRoot::from_env();
    let distribution = cache.root().join("distributions/pyodide-0.27.7");
    let work = tempfile::tempdir().unwrap();
    println!("second visits, medians of {runs} (one fresh Chromium profile per run)\n");
    println!(
        "| app | profile | first visit | second visit | second / first | second visit: to the network, from the cache |"
    );
    println!("| --- | --- | --: | --: | --: | --- |");
    let mut goals = Vec::new();
    for (name, entry, science) in APPS {
        let out = work.path().join(name);
        let mut pack = Command::new(env!("CARGO_BIN_EXE_pyodide-pack"));
        pack.arg("pack").arg(repo.join(entry));
        let wheels = cache.root().join("corpus").join(name).join("wheels");
        if wheels.is_dir() {
            pack.arg("--wheels").arg(&wheels);
        }
        if *science {
            assert!(
                distribution.join(".complete").is_file(),
                "run corpus/fetch.sh first"
            );
            pack.arg("--runtime").arg(&distribution);
        }
        let output = pack
            .arg("-o")
            .arg(&out)
            .args(["--runtime-files", "copy", "--no-validate", "--no-html"])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "pack {name}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let served = Server::start(&out, &[]);
        let mut first_unshaped = None;
        for (profile, network) in PROFILES {
            let (mut first, mut second, mut network_counts) = (Vec::new(), Vec::new(), Vec::new());
            for _ in 0..runs {
                let mut visits = Visits::start(&repo, &cache, *network);
                first.push(visits.open(0, &served.url)["ms"].as_f64().unwrap());
                let again = visits.open(1, &served.url);
                second.push(again["ms"].as_f64().unwrap());
                network_counts.push(counts(&again));
            }
            let (first, second) = (median(first), median(second));
            let (to_network, from_cache) = network_counts[network_counts.len() / 2];
            println!(
                "| {name} | {profile} | {:.2} s | {:.2} s | {:.2}x | {to_network}, {from_cache} |",
                first / 1000.0,
                second / 1000.0,
                second / first
            );
            if *profile == "unshaped" {
                first_unshaped = Some(first);
            } else if let Some(base) = first_unshaped {
                goals.push((name.to_string(), second / base));
            }
        }
    }
    println!(
        "\nGoal: the second visit on cable within {:.0}% of the first visit unshaped:",
        (GOAL - 1.0) * 100.0
    );
    for (name, ratio) in goals {
        let verdict = if ratio <= GOAL { "met" } else { "missed" };
        println!("- {name}: {ratio:.2}x ({verdict})");
    }
}
