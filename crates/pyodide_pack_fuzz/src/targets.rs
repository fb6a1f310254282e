//! One target per reader that takes bytes from outside the tool. Each calls the project's real
//! reader on the bytes and returns whatever the reader decides: an error is a fine answer, a panic,
//! an abort, a hang or a blown memory budget is not.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use pyodide_pack_env::{Archive, ArchiveKind};

/// A fuzz target: a name and the function that feeds one input to the reader.
#[derive(Clone, Copy)]
pub struct Target {
    pub name: &'static str,
    /// What is fuzzed, for the listing.
    pub reader: &'static str,
    pub run: fn(&[u8]),
}

/// Every target, in the order a full run takes them.
pub const TARGETS: &[Target] = &[
    Target {
        name: "wheel_zip",
        reader: "pyodide_pack_env::Archive::from_zip_bytes, then Archive::read of every entry",
        run: wheel_zip,
    },
    Target {
        name: "wasm_facts",
        reader: "pyodide_pack_facts::wasm_facts",
        run: wasm_facts,
    },
    Target {
        name: "python_facts",
        reader: "pyodide_pack_facts::decode_source + python_facts (small sources inline, others on the parsing pool)",
        run: python_facts,
    },
    Target {
        name: "pyproject",
        reader: "pyodide_pack_config::read_config",
        run: pyproject,
    },
    Target {
        name: "trace_record",
        reader: "pyodide_pack_trace::Trace::read",
        run: trace_record,
    },
    Target {
        name: "pack_record",
        reader: "pyodide_pack_report::why_from_report (why --report)",
        run: pack_record,
    },
];

/// The target called `name`.
pub fn target(name: &str) -> Option<&'static Target> {
    TARGETS.iter().find(|t| t.name == name)
}

/// A wheel (or, for inputs of odd length, the stdlib zip) read from bytes, then every entry
/// inflated: entry names that escape, truncated archives, sizes that lie.
pub fn wheel_zip(bytes: &[u8]) {
    let bytes: Arc<[u8]> = bytes.into();
    let (path, kind, root) = if bytes.len().is_multiple_of(2) {
        (
            Path::new("fuzz-1.0-py3-none-any.whl"),
            ArchiveKind::Wheel {
                distribution: "fuzz".into(),
                version: "1.0".into(),
            },
            "/lib/python3.14/site-packages",
        )
    } else {
        (
            Path::new("python_stdlib.zip"),
            ArchiveKind::Stdlib,
            "/lib/python314.zip",
        )
    };
    let Ok(archive) = Archive::from_zip_bytes(path, bytes, kind, root) else {
        return;
    };
    for index in 0..archive.entries.len() {
        let _ = std::hint::black_box(archive.read(index));
    }
}

/// The facts of a wasm side module.
pub fn wasm_facts(bytes: &[u8]) {
    let _ = std::hint::black_box(pyodide_pack_facts::wasm_facts(bytes));
}

/// The facts of a Python source, decoded as the graph builder decodes it (a lossy decode when
/// CPython would refuse the bytes), parsed where the real code parses it: a small source on the
/// calling thread (the harness gives it a main thread's 8 MiB stack), a larger one on the parsing
/// pool's big stacks.
pub fn python_facts(bytes: &[u8]) {
    let parse = || {
        let facts = match pyodide_pack_facts::decode_source(bytes) {
            Ok(source) => {
                pyodide_pack_facts::python_facts(&source, pyodide_pack_facts::PythonVersion::PY314)
            }
            Err(_) => pyodide_pack_facts::python_facts(
                &String::from_utf8_lossy(bytes),
                pyodide_pack_facts::PythonVersion::PY314,
            ),
        };
        std::hint::black_box(facts);
    };
    if (bytes.len() as u64) < pyodide_pack_facts::INLINE_PARSE_BYTES {
        parse();
    } else {
        pyodide_pack_facts::parsing_pool().install(parse);
    }
}

/// The `[tool.pyodide-pack]` table of a `pyproject.toml`.
pub fn pyproject(bytes: &[u8]) {
    let path = scratch_file("pyproject.toml", bytes);
    let _ = std::hint::black_box(pyodide_pack_config::read_config(&path));
}

/// A saved trace.
pub fn trace_record(bytes: &[u8]) {
    let path = scratch_file("trace.json", bytes);
    let _ = std::hint::black_box(pyodide_pack_trace::Trace::read(&path));
}

/// A pack's `report.json` read back by `why --report`: asked about the first files it names (by
/// module and by path), with and without `--all`, and about a name it does not have.
pub fn pack_record(bytes: &[u8]) {
    let mut targets: Vec<String> = Vec::new();
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(bytes) {
        if let Some(files) = value["analysis"]["files"].as_array() {
            for file in files.iter().take(3) {
                for key in ["module", "path", "install_path"] {
                    if let Some(name) = file[key].as_str() {
                        targets.push(name.to_string());
                    }
                }
            }
            // The last file too: reports are cut short by mutations from the end.
            if let Some(name) = files.last().and_then(|f| f["path"].as_str()) {
                targets.push(name.to_string());
            }
        }
    }
    targets.push("no.such.module".to_string());
    targets.dedup();
    for target in &targets {
        for all in [false, true] {
            let _ = std::hint::black_box(pyodide_pack_report::why_from_report(
                bytes,
                "report.json",
                target,
                all,
            ));
        }
    }
}

thread_local! {
    static SCRATCH: RefCell<Option<tempfile::TempDir>> = const { RefCell::new(None) };
}

/// Writes `bytes` to `name` in this thread's scratch folder (made once per thread) and returns
/// its path: for readers that only take a path.
fn scratch_file(name: &str, bytes: &[u8]) -> PathBuf {
    SCRATCH.with(|scratch| {
        let mut scratch = scratch.borrow_mut();
        if scratch.is_none() {
            *scratch = Some(
                tempfile::Builder::new()
                    .prefix("pyodide-pack-fuzz-")
                    .tempdir()
                    .expect("a scratch folder for the fuzz inputs"),
            );
        }
        let path = scratch.as_ref().expect("made above").path().join(name);
        std::fs::write(&path, bytes).expect("writing the input to the scratch folder");
        path
    })
}
