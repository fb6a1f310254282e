//! Tiers: what is downloaded before the app runs (eager) and what is only made available, fetched
//! the first time the app reads it (lazy). Static analysis decides what must be available; the
//! traced runs decide what is eager.

use std::collections::{HashMap, HashSet};

use pyodide_pack_env::{ArchiveKind, Environment, FileKind, FileRef};
use serde::{Deserialize, Serialize};

use crate::model::{DependencyGraph, RootKind};
use crate::prune::KeptSet;
use crate::rules::UserRules;

/// Chromium refuses to compile a WebAssembly module of more than 8 MiB synchronously on a page's
/// main thread, which is how Pyodide loads an extension module at import time. A kept `.so` above
/// this stays eager: the loader preloads it asynchronously.
pub const SYNC_COMPILE_LIMIT: u64 = 8 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Tier {
    /// Downloaded before the app runs.
    Eager,
    /// Deployed beside the bundle, fetched on first read.
    Lazy,
}

impl Tier {
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Eager => "eager",
            Tier::Lazy => "lazy",
        }
    }
}

/// Why a kept file is eager.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EagerReason {
    /// A traced run touched it (imported, opened or loaded).
    Touched,
    /// The interpreter or Pyodide imports it while booting.
    Boot,
    /// A package whose module a run touched: its `__init__` runs first.
    PackageOf,
    /// An `--eager` glob.
    EagerGlob(String),
    /// A `.so` over the browser's synchronous-compile limit.
    LargeExtension,
    /// No trace: everything static analysis reaches through imports is eager (families stay lazy).
    Static,
    /// `--no-lazy`.
    NoLazy,
    /// `--stdlib-from-trace`: what is kept of the stdlib is eager.
    StdlibFromTrace,
}

#[derive(Debug, Clone, Default)]
pub struct Tiers {
    eager: HashMap<FileRef, EagerReason>,
    /// Whether a lazy tier exists at all (false with `--no-lazy`).
    pub lazy_enabled: bool,
}

impl Tiers {
    /// Every kept file eager: the record of an analysis that assigned no tiers.
    pub fn all_eager(kept: &KeptSet) -> Tiers {
        Tiers {
            eager: kept.iter().map(|f| (f, EagerReason::NoLazy)).collect(),
            lazy_enabled: false,
        }
    }

    /// The tier of a kept file.
    pub fn tier(&self, file: FileRef) -> Tier {
        if self.eager.contains_key(&file) {
            Tier::Eager
        } else {
            Tier::Lazy
        }
    }

    pub fn eager_reason(&self, file: FileRef) -> Option<&EagerReason> {
        self.eager.get(&file)
    }

    pub fn eager_count(&self) -> usize {
        self.eager.len()
    }
}

/// How the tiers are cut.
#[derive(Debug, Clone, Copy, Default)]
pub struct TierOptions {
    /// `--no-lazy`: one self-contained download.
    pub no_lazy: bool,
    /// `--stdlib-from-trace`: the stdlib has no lazy tier; what is kept of it (what runs touched,
    /// include globs) is eager.
    pub stdlib_eager: bool,
}

/// What the roots reach through edges that are not families: the static download of an app with
/// no trace (families only make files available).
pub fn prune_core(graph: &DependencyGraph) -> HashSet<FileRef> {
    crate::prune::reachable(graph, |edge| !edge.kind.is_family())
}

/// Cuts the kept files into tiers. `touched`: the files traced runs touched (`None` without a
/// trace: then the eager tier is what imports reach, as a bundle without tiers ships).
pub fn assign_tiers(
    graph: &DependencyGraph,
    env: &Environment,
    kept: &KeptSet,
    touched: Option<&HashSet<FileRef>>,
    rules: &UserRules,
    options: TierOptions,
) -> Tiers {
    if options.no_lazy {
        return Tiers::all_eager(kept);
    }
    let mut eager: HashMap<FileRef, EagerReason> = HashMap::new();
    match touched {
        Some(touched) => {
            for file in kept.iter().filter(|f| touched.contains(f)) {
                eager.insert(file, EagerReason::Touched);
            }
            for root in &graph.roots {
                if root.kind == RootKind::Boot && kept.contains(root.file) {
                    eager.entry(root.file).or_insert(EagerReason::Boot);
                }
            }
        }
        None => {
            for file in prune_core(graph) {
                if kept.contains(file) {
                    eager.insert(file, EagerReason::Static);
                }
            }
        }
    }
    for file in kept.iter() {
        if options.stdlib_eager && env.archive(file).kind == ArchiveKind::Stdlib {
            eager.entry(file).or_insert(EagerReason::StdlibFromTrace);
        }
        if let Some(glob) = rules.forced_eager(env, file) {
            eager.insert(
                file,
                EagerReason::EagerGlob(format!("{} ({})", glob.pattern, glob.source)),
            );
        }
        let entry = env.entry(file);
        if entry.kind == FileKind::Extension && entry.size > SYNC_COMPILE_LIMIT {
            eager.entry(file).or_insert(EagerReason::LargeExtension);
        }
    }
    // An eager module's packages run first: their `__init__` files are eager too.
    let init_files: HashMap<(u32, &str), FileRef> = kept
        .iter()
        .filter_map(|f| {
            let path = env.entry(f).import_path.as_deref()?;
            path.ends_with("/__init__.py")
                .then_some(((f.archive, path), f))
        })
        .collect();
    let inits: Vec<FileRef> = eager
        .keys()
        .flat_map(|f| package_inits(env, &init_files, *f))
        .collect();
    for init in inits {
        eager.entry(init).or_insert(EagerReason::PackageOf);
    }
    eager.remove(&env.entry);
    eager.insert(env.entry, EagerReason::Static);
    Tiers {
        eager,
        lazy_enabled: true,
    }
}

/// The kept `__init__.py` files of the packages above a file, in the same archive.
fn package_inits(
    env: &Environment,
    init_files: &HashMap<(u32, &str), FileRef>,
    file: FileRef,
) -> Vec<FileRef> {
    let Some(path) = env.entry(file).import_path.as_deref() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut dir = path;
    while let Some((parent, _)) = dir.rsplit_once('/') {
        dir = parent;
        let init = format!("{dir}/__init__.py");
        if let Some(f) = init_files.get(&(file.archive, init.as_str())) {
            out.push(*f);
        }
    }
    out
}
