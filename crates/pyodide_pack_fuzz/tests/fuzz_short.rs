//! The short fuzz run: every target for about 4 seconds on its seeds and their mutations, with a
//! fixed RNG seed, under the same bounds as the long run (no panic, no input over 2 s, the memory
//! rule). Part of `cargo test --workspace`; the long run is the `fuzz` binary.
//!
//! Each target runs in a `fuzz` process of its own: the memory measure is process-wide, so two
//! targets in one process would count each other's heap, and as processes they run side by side
//! on the test threads. Seeds are capped at 256 KiB so that an iteration stays fast in a debug
//! build. Failing inputs are saved to `target/fuzz-failures/<target>/`.

use std::process::Command;

const SECONDS_PER_TARGET: &str = "4";
const RNG_SEED: u64 = 0x5eed_f022;

fn short_run(name: &str) {
    let output = Command::new(env!("CARGO_BIN_EXE_fuzz"))
        .args(["--target", name, "--seconds", SECONDS_PER_TARGET])
        .args(["--seed", &RNG_SEED.to_string(), "--shrink", "5"])
        .args(["--seed-max-bytes", &(256 << 10).to_string()])
        .args(["--seed-max-files", "150"])
        .output()
        .expect("the fuzz binary runs");
    let text = String::from_utf8_lossy(&output.stdout);
    eprintln!("{text}{}", String::from_utf8_lossy(&output.stderr));
    assert!(
        output.status.success(),
        "{name}: the fuzz run failed ({}):\n{text}",
        output.status
    );
    // `fuzz: NAME (READER): N seeds, ...`, then the summary's row `NAME INPUTS ...`.
    let seeds: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix(&format!("fuzz: {name} (")))
        .and_then(|l| l.split("): ").nth(1))
        .and_then(|l| l.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{name}: no seed count in\n{text}"));
    assert!(seeds > 0, "{name}: no seeds");
    let inputs: u64 = text
        .lines()
        .rev()
        .find_map(|l| {
            let mut fields = l.split_whitespace();
            (fields.next() == Some(name)).then(|| fields.next()?.parse().ok())?
        })
        .unwrap_or_else(|| panic!("{name}: no summary row in\n{text}"));
    assert!(inputs > seeds, "{name}: no mutated input ran");
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
