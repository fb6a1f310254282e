//! The run loop: seeds first as they are, then mutated inputs (mutatis' `Vec<u8>` mutators on a
//! random window of a random seed, stacked 1 to 8 times), each run under its bounds. A failing
//! input is saved, shrunk with `mutatis::check::Check`, and reported once per distinct failure.

use std::backtrace::Backtrace;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use mutatis::{mutators as m, Context, Session};

use crate::seeds::Seed;
use crate::targets::Target;
use crate::{alloc, crash};

const MIB: usize = 1 << 20;

/// The memory rule, as printed: one input may raise the live heap by at most
/// `64 MiB + 64 x its size` above what was live before it.
pub const MEMORY_RULE: &str = "the live heap may grow by at most 64 MiB + 64 x the input's size \
     during one input (above the live heap before it); an allocation past 8 GiB above it is \
     refused (the process aborts and the input is saved)";

/// What one input may add to the live heap.
pub fn memory_limit(input_len: usize) -> usize {
    (64 * MIB).saturating_add(input_len.saturating_mul(64))
}

/// Past this above the baseline an allocation is refused.
pub const HARD_MEMORY: usize = 8 << 30;

/// The bounds and budget of a run.
#[derive(Debug, Clone)]
pub struct Config {
    /// The mutation RNG's seed: the same seed and seeds give the same inputs.
    pub seed: u64,
    /// Stop after this many inputs (seeds included)...
    pub max_inputs: u64,
    /// ...or after this long, whichever comes first.
    pub budget: Duration,
    /// An input that takes longer has failed.
    pub time_limit: Duration,
    /// An input still running after this long is a hang: saved, and the process exits.
    pub hang_limit: Duration,
    /// Time spent shrinking each distinct failure (zero: none).
    pub shrink_budget: Duration,
    /// Failures go to `<failures_root>/<target>/<hash>.bin`.
    pub failures_root: PathBuf,
    /// Print a progress line every this often (none if `None`).
    pub progress_every: Option<Duration>,
}

impl Config {
    pub fn new(budget: Duration) -> Config {
        Config {
            seed: 1,
            max_inputs: u64::MAX,
            budget,
            time_limit: Duration::from_secs(2),
            hang_limit: Duration::from_secs(30),
            shrink_budget: Duration::from_secs(10),
            failures_root: default_failures_root(),
            progress_every: None,
        }
    }
}

/// `target/fuzz-failures` of this workspace (or of `$CARGO_TARGET_DIR`).
pub fn default_failures_root() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            // crates/pyodide_pack_fuzz -> the workspace root.
            let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
            manifest
                .ancestors()
                .nth(2)
                .unwrap_or(manifest)
                .join("target")
        });
    target.join("fuzz-failures")
}

/// What was wrong with an input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Panic,
    Memory,
    Slow,
}

/// One failing input, classified.
#[derive(Debug, Clone)]
pub struct Failure {
    pub kind: Kind,
    /// What makes two failures the same: the panic's location, the frame that went over the
    /// memory budget, or "slow".
    pub signature: String,
    /// The message and the top frames.
    pub detail: String,
}

/// One input's run.
#[derive(Debug, Clone)]
pub struct Measured {
    pub failure: Option<Failure>,
    pub elapsed: Duration,
    /// Peak of the live heap above the baseline.
    pub peak: usize,
}

/// A distinct failure of a run, with the first input that showed it.
#[derive(Debug, Clone)]
pub struct Found {
    pub failure: Failure,
    pub input: Vec<u8>,
    pub saved: PathBuf,
    pub shrunk: Option<(Vec<u8>, PathBuf)>,
    /// How many inputs failed this way.
    pub count: u64,
}

/// What a run of one target did.
#[derive(Debug, Clone)]
pub struct Report {
    pub target: &'static str,
    pub seeds: usize,
    pub inputs: u64,
    pub elapsed: Duration,
    /// The slowest input: how long, how many bytes.
    pub slowest: (Duration, usize),
    /// The largest peak of the live heap over an input's baseline, and that input's size.
    pub peak_memory: (usize, usize),
    pub found: Vec<Found>,
    pub failed_inputs: u64,
}

