//! The graph's decisions on small environments built in the test (`pyodide_pack_env::testing`):
//! each edge kind and its reason, what pruning keeps and drops, the user's rules, the tiers, and
//! `why`'s chains. No runtime, no Node, no cache.

use std::collections::HashSet;

use pyodide_pack_env::testing::{file, paths, side_module, TestEnv};
use pyodide_pack_env::{Environment, FileRef};

use crate::*;

/// The static analysis of `env` with `rules`.
fn analyse(env: &Environment, rules: &UserRules) -> Analysis {
    let mut store = facts_store_for(env, None);
    let graph = build_graph(env, &mut store, &BuildOptions::default()).expect("the graph builds");
    finish(graph, env, rules)
}

fn kept_paths(env: &Environment, analysis: &Analysis) -> Vec<String> {
    paths(env, analysis.kept.iter())
}

/// The edges into `to`: (kind, from's path, the reason's line, the reason's text).
fn edges_into(
    env: &Environment,
    analysis: &Analysis,
    to: FileRef,
) -> Vec<(EdgeKind, String, Option<u32>, String)> {
    let mut edges: Vec<_> = analysis
        .graph
        .edges()
        .filter(|(_, target, _)| *target == to)
        .map(|(from, _, edge)| {
            (
                edge.kind,
                env.entry(from).path.clone(),
                edge.reason.line,
                edge.reason.text.clone(),
            )
        })
        .collect();
    edges.sort();
    edges
}

fn glob(pattern: &str, flag: &str) -> RuleGlob {
    RuleGlob {
        pattern: pattern.into(),
        source: flag.into(),
    }
}

#[test]
fn imports_resolve_to_files_with_their_line() {
    let (_dir, env) = TestEnv::new()
        .app("app.py", "import json\nfrom pkg import tool\n")
        .stdlib("json/__init__.py", "from .decoder import decode\n")
        .stdlib("json/decoder.py", "def decode(): pass\n")
        .stdlib("unused.py", "x = 1\n")
        .wheel(
            "pkg",
            "1.0",
            &[("pkg/__init__.py", b""), ("pkg/tool.py", b"import json\n")],
        )
        .build();
    let analysis = analyse(&env, &UserRules::default());
    assert_eq!(
        kept_paths(&env, &analysis),
        [
            "app.py",
            "json/__init__.py",
            "json/decoder.py",
            "pkg/__init__.py",
            "pkg/tool.py"
        ]
    );
    let json = file(&env, "json/__init__.py");
    let into_json = edges_into(&env, &analysis, json);
    assert!(into_json.contains(&(
        EdgeKind::Import,
        "app.py".into(),
        Some(1),
        "import json".into()
    )));
    assert!(into_json.contains(&(
        EdgeKind::Import,
        "pkg/tool.py".into(),
        Some(1),
        "import json".into()
    )));
    // The relative import, and the package's __init__ run before its module.
    let decoder = file(&env, "json/decoder.py");
    let into_decoder = edges_into(&env, &analysis, decoder);
    assert!(into_decoder
        .iter()
        .any(|(k, from, line, _)| *k == EdgeKind::Import
            && from == "json/__init__.py"
            && *line == Some(1)));
    let tool = file(&env, "pkg/tool.py");
    assert!(edges_into(&env, &analysis, file(&env, "pkg/__init__.py"))
        .iter()
        .any(|(k, _, _, _)| *k == EdgeKind::PackageInit || *k == EdgeKind::Import));
    assert!(!edges_into(&env, &analysis, tool).is_empty());
}

#[test]
fn what_no_root_reaches_is_dropped() {
    let (_dir, env) = TestEnv::new()
        .app("app.py", "import a\n")
        .app("a.py", "x = 1\n")
        .app("b.py", "import c\n")
        .app("c.py", "")
        .build();
    let analysis = analyse(&env, &UserRules::default());
    assert_eq!(kept_paths(&env, &analysis), ["a.py", "app.py"]);
}

