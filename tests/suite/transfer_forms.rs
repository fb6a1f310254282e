//! The transfer forms of the eager zips (`--transfer zstd|gzip|precompressed|deflate`, `transfer =
//! "..."`) and bytecode by default (`--no-compile-pyc`, `compile-pyc = false`): each form packs a
//! real app with a wasm extension module (msgpack), which loads and prints its output through
//! `loader.mjs` in Node (pack's validation) and in headless Chromium on the main thread and in a
//! worker (`--browser=both`).

use crate::common;

use std::path::Path;
use std::process::Output;

use common::*;
use serde_json::Value;

const APP: &str = "msgpack_roundtrip";

fn pack(out: &Path, extra: &[&str]) -> Output {
    pack_app(&corpus_app(APP), out, extra)
}

/// `pack` of `app` (beside which a pyproject.toml may be) with the corpus app's wheels.
fn pack_app(app: &Path, out: &Path, extra: &[&str]) -> Output {
    let wheels = corpus_wheels(APP);
    let mut args: Vec<String> = vec!["pack".into()];
    args.extend(env_flags(app, &wheels));
    args.extend(["-o".into(), out.display().to_string(), "--no-html".into()]);
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    pyodide_pack(&args)
}

fn report(out: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap()
}

/// What the output's `immutable/` folder holds, the page's files left out (they are the same in
/// every form: tests/suite/page.rs).
fn files_in(out: &Path) -> Vec<String> {
    immutable_names(out)
        .into_iter()
        .filter(|n| !["index.mjs", "index.css", "icon.svg", "app.py"].contains(&n.as_str()))
        .collect()
}

/// Packs in `form`, validated in Node and in Chromium (main thread and worker), and checks the
/// files written and what the report says of them.
fn packs_and_runs_everywhere(
    form: &str,
    files: &[&str],
) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("dist");
    let output = pack(&out, &["--transfer", form, "--browser=both"]);
    assert!(output.status.success(), "{form}: {}", stderr(&output));
    assert_eq!(files_in(&out), files, "{form}");
    let record = report(&out);
    assert_eq!(record["pack"]["transfer"], form);
    let validation = &record["validation"];
    let expected =
        std::fs::read_to_string(repo().join("corpus").join(APP).join("expected.txt")).unwrap();
    let runs = validation["runs"].as_array().unwrap();
    assert!(!runs.is_empty());
    for run in runs {
        assert_eq!(run["stdout"].as_str().unwrap(), expected, "{form}: {run}");
    }
    let browser = validation["browser"]["runs"].as_array().unwrap();
    let threads: Vec<&str> = browser
        .iter()
        .map(|r| r["thread"].as_str().unwrap())
        .collect();
    assert_eq!(threads, ["main", "worker"], "{form}");
    for run in browser {
        assert_eq!(run["stdout"].as_str().unwrap(), expected, "{form}: {run}");
    }
    // The listed outputs are what the page fetches, with their sizes.
    let outputs: Vec<&str> = record["pack"]["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["path"].as_str().unwrap())
        .collect();
    for path in outputs {
        assert!(out.join(path).is_file(), "{form}: {path}");
    }
    (dir, out)
}

#[test]
fn zstd_is_the_default_and_runs_in_node_and_chromium() {
    let (_dir, out) = packs_and_runs_everywhere(
        "zstd",
        &[
            "bundle.zip.zst",
            "loader.mjs",
            "python_stdlib.zip.zst",
            "zstd-decoder.mjs",
        ],
    );
    // The decoder carries fzstd's license; the zips inside are stored, `.pyc` by default.
    let decoder = std::fs::read_to_string(deployed(&out, "zstd-decoder.mjs")).unwrap();
    assert!(decoder.contains("// MIT License"));
    let stdlib = eager_zip(&out, "python_stdlib.zip");
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(stdlib)).unwrap();
    let names: Vec<String> = (0..zip.len())
        .map(|i| zip.by_index(i).unwrap().name().unwrap().to_string())
        .collect();
    assert!(
        names.contains(&"encodings/__init__.pyc".to_string()),
        "{names:?}"
    );
    assert!(!names.iter().any(|n| n.ends_with(".py")), "{names:?}");
    for i in 0..zip.len() {
        assert_eq!(
            zip.by_index(i).unwrap().compression(),
            zip::CompressionMethod::Stored
        );
    }
    let bundle = eager_zip_names(&out, "bundle.zip");
    assert!(
        bundle.iter().any(|n| n.ends_with("msgpack/__init__.pyc")),
        "{bundle:?}"
    );
    assert!(bundle.iter().any(|n| n.ends_with(".so")), "{bundle:?}");
}

#[test]
fn gzip_runs_in_node_and_chromium() {
    let (_dir, out) = packs_and_runs_everywhere(
        "gzip",
        &["bundle.zip.gz", "loader.mjs", "python_stdlib.zip.gz"],
    );
    assert!(eager_zip_names(&out, "bundle.zip")
        .iter()
        .any(|n| n.ends_with("msgpack/__init__.pyc")));
}

