//! "Why is this file kept?": shortest chains from the roots, every kept importer, and the files
//! that dominate a target (drop one of them and the target drops too).

use std::collections::{HashSet, VecDeque};

use petgraph::algo::dominators::simple_fast;
use petgraph::graph::{EdgeIndex, NodeIndex};
use petgraph::visit::EdgeRef;
use petgraph::Direction;
use pyodide_pack_env::FileRef;

use crate::model::{DependencyGraph, EdgeKind, ImportEdge};
use crate::prune::KeptSet;

/// One breadth-first pass from the roots that remembers, for every file, the edge it was first
/// reached by: every shortest chain at once.
#[derive(Debug)]
pub struct Chains {
    predecessor: Vec<Option<EdgeIndex>>,
    reached: Vec<bool>,
}

/// Outgoing real edges of a node in source order (line, then target), so chains are stable.
fn ordered_edges(graph: &DependencyGraph, node: NodeIndex) -> Vec<(EdgeIndex, NodeIndex)> {
    let mut edges: Vec<_> = graph
        .graph
        .edges_directed(node, Direction::Outgoing)
        .map(|e| {
            let line = e.weight().as_ref().and_then(|w| w.reason.line).unwrap_or(0);
            (line, e.target().index(), e.id(), e.target())
        })
        .collect();
    edges.sort();
    edges
        .into_iter()
        .map(|(_, _, id, target)| (id, target))
        .collect()
}

/// The shortest chain to every file, preferring what the source says: a first pass follows only
/// import-like edges (imports, package inits, wasm links, rules); a second continues from every
/// file reached along family edges too (computed names, name literals, entry points, data); a
/// third along runtime edges. A file shows its import chain when it has one, the family that makes
/// it available when it has not, and the run that touched it last.
pub fn shortest_chains(graph: &DependencyGraph) -> Chains {
    let n = graph.graph.node_count();
    let mut predecessor = vec![None; n];
    let mut reached = vec![false; n];
    let mut order = Vec::new();
    let mut ordered = vec![false; n];
    // Imports first, then families (what a computed name can reach), then runs: a file shows the
    // most telling chain it has.
    let rank = |edge: EdgeIndex| match graph.graph[edge].as_ref().map(|e| e.kind) {
        Some(EdgeKind::Runtime) => 2,
        Some(kind) if kind.is_family() => 1,
        _ => 0,
    };
    reached[graph.roots_node.index()] = true;
    for pass in 0..3 {
        let mut queue: VecDeque<NodeIndex> = if pass == 0 {
            VecDeque::from([graph.roots_node])
        } else {
            order.iter().copied().collect()
        };
        while let Some(node) = queue.pop_front() {
            if !ordered[node.index()] {
                ordered[node.index()] = true;
                order.push(node);
            }
            for (edge, target) in ordered_edges(graph, node) {
                if reached[target.index()] || rank(edge) > pass {
                    continue;
                }
                reached[target.index()] = true;
                if node != graph.roots_node {
                    predecessor[target.index()] = Some(edge);
                }
                queue.push_back(target);
            }
        }
    }
    Chains {
        predecessor,
        reached,
    }
}

/// One step of a chain.
#[derive(Debug, Clone)]
pub struct ChainLink<'g> {
    pub from: FileRef,
    pub to: FileRef,
    pub edge: &'g ImportEdge,
}

impl Chains {
    /// The chain from a root to `file`, root first. Empty when `file` is itself a root; `None`
    /// when nothing reaches it.
    pub fn chain_to<'g>(
        &self,
        graph: &'g DependencyGraph,
        file: FileRef,
    ) -> Option<Vec<ChainLink<'g>>> {
        let mut node = graph.node(file);
        if !self.reached[node.index()] {
            return None;
        }
        let mut links = Vec::new();
        while let Some(edge) = self.predecessor[node.index()] {
            let (from, to) = graph.graph.edge_endpoints(edge)?;
            links.push(ChainLink {
                from: graph.file(from)?,
                to: graph.file(to)?,
                edge: graph.graph[edge].as_ref()?,
            });
            node = from;
        }
        links.reverse();
        Some(links)
    }

    pub fn is_reached(&self, graph: &DependencyGraph, file: FileRef) -> bool {
        self.reached[graph.node(file).index()]
    }
}

