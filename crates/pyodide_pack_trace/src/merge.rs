//! Turning what the runs touched into `runtime` edges of the dependency graph.
//!
//! A run shows a file three ways: a module in `sys.modules` whose origin is the file (the only way
//! stdlib modules show, since they are read out of one zip), a file opened for reading (data files,
//! site-packages sources), and a dynamic library load. Each touched file gets one `runtime` edge
//! from the entry script, carrying the first run and observation that touched it.

use std::collections::{BTreeSet, HashMap, HashSet};

use pyodide_pack_env::{ArchiveKind, Environment, FileKind, FileRef};
use pyodide_pack_graph::{DependencyGraph, EdgeKind, ImportEdge, KeptSet};
use serde::Serialize;

use crate::record::Trace;

/// How a run showed that it used a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "name")]
pub enum Observation {
    /// A module in `sys.modules` whose origin is this file.
    Module(String),
    /// The file was opened for reading.
    Opened,
    /// The file was loaded as a dynamic library.
    Library,
}

impl Observation {
    pub fn describe(&self, path: &str) -> String {
        match self {
            Observation::Module(name) => format!("imported {name}"),
            Observation::Opened => format!("opened {path}"),
            Observation::Library => format!("loaded library {path}"),
        }
    }
}

/// A file some run touched, with the first run and observation.
#[derive(Debug, Clone)]
pub struct TraceFinding {
    pub file: FileRef,
    pub how: Observation,
    pub run: String,
    /// Whether static analysis alone kept it.
    pub static_kept: bool,
}

#[derive(Debug, Clone, Default)]
pub struct TraceSummary {
    /// The run labels, in order.
    pub runs: Vec<String>,
    /// Every touched file of the environment, in the order first seen.
    pub touched: Vec<TraceFinding>,
    /// Imports that failed in some run (module, first run): optional imports the app copes without.
    pub failed_imports: Vec<(String, String)>,
    /// Paths a run used under site-packages or the app folder that the environment does not have:
    /// the trace was made with other wheels, or the app writes files it reads back.
    pub outside: Vec<String>,
}

impl TraceSummary {
    /// Touched files static analysis did not keep: what the trace adds.
    pub fn found_by_trace(&self) -> impl Iterator<Item = &TraceFinding> {
        self.touched.iter().filter(|f| !f.static_kept)
    }

    /// Kept files no run touched (sources, extensions and data of the stdlib and the wheels;
    /// metadata left out, since a rule keeps it). Informational: static analysis keeps them.
    pub fn untouched(&self, env: &Environment, kept: &KeptSet) -> Vec<FileRef> {
        let touched: HashSet<FileRef> = self.touched.iter().map(|f| f.file).collect();
        let mut untouched: Vec<FileRef> = kept
            .iter()
            .filter(|f| !touched.contains(f))
            .filter(|f| env.archive(*f).kind != ArchiveKind::App)
            .filter(|f| {
                matches!(
                    env.entry(*f).kind,
                    FileKind::Python | FileKind::Extension | FileKind::Data
                )
            })
            .collect();
        untouched.sort();
        untouched
    }
}

