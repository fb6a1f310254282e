//! pyodide-pack: a thin command line over the pipeline's crates
//! (env -> facts -> graph -> report).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use pyodide_pack_env::{CacheRoot, Environment, EnvironmentRequest};
use pyodide_pack_facts::FactsStore;
use pyodide_pack_report::{render_analysis, render_why, AnalyzeRecord, WhyRecord};

#[derive(Parser)]
#[command(
    name = "pyodide-pack",
    version,
    about = "Bundle Python apps for Pyodide with only the files they need"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Where the app's environment comes from (shared by every command).
#[derive(Args, Clone)]
struct EnvArgs {
    /// The app's entry script.
    app: PathBuf,
    /// A folder of wheels. Alone: exactly these wheels, no resolver. With --requirements: pip
    /// resolves offline from this folder.
    #[arg(long, value_name = "DIR")]
    wheels: Option<PathBuf>,
    /// Requirements resolved with pip for the Pyodide platform (default: requirements.txt beside
    /// the app, unless --wheels is given alone).
    #[arg(long, value_name = "FILE")]
    requirements: Option<PathBuf>,
    /// A Pyodide distribution folder (default: $PYODIDE_PACK_RUNTIME, else the pinned version in
    /// the cache, installed with npm on first use).
    #[arg(long, value_name = "DIR")]
    runtime: Option<PathBuf>,
}

impl EnvArgs {
    fn request(&self) -> EnvironmentRequest {
        EnvironmentRequest {
            entry: self.app.clone(),
            wheels_dir: self.wheels.clone(),
            requirements: self.requirements.clone(),
            runtime_dir: self.runtime.clone(),
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Static analysis: which files of the environment the app needs (offline, no Node).
    Analyze {
        #[command(flatten)]
        env: EnvArgs,
        /// Write the machine-readable record here (`-` for stdout).
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
    },
    /// Why is a file in the bundle: the chain of imports from the entry script, with file:line.
    Why {
        #[command(flatten)]
        env: EnvArgs,
        /// A module (`sympy.polys.polytools`), a path in the environment (`json/decoder.py`), or a
        /// package (`mpmath`).
        target: String,
        /// Also every kept file that imports TARGET directly, each with its own chain.
        #[arg(long)]
        all: bool,
        /// Write the machine-readable answer here (`-` for stdout).
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
    },
}

/// Loads the environment and analyses it, reusing and updating the facts cache.
fn load_analysis(
    env: &EnvArgs,
    cache: &CacheRoot,
) -> Result<(Environment, pyodide_pack_graph::Analysis)> {
    let environment = Environment::load(&env.request(), cache)?;
    let mut store = FactsStore::open(Some(cache.root().join("facts")));
    let analysis = pyodide_pack_graph::analyze(&environment, &mut store)?;
    if let Err(e) = store.save() {
        eprintln!("warning: could not write the facts cache: {e}");
    }
    Ok((environment, analysis))
}

/// Prints `text` for people and writes `record` where `--json` says (`-`: stdout, text to stderr).
fn emit(text: &str, json: Option<&Path>, record: &impl serde::Serialize) -> Result<()> {
    match json {
        Some(path) if path == Path::new("-") => {
            eprint!("{text}");
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            serde_json::to_writer(&mut out, record)?;
            writeln!(out)?;
        }
        Some(path) => {
            print!("{text}");
            write_json(path, record)?;
        }
        None => print!("{text}"),
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    let cache = CacheRoot::from_env();
    match cli.command {
        Command::Analyze { env, json } => {
            let start = Instant::now();
            let (environment, analysis) = load_analysis(&env, &cache)?;
            let record = AnalyzeRecord::new(&environment, &analysis, start.elapsed().as_secs_f64());
            emit(&render_analysis(&record), json.as_deref(), &record)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Why {
            env,
            target,
            all,
            json,
        } => {
            let (environment, analysis) = load_analysis(&env, &cache)?;
            let found = pyodide_pack_graph::find_target(&environment, &analysis.graph, &target)
                .map_err(|closest| {
                    anyhow::anyhow!(
                        "{target:?} is not a module, path or package of this environment (closest: {})",
                        closest.join(", ")
                    )
                })?;
            let chains = pyodide_pack_graph::shortest_chains(&analysis.graph);
            let record = WhyRecord::new(&environment, &analysis, &chains, &target, &found, all);
            emit(&render_why(&record), json.as_deref(), &record)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Writes through a temporary file so a failure leaves no partial record.
fn write_json(path: &Path, value: &impl serde::Serialize) -> Result<()> {
    let bytes = serde_json::to_vec_pretty(value)?;
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(parent)
        .with_context(|| format!("{}: cannot write here", parent.display()))?;
    tmp.write_all(&bytes)?;
    tmp.persist(path)
        .with_context(|| format!("{}: cannot write the record", path.display()))?;
    Ok(())
}
