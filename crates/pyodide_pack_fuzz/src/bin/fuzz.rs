//! The long fuzz run:
//!
//! ```text
//! cargo run --release -p pyodide_pack_fuzz --bin fuzz -- [--target NAME|all] [--inputs N]
//!     [--seconds S] [--seed X] [--time-limit S] [--hang-limit S] [--shrink S]
//!     [--seed-max-bytes N] [--seed-max-files N] [--extra-seed TARGET=PATH]... [--list]
//! ```
//!
//! Per target it prints the inputs run, the distinct failures, the slowest input, the peak memory
//! and the inputs per second. Failures are written to `target/fuzz-failures/<target>/<hash>.bin`
//! (with `<hash>.txt` beside it saying what failed) and the run exits with 1.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use pyodide_pack_fuzz::{harness, seeds_for, CountingAlloc, SeedOptions, Target, TARGETS};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

const USAGE: &str = "\
usage: fuzz [--target NAME|all] [--inputs N] [--seconds S] [--seed X] [--time-limit S]
            [--hang-limit S] [--shrink S] [--seed-max-bytes N] [--seed-max-files N]
            [--extra-seed TARGET=PATH]... [--list]

  --target NAME|all     one target, or every one in turn (default all)
  --inputs N            at most N inputs per target, seeds included (default 1000000)
  --seconds S           at most S seconds per target (default 250)
  --seed X              the mutation RNG's seed (default 1)
  --time-limit S        an input slower than this fails (default 2)
  --hang-limit S        an input still running after this is a hang: saved, exit 3 (default 30)
  --shrink S            seconds spent shrinking each distinct failure (default 10; 0: none)
  --seed-max-bytes N    skip seed files larger than N bytes (default 524288)
  --seed-max-files N    at most N Python files as seeds, spread over the stdlib and the wheels
                        (default 300)
  --extra-seed T=PATH   one more seed file for target T (a pack report is cut down first)
  --list                list the targets and their seeds, and exit";

struct Args {
    targets: Vec<&'static Target>,
    config: harness::Config,
    seeds: SeedOptions,
    extra: Vec<(String, PathBuf)>,
    list: bool,
}