impl Report {
    pub fn inputs_per_second(&self) -> f64 {
        self.inputs as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// One line of figures.
    pub fn summary(&self) -> String {
        format!(
            "{}: {} inputs ({} seeds) in {:.1} s = {:.0} inputs/s; {} distinct failure(s) in {} \
             input(s); slowest input {:.1} ms ({} bytes); peak memory {:.1} MiB above baseline \
             ({} bytes in)",
            self.target,
            self.inputs,
            self.seeds,
            self.elapsed.as_secs_f64(),
            self.inputs_per_second(),
            self.found.len(),
            self.failed_inputs,
            self.slowest.0.as_secs_f64() * 1e3,
            self.slowest.1,
            self.peak_memory.0 as f64 / MIB as f64,
            self.peak_memory.1,
        )
    }
}

// ---------------------------------------------------------------------------------------------
// One input

struct PanicRecord {
    message: String,
    location: String,
    backtrace: Backtrace,
}

static CAPTURING: AtomicBool = AtomicBool::new(false);
static PANIC: Mutex<Option<PanicRecord>> = Mutex::new(None);

/// A panic hook that, while an input runs, keeps the first panic's message, location and
/// backtrace instead of printing them; otherwise it defers to the hook it replaced.
fn install_panic_hook() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !CAPTURING.load(SeqCst) {
                return previous(info);
            }
            alloc::quietly(|| {
                let payload = info.payload();
                let message = payload
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "(a non-string panic payload)".into());
                let location = info
                    .location()
                    .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()))
                    .unwrap_or_else(|| "(unknown location)".into());
                let mut slot = PANIC.lock().unwrap_or_else(|e| e.into_inner());
                if slot.is_none() {
                    *slot = Some(PanicRecord {
                        message,
                        location,
                        backtrace: Backtrace::force_capture(),
                    });
                }
            });
        }));
    });
}

/// Makes ready to run inputs: the panic hook, the abort handler, the watchdog. Fails if the
/// counting allocator is not the global one.
pub fn prepare(config: &Config) -> Result<(), String> {
    if !alloc::installed() {
        return Err("the counting allocator is not installed: add \
             `#[global_allocator] static A: pyodide_pack_fuzz::CountingAlloc = \
             pyodide_pack_fuzz::CountingAlloc;`"
            .into());
    }
    install_panic_hook();
    crash::install(config.hang_limit);
    Ok(())
}

/// Runs one input through `target` under the bounds of `config`. `dir` (the target's failures
/// folder, which must exist) is where the abort handler would save it.
pub fn run_one(target: &Target, input: &Arc<[u8]>, config: &Config, dir: &Path) -> Measured {
    crash::enter(input, dir);
    let limit = memory_limit(input.len());
    *PANIC.lock().unwrap_or_else(|e| e.into_inner()) = None;
    CAPTURING.store(true, SeqCst);
    let baseline = alloc::begin(limit, HARD_MEMORY);
    let start = Instant::now();
    let result = panic::catch_unwind(AssertUnwindSafe(|| (target.run)(input)));
    let elapsed = start.elapsed();
    let (peak, crossed_at) = alloc::end(baseline);
    CAPTURING.store(false, SeqCst);
    crash::leave();
    let failure = if result.is_err() {
        let record = PANIC.lock().unwrap_or_else(|e| e.into_inner()).take();
        Some(match record {
            Some(r) => Failure {
                kind: Kind::Panic,
                signature: format!("panic at {}", r.location),
                detail: format!(
                    "panicked at {}: {}\n{}",
                    r.location,
                    r.message,
                    top_frames(&r.backtrace, 8)
                ),
            },
            None => Failure {
                kind: Kind::Panic,
                signature: "panic (no hook record)".into(),
                detail: "unwound without a panic the hook saw".into(),
            },
        })
    } else if peak > limit {
        let frames = crossed_at
            .as_ref()
            .map(|b| top_frames(b, 8))
            .unwrap_or_default();
        let first = frames.lines().next().unwrap_or("(unknown frame)").trim();
        Some(Failure {
            kind: Kind::Memory,
            signature: format!("memory at {first}"),
            detail: format!(
                "the live heap grew by {:.1} MiB during an input of {} bytes (limit {:.1} MiB: {}); \
                 first over the limit at:\n{frames}",
                peak as f64 / MIB as f64,
                input.len(),
                limit as f64 / MIB as f64,
                MEMORY_RULE
            ),
        })
    } else if elapsed > config.time_limit {
        Some(Failure {
            kind: Kind::Slow,
            signature: "slow".into(),
            detail: format!(
                "one input of {} bytes took {:.2} s (limit {:.2} s)",
                input.len(),
                elapsed.as_secs_f64(),
                config.time_limit.as_secs_f64()
            ),
        })
    } else {
        None
    };
    Measured {
        failure,
        elapsed,
        peak,
    }
}

