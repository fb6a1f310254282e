//! Turning facts into edges, from the roots outwards: a file is parsed only once something reaches it.

use std::collections::{HashMap, HashSet};

use petgraph::graph::DiGraph;
use pyodide_pack_env::{ArchiveKind, EnvError, Environment, FileKind, FileRef};
use pyodide_pack_facts::{
    python_facts, wasm_facts, FactsStore, FileFacts, ImportStatement, PythonFacts, PythonVersion,
    Site,
};
use rayon::prelude::*;

use crate::index::{ModuleIndex, ModuleName, Resolution};
use crate::model::{
    DependencyGraph, EdgeKind, GraphNode, ImportEdge, MissingModule, Reason, Root, RootKind,
    UnresolvedSite,
};

#[derive(Debug, Clone, Default)]
pub struct BuildOptions {}

mod families;

/// How an import site links to its targets.
#[derive(Clone, Copy)]
struct SiteFlags {
    kind: EdgeKind,
    optional: bool,
    nested: bool,
}

struct Builder<'e> {
    env: &'e Environment,
    index: ModuleIndex,
    graph: DependencyGraph,
    expanded: HashSet<FileRef>,
    /// Files whose facts have been turned into edges.
    processed: HashSet<FileRef>,
    queue: Vec<FileRef>,
    /// `from pkg import *` sites waiting for the package's `__all__`.
    star_imports: HashMap<FileRef, Vec<(FileRef, Site, SiteFlags)>>,
    /// Symbol name -> side modules exporting it.
    exporters: HashMap<String, Vec<FileRef>>,
    missing_seen: HashSet<(FileRef, String)>,
    /// Top-level names already hinted at as lock packages to require.
    lock_hints: HashSet<String>,
    /// Archives whose `entry_points.txt` has been linked.
    entry_points_seen: HashSet<u32>,
}

/// Symbols Emscripten's dynamic linker gives every side module itself (its memory and table
/// placement, the shared stack pointer), not exported by any module, and the `invoke_*`
/// trampolines of C++ exceptions and setjmp, which it creates for any signature on first use.
fn is_linker_symbol(symbol: &str) -> bool {
    symbol.starts_with("invoke_")
        || matches!(
            symbol,
            "memory"
                | "__memory_base"
                | "__table_base"
                | "__stack_pointer"
                | "__indirect_function_table"
                | "__c_longjmp"
                | "__cpp_exception"
                | "__tls_base"
        )
}

/// The facts store for this environment's runtime: sources are parsed for its CPython (cached
/// under `dir`, or in memory with `None`).
pub fn facts_store_for(env: &Environment, dir: Option<std::path::PathBuf>) -> FactsStore {
    let python = env.runtime.python_version();
    FactsStore::open(dir, PythonVersion::from((python.major, python.minor)))
}

fn needs_facts(kind: FileKind) -> bool {
    matches!(
        kind,
        FileKind::Python | FileKind::Stub | FileKind::Extension
    )
}

fn compute_facts(
    env: &Environment,
    file: FileRef,
    target: PythonVersion,
) -> Result<FileFacts, EnvError> {
    let bytes = env.read(file)?;
    Ok(match env.entry(file).kind {
        FileKind::Extension => match wasm_facts(&bytes) {
            Ok(facts) => FileFacts::Wasm(facts),
            Err(pyodide_pack_facts::FactsError::BadWasm(reason)) => FileFacts::BadWasm { reason },
        },
        // Decoded as CPython decodes it (BOM, PEP 263 declaration, else UTF-8). Bytes CPython
        // would refuse still get a line scan for their imports, and the refusal as the failure.
        _ => match pyodide_pack_facts::decode_source(&bytes) {
            Ok(source) => FileFacts::Python(Box::new(python_facts(&source, target))),
            Err(problem) => {
                let mut facts = python_facts(&String::from_utf8_lossy(&bytes), target);
                facts.parse_error = Some(pyodide_pack_facts::ParseFailure {
                    line: problem.line,
                    message: problem.message,
                });
                FileFacts::Python(Box::new(facts))
            }
        },
    })
}

