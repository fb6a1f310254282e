//! Every corpus app, analysed statically, against a real run of the same app under Pyodide in Node:
//! the kept set must hold every module the run had in `sys.modules` (the boot set included). The
//! modules only a family reaches (a computed import with a literal prefix, a name in a mapping
//! table, a stdlib rule) are named here with the edge kind and the site that reaches them: static
//! analysis makes them available (lazy), it cannot say they will run.

use crate::common;

use std::collections::{BTreeSet, HashSet};

use common::*;
use pyodide_pack_env::{Environment, EnvironmentRequest};
use pyodide_pack_graph::analyze;
use pyodide_pack_report::AnalyzeRecord;

/// A module the run used that only a family edge reaches, and a site (file, text) of such an edge
/// on its way.
struct Exception {
    module: &'static str,
    site_file: &'static str,
    site_text: &'static str,
}

const fn exc(module: &'static str, site_file: &'static str, site_text: &'static str) -> Exception {
    Exception {
        module,
        site_file,
        site_text,
    }
}

const CODEC_SITE: (&str, &str) = (
    "python_stdlib.zip:encodings/__init__.py",
    "__import__('encodings.' + modname",
);

fn check_app(app: &str, exceptions: &[Exception]) {
    let wheels_dir = corpus_wheels(app);
    let request = EnvironmentRequest {
        entry: corpus_app(app),
        wheels_dir: Some(wheels_dir.clone()),
        requirements: None,
        runtime_dir: Some(runtime_dir()),
        pyodide_version: None,
        index_url: None,
        provided_modules: Vec::new(),
    };
    let env = Environment::load(&request, &cache()).expect("the environment loads");
    let mut store = pyodide_pack_graph::facts_store_for(&env, None);
    let analysis = analyze(&env, &mut store).expect("analysis runs");
    let record = AnalyzeRecord::new(&env, &analysis, 0.0);

    let run = run_in_pyodide(&corpus_app(app), &wheels_in(&wheels_dir));
    let expected =
        std::fs::read_to_string(repo().join("corpus").join(app).join("expected.txt")).unwrap();
    assert_eq!(
        run.stdout, expected,
        "{app}: stdout differs from expected.txt"
    );

    let kept: HashSet<&str> = record
        .files
        .iter()
        .filter(|f| f.kept)
        .map(|f| f.install_path.as_str())
        .collect();
    let core: HashSet<String> = pyodide_pack_graph::prune_core(&analysis.graph)
        .into_iter()
        .map(|f| env.entry(f).install_path.clone())
        .collect();
    let mut not_kept = BTreeSet::new();
    let mut family_only = BTreeSet::new();
    let mut checked = 0;
    for (module, origin) in &run.modules {
        let Some(origin) = origin else { continue };
        if !origin.starts_with('/') || origin.starts_with("/home/pyodide/") {
            continue; // built-in, frozen, javascript; the app script itself
        }
        checked += 1;
        if !kept.contains(origin.as_str()) {
            not_kept.insert(module.clone());
        } else if !core.contains(origin.as_str()) {
            family_only.insert(module.clone());
        }
    }
    assert!(
        not_kept.is_empty(),
        "{app}: modules the run used that the analysis did not keep: {not_kept:?}"
    );
    assert!(
        checked > 100,
        "{app}: only {checked} modules with files in the run"
    );
    let named: BTreeSet<String> = exceptions.iter().map(|e| e.module.to_string()).collect();
    assert_eq!(
        family_only, named,
        "{app}: modules the run used that only a family reaches (left) vs the named ones (right)"
    );
    for e in exceptions {
        let reported = record.edges.iter().any(|edge| {
            edge.kind.is_family()
                && edge.reason.path == e.site_file
                && edge.reason.text.contains(e.site_text)
        });
        assert!(
            reported,
            "{app}: {} is reached by a family edge from {}: {} that the analysis does not record",
            e.module, e.site_file, e.site_text
        );
    }
    // Every .so the run loaded is kept.
    for lib in &run.dynlibs {
        if lib.starts_with("/lib/python3.14/site-packages/") {
            assert!(
                kept.contains(lib.as_str()),
                "{app}: loaded {lib} is not kept"
            );
        }
    }
}

#[test]
fn tabulate_table() {
    check_app("tabulate_table", &[]);
}

#[test]
fn certifi_data() {
    check_app(
        "certifi_data",
        &[exc("encodings.ascii", CODEC_SITE.0, CODEC_SITE.1)],
    );
}

#[test]
fn pydantic_model() {
    check_app(
        "pydantic_model",
        &[exc(
            "_sysconfigdata__emscripten_wasm32-emscripten",
            "python_stdlib.zip:sysconfig/__init__.py",
            "stdlib rule: sysconfig imports its data module",
        )],
    );
}

#[test]
fn msgpack_roundtrip() {
    check_app("msgpack_roundtrip", &[]);
}

#[test]
fn jiter_parse() {
    check_app("jiter_parse", &[]);
}

#[test]
fn pygments_highlight() {
    let lexers = "pygments-2.21.0-py3-none-any.whl:pygments/lexers/_mapping.py";
    let formatters = "pygments-2.21.0-py3-none-any.whl:pygments/formatters/_mapping.py";
    let styles = "pygments-2.21.0-py3-none-any.whl:pygments/styles/_mapping.py";
    check_app(
        "pygments_highlight",
        &[
            // named in the mapping tables the lookups read
            exc("pygments.lexers.python", lexers, "'pygments.lexers.python'"),
            // imported by pygments.lexers.python
            exc("pygments.unistring", lexers, "'pygments.lexers.python'"),
            exc(
                "pygments.formatters.html",
                formatters,
                "'pygments.formatters.html'",
            ),
            exc(
                "pygments.styles.default",
                styles,
                "'pygments.styles.default'",
            ),
            // imported by pygments.styles.default
            exc("pygments.style", styles, "'pygments.styles.default'"),
        ],
    );
}

#[test]
fn stdlib_codecs() {
    let idna = (
        "python_stdlib.zip:encodings/__init__.py",
        "__import__('encodings.' + modname",
    );
    check_app(
        "stdlib_codecs",
        &[
            exc("encodings.cp1252", CODEC_SITE.0, CODEC_SITE.1),
            exc("encodings.shift_jis", CODEC_SITE.0, CODEC_SITE.1),
            exc("encodings.koi8_r", CODEC_SITE.0, CODEC_SITE.1),
            exc("encodings.base64_codec", CODEC_SITE.0, CODEC_SITE.1),
            exc("encodings.rot_13", CODEC_SITE.0, CODEC_SITE.1),
            exc("encodings.idna", CODEC_SITE.0, CODEC_SITE.1),
            // imported by encodings.idna
            exc("encodings.punycode", idna.0, idna.1),
            exc("stringprep", idna.0, idna.1),
        ],
    );
}

#[test]
fn sympy_solve() {
    check_app("sympy_solve", &[]);
}

#[test]
fn pytz_zones() {
    check_app("pytz_zones", &[]);
}
