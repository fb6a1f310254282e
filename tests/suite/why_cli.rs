//! `pyodide-pack why` on corpus apps: the exact chains printed, the kept importers, the cut
//! points, and the not-kept and not-found answers.

use crate::common;

use common::*;
use serde_json::Value;

fn why(app: &str, target: &str, extra: &[&str]) -> std::process::Output {
    let app_path = corpus_app(app);
    let wheels = corpus_wheels(app);
    let runtime = runtime_dir();
    let mut args = vec![
        "why",
        app_path.to_str().unwrap(),
        target,
        "--wheels",
        wheels.to_str().unwrap(),
        "--runtime",
        runtime.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    pyodide_pack(&args)
}

fn stdout_of(output: &std::process::Output) -> String {
    assert!(output.status.success(), "{}", stderr(output));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

const PYDANTIC: &str = "pydantic-2.14.4-py3-none-any.whl";
const CORE: &str = "pydantic_core-2.50.5-cp314-cp314-pyemscripten_2026_0_wasm32.whl";
const TABULATE: &str = "tabulate-0.10.0-py3-none-any.whl";
const WCWIDTH: &str = "wcwidth-0.9.4-py3-none-any.whl";

#[test]
fn chain_to_a_wasm_side_module() {
    let so = "pydantic_core/_pydantic_core.cpython-314-wasm32-emscripten.so";
    let out = stdout_of(&why("pydantic_model", so, &[]));
    let expected = format!(
        "{CORE}:{so} is kept (/lib/python3.14/site-packages/{so})
eager (downloaded up front): imports reach it (without a trace, what imports reach is eager)
root: app.py (entry: the entry script)
  app.py:2: from pydantic import BaseModel, Field, ValidationError  [import] -> {PYDANTIC}:pydantic/__init__.py
  {PYDANTIC}:pydantic/__init__.py:6: from .version import VERSION, _ensure_pydantic_core_version  [import] -> {PYDANTIC}:pydantic/version.py
  {PYDANTIC}:pydantic/version.py:39: import pydantic_core._pydantic_core as pdc  [import, nested] -> {CORE}:{so}

dropping any one of these would drop it too:
  {PYDANTIC}:pydantic/__init__.py
"
    );
    assert_eq!(out, expected);
}

#[test]
fn chain_to_a_stdlib_module_from_the_boot_set() {
    let out = stdout_of(&why("tabulate_table", "json/decoder.py", &[]));
    let expected = "python_stdlib.zip:json/decoder.py is kept (/lib/python314.zip/json/decoder.py)
eager (downloaded up front): imports reach it (without a trace, what imports reach is eager)
root: python_stdlib.zip:_pyodide/_core_docs.py (boot set: imported by Pyodide's C core (pyodide.asm.wasm))
  python_stdlib.zip:_pyodide/_core_docs.py:1745: from json import encoder  [import] -> python_stdlib.zip:json/__init__.py
  python_stdlib.zip:json/__init__.py:106: from .decoder import JSONDecoder, JSONDecodeError  [import] -> python_stdlib.zip:json/decoder.py

dropping any one of these would drop it too:
  python_stdlib.zip:json/__init__.py
";
    assert_eq!(out, expected);
}

#[test]
fn chain_through_an_optional_import_to_a_package() {
    let out = stdout_of(&why("tabulate_table", "wcwidth", &[]));
    let expected = format!(
        "package wcwidth: 53 of 55 files kept
{WCWIDTH}:wcwidth/__init__.py is kept (/lib/python3.14/site-packages/wcwidth/__init__.py)
eager (downloaded up front): imports reach it (without a trace, what imports reach is eager)
root: app.py (entry: the entry script)
  app.py:2: from tabulate import tabulate  [import] -> {TABULATE}:tabulate/__init__.py
  {TABULATE}:tabulate/__init__.py:27: import wcwidth  [import, optional] -> {WCWIDTH}:wcwidth/__init__.py

dropping any one of these would drop it too:
  {TABULATE}:tabulate/__init__.py
"
    );
    assert_eq!(out, expected);
}

#[test]
fn module_kept_only_through_its_package_init_with_all_importers() {
    let out = stdout_of(&why("tabulate_table", "wcwidth.textwrap", &["--all"]));
    let expected = format!(
        "{WCWIDTH}:wcwidth/textwrap.py is kept (/lib/python3.14/site-packages/wcwidth/textwrap.py)
eager (downloaded up front): imports reach it (without a trace, what imports reach is eager)
root: app.py (entry: the entry script)
  app.py:2: from tabulate import tabulate  [import] -> {TABULATE}:tabulate/__init__.py
  {TABULATE}:tabulate/__init__.py:27: import wcwidth  [import, optional] -> {WCWIDTH}:wcwidth/__init__.py
  {WCWIDTH}:wcwidth/__init__.py:36: from .textwrap import SequenceTextWrapper, wrap  [import] -> {WCWIDTH}:wcwidth/textwrap.py

kept importers (1):
  {WCWIDTH}:wcwidth/__init__.py:36: from .textwrap import SequenceTextWrapper, wrap  [import] -> {WCWIDTH}:wcwidth/textwrap.py
      root: app.py (entry: the entry script)
      app.py:2: from tabulate import tabulate  [import] -> {TABULATE}:tabulate/__init__.py
      {TABULATE}:tabulate/__init__.py:27: import wcwidth  [import, optional] -> {WCWIDTH}:wcwidth/__init__.py

dropping any one of these would drop it too:
  {TABULATE}:tabulate/__init__.py
  {WCWIDTH}:wcwidth/__init__.py
"
    );
    assert_eq!(out, expected);
}

#[test]
fn all_lists_every_kept_importer() {
    let so = "pydantic_core/_pydantic_core.cpython-314-wasm32-emscripten.so";
    let output = why("pydantic_model", so, &["--all", "--json", "-"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let record: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(record["schema"], "pyodide-pack/why-1");
    // In environment order: archive by archive, entries in each wheel's own order.
    let importers: Vec<String> = record["importers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            format!(
                "{}:{}",
                i["edge"]["from_path"].as_str().unwrap(),
                i["edge"]["line"]
            )
        })
        .collect();
    assert_eq!(
        importers,
        vec![
            format!("{PYDANTIC}:pydantic/version.py:39"),
            format!("{PYDANTIC}:pydantic/_internal/_schema_gather.py:5"),
            format!("{CORE}:pydantic_core/__init__.py:8"),
        ]
    );
    for importer in record["importers"].as_array().unwrap() {
        assert_eq!(importer["root"]["path"], "app.py");
        assert!(!importer["chain"].as_array().unwrap().is_empty());
    }
}

#[test]
fn a_file_in_the_environment_that_is_not_kept_says_why_not() {
    let out = stdout_of(&why("pygments_highlight", "antigravity", &[]));
    assert_eq!(
        out,
        "python_stdlib.zip:antigravity.py is in the environment but not kept: nothing reaches it from the entry script or the boot set\n"
    );
    let out = stdout_of(&why("pygments_highlight", "os.py", &[]));
    assert!(
        out.contains("not kept: frozen into the interpreter"),
        "{out}"
    );
}

#[test]
fn a_target_not_in_the_environment_is_an_error_with_the_closest_names() {
    let output = why("pygments_highlight", "pygmentz", &[]);
    assert!(!output.status.success());
    let err = stderr(&output);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("\"pygmentz\" is not a module, path or package of this environment"),
        "{err}"
    );
    assert!(err.contains("closest: pygments"), "{err}");
}

#[test]
fn an_excluded_file_names_its_glob_and_what_it_cuts_off() {
    let out = stdout_of(&why(
        "certifi_data",
        "certifi/cacert.pem",
        &["--exclude", "certifi/*.pem"],
    ));
    assert_eq!(
        out,
        "certifi-2026.10.19.post1-py3-none-any.whl:certifi/cacert.pem is in the environment but not kept: dropped by exclude glob \"certifi/*.pem\" (--exclude)\n"
    );
    let out = stdout_of(&why(
        "certifi_data",
        "certifi.core",
        &["--exclude", "certifi/__init__.py"],
    ));
    assert_eq!(
        out,
        "certifi-2026.10.19.post1-py3-none-any.whl:certifi/core.py is in the environment but not kept: only files that are dropped reach it (an exclude glob cut the chain)\n"
    );
}