/// Makes sure the store has facts for `files`, parsing the missing ones in parallel.
/// Returns how many were parsed.
fn ensure_facts(
    env: &Environment,
    store: &mut FactsStore,
    files: &[FileRef],
) -> Result<usize, EnvError> {
    let target = store.target();
    let todo: Vec<FileRef> = files
        .iter()
        .copied()
        .filter(|f| needs_facts(env.entry(*f).kind))
        .filter(|f| {
            store
                .get(&env.archive(*f).sha256, &env.entry(*f).path)
                .is_none()
        })
        .collect();
    // One small file (a warm run: only the app's own script) is parsed right here: starting the
    // parsing pool's threads, with their big stacks, costs more than the parse. Sources nested
    // deeper than CPython accepts never reach the parser (`too_deep`), so the main thread's
    // stack is enough for them.
    let computed: Vec<(FileRef, FileFacts)> = match todo.as_slice() {
        [one] if env.entry(*one).size < pyodide_pack_facts::INLINE_PARSE_BYTES => {
            vec![(*one, compute_facts(env, *one, target)?)]
        }
        _ => pyodide_pack_facts::parsing_pool().install(|| {
            todo.par_iter()
                .map(|f| compute_facts(env, *f, target).map(|facts| (*f, facts)))
                .collect::<Result<_, _>>()
        })?,
    };
    let parsed = computed.len();
    for (file, facts) in computed {
        store.insert(&env.archive(file).sha256, &env.entry(file).path, facts);
    }
    Ok(parsed)
}

fn facts_of<'s>(env: &Environment, store: &'s FactsStore, file: FileRef) -> Option<&'s FileFacts> {
    store.get(&env.archive(file).sha256, &env.entry(file).path)
}

/// Builds the graph of everything the entry script and the boot set reach.
pub fn build_graph(
    env: &Environment,
    store: &mut FactsStore,
    _options: &BuildOptions,
) -> Result<DependencyGraph, EnvError> {
    for archive in &env.archives {
        if archive.kind == ArchiveKind::App {
            // The app changes with every edit: caching it would only grow the cache.
            store.mark_volatile(&archive.sha256);
        }
    }
    store.load_archives(env.archives.iter().map(|a| a.sha256.as_str()));
    let (index, warnings) = ModuleIndex::new(env, &env.runtime_facts);

    let mut graph = DiGraph::new();
    let roots_node = graph.add_node(GraphNode::Roots);
    let mut offsets = Vec::with_capacity(env.archives.len());
    for (a, archive) in env.archives.iter().enumerate() {
        offsets.push(graph.node_count() as u32);
        for e in 0..archive.entries.len() {
            graph.add_node(GraphNode::File(FileRef {
                archive: a as u32,
                entry: e as u32,
            }));
        }
    }
    let module_of = env
        .files()
        .filter_map(|f| index.module_of(f).map(|(m, _)| (f, m.to_string())))
        .collect();
    let mut builder = Builder {
        env,
        graph: DependencyGraph {
            graph,
            roots_node,
            offsets,
            roots: Vec::new(),
            unresolved: Vec::new(),
            missing: Vec::new(),
            warnings,
            expanded: 0,
            parsed: 0,
            module_of,
            frozen_sources: HashSet::new(),
            excluded: HashMap::new(),
            excluded_needed: Vec::new(),
        },
        index,
        expanded: HashSet::new(),
        processed: HashSet::new(),
        queue: Vec::new(),
        star_imports: HashMap::new(),
        exporters: HashMap::new(),
        missing_seen: HashSet::new(),
        lock_hints: HashSet::new(),
        entry_points_seen: HashSet::new(),
    };

    // Side modules are few; their exports must all be known before any symbol can be tied.
    let extensions: Vec<FileRef> = env
        .files()
        .filter(|f| env.entry(*f).kind == FileKind::Extension)
        .collect();
    builder.graph.parsed += ensure_facts(env, store, &extensions)?;
    // Every `.so` is checked once (the verdict is cached with its facts): a damaged one is an
    // error before anything runs, reached or not, since the dynamic loader would fail on it later
    // with no name attached ("Could not load dynamic lib").
    if let Some((file, reason)) = extensions
        .iter()
        .find_map(|f| match facts_of(env, store, *f) {
            Some(FileFacts::BadWasm { reason }) => Some((*f, reason)),
            _ => None,
        })
    {
        return Err(EnvError::BadSideModule {
            archive: env.archive(file).path.clone(),
            entry: env.entry(file).path.clone(),
            reason: reason.clone(),
        });
    }
    for file in &extensions {
        if let Some(FileFacts::Wasm(facts)) = facts_of(env, store, *file) {
            for symbol in &facts.exports {
                builder
                    .exporters
                    .entry(symbol.clone())
                    .or_default()
                    .push(*file);
            }
        }
    }

    builder.add_roots();
    while !builder.queue.is_empty() {
        let batch = std::mem::take(&mut builder.queue);
        builder.graph.parsed += ensure_facts(env, store, &batch)?;
        for file in batch {
            builder.expand(file, store);
        }
    }
    builder.graph.expanded = builder.expanded.len();
    // The entry script is the one file the app cannot run without: Python refusing it is an
    // error, not a warning (a module of a wheel that does not parse is kept whole and warned about).
    if let Some(FileFacts::Python(facts)) = facts_of(env, store, env.entry) {
        if let Some(failure) = &facts.parse_error {
            let entry = env.entry(env.entry);
            return Err(EnvError::EntryScript {
                path: env.archive(env.entry).path.join(&entry.path),
                line: failure.line,
                message: failure.message.clone(),
            });
        }
    }
    Ok(builder.graph)
}

