//! `cargo bench --bench trace`: the cost of tracing. For each app, alternately, a plain run under
//! Pyodide in Node (benches/plain_run.mjs: load, install the wheels, run; nothing recorded) and a
//! traced run (the harness pyodide-pack carries), in one process so both see the same machine.
//! Prints medians, the difference and the ratio. Needs `corpus/fetch.sh` to have run.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use pyodide_pack_env::{
    cached_runtime_dir, wheels_in, CacheRoot, Environment, EnvironmentRequest,
    PINNED_PYODIDE_VERSION,
};
use pyodide_pack_trace::{run_traces, TraceRequest};

const APPS: &[&str] = &["pydantic_model", "sympy_solve"];
const RUNS: usize = 5;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn main() {
    let cache = CacheRoot::from_env();
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let runtime = cached_runtime_dir(&cache, PINNED_PYODIDE_VERSION);
    assert!(runtime.is_dir(), "run corpus/fetch.sh first");
    println!("trace vs plain run under Pyodide in Node, median of {RUNS} alternating runs");
    for app in APPS {
        let wheels = cache.root().join("corpus").join(app).join("wheels");
        let entry = repo.join("corpus").join(app).join("app.py");
        let env = Environment::load(
            &EnvironmentRequest {
                entry: entry.clone(),
                wheels_dir: Some(wheels.clone()),
                requirements: None,
                runtime_dir: Some(runtime.clone()),
                pyodide_version: None,
                index_url: None,
                provided_modules: Vec::new(),
            },
            &cache,
        )
        .unwrap();
        let request = TraceRequest {
            env: &env,
            inputs: Vec::new(),
            timeout: Duration::from_secs(300),
            cache: &cache,
            jobs: 1,
        };
        let (mut plain, mut traced) = (Vec::new(), Vec::new());
        for _ in 0..RUNS {
            let start = Instant::now();
            let status = Command::new("node")
                .arg(repo.join("benches").join("plain_run.mjs"))
                .arg(&runtime)
                .arg(&entry)
                .args(wheels_in(&wheels).unwrap())
                .status()
                .unwrap();
            assert!(status.success(), "{app}: the plain run failed");
            plain.push(start.elapsed());

            let start = Instant::now();
            run_traces(&request, &()).unwrap();
            traced.push(start.elapsed());
        }
        let (p, t) = (median(plain), median(traced));
        println!(
            "{app:>16}: plain {:.2} s, traced {:.2} s: +{:.2} s, ratio {:.2}",
            p.as_secs_f64(),
            t.as_secs_f64(),
            t.as_secs_f64() - p.as_secs_f64(),
            t.as_secs_f64() / p.as_secs_f64()
        );
    }
}
