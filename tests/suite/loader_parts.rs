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
    // Every test ran and passed: none skipped, none left out by a runner that stopped early.
    let count = |key: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(key))
            .and_then(|n| n.trim().parse::<u32>().ok())
    };
    let (tests, passed) = (count("# tests "), count("# pass "));
    assert!(tests.is_some_and(|n| n > 0) && tests == passed, "{text}");
}
