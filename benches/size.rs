//! `cargo bench --bench size`: the size-regression bench. Every corpus app is measured with
//! `pyodide-pack size` (what `pack` would ship) and compared with the committed
//! `benches/baseline.json`: a size that grew more than the baseline's tolerance (1%) fails the
//! bench with the message a user's budget gives. Prints per app: `bundle.zip` and the pruned
//! `python_stdlib.zip` (raw / gzip / brotli), eager files and `.so` count, the lazy tier, the
//! floor (the files the traced run touched) and the ratio eager / floor.
//!
//! `cargo bench --bench size -- --save-baseline` rewrites the baseline (after a change that
//! makes bundles smaller, or one whose growth is intended); `-- APP...` measures only those apps;
//! `-- --pyodide=0.27.7` measures on another supported release, against its own baseline
//! (`benches/baseline-pyodide-0.27.7.json`), leaving out the apps whose wheels are built for
//! another release's ABI. Needs `corpus/fetch.sh` to have run.

#[path = "support/size_regression.rs"]
mod size_regression;

use std::path::{Path, PathBuf};

use pyodide_pack_env::{CacheRoot, Runtime, PINNED_PYODIDE_VERSION};
use size_regression::{corpus_apps, measure, read_baseline, sizes_of, write_baseline};

fn kb(bytes: u64) -> String {
    format!("{:.1}", bytes as f64 / 1000.0)
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let save = args.iter().any(|a| a == "--save-baseline");
    let only: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let pyodide = args.iter().find_map(|a| a.strip_prefix("--pyodide="));
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let cache = CacheRoot::from_env();
    let version = pyodide.unwrap_or(PINNED_PYODIDE_VERSION);
    let runtime = Runtime::from_npm(version, &cache).unwrap_or_else(|e| panic!("{e}"));
    let baseline_path = match pyodide {
        Some(v) if v != PINNED_PYODIDE_VERSION => repo
            .join("benches")
            .join(format!("baseline-pyodide-{v}.json")),
        _ => repo.join("benches").join("baseline.json"),
    };
    let (tolerance, mut baselines) = read_baseline(&baseline_path);
    let bin = Path::new(env!("CARGO_BIN_EXE_pyodide-pack"));
    println!("Pyodide {version} (Python {})\n", runtime.python);

    println!(
        "| app | bundle.zip kB (raw / gzip / br) | python_stdlib.zip kB (raw / gzip / br) | eager files | .so | lazy files / kB br | floor kB br | eager / floor (br) | vs baseline |"
    );
    println!("| --- | --- | --- | --: | --: | --- | --: | --: | --- |");
    let mut failures = Vec::new();
    for mut app in corpus_apps(&repo, cache.root()) {
        if !only.is_empty() && !only.iter().any(|o| **o == app.name) {
            continue;
        }
        // A wheel of another ABI cannot run here (the tool refuses it): not this release's app.
        let foreign = std::fs::read_dir(&app.wheels)
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with("_wasm32.whl"))
            .any(|n| {
                !runtime
                    .wheel_platforms
                    .iter()
                    .any(|p| n.ends_with(&format!("{p}.whl")))
            });
        if foreign {
            continue;
        }
        app.pyodide = pyodide.map(String::from);
        let previous = if save { None } else { baselines.get(&app.name) };
        let measured = measure(bin, &app, previous, tolerance);
        let record = &measured.record;
        let (b_raw, b_gz, b_br) = sizes_of(record, "bundle.zip");
        let (s_raw, s_gz, s_br) = sizes_of(record, "python_stdlib.zip");
        let (_, _, eager_br) = sizes_of(record, "eager");
        let (_, _, lazy_br) = sizes_of(record, "lazy");
        let counts = &record["counts"];
        let floor = counts["floor"]["brotli"].as_u64();
        let verdict = match (previous, measured.ok) {
            (None, _) => "new".to_string(),
            (Some(_), true) => "ok".to_string(),
            (Some(_), false) => format!("FAIL ({})", measured.breaches.len()),
        };
        println!(
            "| {} | {} / {} / {} | {} / {} / {} | {} | {} | {} / {} | {} | {} | {verdict} |",
            app.name,
            kb(b_raw),
            kb(b_gz),
            kb(b_br),
            kb(s_raw),
            kb(s_gz),
            kb(s_br),
            counts["eager_files"],
            counts["eager_extensions"],
            counts["lazy_files"],
            kb(lazy_br),
            floor.map(kb).unwrap_or_else(|| "-".into()),
            floor
                .map(|f| format!("{:.2}x", eager_br as f64 / f.max(1) as f64))
                .unwrap_or_else(|| "-".into()),
        );
        failures.extend(measured.breaches.iter().cloned());
        if save || previous.is_none() {
            baselines.insert(app.name.clone(), measured.baseline);
        }
    }
    if save {
        write_baseline(&baseline_path, tolerance, &baselines);
        println!("\nbaseline written: {}", baseline_path.display());
        return;
    }
    if !failures.is_empty() {
        for failure in &failures {
            eprintln!("error: {failure}");
        }
        eprintln!(
            "error: size regression: {} size(s) grew more than {tolerance}% over benches/baseline.json (cargo bench --bench size -- --save-baseline accepts them)",
            failures.len()
        );
        std::process::exit(1);
    }
    println!("\nno size grew more than {tolerance}% over benches/baseline.json");
}
