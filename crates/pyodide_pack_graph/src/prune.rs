//! Keeping what the roots reach, and the default rules for files no import names.

use std::collections::{HashMap, HashSet};

use petgraph::visit::Bfs;
use pyodide_pack_env::{ArchiveKind, Environment, FileKind, FileRef};

use crate::model::{DependencyGraph, EdgeKind, ImportEdge, Reason};

/// The files that go into the bundle.
#[derive(Debug, Clone, Default)]
pub struct KeptSet {
    files: HashSet<FileRef>,
}

impl KeptSet {
    pub fn contains(&self, file: FileRef) -> bool {
        self.files.contains(&file)
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = FileRef> + '_ {
        self.files.iter().copied()
    }
}

/// Everything reachable from the graph's roots, less the sources of frozen modules (the
/// interpreter carries those compiled in and never reads the files).
pub fn prune_from(graph: &DependencyGraph) -> KeptSet {
    let mut files = HashSet::new();
    let mut bfs = Bfs::new(&graph.graph, graph.roots_node);
    while let Some(node) = bfs.next(&graph.graph) {
        if let Some(file) = graph.file(node) {
            if !graph.frozen_sources.contains(&file) {
                files.insert(file);
            }
        }
    }
    KeptSet { files }
}

/// The default rules for files that no import names (documented in the README):
/// - a data file is kept when the nearest package folder above it is a kept package (so
///   `certifi/cacert.pem` and `pkg/data/table.json` come with `certifi` and `pkg`);
/// - the `.dist-info` of every distribution with a kept file is kept (`importlib.metadata` reads
///   versions and entry points from it), except `RECORD`, which lists files the bundle drops.
pub fn apply_default_rules(graph: &mut DependencyGraph, env: &Environment, kept: &KeptSet) {
    // (archive, package folder) -> that package's __init__.py
    let mut package_dirs: HashMap<(u32, &str), FileRef> = HashMap::new();
    for file in env.files() {
        let entry = env.entry(file);
        if let Some(dir) = entry
            .import_path
            .as_deref()
            .and_then(|p| p.strip_suffix("/__init__.py"))
        {
            package_dirs.insert((file.archive, dir), file);
        }
    }
    let mut first_kept: HashMap<u32, FileRef> = HashMap::new();
    for file in kept.iter() {
        if env.entry(file).kind != FileKind::Metadata {
            let slot = first_kept.entry(file.archive).or_insert(file);
            if file < *slot {
                *slot = file;
            }
        }
    }
    let mut rule_edges = Vec::new();
    for file in env.files() {
        if kept.contains(file) {
            continue;
        }
        let entry = env.entry(file);
        match entry.kind {
            FileKind::Data => {
                let Some(path) = entry.import_path.as_deref() else {
                    continue;
                };
                let mut dir = path;
                while let Some((parent, _)) = dir.rsplit_once('/') {
                    dir = parent;
                    if let Some(init) = package_dirs.get(&(file.archive, dir)) {
                        if kept.contains(*init) {
                            let package = dir.replace('/', ".");
                            rule_edges.push((
                                *init,
                                file,
                                format!("default rule: data file of kept package {package}"),
                            ));
                        }
                        break;
                    }
                }
            }
            FileKind::Metadata => {
                let is_wheel = matches!(env.archive(file).kind, ArchiveKind::Wheel { .. });
                if !is_wheel || entry.path.ends_with(".dist-info/RECORD") {
                    continue;
                }
                if let Some(owner) = first_kept.get(&file.archive) {
                    rule_edges.push((
                        *owner,
                        file,
                        format!(
                            "default rule: metadata of kept distribution {}",
                            env.archive(file).package_name()
                        ),
                    ));
                }
            }
            _ => {}
        }
    }
    for (from, to, text) in rule_edges {
        let name = env.entry(to).path.clone();
        graph.add_edge(
            from,
            to,
            ImportEdge {
                kind: EdgeKind::Rule,
                optional: false,
                nested: false,
                name,
                reason: Reason {
                    file: from,
                    line: None,
                    text,
                },
            },
        );
    }
}