#[test]
fn nested_and_optional_imports_are_edges_marked_so() {
    let (_dir, env) = TestEnv::new()
        .app(
            "app.py",
            "def f():\n    import lazy_mod\ntry:\n    import maybe\nexcept ImportError:\n    maybe = None\n",
        )
        .app("lazy_mod.py", "")
        .app("maybe.py", "")
        .build();
    let analysis = analyse(&env, &UserRules::default());
    let edges: Vec<&ImportEdge> = analysis.graph.edges().map(|(_, _, e)| e).collect();
    let nested = edges
        .iter()
        .find(|e| e.name == "lazy_mod")
        .expect("lazy_mod");
    assert!(nested.nested && nested.reason.line == Some(2), "{nested:?}");
    let optional = edges.iter().find(|e| e.name == "maybe").expect("maybe");
    assert!(
        optional.optional && optional.reason.line == Some(4),
        "{optional:?}"
    );
    assert!(kept_paths(&env, &analysis).contains(&"lazy_mod.py".to_string()));
}

#[test]
fn a_missing_module_is_recorded_with_its_reason() {
    let (_dir, env) = TestEnv::new()
        .app("app.py", "import json\nimport nowhere\n")
        .stdlib("json/__init__.py", "")
        .build();
    let analysis = analyse(&env, &UserRules::default());
    let missing: Vec<_> = analysis
        .graph
        .missing
        .iter()
        .map(|m| (m.module.as_str(), m.reason.line))
        .collect();
    assert_eq!(missing, [("nowhere", Some(2))]);
}

/// A lock package the environment lacks gets a hint to require it; a missing submodule of a
/// package the environment has does not (requiring it again would not help).
#[test]
fn a_missing_lock_package_is_hinted_but_not_a_missing_submodule_of_one_present() {
    let lock_package = |name: &str| pyodide_pack_env::LockPackage {
        name: name.into(),
        version: "1.0".into(),
        file_name: format!("{name}-1.0-py3-none-any.whl"),
        install_dir: "site".into(),
        sha256: String::new(),
        package_type: "package".into(),
        depends: vec![],
        imports: vec![name.into()],
    };
    let (_dir, mut env) = TestEnv::new()
        .app("app.py", "import numpy.polynomial\nimport regex\n")
        .wheel("numpy", "1.0", &[("numpy/__init__.py", b"")])
        .build();
    for name in ["numpy", "regex"] {
        env.lock_imports.insert(name.into(), lock_package(name));
    }
    let analysis = analyse(&env, &UserRules::default());
    let missing: Vec<_> = analysis
        .graph
        .missing
        .iter()
        .map(|m| m.module.as_str())
        .collect();
    assert_eq!(missing, ["numpy.polynomial", "regex"]);
    let hints: Vec<_> = analysis
        .graph
        .warnings
        .iter()
        .filter(|w| w.contains("the runtime's lock has it"))
        .collect();
    assert_eq!(hints.len(), 1, "{hints:?}");
    assert!(
        hints[0].starts_with("app.py:2: import regex: `regex` is not in the environment"),
        "{}",
        hints[0]
    );
}

#[test]
fn builtin_modules_need_no_file() {
    let (_dir, env) = TestEnv::new()
        .app("app.py", "import sys\nimport _json\n")
        .builtin("_json")
        .build();
    let analysis = analyse(&env, &UserRules::default());
    assert!(
        analysis.graph.missing.is_empty(),
        "{:?}",
        analysis.graph.missing
    );
}

#[test]
fn a_literal_dynamic_import_is_an_edge() {
    let (_dir, env) = TestEnv::new()
        .app(
            "app.py",
            "import importlib\nplugin = importlib.import_module(\"plugins.csv\")\n",
        )
        .stdlib("importlib/__init__.py", "")
        .app("plugins/__init__.py", "")
        .app("plugins/csv.py", "")
        .app("plugins/xml.py", "")
        .build();
    let analysis = analyse(&env, &UserRules::default());
    let csv = file(&env, "plugins/csv.py");
    assert!(edges_into(&env, &analysis, csv)
        .iter()
        .any(|(k, from, line, _)| *k == EdgeKind::DynamicLiteral
            && from == "app.py"
            && *line == Some(2)));
    assert!(!kept_paths(&env, &analysis).contains(&"plugins/xml.py".to_string()));
}