#[test]
fn precompressed_writes_siblings_that_decode_to_the_zips() {
    let (_dir, out) = packs_and_runs_everywhere(
        "precompressed",
        &[
            "bundle.zip",
            "bundle.zip.br",
            "bundle.zip.gz",
            "loader.mjs",
            "python_stdlib.zip",
            "python_stdlib.zip.br",
            "python_stdlib.zip.gz",
        ],
    );
    use std::io::Read;
    for name in ["bundle.zip", "python_stdlib.zip"] {
        let zip = std::fs::read(deployed(&out, name)).unwrap();
        let mut from_br = Vec::new();
        brotli::BrotliDecompress(
            &mut &std::fs::read(deployed(&out, &format!("{name}.br"))).unwrap()[..],
            &mut from_br,
        )
        .unwrap();
        assert_eq!(from_br, zip, "{name}.br");
        let mut from_gz = Vec::new();
        flate2::read::GzDecoder::new(
            &std::fs::read(deployed(&out, &format!("{name}.gz"))).unwrap()[..],
        )
        .read_to_end(&mut from_gz)
        .unwrap();
        assert_eq!(from_gz, zip, "{name}.gz");
    }
    // The siblings are recorded apart: a host serves them instead of the zips, not beside them.
    let record = report(&out);
    let siblings: Vec<&str> = record["pack"]["siblings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        siblings,
        [
            "bundle.zip.br",
            "bundle.zip.gz",
            "python_stdlib.zip.br",
            "python_stdlib.zip.gz"
        ]
    );
}

#[test]
fn deflate_is_the_old_form_and_runs_in_node_and_chromium() {
    let (_dir, out) = packs_and_runs_everywhere(
        "deflate",
        &["bundle.zip", "loader.mjs", "python_stdlib.zip"],
    );
    let mut zip =
        zip::ZipArchive::new(std::fs::File::open(deployed(&out, "python_stdlib.zip")).unwrap())
            .unwrap();
    assert_eq!(
        zip.by_name("encodings/__init__.pyc").unwrap().compression(),
        zip::CompressionMethod::Deflated
    );
}

#[test]
fn the_config_picks_the_form_and_opts_out_of_bytecode() {
    // `transfer` and `compile-pyc` in [tool.pyodide-pack]; flags override them.
    let dir = tempfile::tempdir().unwrap();
    let app_dir = dir.path().join("app");
    std::fs::create_dir(&app_dir).unwrap();
    std::fs::copy(corpus_app(APP), app_dir.join("app.py")).unwrap();
    std::fs::write(
        app_dir.join("pyproject.toml"),
        "[tool.pyodide-pack]\ntransfer = \"gzip\"\ncompile-pyc = false\n",
    )
    .unwrap();
    let out = dir.path().join("dist");
    let run = |extra: &[&str]| pack_app(&app_dir.join("app.py"), &out, extra);
    let output = run(&[]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        files_in(&out),
        ["bundle.zip.gz", "loader.mjs", "python_stdlib.zip.gz"]
    );
    let names = eager_zip_names(&out, "python_stdlib.zip");
    assert!(
        names.contains(&"encodings/__init__.py".to_string()),
        "{names:?}"
    );
    assert!(!names.iter().any(|n| n.ends_with(".pyc")), "{names:?}");

    // (No earlier deployment kept: the folder holds this pack's files alone.)
    let output = run(&[
        "--transfer",
        "deflate",
        "--compile-pyc",
        "--no-validate",
        "--keep-deployments",
        "0",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        files_in(&out),
        ["bundle.zip", "loader.mjs", "python_stdlib.zip"]
    );
    assert!(eager_zip_names(&out, "python_stdlib.zip").contains(&"encodings/__init__.pyc".into()));
}

#[test]
fn an_unknown_form_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let output = pack(&dir.path().join("dist"), &["--transfer", "lzma"]);
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(
        err.contains(
            "unknown transfer form \"lzma\": expected deflate, gzip, zstd or precompressed"
        ),
        "{err}"
    );
    assert!(!dir.path().join("dist").exists());
}

#[test]
fn a_missing_stream_is_named_when_the_bundle_is_run() {
    // The loader fetches and checks the stdlib itself: a missing file is an error that names it,
    // not an interpreter that cannot boot; validate names it before running anything.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("dist");
    let output = pack(&out, &["--no-validate"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let stdlib = deployed(&out, "python_stdlib.zip.zst");
    std::fs::remove_file(&stdlib).unwrap();
    let record = common::page::load_in_node(&out, "pass");
    let error = record["error"].as_str().unwrap();
    assert!(
        error.starts_with(&format!(
            "loadBundle: python_stdlib.zip.zst from {} failed after 0 bytes",
            stdlib.display()
        )) && error.contains("no such file or directory"),
        "{record}"
    );
    let app = corpus_app(APP);
    let wheels = corpus_wheels(APP);
    let mut args: Vec<String> = vec!["validate".into(), out.display().to_string()];
    args.extend(env_flags(&app, &wheels));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = pyodide_pack(&args);
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    let missing = stdlib.strip_prefix(&out).unwrap().display().to_string();
    assert!(
        err.contains(&format!("  {missing}: missing (expected ")),
        "{err}"
    );
}