/// Adds a `runtime` edge for every file the traces touched and summarises what they add to the
/// static analysis (`static_kept`: what static analysis kept before the merge).
pub fn merge_traces(
    graph: &mut DependencyGraph,
    env: &Environment,
    traces: &[Trace],
    static_kept: &KeptSet,
) -> TraceSummary {
    let by_install_path: HashMap<&str, FileRef> = env
        .files()
        .map(|f| (env.entry(f).install_path.as_str(), f))
        .collect();
    let site_packages = env.runtime.site_packages();
    let app_root = pyodide_pack_env::APP_INSTALL_ROOT;
    let mut summary = TraceSummary::default();
    let mut seen: HashSet<FileRef> = HashSet::new();
    let mut outside: BTreeSet<String> = BTreeSet::new();
    let mut failed: HashSet<String> = HashSet::new();

    let mut touch = |summary: &mut TraceSummary, path: &str, how: Observation, run: &str| {
        let Some(&file) = by_install_path.get(path) else {
            let ours = path.starts_with(&format!("{site_packages}/"))
                || path.starts_with(&format!("{app_root}/"));
            if ours && !path.contains("/__pycache__/") {
                outside.insert(path.to_string());
            }
            return;
        };
        if seen.insert(file) {
            summary.touched.push(TraceFinding {
                file,
                how,
                run: run.to_string(),
                static_kept: static_kept.contains(file),
            });
        }
    };

    for trace in traces {
        for run in &trace.runs {
            summary.runs.push(run.label.clone());
            for module in &run.modules {
                if let Some(origin) = module.origin.as_deref().filter(|o| o.starts_with('/')) {
                    touch(
                        &mut summary,
                        origin,
                        Observation::Module(module.name.clone()),
                        &run.label,
                    );
                }
            }
            for lib in &run.dynlibs {
                touch(&mut summary, lib, Observation::Library, &run.label);
            }
            for path in &run.opened {
                touch(&mut summary, path, Observation::Opened, &run.label);
            }
            for import in &run.imports {
                if !import.found && failed.insert(import.module.clone()) {
                    summary
                        .failed_imports
                        .push((import.module.clone(), run.label.clone()));
                }
            }
        }
    }
    summary.outside = outside.into_iter().collect();

    for finding in &summary.touched {
        if finding.file == env.entry {
            continue;
        }
        let path = &env.entry(finding.file).path;
        let name = match &finding.how {
            Observation::Module(name) => name.clone(),
            _ => path.clone(),
        };
        let text = format!("run {}: {}", finding.run, finding.how.describe(path));
        let edge = ImportEdge::without_line(EdgeKind::Runtime, name, env.entry, text);
        graph.add_edge(env.entry, finding.file, edge);
    }

    summary
}