#[test]
fn boot_modules_are_roots() {
    let (_dir, env) = TestEnv::new()
        .app("app.py", "x = 1\n")
        .stdlib("site.py", "import os\n")
        .stdlib("os.py", "")
        .stdlib("other.py", "")
        .boots("site")
        .build();
    let analysis = analyse(&env, &UserRules::default());
    assert_eq!(kept_paths(&env, &analysis), ["app.py", "os.py", "site.py"]);
    assert!(analysis
        .graph
        .roots
        .iter()
        .any(|r| r.file == file(&env, "site.py")));
}

#[test]
fn include_keeps_and_exclude_drops_with_what_only_it_imports() {
    let (_dir, env) = TestEnv::new()
        .app("app.py", "import pkg\n")
        .wheel(
            "pkg",
            "1.0",
            &[
                ("pkg/__init__.py", b"from pkg import heavy, light\n"),
                ("pkg/heavy.py", b"import pkg.heavy_helper\n"),
                ("pkg/heavy_helper.py", b""),
                ("pkg/light.py", b""),
                ("pkg/extra/notes.md", b"read me"),
            ],
        )
        .build();
    let rules = UserRules::new(
        vec![glob("pkg/extra/*.md", "--include")],
        vec![glob("pkg/heavy.py", "--exclude")],
    )
    .unwrap();
    let analysis = analyse(&env, &rules);
    let kept = kept_paths(&env, &analysis);
    assert!(kept.contains(&"pkg/extra/notes.md".to_string()), "{kept:?}");
    assert!(!kept.contains(&"pkg/heavy.py".to_string()), "{kept:?}");
    assert!(
        !kept.contains(&"pkg/heavy_helper.py".to_string()),
        "{kept:?}"
    );
    assert!(kept.contains(&"pkg/light.py".to_string()), "{kept:?}");
    assert_eq!(
        analysis
            .graph
            .excluded
            .get(&file(&env, "pkg/heavy.py"))
            .map(String::as_str),
        Some("exclude glob \"pkg/heavy.py\" (--exclude)")
    );
}

#[test]
fn a_side_module_keeps_the_library_it_needs_and_the_module_that_exports_its_symbol() {
    let fast = side_module(&["libblas.so"], &["helper_sum"], &["PyInit__fast"]);
    let helper = side_module(&[], &[], &["helper_sum", "PyInit__helper"]);
    let blas = side_module(&[], &[], &["dgemm_"]);
    let (_dir, env) = TestEnv::new()
        .app("app.py", "import num._fast\n")
        .wheel(
            "num",
            "1.0",
            &[
                ("num/__init__.py", b""),
                ("num/_fast.cpython-314-wasm32-emscripten.so", &fast),
                ("num/_helper.cpython-314-wasm32-emscripten.so", &helper),
            ],
        )
        .shared_library(
            "blas",
            "1.0",
            &[("libblas.so", &blas), ("libother.so", &blas)],
        )
        .build();
    let analysis = analyse(&env, &UserRules::default());
    let kept = kept_paths(&env, &analysis);
    assert!(kept.contains(&"libblas.so".to_string()), "{kept:?}");
    assert!(!kept.contains(&"libother.so".to_string()), "{kept:?}");
    assert!(
        kept.contains(&"num/_helper.cpython-314-wasm32-emscripten.so".to_string()),
        "{kept:?}"
    );
    let into_blas = edges_into(&env, &analysis, file(&env, "libblas.so"));
    assert!(into_blas
        .iter()
        .any(|(k, from, _, _)| *k == EdgeKind::DylinkNeeded
            && from == "num/_fast.cpython-314-wasm32-emscripten.so"));
    let into_helper = edges_into(
        &env,
        &analysis,
        file(&env, "num/_helper.cpython-314-wasm32-emscripten.so"),
    );
    assert!(
        into_helper
            .iter()
            .any(|(k, _, _, _)| *k == EdgeKind::Symbol),
        "{into_helper:?}"
    );
}