/// The top `n` frames of a backtrace that are not the runtime's, the panic machinery's, the
/// allocator's or this harness's: `symbol (file:line)`, one a line.
pub fn top_frames(backtrace: &Backtrace, n: usize) -> String {
    let text = backtrace.to_string();
    let mut frames: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if let Some(at) = trimmed.strip_prefix("at ") {
            if let Some(last) = frames.last_mut() {
                if last.1.is_empty() {
                    last.1 = at.to_string();
                }
            }
        } else if let Some((index, symbol)) = trimmed.split_once(": ") {
            if index.chars().all(|c| c.is_ascii_digit()) {
                frames.push((symbol.to_string(), String::new()));
            }
        }
    }
    // Runtime, panic machinery, allocator and harness frames, by symbol (debug builds name them
    // in full) or by source file (release builds name inlined frames by their last segment).
    const SKIP_SYMBOLS: &[&str] = &[
        "std::",
        "core::",
        "alloc::",
        "<std::",
        "<core::",
        "<alloc::",
        "rust_begin_unwind",
        "__rust",
        "rust_panic",
        "pyodide_pack_fuzz::",
        "<pyodide_pack_fuzz::",
        "__libc",
        "__GI",
        "_start",
        "clone",
        "start_thread",
        "rayon",
        "<rayon",
        "mutatis",
        "test::",
        "<unknown>",
    ];
    const SKIP_FILES: &[&str] = &[
        "/rustc/",
        "library/std/",
        "library/core/",
        "library/alloc/",
        "pyodide_pack_fuzz/src/",
        "/rayon-",
        "/mutatis-",
    ];
    let kept: Vec<String> = frames
        .into_iter()
        .filter(|(symbol, at)| {
            !SKIP_SYMBOLS.iter().any(|s| symbol.starts_with(s))
                && !SKIP_FILES.iter().any(|f| at.contains(f))
        })
        .take(n)
        .map(|(symbol, at)| {
            if at.is_empty() {
                format!("    {symbol}")
            } else {
                format!("    {symbol} ({at})")
            }
        })
        .collect();
    if kept.is_empty() {
        "    (no frames outside the runtime)".into()
    } else {
        kept.join("\n")
    }
}

// ---------------------------------------------------------------------------------------------
// The loop

/// Runs `target` on `seeds` and on mutations of them until `config`'s budget is spent, on a
/// thread with an 8 MiB stack (a main thread's, where the tool runs its readers).
pub fn fuzz(target: &'static Target, seeds: &[Seed], config: &Config) -> Report {
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name(format!("fuzz-{}", target.name))
            .stack_size(8 << 20)
            .spawn_scoped(scope, || fuzz_here(target, seeds, config))
            .expect("a fuzzing thread")
            .join()
            .expect("the fuzzing loop itself does not panic")
    })
}

fn fuzz_here(target: &'static Target, seeds: &[Seed], config: &Config) -> Report {
    let dir = config.failures_root.join(target.name);
    std::fs::create_dir_all(&dir).expect("the failures folder");
    let start = Instant::now();
    let mut report = Report {
        target: target.name,
        seeds: seeds.len(),
        inputs: 0,
        elapsed: Duration::ZERO,
        slowest: (Duration::ZERO, 0),
        peak_memory: (0, 0),
        found: Vec::new(),
        failed_inputs: 0,
    };
    let mut session = Session::new().seed(config.seed);
    let mut bytes = m::vec(m::u8());
    let mut truncate = m::from_fn(|ctx: &mut Context, v: &mut Vec<u8>| {
        let keep = ctx.rng().gen_index(v.len() + 1).unwrap_or(0);
        v.truncate(keep);
        Ok(())
    });
    let mut last_progress = Instant::now();
    let mut next_seed = 0usize;
    while report.inputs < config.max_inputs && start.elapsed() < config.budget {
        let input: Vec<u8> = if next_seed < seeds.len() {
            next_seed += 1;
            seeds[next_seed - 1].bytes.clone()
        } else if seeds.is_empty() {
            let mut v = Vec::new();
            let _ = session.mutate_with(&mut bytes, &mut v);
            v
        } else {
            let pick = random(&mut session) as usize % seeds.len();
            mutate(&mut session, &mut bytes, &mut truncate, &seeds[pick].bytes)
        };
        let input: Arc<[u8]> = input.into();
        let measured = run_one(target, &input, config, &dir);
        report.inputs += 1;
        if measured.elapsed > report.slowest.0 {
            report.slowest = (measured.elapsed, input.len());
        }
        if measured.peak > report.peak_memory.0 {
            report.peak_memory = (measured.peak, input.len());
        }
        if let Some(failure) = measured.failure {
            report.failed_inputs += 1;
            record(target, &input, failure, config, &dir, &mut report);
        }
        if let Some(every) = config.progress_every {
            if last_progress.elapsed() >= every {
                last_progress = Instant::now();
                report.elapsed = start.elapsed();
                eprintln!("fuzz: ... {}", report.summary());
            }
        }
    }
    report.elapsed = start.elapsed();
    report
}

fn random(session: &mut Session) -> u64 {
    session.generate::<u64>().unwrap_or(0)
}