fn parse() -> Result<Args, String> {
    let mut config = harness::Config::new(Duration::from_secs(250));
    config.max_inputs = 1_000_000;
    config.progress_every = Some(Duration::from_secs(30));
    let mut args = Args {
        targets: TARGETS.iter().collect(),
        config,
        seeds: SeedOptions::default(),
        extra: Vec::new(),
        list: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        let seconds = |text: String, name: &str| -> Result<Duration, String> {
            text.parse::<f64>()
                .ok()
                .filter(|s| s.is_finite() && *s >= 0.0)
                .map(Duration::from_secs_f64)
                .ok_or(format!("{name}: not a number of seconds: {text:?}"))
        };
        match flag.as_str() {
            "--target" => {
                let name = value("--target")?;
                if name != "all" {
                    let target = pyodide_pack_fuzz::target(&name).ok_or(format!(
                        "no target {name:?} (targets: {})",
                        TARGETS
                            .iter()
                            .map(|t| t.name)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))?;
                    args.targets = vec![target];
                }
            }
            "--inputs" => {
                let text = value("--inputs")?;
                args.config.max_inputs = text
                    .replace('_', "")
                    .parse()
                    .map_err(|_| format!("--inputs: not a count: {text:?}"))?;
            }
            "--seconds" => args.config.budget = seconds(value("--seconds")?, "--seconds")?,
            "--seed" => {
                let text = value("--seed")?;
                args.config.seed = text
                    .parse()
                    .map_err(|_| format!("--seed: not a u64: {text:?}"))?;
            }
            "--time-limit" => {
                args.config.time_limit = seconds(value("--time-limit")?, "--time-limit")?
            }
            "--hang-limit" => {
                args.config.hang_limit = seconds(value("--hang-limit")?, "--hang-limit")?
            }
            "--shrink" => args.config.shrink_budget = seconds(value("--shrink")?, "--shrink")?,
            "--seed-max-bytes" => {
                let text = value("--seed-max-bytes")?;
                args.seeds.max_bytes = text
                    .parse()
                    .map_err(|_| format!("--seed-max-bytes: not a size: {text:?}"))?;
            }
            "--seed-max-files" => {
                let text = value("--seed-max-files")?;
                args.seeds.max_python_files = text
                    .parse()
                    .map_err(|_| format!("--seed-max-files: not a count: {text:?}"))?;
            }
            "--extra-seed" => {
                let text = value("--extra-seed")?;
                let (target, path) = text
                    .split_once('=')
                    .ok_or(format!("--extra-seed: TARGET=PATH, not {text:?}"))?;
                pyodide_pack_fuzz::target(target)
                    .ok_or(format!("--extra-seed: no target {target:?}"))?;
                args.extra.push((target.to_string(), PathBuf::from(path)));
            }
            "--list" => args.list = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(args)
}

fn main() -> ExitCode {
    let args = match parse() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("fuzz: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    if let Err(message) = harness::prepare(&args.config) {
        eprintln!("fuzz: {message}");
        return ExitCode::from(2);
    }
    println!(
        "fuzz: seed {}, per target at most {} inputs or {:.0} s; an input fails if it panics, \
         takes more than {:.1} s, or breaks the memory rule: {}",
        args.config.seed,
        args.config.max_inputs,
        args.config.budget.as_secs_f64(),
        args.config.time_limit.as_secs_f64(),
        harness::MEMORY_RULE
    );
    let mut reports = Vec::new();
    for target in &args.targets {
        let mut options = args.seeds.clone();
        options.extra = args
            .extra
            .iter()
            .filter(|(t, _)| t == target.name)
            .map(|(_, p)| p.clone())
            .collect();
        let seeds = seeds_for(target.name, &options);
        if args.list {
            println!("{} ({}): {} seeds", target.name, target.reader, seeds.len());
            for seed in &seeds {
                println!("  {:>8} bytes  {}", seed.bytes.len(), seed.name);
            }
            continue;
        }
        println!(
            "fuzz: {} ({}): {} seeds, largest {} bytes",
            target.name,
            target.reader,
            seeds.len(),
            seeds.iter().map(|s| s.bytes.len()).max().unwrap_or(0)
        );
        let report = pyodide_pack_fuzz::fuzz(target, &seeds, &args.config);
        println!("{}", report.summary());
        reports.push(report);
    }
    if args.list {
        return ExitCode::SUCCESS;
    }
    println!("\nsummary (memory rule: {})", harness::MEMORY_RULE);
    println!(
        "{:<14} {:>10} {:>9} {:>9} {:>12} {:>13}",
        "target", "inputs", "inputs/s", "failures", "slowest ms", "peak MiB"
    );
    for r in &reports {
        println!(
            "{:<14} {:>10} {:>9.0} {:>9} {:>12.1} {:>13.1}",
            r.target,
            r.inputs,
            r.inputs_per_second(),
            r.found.len(),
            r.slowest.0.as_secs_f64() * 1e3,
            r.peak_memory.0 as f64 / (1 << 20) as f64
        );
    }
    let failures: Vec<_> = reports
        .iter()
        .flat_map(|r| r.found.iter().map(move |f| (r.target, f)))
        .collect();
    if failures.is_empty() {
        return ExitCode::SUCCESS;
    }
    println!("\nfailures:");
    for (target, found) in failures {
        println!(
            "{target}: {} ({} input(s)); first input: {} ({} bytes){}\n{}",
            found.failure.signature,
            found.count,
            found.saved.display(),
            found.input.len(),
            found
                .shrunk
                .as_ref()
                .map(|(b, p)| format!("; shrunk: {} ({} bytes)", p.display(), b.len()))
                .unwrap_or_default(),
            found.failure.detail
        );
    }
    ExitCode::from(1)
}
