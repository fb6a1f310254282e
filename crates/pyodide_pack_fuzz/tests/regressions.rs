//! Every failure the fuzzing found, as a test: the input (shrunk, built here in code), run through
//! its target under the fuzz bounds (no panic, no input over 2 s, the memory rule). Each test
//! fails until the reader it names is fixed.

use std::process::Command;

use pyodide_pack_fuzz::{check_input, seeds, CountingAlloc};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

fn assert_passes(target: &str, input: &[u8]) {
    if let Some(failure) = check_input(target, input) {
        panic!(
            "{target}: {:?} on an input of {} bytes: {}\n{}",
            failure.kind,
            input.len(),
            failure.signature,
            failure.detail
        );
    }
}

/// Runs the test called `name` again in a child process with `PYODIDE_PACK_FUZZ_CHILD` set, for
/// inputs that abort the process; the child's exit status is the verdict.
fn in_child(name: &str) {
    let status = Command::new(std::env::current_exe().expect("the test binary"))
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env("PYODIDE_PACK_FUZZ_CHILD", "1")
        .status()
        .expect("running the test binary again");
    assert!(
        status.success(),
        "{name}: the child process did not pass ({status}): it aborted or failed, see its output above"
    );
}

fn is_child() -> bool {
    std::env::var_os("PYODIDE_PACK_FUZZ_CHILD").is_some()
}

// ---------------------------------------------------------------------------------------------
// pack_record: `why --report` on a report.json that is not what pack writes

/// `analysis.files[0].archive` is 0 but `analysis.archives` is empty: `why_from_report` indexes
/// `&a.archives[file.archive]` unchecked (its `display` closure), and panics with
/// "index out of bounds: the len is 0 but the index is 0" instead of returning "not a pack report".
#[test]
fn pack_record_file_archive_index_past_the_archives() {
    let report = br#"{"analysis":{"entry":"app.py","archives":[],"files":[{"archive":0,"path":"a.py","install_path":"/a.py","kept":false}],"roots":[],"edges":[]},"pack":{}}"#;
    assert_passes("pack_record", report);
}

/// An edge whose `from` is past the files: the chain walk skips such edges, but `--all` (the
/// importers) indexes `a.files[a.edges[*i].from]` unchecked and panics.
#[test]
fn pack_record_edge_from_past_the_files_with_all() {
    let report = br#"{"analysis":{"entry":"app.py","archives":[{"name":"app","kind":"app"}],"files":[{"archive":0,"path":"a.py","install_path":"/a.py","kept":true}],"roots":[],"edges":[{"from":7,"to":0,"kind":"import","name":"a","optional":false,"nested":false,"reason":{"line":1,"text":"import a"}}]},"pack":{}}"#;
    assert_passes("pack_record", report);
}

/// A lazy file whose archive index is past the archives: where the pack put a lazy file is
/// looked up with `a.archives[row.archive].kind` unchecked, a second site of the first bug (found
/// apart from it by the long run, on a mutated real report).
#[test]
fn pack_record_lazy_file_archive_index_past_the_archives() {
    let report = br#"{"analysis":{"entry":"app.py","archives":[{"name":"app","kind":"app"}],"files":[{"archive":0,"path":"app.py","install_path":"/app.py","kept":true},{"archive":41,"path":"json/__init__.py","install_path":"/lib/python314.zip/json/__init__.py","module":"json","kept":true,"tier":"lazy"}],"roots":[{"file":0,"path":"app.py","kind":"entry","why":"the entry script"}],"edges":[]},"pack":{"lazy_files":[]}}"#;
    assert_passes("pack_record", report);
}

// ---------------------------------------------------------------------------------------------
// wheel_zip: entry sizes taken from the central directory as they are

/// A wheel whose central directory declares that a 6-byte entry inflates to 4 GiB - 16 bytes:
/// `Archive::read` reserves `Vec::with_capacity(entry.size as usize)` up front, 4 GiB of heap for
/// 6 bytes (served lazily by the OS here, but over any sane bound; on a 32-bit host or with less
/// memory it is an allocation failure, which aborts).
#[test]
fn wheel_zip_declared_size_of_4_gib() {
    assert_passes("wheel_zip", &seeds::zip_with_declared_size(0xffff_fff0));
}

/// The same through a zip64 extra field, with 1 TiB declared: the allocation fails and the
/// process aborts ("memory allocation of 1099511627776 bytes failed"), a crash no error message
/// can follow. Run in a child process.
#[test]
fn wheel_zip_zip64_declared_size_of_1_tib() {
    if !is_child() {
        return in_child("wheel_zip_zip64_declared_size_of_1_tib");
    }
    assert_passes("wheel_zip", &seeds::zip64_with_declared_size(1 << 40));
}

// ---------------------------------------------------------------------------------------------
// python_facts: trailer chains the depth guard did not count

/// `a.b.b.b...` 500,000 times (and `f()()()...`): the tree nests once per trailer, and the
/// parser and the visitors overflowed even the parsing threads' 64 MiB stacks (found by probing
/// the guard by hand, not by mutation). The guard now counts trailers; run in a child process
/// since a stack overflow aborts.
#[test]
fn python_facts_trailer_chains_of_half_a_million() {
    if !is_child() {
        return in_child("python_facts_trailer_chains_of_half_a_million");
    }
    let attributes = format!("x = a{}\n", ".b".repeat(500_000));
    assert_passes("python_facts", attributes.as_bytes());
    let calls = format!("y = f{}\n", "()".repeat(500_000));
    assert_passes("python_facts", calls.as_bytes());
}
