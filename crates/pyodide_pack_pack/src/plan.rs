//! What goes where: the kept files of the wheels and the app's folder into `bundle.zip`, the kept
//! stdlib files into the pruned `python_stdlib.zip`, and the extension modules to preload.

use pyodide_pack_env::{ArchiveKind, Environment, FileKind, FileRef};
use pyodide_pack_graph::{Analysis, EdgeKind};
use pyodide_pack_trace::Trace;

/// Which output zip a file goes into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Destination {
    /// `bundle.zip`, at the file's install path (without the leading `/`), unpacked at `/`.
    Bundle,
    /// The pruned `python_stdlib.zip`, at the file's path inside the original stdlib zip.
    Stdlib,
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
        let (destination, name) = match env.archive(file).kind {
            ArchiveKind::Stdlib => (Destination::Stdlib, entry.path.clone()),
            ArchiveKind::Wheel { .. } | ArchiveKind::App => (
                Destination::Bundle,
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
        dynlibs: dynlib_order(env, analysis, traces),
        files,
    }
}

/// The extension modules to preload: the ones traced runs loaded, in the order they loaded them;
/// without a trace, every kept one, libraries other modules need (`dylink.0`) first.
fn dynlib_order(env: &Environment, analysis: &Analysis, traces: &[Trace]) -> Vec<String> {
    let kept_libs: Vec<FileRef> = {
        let mut libs: Vec<FileRef> = analysis
            .kept
            .iter()
            .filter(|f| env.entry(*f).kind == FileKind::Extension)
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
