//! What goes where: the eager files of the wheels and the app's folder into `bundle.zip`, the eager
//! stdlib files into the pruned `python_stdlib.zip`, the lazy files into `lazy/` one by one, and
//! the extension modules to preload.

use std::collections::BTreeSet;

use pyodide_pack_env::{ArchiveKind, Environment, FileKind, FileRef};
use pyodide_pack_graph::{Analysis, EdgeKind, Tier};
use pyodide_pack_trace::Trace;

/// Which output zip a file goes into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Destination {
    /// `bundle.zip`, at the file's install path (without the leading `/`), unpacked at `/`.
    Bundle,
    /// The pruned `python_stdlib.zip`, at the file's path inside the original stdlib zip.
    Stdlib,
    /// `lazy/`, one file each at its install path without the leading `/`: fetched on first
    /// read. Lazy stdlib files install below [`lazy_stdlib_dir`], a folder on `sys.path`.
    Lazy,
}

/// Where lazy stdlib modules live in Pyodide's file system: `/lib/python3.14`, the folder CPython
/// would use for a stdlib that is not zipped. The loader puts it on `sys.path` after the zip.
pub(crate) fn lazy_stdlib_dir(env: &Environment) -> String {
    format!("/lib/python{}", env.runtime.python_minor())
}

#[derive(Debug, Clone)]
pub struct PlannedFile {
    pub file: FileRef,
    pub destination: Destination,
    /// The entry name in the output zip.
    pub name: String,
}

#[derive(Debug, Clone, Default)]
pub struct PackPlan {
    pub files: Vec<PlannedFile>,
    /// Install paths of the extension modules the loader preloads, in order.
    pub dynlibs: Vec<String>,
    /// Stdlib packages in the zip with lazy files below them (`encodings`): the loader adds their
    /// folder under [`lazy_stdlib_dir`] to their `__path__`.
    pub lazy_stdlib_packages: Vec<String>,
}

/// Plans the output from the kept set. The entry script is not packed: the page runs it.
pub fn plan_pack(env: &Environment, analysis: &Analysis, traces: &[Trace]) -> PackPlan {
    let mut kept: Vec<FileRef> = analysis.kept.iter().collect();
    kept.sort();
    let mut files = Vec::new();
    for file in kept {
        if file == env.entry {
            continue;
        }
        let entry = env.entry(file);
        let lazy = analysis.tiers.tier(file) == Tier::Lazy;
        let (destination, name) = match env.archive(file).kind {
            ArchiveKind::Stdlib if lazy => (
                Destination::Lazy,
                format!(
                    "{}/{}",
                    lazy_stdlib_dir(env).trim_start_matches('/'),
                    entry.path
                ),
            ),
            ArchiveKind::Stdlib => (Destination::Stdlib, entry.path.clone()),
            ArchiveKind::Wheel { .. } | ArchiveKind::SharedLibrary { .. } | ArchiveKind::App => (
                if lazy {
                    Destination::Lazy
                } else {
                    Destination::Bundle
                },
                entry.install_path.trim_start_matches('/').to_string(),
            ),
        };
        files.push(PlannedFile {
            file,
            destination,
            name,
        });
    }
    PackPlan {
        dynlibs: needed_first(env, analysis, dynlib_order(env, analysis, traces)),
        lazy_stdlib_packages: lazy_stdlib_packages(env, &files),
        files,
    }
}

/// `order` with every library before the side modules whose `dylink.0` names it (a stable
/// topological order: otherwise as given). Pyodide's dynamic loader would load a `needed` library
/// on its own from `LD_LIBRARY_PATH`, but preloading it first keeps every load asynchronous.
fn needed_first(env: &Environment, analysis: &Analysis, order: Vec<String>) -> Vec<String> {
    let needs = |path: &str| -> Vec<String> {
        let mut needed: Vec<String> = analysis
            .graph
            .edges()
            .filter(|(from, _, e)| {
                e.kind == EdgeKind::DylinkNeeded && env.entry(*from).install_path == path
            })
            .map(|(_, to, _)| env.entry(to).install_path.clone())
            .filter(|p| order.contains(p))
            .collect();
        needed.dedup();
        needed
    };
    fn visit(
        path: &str,
        needs: &dyn Fn(&str) -> Vec<String>,
        done: &mut Vec<String>,
        active: &mut Vec<String>,
    ) {
        if done.iter().any(|d| d == path) || active.iter().any(|a| a == path) {
            return; // already placed, or a cycle (the loader copes with those)
        }
        active.push(path.to_string());
        for need in needs(path) {
            visit(&need, needs, done, active);
        }
        active.pop();
        done.push(path.to_string());
    }
    let mut done = Vec::new();
    for path in &order {
        visit(path, &needs, &mut done, &mut Vec::new());
    }
    done
}

/// The stdlib packages whose `__init__` is in the zip and that have lazy files below them.
fn lazy_stdlib_packages(env: &Environment, files: &[PlannedFile]) -> Vec<String> {
    let eager_inits: BTreeSet<&str> = files
        .iter()
        .filter(|f| f.destination == Destination::Stdlib)
        .filter_map(|f| f.name.strip_suffix("/__init__.py"))
        .collect();
    let mut packages = BTreeSet::new();
    for f in files.iter().filter(|f| f.destination == Destination::Lazy) {
        if env.archive(f.file).kind != ArchiveKind::Stdlib {
            continue;
        }
        let mut dir = env.entry(f.file).path.as_str();
        while let Some((parent, _)) = dir.rsplit_once('/') {
            dir = parent;
            if eager_inits.contains(dir) {
                packages.insert(dir.replace('/', "."));
            }
        }
    }
    packages.into_iter().collect()
}

/// The extension modules to preload: the ones traced runs loaded, in the order they loaded them;
/// without a trace, every kept one, libraries other modules need (`dylink.0`) first.
fn dynlib_order(env: &Environment, analysis: &Analysis, traces: &[Trace]) -> Vec<String> {
    let kept_libs: Vec<FileRef> = {
        // Lazy extension modules load when imported, through Pyodide's own path.
        let mut libs: Vec<FileRef> = analysis
            .kept
            .iter()
            .filter(|f| env.entry(*f).kind == FileKind::Extension)
            .filter(|f| analysis.tiers.tier(*f) == Tier::Eager)
            .collect();
        libs.sort();
        libs
    };
    let install_path = |f: FileRef| env.entry(f).install_path.clone();
    let mut order: Vec<String> = Vec::new();
    if !traces.is_empty() {
        let kept_paths: Vec<String> = kept_libs.iter().map(|f| install_path(*f)).collect();
        for run in traces.iter().flat_map(|t| &t.runs) {
            for lib in &run.dynlibs {
                if kept_paths.contains(lib) && !order.contains(lib) {
                    order.push(lib.clone());
                }
            }
        }
        // Eager without a run loading them (over the synchronous-compile limit, an eager
        // glob): preloaded after the traced ones.
        for path in kept_paths {
            if !order.contains(&path) {
                order.push(path);
            }
        }
        return order;
    }
    let needed: Vec<FileRef> = analysis
        .graph
        .edges()
        .filter(|(_, _, e)| e.kind == EdgeKind::DylinkNeeded)
        .map(|(_, to, _)| to)
        .collect();
    let (first, rest): (Vec<FileRef>, Vec<FileRef>) =
        kept_libs.into_iter().partition(|f| needed.contains(f));
    order.extend(first.into_iter().chain(rest).map(install_path));
    order
}