impl Builder<'_> {
    fn reach(&mut self, file: FileRef) {
        if self.expanded.insert(file) {
            self.queue.push(file);
        }
    }

    fn add_root(&mut self, root: Root) {
        let node = self.graph.node(root.file);
        self.graph.graph.add_edge(self.graph.roots_node, node, None);
        self.reach(root.file);
        self.graph.roots.push(root);
    }

    fn add_roots(&mut self) {
        self.add_root(Root {
            file: self.env.entry,
            kind: RootKind::Entry,
            module: None,
            why: "the entry script".into(),
        });
        let facts = &self.env.runtime_facts;
        // Whatever gets unpacked (wheels, or a bundle holding the app's own modules) goes through
        // zipfile, which needs the cp437 codec for names without the UTF-8 flag.
        let unpacks_archives = self.env.archives.iter().any(|a| match a.kind {
            ArchiveKind::Wheel { .. } | ArchiveKind::SharedLibrary { .. } => true,
            ArchiveKind::App => a.entries.len() > 1,
            ArchiveKind::Stdlib => false,
        });
        let installer: &[String] = if unpacks_archives {
            &facts.installer_modules
        } else {
            &[]
        };
        let boot = facts
            .interpreter_boot_modules
            .iter()
            .map(|m| (m, "imported by CPython while it starts"))
            .chain(
                facts
                    .bootstrap_module_candidates
                    .iter()
                    .map(|m| (m, "imported by the Pyodide bootstrap (pyodide.asm.mjs)")),
            )
            .chain(
                facts
                    .core_module_candidates
                    .iter()
                    .map(|m| (m, "imported by Pyodide's C core (pyodide.asm.wasm)")),
            )
            .chain(installer.iter().map(|m| {
                (
                    m,
                    "imported by Pyodide's wheel and bundle installer (zipfile's cp437 names)",
                )
            }));
        let mut seen = HashSet::new();
        let mut roots = Vec::new();
        for (module, why) in boot {
            for prefix in ModuleName::new(module.clone()).prefixes() {
                let Resolution::File(file) = self.index.resolve(prefix.as_str()) else {
                    continue;
                };
                if self.env.archive(file).kind != ArchiveKind::Stdlib || !seen.insert(file) {
                    continue;
                }
                roots.push(Root {
                    file,
                    kind: RootKind::Boot,
                    module: Some(prefix.to_string()),
                    why: why.to_string(),
                });
            }
        }
        for root in roots {
            self.add_root(root);
        }
    }

    /// Adds an edge whose reason is `from` itself, and queues `to` for expansion.
    fn link(
        &mut self,
        from: FileRef,
        to: FileRef,
        name: &str,
        line: Option<u32>,
        text: String,
        flags: SiteFlags,
    ) {
        self.graph.add_edge(
            from,
            to,
            ImportEdge {
                kind: flags.kind,
                optional: flags.optional,
                nested: flags.nested,
                name: name.to_string(),
                reason: Reason {
                    file: from,
                    line,
                    text,
                },
            },
        );
        self.reach(to);
    }

    fn edge(&mut self, from: FileRef, to: FileRef, name: &str, site: &Site, flags: SiteFlags) {
        self.link(from, to, name, Some(site.line), site.text.clone(), flags);
    }

    fn missing(&mut self, from: FileRef, module: &str, site: &Site, flags: SiteFlags) {
        if !self.missing_seen.insert((from, module.to_string())) {
            return;
        }
        let top = module.split('.').next().unwrap_or(module);
        // Only a top-level, unguarded import: one inside a function or a try/except is often on
        // a path the app never takes (scikit-learn's plotting helpers import matplotlib). And
        // only when the package itself is absent: a missing submodule of one the environment has
        // (0.27.7's numpy has no `numpy/polynomial/`, which its `__init__.pyi` imports) is not
        // cured by requiring the package.
        let top_absent = matches!(self.index.resolve(top), Resolution::Missing);
        if !flags.optional && !flags.nested && top_absent {
            if let Some(package) = self.env.lock_imports.get(top) {
                if self.lock_hints.insert(top.to_string()) {
                    self.graph.warnings.push(format!(
                        "{}:{}: {}: `{top}` is not in the environment, but the runtime's lock has it: add `{}` to the requirements ({} {}{})",
                        self.env.display(from),
                        site.line,
                        site.text,
                        package.name,
                        package.name,
                        package.version,
                        if package.package_type == "cpython_module" {
                            ", a stdlib module Pyodide ships apart from its stdlib zip"
                        } else {
                            ""
                        }
                    ));
                }
            }
        }
        self.graph.missing.push(MissingModule {
            module: module.to_string(),
            optional: flags.optional,
            nested: flags.nested,
            reason: Reason {
                file: from,
                line: Some(site.line),
                text: site.text.clone(),
            },
        });
    }

    /// Links `from` to `module` and to every package `__init__` above it. Returns the module's file.
    fn link_module(
        &mut self,
        from: FileRef,
        module: &ModuleName,
        site: &Site,
        flags: SiteFlags,
    ) -> Option<FileRef> {
        let mut target = None;
        // Below a built-in or JavaScript module, names are attributes, not files.
        let mut under_fileless = false;
        for prefix in module.prefixes() {
            let is_last = prefix == *module;
            let resolution = self.index.resolve(prefix.as_str());
            if let Resolution::Frozen(Some(source)) = resolution {
                // Never shipped, but what its code imports is imported.
                self.graph.frozen_sources.insert(source);
            }
            match resolution {
                Resolution::File(file) | Resolution::Frozen(Some(file)) => {
                    let kind = if is_last {
                        flags.kind
                    } else {
                        EdgeKind::PackageInit
                    };
                    if file != from {
                        self.edge(
                            from,
                            file,
                            prefix.as_str(),
                            site,
                            SiteFlags { kind, ..flags },
                        );
                    }
                    if is_last {
                        target = Some(file);
                    }
                }
                Resolution::BuiltIn | Resolution::Frozen(None) => under_fileless = true,
                Resolution::Namespace => {}
                Resolution::Missing if under_fileless => return None,
                Resolution::Missing => {
                    self.missing(from, prefix.as_str(), site, flags);
                    return None;
                }
            }
        }
        target
    }

    /// The package a relative import in `file` is relative to.
    fn own_package(&self, file: FileRef) -> Option<ModuleName> {
        let entry = self.env.entry(file);
        let (module, is_package) = match entry.kind {
            FileKind::Stub => {
                let as_py = entry.import_path.as_deref()?.strip_suffix('i')?.to_string();
                crate::index::module_for_path(&as_py, FileKind::Python)?
            }
            _ => {
                let (m, p) = self.index.module_of(file)?;
                (m.to_string(), p)
            }
        };
        let module = ModuleName::new(module);
        if is_package {
            Some(module)
        } else {
            Some(module.parent().unwrap_or_else(|| ModuleName::new("")))
        }
    }

    fn absolute_base(&self, file: FileRef, level: u32, module: Option<&str>) -> Option<ModuleName> {
        if level == 0 {
            return module.map(ModuleName::new);
        }
        let mut base = self.own_package(file)?;
        for _ in 1..level {
            base = base.parent()?;
        }
        if base.as_str().is_empty() {
            return None;
        }
        Some(match module {
            Some(m) => base.child(m),
            None => base,
        })
    }

    fn expand(&mut self, file: FileRef, store: &FactsStore) {
        self.processed.insert(file);
        self.expand_entry_points(file);
        let Some(facts) = facts_of(self.env, store, file) else {
            return;
        };
        match facts {
            FileFacts::Python(facts) => self.expand_python(file, facts, store),
            FileFacts::Wasm(facts) => {
                let site = Site {
                    line: 0,
                    text: String::new(),
                };
                let flags = SiteFlags {
                    kind: EdgeKind::DylinkNeeded,
                    optional: false,
                    nested: false,
                };
                for lib in &facts.needed {
                    let providers = self.index.libraries_named(lib).to_vec();
                    let site = Site {
                        text: format!("dylink.0 needs {lib}"),
                        ..site.clone()
                    };
                    match providers.first() {
                        Some(provider) => {
                            self.wasm_edge(file, *provider, lib, &site.text, flags.kind)
                        }
                        None => self.missing(file, lib, &site, flags),
                    }
                }
                let mut by_provider: HashMap<FileRef, Vec<&str>> = HashMap::new();
                let mut unresolved = Vec::new();
                for symbol in facts.imported_symbols() {
                    if self.env.runtime_facts.provides_symbol(symbol) || is_linker_symbol(symbol) {
                        continue;
                    }
                    match self
                        .exporters
                        .get(symbol)
                        .and_then(|v| v.iter().find(|f| **f != file))
                    {
                        Some(provider) => by_provider.entry(*provider).or_default().push(symbol),
                        None => unresolved.push(symbol),
                    }
                }
                let mut providers: Vec<_> = by_provider.into_iter().collect();
                providers.sort();
                for (provider, symbols) in providers {
                    let more = if symbols.len() > 1 {
                        format!(" (+{} more)", symbols.len() - 1)
                    } else {
                        String::new()
                    };
                    let text = format!("imports symbol {}{more}", symbols[0]);
                    self.wasm_edge(file, provider, symbols[0], &text, EdgeKind::Symbol);
                }
                self.link_names_in_data(file, &facts.module_names);
                if !unresolved.is_empty() {
                    let shown: Vec<_> = unresolved.iter().take(5).copied().collect();
                    self.graph.warnings.push(format!(
                        "{}: imports {} symbol(s) that neither the main module nor any side module exports: {}",
                        self.env.display(file),
                        unresolved.len(),
                        shown.join(", ")
                    ));
                }
            }
            // Refused by `build_graph` before anything is expanded.
            FileFacts::BadWasm { .. } => {}
        }
    }

    /// Wasm facts have no line: the reason is the fact itself.
    fn wasm_edge(&mut self, from: FileRef, to: FileRef, name: &str, text: &str, kind: EdgeKind) {
        let flags = SiteFlags {
            kind,
            optional: false,
            nested: false,
        };
        self.link(from, to, name, None, text.to_string(), flags);
    }

    fn expand_python(&mut self, file: FileRef, facts: &PythonFacts, store: &FactsStore) {
        let is_stub = self.env.entry(file).kind == FileKind::Stub;
        let import_kind = if is_stub {
            EdgeKind::LazyStub
        } else {
            EdgeKind::Import
        };
        if let Some(failure) = &facts.parse_error {
            self.graph.warnings.push(format!(
                "{}:{}: does not parse ({}); kept whole, its imports found by a line scan",
                self.env.display(file),
                failure.line,
                failure.message
            ));
        }
        for import in &facts.imports {
            self.link_statement(file, import, import_kind, store);
        }
        for dynamic in &facts.dynamic_imports {
            let flags = SiteFlags {
                kind: EdgeKind::DynamicLiteral,
                optional: dynamic.optional,
                nested: dynamic.nested,
            };
            let name = if let Some(relative) = dynamic.name.strip_prefix('.') {
                let Some(package) = self.own_package(file) else {
                    continue;
                };
                // `import_module(".x", __name__)` in a package's __init__ and
                // `import_module(".x", __package__)` in a module both mean package.x.
                package.child(relative)
            } else {
                ModuleName::new(dynamic.name.clone())
            };
            self.link_module(file, &name, &dynamic.site, flags);
        }
        self.expand_families(file, facts);
        for site in &facts.unresolved_dynamic {
            self.graph.unresolved.push(UnresolvedSite {
                file,
                line: site.line,
                text: site.text.clone(),
            });
        }
        // lazy_loader: the stub beside the module lists what `__getattr__` imports on demand.
        if let Some(marker) = facts
            .lazy
            .attach_stub
            .as_ref()
            .or(facts.lazy.module_getattr.as_ref())
        {
            let entry = self.env.entry(file);
            if let Some(stub) = entry
                .import_path
                .as_deref()
                .map(|p| format!("{p}i"))
                .and_then(|p| self.index.file_at(file.archive, &p))
            {
                let flags = SiteFlags {
                    kind: EdgeKind::LazyStub,
                    optional: false,
                    nested: false,
                };
                let name = self.env.entry(stub).path.clone();
                self.edge(file, stub, &name, marker, flags);
            }
        }
        if !facts.lazy.attach_submodules.is_empty() {
            if let Some(package) = self.own_package(file) {
                for (name, site) in &facts.lazy.attach_submodules {
                    let flags = SiteFlags {
                        kind: EdgeKind::LazyStub,
                        optional: false,
                        nested: false,
                    };
                    self.link_module(file, &package.child(name), site, flags);
                }
            }
        }
        // Star imports of this package that arrived before its facts did.
        if let Some(waiting) = self.star_imports.remove(&file) {
            for (importer, site, flags) in waiting {
                self.link_all_names(importer, file, facts, &site, flags);
            }
        }
    }

    fn link_all_names(
        &mut self,
        importer: FileRef,
        package_file: FileRef,
        package_facts: &PythonFacts,
        site: &Site,
        flags: SiteFlags,
    ) {
        let Some((package, true)) = self.index.module_of(package_file) else {
            return;
        };
        let package = ModuleName::new(package);
        for name in package_facts.all_names.iter().flatten() {
            let child = package.child(name);
            if let Resolution::File(target) = self.index.resolve(child.as_str()) {
                if target != importer {
                    self.edge(importer, target, child.as_str(), site, flags);
                }
            }
        }
    }

    fn link_statement(
        &mut self,
        file: FileRef,
        import: &ImportStatement,
        kind: EdgeKind,
        store: &FactsStore,
    ) {
        let flags = SiteFlags {
            kind,
            optional: import.optional,
            nested: import.nested,
        };
        let Some(base) = self.absolute_base(file, import.level, import.module.as_deref()) else {
            let written = format!(
                "{}{}",
                ".".repeat(import.level as usize),
                import.module.as_deref().unwrap_or("")
            );
            self.missing(file, &written, &import.site, flags);
            return;
        };
        if !import.is_from {
            self.link_module(file, &base, &import.site, flags);
            return;
        }
        // `from . import x` names no module of its own beyond the package.
        let base_file = self.link_module(file, &base, &import.site, flags);
        for name in &import.names {
            if name == "*" {
                let Some(package_file) = base_file else {
                    continue;
                };
                match facts_of(self.env, store, package_file) {
                    Some(FileFacts::Python(facts)) if self.processed.contains(&package_file) => {
                        self.link_all_names(file, package_file, facts, &import.site, flags);
                    }
                    _ => self.star_imports.entry(package_file).or_default().push((
                        file,
                        import.site.clone(),
                        flags,
                    )),
                }
                continue;
            }
            let child = base.child(name);
            // A name that is not a submodule is an attribute of the module: nothing to link.
            if let Resolution::File(target) = self.index.resolve(child.as_str()) {
                if target != file {
                    self.edge(file, target, child.as_str(), &import.site, flags);
                }
            }
        }
    }
}
