//! `cargo bench --bench analyze`: times `analyze --wheels` on the largest corpus app (sympy +
//! mpmath + the stdlib), cold (empty facts cache) and warm, and the naive floor of parsing every
//! Python file of the environment. Needs `corpus/fetch.sh` to have run.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use pyodide_pack_env::{
    cached_runtime_dir, CacheRoot, Environment, EnvironmentRequest, FileKind,
    PINNED_PYODIDE_VERSION,
};
use pyodide_pack_facts::python_facts;
use pyodide_pack_report::AnalyzeRecord;
use rayon::prelude::*;

const APP: &str = "sympy_solve";
const RUNS: usize = 7;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn main() {
    let cache = CacheRoot::from_env();
    let runtime = cached_runtime_dir(&cache, PINNED_PYODIDE_VERSION);
    let wheels = cache.root().join("corpus").join(APP).join("wheels");
    assert!(
        wheels.is_dir() && runtime.is_dir(),
        "run corpus/fetch.sh first"
    );
    let request = EnvironmentRequest {
        entry: PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("corpus")
            .join(APP)
            .join("app.py"),
        wheels_dir: Some(wheels),
        requirements: None,
        runtime_dir: Some(runtime),
        pyodide_version: None,
        index_url: None,
        provided_modules: Vec::new(),
    };

    let analyze_once = |facts_dir: &std::path::Path| {
        let start = Instant::now();
        let env = Environment::load(&request, &cache).unwrap();
        let mut store = pyodide_pack_graph::facts_store_for(&env, Some(facts_dir.to_path_buf()));
        let analysis = pyodide_pack_graph::analyze(&env, &mut store).unwrap();
        store.save().unwrap();
        let record = AnalyzeRecord::new(&env, &analysis, 0.0);
        let elapsed = start.elapsed();
        (
            elapsed,
            record.stats.files_expanded,
            record.stats.files_parsed,
            analysis.kept.len(),
        )
    };

    let mut cold = Vec::new();
    let mut expanded = 0;
    let mut kept = 0;
    for _ in 0..RUNS {
        let dir = tempfile::tempdir().unwrap();
        let (t, e, _, k) = analyze_once(dir.path());
        cold.push(t);
        expanded = e;
        kept = k;
    }
    let warm_dir = tempfile::tempdir().unwrap();
    analyze_once(warm_dir.path());
    let mut warm = Vec::new();
    let mut warm_parsed = 0;
    for _ in 0..RUNS {
        let (t, _, p, _) = analyze_once(warm_dir.path());
        warm.push(t);
        warm_parsed = p;
    }

    // The naive floor: parse every .py of the environment (no graph), in parallel.
    let env = Environment::load(&request, &cache).unwrap();
    let all_py: Vec<_> = env
        .files()
        .filter(|f| env.entry(*f).kind == FileKind::Python)
        .collect();
    let sources: Vec<String> = all_py
        .iter()
        .map(|f| String::from_utf8_lossy(&env.read(*f).unwrap()).into_owned())
        .collect();
    let mut floor = Vec::new();
    for _ in 0..3 {
        let start = Instant::now();
        let n: usize = sources
            .par_iter()
            .map(|s| {
                python_facts(s, pyodide_pack_facts::PythonVersion::PY314)
                    .imports
                    .len()
            })
            .sum();
        std::hint::black_box(n);
        floor.push(start.elapsed());
    }

    let (cold, warm, floor) = (median(cold), median(warm), median(floor));
    let rate = |n: usize, d: Duration| n as f64 / d.as_secs_f64();
    println!(
        "analyze --wheels on corpus/{APP} ({} threads), median of {RUNS} runs:",
        rayon::current_num_threads()
    );
    println!(
        "  environment: {} Python files; {expanded} reached from the roots; {kept} files kept",
        all_py.len()
    );
    println!(
        "  cold (empty facts cache): {:>7.1} ms  ({:.0} reached files/s, goal < 500 ms)",
        cold.as_secs_f64() * 1e3,
        rate(expanded, cold)
    );
    println!(
        "  warm (facts cached):      {:>7.1} ms  ({:.0} reached files/s, {warm_parsed} parsed, goal < 100 ms)",
        warm.as_secs_f64() * 1e3,
        rate(expanded, warm)
    );
    println!(
        "  floor, parse all {} .py:  {:>7.1} ms  ({:.0} files/s)",
        all_py.len(),
        floor.as_secs_f64() * 1e3,
        rate(all_py.len(), floor)
    );
    println!(
        "  cold / parse-all ratio: {:.2}",
        cold.as_secs_f64() / floor.as_secs_f64()
    );
}