/// Every distinct kept file with an edge to `file` (its first such edge, in source order).
pub fn kept_importers<'g>(
    graph: &'g DependencyGraph,
    kept: &KeptSet,
    file: FileRef,
) -> Vec<ChainLink<'g>> {
    let target = graph.node(file);
    let mut incoming: Vec<_> = graph
        .graph
        .edges_directed(target, Direction::Incoming)
        .filter_map(|e| {
            let edge = e.weight().as_ref()?;
            let from = graph.file(e.source())?;
            Some((from, edge.reason.line.unwrap_or(0), edge))
        })
        .filter(|(from, _, _)| kept.contains(*from) || graph.frozen_sources.contains(from))
        .collect();
    // One link per importer: its import statement before a family edge, then the first line.
    incoming.sort_by_key(|(from, line, edge)| (*from, edge.kind.is_family(), *line));
    let mut seen = HashSet::new();
    incoming
        .into_iter()
        .filter(|(from, _, _)| seen.insert(*from))
        .map(|(from, _, edge)| ChainLink {
            from,
            to: file,
            edge,
        })
        .collect()
}

/// The files every chain from the roots to `file` passes through, nearest the roots first: drop
/// any one of them (an exclude rule) and `file` drops too.
pub fn cut_points(graph: &DependencyGraph, file: FileRef) -> Vec<FileRef> {
    let dominators = simple_fast(&graph.graph, graph.roots_node);
    let target = graph.node(file);
    let Some(chain) = dominators.dominators(target) else {
        return Vec::new();
    };
    let mut files: Vec<FileRef> = chain
        .filter(|n| *n != target)
        .filter_map(|n| graph.file(n))
        .collect();
    files.reverse();
    files
}

/// What a `why` target names.
#[derive(Debug, Clone)]
pub enum Target {
    /// A module or a path: one file.
    File(FileRef),
    /// A distribution or top-level package: any of its files.
    Package { name: String, files: Vec<FileRef> },
}

/// Finds a target by module name (`sympy.polys.polytools`), by path inside an archive
/// (`json/decoder.py`, `pydantic_core/_pydantic_core.cpython-314-wasm32-emscripten.so`), by
/// install path, or by package name (`mpmath`). `Err` holds the closest names, best first.
pub fn find_target(
    env: &pyodide_pack_env::Environment,
    graph: &DependencyGraph,
    target: &str,
) -> Result<Target, Vec<String>> {
    let mut by_module = None;
    for (file, module) in &graph.module_of {
        if module == target {
            // Prefer the file the index resolves (sys.path order): the lowest archive wins.
            if by_module.is_none_or(|f: FileRef| file.archive < f.archive) {
                by_module = Some(*file);
            }
        }
    }
    // A package name is both a module (`mpmath` -> mpmath/__init__.py) and a package; a module
    // that is a distribution's top-level package answers for the whole package.
    let package_files = |name: &str| -> Vec<FileRef> {
        let normalized = name.to_lowercase().replace('-', "_");
        env.files()
            .filter(|f| {
                let archive = env.archive(*f);
                matches!(&archive.kind, pyodide_pack_env::ArchiveKind::Wheel { distribution, .. }
                    if distribution.replace('-', "_") == normalized)
            })
            .collect()
    };
    if let Some(file) = by_module {
        if !target.contains('.') {
            let files = package_files(target);
            if !files.is_empty() {
                return Ok(Target::Package {
                    name: target.to_string(),
                    files,
                });
            }
        }
        return Ok(Target::File(file));
    }
    for file in env.files() {
        let entry = env.entry(file);
        if entry.path == target
            || entry.install_path == target
            || entry.import_path.as_deref() == Some(target)
            || env.display(file) == target
        {
            return Ok(Target::File(file));
        }
    }
    let files = package_files(target);
    if !files.is_empty() {
        return Ok(Target::Package {
            name: target.to_string(),
            files,
        });
    }
    // Not found: the closest module names, paths and package names.
    let mut candidates: Vec<(f64, String)> = graph
        .module_of
        .values()
        .cloned()
        .chain(env.files().map(|f| env.entry(f).path.clone()))
        .chain(env.archives.iter().map(|a| a.package_name()))
        .map(|name| (strsim::jaro_winkler(target, &name), name))
        .collect();
    candidates.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    candidates.dedup_by(|a, b| a.1 == b.1);
    Err(candidates.into_iter().take(3).map(|(_, n)| n).collect())
}