#[test]
fn tiers_put_what_runs_touched_up_front_and_the_rest_behind() {
    let (_dir, env) = TestEnv::new()
        .app("app.py", "import pkg\n")
        .wheel(
            "pkg",
            "1.0",
            &[
                ("pkg/__init__.py", b"def later():\n    import pkg.rare\n"),
                ("pkg/rare.py", b""),
            ],
        )
        .build();
    let analysis = analyse(&env, &UserRules::default());
    let touched: HashSet<FileRef> = [file(&env, "app.py"), file(&env, "pkg/__init__.py")].into();
    let tiers = assign_tiers(
        &analysis.graph,
        &env,
        &analysis.kept,
        Some(&touched),
        &UserRules::default(),
        TierOptions::default(),
    );
    assert_eq!(tiers.tier(file(&env, "pkg/__init__.py")), Tier::Eager);
    assert_eq!(tiers.tier(file(&env, "pkg/rare.py")), Tier::Lazy);
    let no_lazy = assign_tiers(
        &analysis.graph,
        &env,
        &analysis.kept,
        Some(&touched),
        &UserRules::default(),
        TierOptions {
            no_lazy: true,
            ..TierOptions::default()
        },
    );
    assert_eq!(no_lazy.tier(file(&env, "pkg/rare.py")), Tier::Eager);
    // --eager puts a file up front though no run touched it.
    let eager_rule = UserRules::default()
        .with_eager(vec![glob("pkg/rare.py", "--eager")])
        .unwrap();
    let tiers = assign_tiers(
        &analysis.graph,
        &env,
        &analysis.kept,
        Some(&touched),
        &eager_rule,
        TierOptions::default(),
    );
    assert_eq!(tiers.tier(file(&env, "pkg/rare.py")), Tier::Eager);
}

#[test]
fn why_gives_the_shortest_chain_from_the_entry() {
    let (_dir, env) = TestEnv::new()
        .app("app.py", "import a\nimport b\n")
        .app("a.py", "import c\n")
        .app("b.py", "import a\n")
        .app("c.py", "")
        .build();
    let analysis = analyse(&env, &UserRules::default());
    let chains = shortest_chains(&analysis.graph);
    let Ok(Target::File(c)) = find_target(&env, &analysis.graph, "c") else {
        panic!("c is a module: one file");
    };
    let chain = chains.chain_to(&analysis.graph, c).expect("c is reached");
    let steps: Vec<(String, Option<u32>)> = chain
        .iter()
        .map(|link| (env.entry(link.to).path.clone(), link.edge.reason.line))
        .collect();
    assert_eq!(
        steps,
        [("a.py".to_string(), Some(1)), ("c.py".to_string(), Some(1))]
    );
    let Err(closest) = find_target(&env, &analysis.graph, "cc") else {
        panic!("cc is no module");
    };
    assert!(!closest.is_empty());
}

/// The kinds of the edges into the file at `path`.
fn kinds_into(env: &Environment, analysis: &Analysis, path: &str) -> Vec<EdgeKind> {
    edges_into(env, analysis, file(env, path))
        .into_iter()
        .map(|(kind, _, _, _)| kind)
        .collect()
}

#[test]
fn a_computed_import_with_a_literal_start_links_the_whole_family() {
    let (_dir, env) = TestEnv::new()
        .app(
            "app.py",
            "import sys\nname = sys.argv[0]\nmod = __import__(\"plugins.\" + name)\n",
        )
        .app("plugins/__init__.py", "")
        .app("plugins/csv.py", "")
        .app("plugins/xml.py", "")
        .app("other.py", "")
        .build();
    let analysis = analyse(&env, &UserRules::default());
    for member in ["plugins/csv.py", "plugins/xml.py"] {
        assert!(
            kinds_into(&env, &analysis, member).contains(&EdgeKind::DynamicFamily),
            "{member}: {:?}",
            kinds_into(&env, &analysis, member)
        );
    }
    assert!(!kept_paths(&env, &analysis).contains(&"other.py".to_string()));
    // Family members are available, never up front on their own.
    assert!(EdgeKind::DynamicFamily.is_family());
}

