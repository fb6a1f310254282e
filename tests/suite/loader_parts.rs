//! The loader's parts that need no Pyodide (`harness/loader/`), tested in Node on their own:
//! `tests/loader_parts.test.mjs`, run with Node's test runner.

use crate::common;

use std::process::Command;

#[test]
fn the_loader_parts_pass_their_node_tests() {
    let output = Command::new(pyodide_pack_trace::node_program())
        .arg("--test")
        .arg(common::repo().join("tests").join("loader_parts.test.mjs"))
        .output()
        .expect("node runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{text}");
    assert!(text.contains("# pass 9"), "{text}");
}
