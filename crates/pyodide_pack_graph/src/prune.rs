//! Keeping what the roots reach, and the default rules for files no import names.

use std::collections::{HashMap, HashSet};

use std::collections::VecDeque;

use pyodide_pack_env::{ArchiveKind, Environment, FileKind, FileRef};

use crate::model::{DependencyGraph, EdgeKind, ImportEdge};
use crate::rules::UserRules;

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
/// interpreter carries those compiled in and never reads the files). An excluded file is a wall:
/// neither it nor what only it reaches is kept.
pub fn prune_from(graph: &DependencyGraph) -> KeptSet {
    let files = reachable(graph, |_| true)
        .into_iter()
        .filter(|f| !graph.frozen_sources.contains(f))
        .collect();
    KeptSet { files }
}

/// The files the roots reach along the edges `follow` accepts; excluded files are walls.
pub(crate) fn reachable(
    graph: &DependencyGraph,
    follow: impl Fn(&ImportEdge) -> bool,
) -> HashSet<FileRef> {
    use petgraph::visit::EdgeRef;
    let mut files = HashSet::new();
    let mut seen = vec![false; graph.graph.node_count()];
    let mut queue = VecDeque::from([graph.roots_node]);
    seen[graph.roots_node.index()] = true;
    while let Some(node) = queue.pop_front() {
        if let Some(file) = graph.file(node) {
            if graph.excluded.contains_key(&file) {
                continue;
            }
            files.insert(file);
        }
        for edge in graph.graph.edges(node) {
            if edge.weight().as_ref().is_some_and(|e| !follow(e)) {
                continue;
            }
            let next = edge.target();
            if !seen[next.index()] {
                seen[next.index()] = true;
                queue.push_back(next);
            }
        }
    }
    files
}

/// The user's globs: includes become rule edges from the entry script, excludes mark files
/// [`prune_from`] will not keep.
pub fn apply_user_rules(graph: &mut DependencyGraph, env: &Environment, rules: &UserRules) {
    let mut includes = Vec::new();
    for file in env.files() {
        if let Some(glob) = rules.excluded(env, file) {
            graph.excluded.insert(
                file,
                format!("exclude glob {:?} ({})", glob.pattern, glob.source),
            );
        } else if let Some(glob) = rules.included(env, file) {
            includes.push((
                file,
                format!("include glob {:?} ({})", glob.pattern, glob.source),
            ));
        }
    }
    for (file, text) in includes {
        let name = env.entry(file).path.clone();
        let edge = ImportEdge::without_line(EdgeKind::Rule, name, env.entry, text);
        graph.add_edge(env.entry, file, edge);
    }
}

/// The default rules for files that no import names (documented in the README):
/// - a data file is kept when the nearest package folder above it is a kept package (so
///   `certifi/cacert.pem` and `pkg/data/table.json` come with `certifi` and `pkg`); with a trace
///   the ones no run opened are lazy (the tiers decide that, not this rule);
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
            ImportEdge::without_line(EdgeKind::Rule, name, from, text),
        );
    }
}