#[test]
fn a_dotted_name_in_a_string_is_an_edge() {
    let (_dir, env) = TestEnv::new()
        .app("app.py", "import pkg\n")
        .wheel(
            "pkg",
            "1.0",
            &[
                (
                    "pkg/__init__.py",
                    b"LEXERS = {'PythonLexer': ('pkg.lexers.python', 'Python')}\n",
                ),
                ("pkg/lexers/__init__.py", b""),
                ("pkg/lexers/python.py", b""),
                ("pkg/lexers/rust.py", b""),
            ],
        )
        .build();
    let analysis = analyse(&env, &UserRules::default());
    assert!(kinds_into(&env, &analysis, "pkg/lexers/python.py").contains(&EdgeKind::NameLiteral));
    assert!(!kept_paths(&env, &analysis).contains(&"pkg/lexers/rust.py".to_string()));
}

#[test]
fn data_beside_a_module_that_reads_through_its_file_is_kept() {
    let (_dir, env) = TestEnv::new()
        .app("app.py", "import pkg\n")
        .wheel(
            "pkg",
            "1.0",
            &[
                (
                    "pkg/__init__.py",
                    b"import os\nHERE = os.path.dirname(__file__)\n",
                ),
                ("pkg/data/table.json", b"{}"),
            ],
        )
        .stdlib("os.py", "")
        .build();
    let analysis = analyse(&env, &UserRules::default());
    assert!(
        kinds_into(&env, &analysis, "pkg/data/table.json").contains(&EdgeKind::DataFamily),
        "{:?}",
        kinds_into(&env, &analysis, "pkg/data/table.json")
    );
}

#[test]
fn the_stdlibs_own_computed_import_is_a_rule() {
    let (_dir, env) = TestEnv::new()
        .app("app.py", "import sysconfig\n")
        .stdlib("sysconfig.py", "")
        .stdlib(
            "_sysconfigdata__emscripten_wasm32-emscripten.py",
            "build_time_vars = {}\n",
        )
        .build();
    let analysis = analyse(&env, &UserRules::default());
    assert!(kinds_into(
        &env,
        &analysis,
        "_sysconfigdata__emscripten_wasm32-emscripten.py"
    )
    .contains(&EdgeKind::StdlibRule));
}

#[test]
fn a_lazy_loader_package_imports_what_its_stub_lists() {
    let (_dir, env) = TestEnv::new()
        .app("app.py", "import pkg\n")
        .wheel(
            "pkg",
            "1.0",
            &[
                (
                    "pkg/__init__.py",
                    b"import lazy_loader as lazy\n__getattr__, __dir__, __all__ = lazy.attach_stub(__name__, __file__)\n",
                ),
                ("pkg/__init__.pyi", b"from . import io\nfrom .filters import blur\n"),
                ("pkg/io.py", b""),
                ("pkg/filters.py", b""),
                ("pkg/unlisted.py", b""),
            ],
        )
        .build();
    let analysis = analyse(&env, &UserRules::default());
    for listed in ["pkg/io.py", "pkg/filters.py"] {
        assert!(
            kinds_into(&env, &analysis, listed).contains(&EdgeKind::LazyStub),
            "{listed}: {:?}",
            kinds_into(&env, &analysis, listed)
        );
    }
    assert!(!kept_paths(&env, &analysis).contains(&"pkg/unlisted.py".to_string()));
}

/// app imports a and b; both import c; only a imports d.
fn diamond() -> (tempfile::TempDir, Environment) {
    TestEnv::new()
        .app("app.py", "import a\nimport b\n")
        .app("a.py", "import c\nimport d\n")
        .app("b.py", "import c\n")
        .app("c.py", "")
        .app("d.py", "")
        .build()
}

