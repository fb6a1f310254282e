//! The graph's vocabulary: nodes are files, edges say why one file needs another.

use std::collections::{HashMap, HashSet};
use std::fmt;

use petgraph::graph::{DiGraph, NodeIndex};
use pyodide_pack_env::FileRef;
use serde::{Deserialize, Serialize};

/// Why one file needs another. The names are the ones every report and `why` print.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EdgeKind {
    /// An `import` / `from ... import` statement.
    Import,
    /// Importing `a.b.c` runs `a/__init__.py` and `a/b/__init__.py` first.
    PackageInit,
    /// `importlib.import_module("x")` or `__import__("x")` with a literal name.
    DynamicLiteral,
    /// A lazy_loader package: the `.pyi` stub and the imports it lists.
    LazyStub,
    /// A computed dynamic import with a literal start (`__import__("encodings." + name)`): every
    /// module under the prefix.
    DynamicFamily,
    /// A string literal that is a module's dotted name (a mapping table of plugins), or a
    /// package prefix with a trailing dot.
    NameLiteral,
    /// A target in `entry_points.txt` of a kept distribution.
    EntryPoint,
    /// Data files a module can open through `__file__`, `importlib.resources`, `pkgutil.get_data`:
    /// the files under its package folder (or under a package named by a literal).
    DataFamily,
    /// The stdlib's own computed imports no local analysis resolves, from the table in docs/analyze.md
    /// (sysconfig's `_sysconfigdata_*` module).
    StdlibRule,
    /// A `dylink.0` needed library of a wasm side module.
    DylinkNeeded,
    /// A side module imports a symbol another side module exports.
    Symbol,
    /// Seen in a traced run.
    Runtime,
    /// Kept by a rule (the default data-file and metadata rules, or the user's include globs).
    Rule,
}

impl EdgeKind {
    pub const ALL: [EdgeKind; 13] = [
        EdgeKind::Import,
        EdgeKind::PackageInit,
        EdgeKind::DynamicLiteral,
        EdgeKind::LazyStub,
        EdgeKind::DynamicFamily,
        EdgeKind::NameLiteral,
        EdgeKind::EntryPoint,
        EdgeKind::DataFamily,
        EdgeKind::StdlibRule,
        EdgeKind::DylinkNeeded,
        EdgeKind::Symbol,
        EdgeKind::Runtime,
        EdgeKind::Rule,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EdgeKind::Import => "import",
            EdgeKind::PackageInit => "package-init",
            EdgeKind::DynamicLiteral => "dynamic-literal",
            EdgeKind::LazyStub => "lazy-stub",
            EdgeKind::DynamicFamily => "dynamic-family",
            EdgeKind::NameLiteral => "name-literal",
            EdgeKind::EntryPoint => "entry-point",
            EdgeKind::DataFamily => "data-family",
            EdgeKind::StdlibRule => "stdlib-rule",
            EdgeKind::DylinkNeeded => "dylink-needed",
            EdgeKind::Symbol => "symbol",
            EdgeKind::Runtime => "runtime",
            EdgeKind::Rule => "rule",
        }
    }
}

impl EdgeKind {
    /// What a computed name or path can reach, not what an import statement runs: such files are
    /// made available (the lazy tier), never downloaded up front because of this edge alone.
    pub fn is_family(self) -> bool {
        matches!(
            self,
            EdgeKind::DynamicFamily
                | EdgeKind::NameLiteral
                | EdgeKind::EntryPoint
                | EdgeKind::DataFamily
                | EdgeKind::StdlibRule
        )
    }
}

impl fmt::Display for EdgeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where an edge comes from: a file, a 1-based line (none for wasm facts and rules), the text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reason {
    pub file: FileRef,
    pub line: Option<u32>,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportEdge {
    pub kind: EdgeKind,
    /// Inside `try/except ImportError`: the importer copes without the target.
    pub optional: bool,
    /// Inside a function or class body: needed only if that code runs.
    pub nested: bool,
    /// The module (or library, or symbol) named at the site.
    pub name: String,
    pub reason: Reason,
}

impl ImportEdge {
    /// An edge no source line carries (a run, a rule): not optional, not nested, no line.
    pub fn without_line(kind: EdgeKind, name: String, file: FileRef, text: String) -> ImportEdge {
        ImportEdge {
            kind,
            optional: false,
            nested: false,
            name,
            reason: Reason {
                file,
                line: None,
                text,
            },
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GraphNode {
    /// The single virtual root every real root hangs from (what dominators are computed from).
    Roots,
    File(FileRef),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RootKind {
    /// The app's entry script.
    Entry,
    /// Imported while the interpreter and Pyodide boot, before the app runs.
    Boot,
}

#[derive(Debug, Clone, Serialize)]
pub struct Root {
    pub file: FileRef,
    pub kind: RootKind,
    pub module: Option<String>,
    pub why: String,
}

/// A dynamic import whose module name is computed: static analysis cannot follow it.
#[derive(Debug, Clone, Serialize)]
pub struct UnresolvedSite {
    pub file: FileRef,
    pub line: u32,
    pub text: String,
}

/// An import of a module that no file, built-in or frozen module provides.
#[derive(Debug, Clone, Serialize)]
pub struct MissingModule {
    pub module: String,
    pub optional: bool,
    pub nested: bool,
    pub reason: Reason,
}

#[derive(Debug, Clone)]
pub struct DependencyGraph {
    pub graph: DiGraph<GraphNode, Option<ImportEdge>>,
    pub roots_node: NodeIndex,
    /// First node index of each archive's files: node of (a, e) is `offsets[a] + e`.
    pub(crate) offsets: Vec<u32>,
    pub roots: Vec<Root>,
    pub unresolved: Vec<UnresolvedSite>,
    pub missing: Vec<MissingModule>,
    pub warnings: Vec<String>,
    /// Files whose facts were looked at (reached from the roots).
    pub expanded: usize,
    /// Of those, how many were parsed in this run (not found in the facts cache).
    pub parsed: usize,
    pub module_of: HashMap<FileRef, String>,
    /// Stdlib sources of frozen modules: followed for their imports, never shipped.
    pub frozen_sources: HashSet<FileRef>,
    /// Files an exclude glob drops, with the glob and where it was written: never kept, and
    /// what only they reach is not kept either.
    pub excluded: HashMap<FileRef, String>,
    /// For each excluded library that kept side modules need (`dylink.0`), the warning that says
    /// so (also in `warnings`): what a bundle that fails to load is explained by.
    pub excluded_needed: Vec<String>,
}

impl DependencyGraph {
    pub fn node(&self, file: FileRef) -> NodeIndex {
        NodeIndex::new((self.offsets[file.archive as usize] + file.entry) as usize)
    }

    pub fn file(&self, node: NodeIndex) -> Option<FileRef> {
        match self.graph[node] {
            GraphNode::File(f) => Some(f),
            GraphNode::Roots => None,
        }
    }

    /// Every real edge: (from, to, edge).
    pub fn edges(&self) -> impl Iterator<Item = (FileRef, FileRef, &ImportEdge)> + '_ {
        use petgraph::visit::EdgeRef;
        self.graph.edge_references().filter_map(|e| {
            let edge = e.weight().as_ref()?;
            Some((self.file(e.source())?, self.file(e.target())?, edge))
        })
    }

    pub fn add_edge(&mut self, from: FileRef, to: FileRef, edge: ImportEdge) {
        let (a, b) = (self.node(from), self.node(to));
        self.graph.add_edge(a, b, Some(edge));
    }
}
