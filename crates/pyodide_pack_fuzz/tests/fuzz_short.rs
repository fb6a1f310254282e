//! The short fuzz run: every target for about 4 seconds on its seeds and their mutations, with a
//! fixed RNG seed, under the same bounds as the long run (no panic, no input over 2 s, the memory
//! rule). Part of `cargo test --workspace`; the long run is the `fuzz` binary.
//!
//! The targets run one at a time (the memory measure is process-wide), on seeds capped at 256 KiB
//! so that an iteration stays fast in a debug build. Failing inputs are saved to
//! `target/fuzz-failures/<target>/`.

use std::sync::Mutex;
use std::time::Duration;

use pyodide_pack_fuzz::{harness, seeds_for, CountingAlloc, SeedOptions};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// One target at a time.
static SERIAL: Mutex<()> = Mutex::new(());

const SECONDS_PER_TARGET: u64 = 4;
const RNG_SEED: u64 = 0x5eed_f022;

fn short_run(name: &str) {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let target = pyodide_pack_fuzz::target(name).expect("a known target");
    let mut config = harness::Config::new(Duration::from_secs(SECONDS_PER_TARGET));
    config.seed = RNG_SEED;
    config.shrink_budget = Duration::from_secs(5);
    harness::prepare(&config).expect("the fuzz bounds can be set up");
    let options = SeedOptions {
        max_bytes: 256 << 10,
        max_python_files: 150,
        ..SeedOptions::default()
    };
    let seeds = seeds_for(name, &options);
    assert!(!seeds.is_empty(), "{name}: no seeds");
    let report = pyodide_pack_fuzz::fuzz(target, &seeds, &config);
    eprintln!("{}", report.summary());
    let failures: Vec<String> = report
        .found
        .iter()
        .map(|f| {
            format!(
                "{} ({} input(s); first saved to {}{})\n{}",
                f.failure.signature,
                f.count,
                f.saved.display(),
                f.shrunk
                    .as_ref()
                    .map(|(b, p)| format!(", shrunk to {} bytes in {}", b.len(), p.display()))
                    .unwrap_or_default(),
                f.failure.detail
            )
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{name}: {} distinct failure(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        report.inputs > report.seeds as u64,
        "{name}: no mutated input ran"
    );
}

#[test]
fn wheel_zip() {
    short_run("wheel_zip");
}

#[test]
fn wasm_facts() {
    short_run("wasm_facts");
}

#[test]
fn python_facts() {
    short_run("python_facts");
}

#[test]
fn pyproject() {
    short_run("pyproject");
}

#[test]
fn trace_record() {
    short_run("trace_record");
}

#[test]
fn pack_record() {
    short_run("pack_record");
}

/// The crafted seeds really are what they say: the valid ones are accepted by the readers.
#[test]
fn crafted_valid_seeds_are_accepted() {
    use pyodide_pack_fuzz::seeds;
    let facts = pyodide_pack_facts::wasm_facts(&seeds::crafted_side_module()).expect("valid wasm");
    assert_eq!(facts.needed, ["libz.so"]);
    assert!(facts.is_side_module);

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("trace.json");
    std::fs::write(&path, seeds::small_trace()).unwrap();
    pyodide_pack_trace::Trace::read(&path).expect("a valid trace");

    let why =
        pyodide_pack_report::why_from_report(&seeds::small_report(), "report.json", "json", true)
            .expect("a valid report");
    assert!(why.kept);
    assert_eq!(why.chain.len(), 2, "app -> pkg -> json");
}