#[test]
fn kept_importers_are_every_kept_file_that_imports_the_target() {
    let (_dir, env) = diamond();
    let analysis = analyse(&env, &UserRules::default());
    let importers: Vec<String> =
        kept_importers(&analysis.graph, &analysis.kept, file(&env, "c.py"))
            .iter()
            .map(|link| env.entry(link.from).path.clone())
            .collect();
    assert_eq!(importers, ["a.py", "b.py"]);
}

#[test]
fn cut_points_are_the_files_every_road_passes() {
    let (_dir, env) = diamond();
    let analysis = analyse(&env, &UserRules::default());
    // Two roads lead to c: no single file but the entry stands on both.
    let c = paths(&env, cut_points(&analysis.graph, file(&env, "c.py")));
    assert!(
        !c.contains(&"a.py".to_string()) && !c.contains(&"b.py".to_string()),
        "{c:?}"
    );
    // One road leads to d, through a.
    let d = paths(&env, cut_points(&analysis.graph, file(&env, "d.py")));
    assert!(d.contains(&"a.py".to_string()), "{d:?}");
}

#[test]
fn targets_are_found_by_module_by_path_and_by_package() {
    let (_dir, env) = TestEnv::new()
        .app("app.py", "import pkg.sub\n")
        .wheel(
            "pkg",
            "1.0",
            &[("pkg/__init__.py", b""), ("pkg/sub.py", b"")],
        )
        .build();
    let analysis = analyse(&env, &UserRules::default());
    let sub = file(&env, "pkg/sub.py");
    assert!(
        matches!(find_target(&env, &analysis.graph, "pkg.sub"), Ok(Target::File(f)) if f == sub)
    );
    assert!(
        matches!(find_target(&env, &analysis.graph, "pkg/sub.py"), Ok(Target::File(f)) if f == sub)
    );
    match find_target(&env, &analysis.graph, "pkg") {
        // (A package name is its __init__ as a module; a distribution name, all its files.)
        Ok(Target::File(f)) => assert_eq!(f, file(&env, "pkg/__init__.py")),
        Ok(Target::Package { files, .. }) => assert!(files.contains(&sub)),
        Err(closest) => panic!("pkg not found: {closest:?}"),
    }
}

#[test]
fn an_excluded_entry_dependency_drops_its_whole_subtree_but_not_shared_files() {
    let (_dir, env) = diamond();
    let rules = UserRules::new(Vec::new(), vec![glob("a.py", "--exclude")]).unwrap();
    let analysis = analyse(&env, &rules);
    assert_eq!(kept_paths(&env, &analysis), ["app.py", "b.py", "c.py"]);
}

#[test]
fn an_import_edge_says_what_it_is_in_reports() {
    assert_eq!(EdgeKind::Import.as_str(), "import");
    assert_eq!(EdgeKind::DylinkNeeded.as_str(), "dylink-needed");
    assert!(!EdgeKind::Import.is_family());
    assert!(EdgeKind::DataFamily.is_family());
    // Every kind has a distinct name.
    let names: HashSet<&str> = EdgeKind::ALL.iter().map(|k| k.as_str()).collect();
    assert_eq!(names.len(), EdgeKind::ALL.len());
}

#[test]
fn the_app_folder_comes_first_on_the_path() {
    // An app module named like a stdlib one wins, as it does on sys.path: the stdlib's drops.
    let (_dir, env) = TestEnv::new()
        .app("app.py", "import calendar\n")
        .app("calendar.py", "")
        .stdlib("calendar.py", "import locale\n")
        .stdlib("locale.py", "")
        .build();
    let analysis = analyse(&env, &UserRules::default());
    let kept: Vec<String> = analysis.kept.iter().map(|f| env.display(f)).collect();
    assert!(kept.contains(&"calendar.py".to_string()), "{kept:?}");
    assert!(
        !kept.contains(&"python_stdlib.zip:calendar.py".to_string()),
        "{kept:?}"
    );
    assert!(!kept.iter().any(|k| k.ends_with("locale.py")), "{kept:?}");
}
