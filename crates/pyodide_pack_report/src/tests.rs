//! The records and the tables people read, on a small environment built in the test: snapshots of
//! the analysis table, the `why` answer and the JSON records (temporary paths and timings
//! filtered), and what `report.html` is given.

use pyodide_pack_env::testing::TestEnv;
use pyodide_pack_env::Environment;
use pyodide_pack_graph::{
    build_graph, facts_store_for, find_target, finish, shortest_chains, Analysis, BuildOptions,
    UserRules,
};

use crate::{render_analysis, render_report_html, render_why, AnalyzeRecord, WhyRecord};

fn environment() -> (tempfile::TempDir, Environment) {
    TestEnv::new()
        .app("app.py", "import json\nfrom pkg import tool\n")
        .stdlib("json/__init__.py", "from .decoder import decode\n")
        .stdlib("json/decoder.py", "def decode(): pass\n")
        .stdlib("unused.py", "x = 1\n")
        .wheel(
            "pkg",
            "1.0",
            &[
                ("pkg/__init__.py", b""),
                (
                    "pkg/tool.py",
                    b"import json\ntry:\n    import fast\nexcept ImportError:\n    fast = None\n",
                ),
                ("pkg/data/table.csv", b"a,b\n1,2\n"),
                ("pkg/unused.py", b""),
                ("pkg-1.0.dist-info/METADATA", b"Name: pkg\nVersion: 1.0\n"),
            ],
        )
        .build()
}

fn analyse(env: &Environment) -> Analysis {
    let mut store = facts_store_for(env, None);
    let graph = build_graph(env, &mut store, &BuildOptions::default()).unwrap();
    finish(graph, env, &UserRules::default())
}

/// Temporary folders and timings differ per run: snapshots see placeholders.
macro_rules! settled {
    ($body:expr) => {{
        let mut settings = insta::Settings::clone_current();
        settings.add_filter(r"/tmp/\.tmp[A-Za-z0-9]+", "[TMP]");
        settings.add_filter(r#""seconds": [0-9.e-]+"#, r#""seconds": "[S]""#);
        settings.add_filter(r"in [0-9.]+ (ms|s)\b", "in [T]");
        settings.bind(|| $body);
    }};
}

#[test]
fn the_analysis_table() {
    let (_dir, env) = environment();
    let analysis = analyse(&env);
    let record = AnalyzeRecord::new(&env, &analysis, 0.012);
    settled!(insta::assert_snapshot!(render_analysis(&record)));
}

#[test]
fn the_analysis_record() {
    let (_dir, env) = environment();
    let analysis = analyse(&env);
    let record = AnalyzeRecord::new(&env, &analysis, 0.012);
    let value = serde_json::to_value(&record).unwrap();
    // The record names what was kept and why, and what is missing.
    let text = serde_json::to_string(&value).unwrap();
    assert!(text.contains("pkg/tool.py"));
    assert!(
        text.contains("\"fast\""),
        "the optional missing import is recorded"
    );
    settled!(insta::assert_json_snapshot!(value["packages"]));
}

#[test]
fn the_why_answer() {
    let (_dir, env) = environment();
    let analysis = analyse(&env);
    let chains = shortest_chains(&analysis.graph);
    let target = find_target(&env, &analysis.graph, "json.decoder").unwrap();
    let record = WhyRecord::new(&env, &analysis, &chains, "json.decoder", &target, true);
    settled!(insta::assert_snapshot!(render_why(&record)));
}

#[test]
fn report_html_is_one_self_contained_page_of_the_record() {
    let (_dir, env) = environment();
    let analysis = analyse(&env);
    let record = AnalyzeRecord::new(&env, &analysis, 0.012);
    let html = render_report_html(&serde_json::to_value(&record).unwrap());
    assert!(html.starts_with("<!doctype html>") || html.starts_with("<!DOCTYPE html>"));
    assert!(
        html.contains("pkg/tool.py"),
        "the record's files are in the page"
    );
    assert!(!html.contains("<script src="), "no script from elsewhere");
}

#[test]
fn a_traced_analysis_says_what_the_trace_added() {
    use pyodide_pack_trace::{
        merge_traces, ModuleOrigin, RunTimings, Trace, TraceRun, TRACE_SCHEMA,
    };
    let (_dir, env) = TestEnv::new()
        .app(
            "app.py",
            "import importlib, sys\nimportlib.import_module(sys.argv[1])\n",
        )
        .app("plugin.py", "")
        .stdlib("importlib/__init__.py", "")
        .build();
    let mut store = facts_store_for(&env, None);
    let mut graph = build_graph(&env, &mut store, &BuildOptions::default()).unwrap();
    let static_only = finish(graph.clone(), &env, &UserRules::default());
    let trace = Trace {
        schema: TRACE_SCHEMA.into(),
        tool_version: "test".into(),
        app: "app.py".into(),
        pyodide_version: Some("314.0.8".into()),
        runs: vec![TraceRun {
            label: "app.py".into(),
            input: None,
            opened: Vec::new(),
            dynlibs: Vec::new(),
            imports: Vec::new(),
            modules: vec![ModuleOrigin {
                name: "plugin".into(),
                origin: Some("/home/pyodide/plugin.py".into()),
            }],
            stdout: String::new(),
            timings: RunTimings::default(),
        }],
    };
    let traces = [trace];
    let summary = merge_traces(&mut graph, &env, &traces, &static_only.kept);
    let analysis = finish(graph, &env, &UserRules::default());
    let record = AnalyzeRecord::new(&env, &analysis, 0.01).with_trace(
        &env,
        &analysis,
        &traces,
        &summary,
        &static_only.kept,
    );
    let value = serde_json::to_value(&record).unwrap();
    settled!(insta::assert_json_snapshot!(value["trace"]));
}

#[test]
fn why_of_a_dropped_file_says_so() {
    let (_dir, env) = environment();
    let analysis = analyse(&env);
    let chains = shortest_chains(&analysis.graph);
    let target = find_target(&env, &analysis.graph, "pkg.unused").unwrap();
    let record = WhyRecord::new(&env, &analysis, &chains, "pkg.unused", &target, false);
    let text = render_why(&record);
    assert!(text.contains("pkg/unused.py"), "{text}");
    assert!(
        text.contains("not kept") || text.contains("dropped"),
        "{text}"
    );
}

#[test]
fn the_record_counts_what_each_package_keeps() {
    let (_dir, env) = environment();
    let analysis = analyse(&env);
    let value = serde_json::to_value(AnalyzeRecord::new(&env, &analysis, 0.01)).unwrap();
    let pkg = value["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["package"] == "pkg")
        .unwrap();
    assert_eq!(pkg["files"], 5);
    assert_eq!(pkg["kept_files"], 4, "all but pkg/unused.py");
    assert_eq!(pkg["kept_py_files"], 2);
}