/// `--stdlib-from-trace`: the stdlib shrinks to what the runs touched. Every stdlib source or data
/// file no run touched is dropped (an exclude wall, so `why` can say so), even if a boot module
/// imports it statically; include globs still win. Validation is what makes this safe to use.
pub fn restrict_stdlib_to_touched(
    graph: &mut DependencyGraph,
    env: &Environment,
    summary: &TraceSummary,
    rules: &pyodide_pack_graph::UserRules,
) -> usize {
    let touched: HashSet<FileRef> = summary.touched.iter().map(|f| f.file).collect();
    let mut dropped = 0;
    for file in env.files() {
        let is_stdlib = env.archive(file).kind == ArchiveKind::Stdlib;
        if !is_stdlib || touched.contains(&file) || rules.included(env, file).is_some() {
            continue;
        }
        if graph.excluded.contains_key(&file) {
            continue;
        }
        graph.excluded.insert(
            file,
            "--stdlib-from-trace (no traced run touched this stdlib file)".to_string(),
        );
        dropped += 1;
    }
    dropped
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{ImportEvent, ModuleOrigin, RunTimings, TraceRun, TRACE_SCHEMA};
    use pyodide_pack_env::testing::{file, paths, TestEnv};
    use pyodide_pack_graph::{build_graph, facts_store_for, finish, BuildOptions, UserRules};

    /// One run that had `modules` (name, origin) in sys.modules, opened `opened`, loaded
    /// `dynlibs`, and failed to import `failed`.
    fn run(modules: &[(&str, &str)], opened: &[&str], dynlibs: &[&str], failed: &[&str]) -> Trace {
        Trace {
            schema: TRACE_SCHEMA.into(),
            tool_version: "test".into(),
            app: "app.py".into(),
            pyodide_version: Some("314.0.8".into()),
            runs: vec![TraceRun {
                label: "app.py".into(),
                input: None,
                opened: opened.iter().map(|s| s.to_string()).collect(),
                dynlibs: dynlibs.iter().map(|s| s.to_string()).collect(),
                imports: failed
                    .iter()
                    .map(|m| ImportEvent {
                        module: m.to_string(),
                        found: false,
                    })
                    .collect(),
                modules: modules
                    .iter()
                    .map(|(name, origin)| ModuleOrigin {
                        name: name.to_string(),
                        origin: Some(origin.to_string()),
                    })
                    .collect(),
                stdout: String::new(),
                timings: RunTimings::default(),
            }],
        }
    }

    /// An app whose plugin is imported by a computed name, and whose package reads a data file.
    fn environment() -> (tempfile::TempDir, Environment) {
        TestEnv::new()
            .app(
                "app.py",
                "import importlib, pkg\nname = 'plug' + 'in'\nimportlib.import_module(name)\n",
            )
            .app("plugin.py", "")
            .stdlib("importlib/__init__.py", "")
            .stdlib("codecs_extra.py", "")
            .wheel(
                "pkg",
                "1.0",
                &[
                    ("pkg/__init__.py", b""),
                    ("pkg/table.csv", b"a,b\n"),
                    ("pkg/unused.py", b""),
                ],
            )
            .build()
    }

    #[test]
    fn what_a_run_touched_becomes_runtime_edges_and_is_kept() {
        let (_dir, env) = environment();
        let mut store = facts_store_for(&env, None);
        let mut graph = build_graph(&env, &mut store, &BuildOptions::default()).unwrap();
        let static_only = finish(graph.clone(), &env, &UserRules::default());
        assert!(!static_only.kept.contains(file(&env, "plugin.py")));
        let trace = run(
            &[
                ("plugin", "/home/pyodide/plugin.py"),
                ("codecs_extra", "/lib/python314.zip/codecs_extra.py"),
                ("pkg", "/lib/python3.14/site-packages/pkg/__init__.py"),
            ],
            &[
                "/lib/python3.14/site-packages/pkg/table.csv",
                "/lib/python3.14/site-packages/pkg/gone.txt",
            ],
            &[],
            &["optional_speedups"],
        );
        let summary = merge_traces(&mut graph, &env, &[trace], &static_only.kept);
        let analysis = finish(graph, &env, &UserRules::default());
        for path in ["plugin.py", "codecs_extra.py", "pkg/table.csv"] {
            assert!(analysis.kept.contains(file(&env, path)), "{path} kept");
        }
        // The trace's additions, each with how it was seen; what static analysis had is marked.
        let found: Vec<(String, Observation)> = summary
            .found_by_trace()
            .map(|f| (env.entry(f.file).path.clone(), f.how.clone()))
            .collect();
        assert!(found.contains(&("plugin.py".into(), Observation::Module("plugin".into()))));
        // (A data file of a kept package is kept by the default data rule already: the trace
        // marks it touched, which puts it in the eager tier.)
        assert!(summary
            .touched
            .iter()
            .any(|f| f.file == file(&env, "pkg/table.csv") && f.how == Observation::Opened));
        assert!(summary
            .touched
            .iter()
            .any(|f| f.file == file(&env, "pkg/__init__.py") && f.static_kept));
        let runtime_edge = analysis
            .graph
            .edges()
            .find(|(_, to, _)| *to == file(&env, "plugin.py"))
            .map(|(from, _, edge)| (from, edge.kind))
            .unwrap();
        assert_eq!(runtime_edge, (env.entry, EdgeKind::Runtime));
        // A path of site-packages the environment lacks, and the failed import, are reported.
        assert_eq!(
            summary.outside,
            ["/lib/python3.14/site-packages/pkg/gone.txt"]
        );
        assert_eq!(
            summary.failed_imports,
            [("optional_speedups".to_string(), "app.py".to_string())]
        );
        // What no run touched and static analysis kept is listed, not dropped.
        let untouched = paths(&env, summary.untouched(&env, &analysis.kept));
        assert!(
            untouched.contains(&"importlib/__init__.py".to_string()),
            "{untouched:?}"
        );
        assert!(analysis.kept.contains(file(&env, "importlib/__init__.py")));
    }

    #[test]
    fn a_run_with_nothing_new_adds_nothing() {
        let (_dir, env) = environment();
        let mut store = facts_store_for(&env, None);
        let mut graph = build_graph(&env, &mut store, &BuildOptions::default()).unwrap();
        let static_only = finish(graph.clone(), &env, &UserRules::default());
        let before = static_only.kept.iter().count();
        let summary = merge_traces(
            &mut graph,
            &env,
            &[run(&[], &[], &[], &[])],
            &static_only.kept,
        );
        assert!(summary.touched.is_empty());
        assert_eq!(summary.runs, ["app.py"]);
        let after = finish(graph, &env, &UserRules::default());
        assert_eq!(after.kept.iter().count(), before);
    }

    #[test]
    fn stdlib_from_trace_keeps_only_what_a_run_touched_or_a_glob_names() {
        let (_dir, env) = environment();
        let mut store = facts_store_for(&env, None);
        let mut graph = build_graph(&env, &mut store, &BuildOptions::default()).unwrap();
        let static_only = finish(graph.clone(), &env, &UserRules::default());
        let trace = run(
            &[("codecs_extra", "/lib/python314.zip/codecs_extra.py")],
            &[],
            &[],
            &[],
        );
        let summary = merge_traces(&mut graph, &env, &[trace], &static_only.kept);
        let dropped = restrict_stdlib_to_touched(&mut graph, &env, &summary, &UserRules::default());
        assert_eq!(
            dropped, 1,
            "importlib/__init__.py, which static analysis kept"
        );
        let analysis = finish(graph, &env, &UserRules::default());
        assert!(analysis.kept.contains(file(&env, "codecs_extra.py")));
        assert!(!analysis.kept.contains(file(&env, "importlib/__init__.py")));
        assert!(
            analysis.graph.excluded[&file(&env, "importlib/__init__.py")]
                .starts_with("--stdlib-from-trace")
        );
    }

    #[test]
    fn a_loaded_library_is_touched_as_a_library() {
        let (_dir, env) = TestEnv::new()
            .app(
                "app.py",
                "import ext
",
            )
            .wheel(
                "ext",
                "1.0",
                &[("ext.cpython-314-wasm32-emscripten.so", b"\0asm\x01\0\0\0")],
            )
            .build();
        let mut store = facts_store_for(&env, None);
        let mut graph = build_graph(&env, &mut store, &BuildOptions::default()).unwrap();
        let static_only = finish(graph.clone(), &env, &UserRules::default());
        let so = "/lib/python3.14/site-packages/ext.cpython-314-wasm32-emscripten.so";
        let summary = merge_traces(
            &mut graph,
            &env,
            &[run(&[], &[], &[so], &[])],
            &static_only.kept,
        );
        let finding = &summary.touched[0];
        assert_eq!(
            finding.file,
            file(&env, "ext.cpython-314-wasm32-emscripten.so")
        );
        assert_eq!(finding.how, Observation::Library);
        assert_eq!(finding.how.describe(so), format!("loaded library {so}"));
    }

    #[test]
    fn observations_describe_themselves() {
        assert_eq!(
            Observation::Module("json".into()).describe("x"),
            "imported json"
        );
        assert_eq!(Observation::Opened.describe("/a/b.csv"), "opened /a/b.csv");
        let summary = TraceSummary {
            touched: vec![
                TraceFinding {
                    file: FileRef {
                        archive: 0,
                        entry: 0,
                    },
                    how: Observation::Opened,
                    run: "app.py".into(),
                    static_kept: true,
                },
                TraceFinding {
                    file: FileRef {
                        archive: 0,
                        entry: 1,
                    },
                    how: Observation::Library,
                    run: "app.py".into(),
                    static_kept: false,
                },
            ],
            ..TraceSummary::default()
        };
        let found: Vec<u32> = summary.found_by_trace().map(|f| f.file.entry).collect();
        assert_eq!(found, [1]);
    }
}