/// A mutated copy of `seed`: 1, 2, 4 or 8 mutations, each either mutatis' byte-vector mutator
/// (replace, insert, remove or swap bytes) on a window of 1 to 4096 bytes at a random offset,
/// or, one time in sixteen, a cut at a random length.
fn mutate(
    session: &mut Session,
    bytes: &mut impl mutatis::Mutate<Vec<u8>>,
    truncate: &mut impl mutatis::Mutate<Vec<u8>>,
    seed: &[u8],
) -> Vec<u8> {
    let mut input = seed.to_vec();
    let steps = 1usize << (random(session) % 4);
    for _ in 0..steps {
        let r = random(session);
        if r.is_multiple_of(16) {
            let _ = session.mutate_with(truncate, &mut input);
            continue;
        }
        // The window keeps a mutation's cost independent of the input's size, and makes
        // inserting and removing bytes as likely as replacing them in small windows.
        let width = 1usize << ((r >> 8) % 13);
        let start = ((r >> 16) as usize) % (input.len() + 1);
        let end = (start + width).min(input.len());
        let mut window = input[start..end].to_vec();
        let _ = session.mutate_with(bytes, &mut window);
        input.splice(start..end, window);
    }
    input
}

/// Counts a failure; the first of its kind is saved, shrunk and printed.
fn record(
    target: &'static Target,
    input: &Arc<[u8]>,
    failure: Failure,
    config: &Config,
    dir: &Path,
    report: &mut Report,
) {
    if let Some(found) = report
        .found
        .iter_mut()
        .find(|f| f.failure.signature == failure.signature)
    {
        found.count += 1;
        return;
    }
    let saved = save(dir, input, &failure);
    eprintln!(
        "fuzz: {}: FAILURE ({:?}) on an input of {} bytes, saved to {}\n  {}\n{}",
        target.name,
        failure.kind,
        input.len(),
        saved.display(),
        failure.signature,
        failure.detail
    );
    let shrunk = if failure.kind != Kind::Slow && !config.shrink_budget.is_zero() {
        shrink(target, input, &failure.signature, config, dir).map(|small| {
            let path = save(dir, &small, &failure);
            eprintln!(
                "fuzz: {}: shrunk to {} bytes, saved to {}",
                target.name,
                small.len(),
                path.display()
            );
            (small, path)
        })
    } else {
        None
    };
    report.found.push(Found {
        failure,
        input: input.to_vec(),
        saved,
        shrunk,
        count: 1,
    });
}

/// Writes `<hash>.bin` and, beside it, `<hash>.txt` with what failed.
fn save(dir: &Path, input: &[u8], failure: &Failure) -> PathBuf {
    let path = crash::saved_path(dir, input);
    let write = std::fs::write(&path, input).and_then(|()| {
        std::fs::write(
            path.with_extension("txt"),
            format!("{}\n{}\n", failure.signature, failure.detail),
        )
    });
    if let Err(e) = write {
        eprintln!("fuzz: could not save {}: {e}", path.display());
    }
    path
}

/// The smallest input mutatis' shrinking finds within the budget that fails the same way, if it
/// found a smaller one.
fn shrink(
    target: &'static Target,
    input: &[u8],
    signature: &str,
    config: &Config,
    dir: &Path,
) -> Option<Vec<u8>> {
    let mut check = mutatis::check::Check::new();
    check
        .seed(config.seed)
        .max_shrink_iters(usize::MAX)
        .max_shrink_duration(config.shrink_budget);
    let result = check.run_with(m::vec(m::u8()), [input.to_vec()], |candidate: &Vec<u8>| {
        let candidate: Arc<[u8]> = candidate.as_slice().into();
        match run_one(target, &candidate, config, dir).failure {
            Some(f) if f.signature == signature => Err("fails the same way"),
            _ => Ok(()),
        }
    });
    match result {
        Err(mutatis::check::CheckError::Failed(failure)) if failure.value.len() < input.len() => {
            Some(failure.value)
        }
        _ => None,
    }
}

/// Runs one input through the target called `name` as the fuzz loop would (the same bounds, on an
/// 8 MiB stack, one input at a time in this process) and returns how it failed, if it did: for
/// regression tests. The counting allocator must be installed.
pub fn check_input(name: &str, input: &[u8]) -> Option<Failure> {
    static SERIAL: Mutex<()> = Mutex::new(());
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let target = crate::targets::target(name).expect("a known target");
    let config = Config::new(Duration::ZERO);
    if let Err(message) = prepare(&config) {
        panic!("{message}");
    }
    let dir = config.failures_root.join(name);
    std::fs::create_dir_all(&dir).expect("the failures folder");
    let input: Arc<[u8]> = input.into();
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .stack_size(8 << 20)
            .spawn_scoped(scope, || run_one(target, &input, &config, &dir))
            .expect("a thread for the input")
            .join()
            .expect("run_one catches panics")
    })
    .failure
}
