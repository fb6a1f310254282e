//! Seeds: real files from the pyodide-pack cache (wheels, the `.py` and `.so` files inside them
//! and inside the runtime's `python_stdlib.zip`, saved traces), the settings page's (docs/config.md) `pyproject.toml`
//! example, and hostile cases built here in code. Nothing binary is committed.
//!
//! On a machine whose cache is empty (before `corpus/fetch.sh`) only the built cases are there;
//! that is said on stderr.

use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};

use pyodide_pack_env::{cached_runtime_dir, Archive, ArchiveKind, CacheRoot, FileKind};

/// One seed input.
#[derive(Debug, Clone)]
pub struct Seed {
    /// Where it came from (a cache path, an entry inside an archive, or `crafted: what`).
    pub name: String,
    pub bytes: Vec<u8>,
}

/// How many seeds to take, and how big.
#[derive(Debug, Clone)]
pub struct SeedOptions {
    /// Files larger than this are skipped (a mutation iteration stays fast).
    pub max_bytes: usize,
    /// At most this many `.py` files (spread over the stdlib and the wheels).
    pub max_python_files: usize,
    /// Extra seed files for this target (`--extra-seed`); pack reports are reduced first.
    pub extra: Vec<PathBuf>,
}

impl Default for SeedOptions {
    fn default() -> Self {
        SeedOptions {
            max_bytes: 512 << 10,
            max_python_files: 300,
            extra: Vec::new(),
        }
    }
}

fn seed(name: impl Into<String>, bytes: impl Into<Vec<u8>>) -> Seed {
    Seed {
        name: name.into(),
        bytes: bytes.into(),
    }
}

/// The seeds of target `target`.
pub fn seeds_for(target: &str, options: &SeedOptions) -> Vec<Seed> {
    let cache = Cache::open();
    let mut seeds = match target {
        "wheel_zip" => wheel_seeds(&cache, options),
        "wasm_facts" => wasm_seeds(&cache, options),
        "python_facts" => python_seeds(&cache, options),
        "pyproject" => pyproject_seeds(),
        "trace_record" => trace_seeds(&cache, options),
        "pack_record" => pack_seeds(&cache),
        _ => Vec::new(),
    };
    for path in &options.extra {
        match std::fs::read(path) {
            Ok(bytes) if target == "pack_record" => {
                seeds.push(seed(
                    format!("{} (reduced)", path.display()),
                    reduce_report(&bytes),
                ));
            }
            Ok(bytes) => seeds.push(seed(path.display().to_string(), bytes)),
            Err(e) => eprintln!("fuzz: --extra-seed {}: {e}", path.display()),
        }
    }
    if cache.is_empty() && target != "pyproject" {
        eprintln!(
            "fuzz: {target}: nothing in the pyodide-pack cache at {} (run `bash corpus/fetch.sh`): \
             seeded with the crafted cases only",
            cache.root.display()
        );
    }
    seeds
}

/// What the cache holds that seeds are taken from.
struct Cache {
    root: PathBuf,
    /// Wheels, smallest first, one per file name.
    wheels: Vec<PathBuf>,
    stdlib: Option<PathBuf>,
    traces: Vec<PathBuf>,
}

impl Cache {
    fn open() -> Cache {
        let cache = CacheRoot::from_env();
        let root = cache.root().to_path_buf();
        let mut wheels: Vec<(u64, PathBuf)> = Vec::new();
        let mut names = std::collections::HashSet::new();
        for dir in [root.join("corpus"), root.join("wheels")] {
            for sub in list(&dir) {
                for candidate in [sub.join("wheels"), sub.clone()] {
                    for file in list(&candidate) {
                        let is_wheel = file.extension().is_some_and(|e| e == "whl");
                        let name = file.file_name().map(|n| n.to_os_string());
                        if is_wheel && name.is_some_and(|n| names.insert(n)) {
                            let size = file.metadata().map(|m| m.len()).unwrap_or(u64::MAX);
                            wheels.push((size, file));
                        }
                    }
                }
            }
        }
        wheels.sort();
        let stdlib = cached_runtime_dir(&cache, pyodide_pack_env::PINNED_PYODIDE_VERSION)
            .join("python_stdlib.zip");
        let mut traces: Vec<(u64, PathBuf)> = list(&root.join("traces"))
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .map(|p| (p.metadata().map(|m| m.len()).unwrap_or(u64::MAX), p))
            .collect();
        traces.sort();
        Cache {
            root,
            wheels: wheels.into_iter().map(|(_, p)| p).collect(),
            stdlib: stdlib.is_file().then_some(stdlib),
            traces: traces.into_iter().map(|(_, p)| p).collect(),
        }
    }

    fn is_empty(&self) -> bool {
        self.wheels.is_empty() && self.stdlib.is_none() && self.traces.is_empty()
    }

    /// The wheels and the stdlib zip opened with the project's own reader, smallest first, those
    /// larger than `max_zip` left out.
    fn archives(&self, max_zip: u64) -> Vec<Archive> {
        let mut archives = Vec::new();
        if let Some(stdlib) = &self.stdlib {
            if let Ok(a) = Archive::read_zip(stdlib, ArchiveKind::Stdlib, "/lib/python314.zip") {
                archives.push(a);
            }
        }
        for wheel in &self.wheels {
            if wheel.metadata().map(|m| m.len()).unwrap_or(u64::MAX) > max_zip {
                continue;
            }
            let kind = ArchiveKind::Wheel {
                distribution: "seed".into(),
                version: "0".into(),
            };
            if let Ok(a) = Archive::read_zip(wheel, kind, "/lib/python3.14/site-packages") {
                archives.push(a);
            }
        }
        archives
    }
}

fn list(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|r| r.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    out.sort();
    out
}

// ---------------------------------------------------------------------------------------------
// wheel_zip

fn wheel_seeds(cache: &Cache, options: &SeedOptions) -> Vec<Seed> {
    let mut seeds = Vec::new();
    for wheel in &cache.wheels {
        match std::fs::read(wheel) {
            Ok(bytes) if bytes.len() <= options.max_bytes => {
                seeds.push(seed(wheel.display().to_string(), bytes));
            }
            _ => {}
        }
    }
    if let Some(stdlib) = &cache.stdlib {
        if let Ok(bytes) = std::fs::read(stdlib) {
            // The whole stdlib zip is too big to mutate fast: its first entries, copied raw (still
            // deflated as the runtime ships them), make a small zip of the same kind.
            if let Some(sample) = zip_sample(&bytes, 40) {
                let mut sample = sample;
                // Odd length: the target reads it as the stdlib zip.
                if sample.len().is_multiple_of(2) {
                    sample.push(0);
                }
                seeds.push(seed(
                    format!("{} (first 40 entries)", stdlib.display()),
                    sample,
                ));
            }
        }
    }
    seeds.extend(crafted_zips());
    seeds
}

/// A zip of the first `n` entries of `bytes`, copied raw.
fn zip_sample(bytes: &[u8], n: usize) -> Option<Vec<u8>> {
    let mut source = zip::ZipArchive::new(Cursor::new(bytes)).ok()?;
    let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for i in 0..source.len().min(n) {
        let file = source.by_index_raw(i).ok()?;
        out.raw_copy_file(file).ok()?;
    }
    Some(out.finish().ok()?.into_inner())
}

/// A zip built from `(name, bytes)` entries, stored (`deflate` false) or deflated.
pub fn build_zip(entries: &[(&str, &[u8])], deflate: bool) -> Vec<u8> {
    use zip::write::SimpleFileOptions;
    let method = if deflate {
        zip::CompressionMethod::Deflated
    } else {
        zip::CompressionMethod::Stored
    };
    let options = SimpleFileOptions::default().compression_method(method);
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, bytes) in entries {
        zip.start_file(*name, options).expect("a zip entry");
        zip.write_all(bytes).expect("zip entry bytes");
    }
    zip.finish().expect("a finished zip").into_inner()
}

/// The offsets of every central directory header (`PK\x01\x02`) in a zip.
pub fn central_headers(zip: &[u8]) -> Vec<usize> {
    zip.windows(4)
        .enumerate()
        .filter(|(_, w)| *w == b"PK\x01\x02")
        .map(|(i, _)| i)
        .collect()
}

/// A stored wheel whose central directory says its `.py` entry inflates to `declared` bytes
/// (`pkg/__init__.py` really holds 6).
pub fn zip_with_declared_size(declared: u32) -> Vec<u8> {
    let mut zip = build_zip(
        &[
            ("pkg/__init__.py", b"x = 1\n"),
            ("pkg-1.0.dist-info/METADATA", b"Name: pkg\n"),
        ],
        false,
    );
    let header = central_headers(&zip)[0];
    // Central directory header: the uncompressed size is at offset 24.
    zip[header + 24..header + 28].copy_from_slice(&declared.to_le_bytes());
    zip
}

/// A one-entry stored zip written byte by byte, whose central directory declares the entry's
/// uncompressed size through a zip64 extra field as `declared` (the entry really holds 6 bytes).
/// Not a seed: with a size past what `malloc` can give, reading it aborts the process today.
pub fn zip64_with_declared_size(declared: u64) -> Vec<u8> {
    let name = b"pkg/__init__.py";
    let data = b"x = 1\n";
    let crc = crc32(data);
    let mut zip = Vec::new();
    // Local file header.
    zip.extend_from_slice(b"PK\x03\x04");
    zip.extend_from_slice(&[45, 0, 0, 0, 0, 0, 0, 0, 0, 0]); // version, flags, stored, time, date
    zip.extend_from_slice(&crc.to_le_bytes());
    zip.extend_from_slice(&(data.len() as u32).to_le_bytes()); // compressed
    zip.extend_from_slice(&(data.len() as u32).to_le_bytes()); // uncompressed
    zip.extend_from_slice(&(name.len() as u16).to_le_bytes());
    zip.extend_from_slice(&0u16.to_le_bytes());
    zip.extend_from_slice(name);
    zip.extend_from_slice(data);
    // Central directory header, the uncompressed size in a zip64 extra field.
    let central = zip.len();
    zip.extend_from_slice(b"PK\x01\x02");
    zip.extend_from_slice(&[45, 0, 45, 0, 0, 0, 0, 0, 0, 0, 0, 0]); // made by, needed, flags, method, time, date
    zip.extend_from_slice(&crc.to_le_bytes());
    zip.extend_from_slice(&(data.len() as u32).to_le_bytes()); // compressed
    zip.extend_from_slice(&u32::MAX.to_le_bytes()); // uncompressed: see the zip64 field
    zip.extend_from_slice(&(name.len() as u16).to_le_bytes());
    zip.extend_from_slice(&12u16.to_le_bytes()); // extra length
    zip.extend_from_slice(&[0; 10]); // comment length, disk, internal and external attributes
    zip.extend_from_slice(&0u32.to_le_bytes()); // local header offset
    zip.extend_from_slice(name);
    zip.extend_from_slice(&1u16.to_le_bytes()); // zip64 extended information
    zip.extend_from_slice(&8u16.to_le_bytes());
    zip.extend_from_slice(&declared.to_le_bytes());
    let central_len = zip.len() - central;
    // End of central directory.
    zip.extend_from_slice(b"PK\x05\x06");
    zip.extend_from_slice(&[0, 0, 0, 0, 1, 0, 1, 0]);
    zip.extend_from_slice(&(central_len as u32).to_le_bytes());
    zip.extend_from_slice(&(central as u32).to_le_bytes());
    zip.extend_from_slice(&0u16.to_le_bytes());
    zip
}

/// CRC-32 (IEEE), bit by bit: for the few bytes of a crafted zip.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = u32::MAX;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn crafted_zips() -> Vec<Seed> {
    let init = b"import os\nfrom . import sub\n".as_slice();
    let wasm = crafted_side_module();
    let ordinary = build_zip(
        &[
            ("pkg/__init__.py", init),
            ("pkg/sub.py", b"VALUE = 1\n"),
            ("pkg/_ext.so", &wasm),
            ("pkg/data/table.json", b"{\"a\": 1}\n"),
            (
                "pkg-1.0.dist-info/METADATA",
                b"Metadata-Version: 2.1\nName: pkg\n",
            ),
            ("pkg-1.0.dist-info/RECORD", b""),
            ("pkg-1.0.data/scripts/tool", b"#!python\n"),
            ("pkg-1.0.data/purelib/extra.py", b"import json\n"),
        ],
        false,
    );
    let deflated = build_zip(
        &[
            ("pkg/__init__.py", init),
            ("pkg/big.py", "x = 1\n".repeat(2000).as_bytes()),
        ],
        true,
    );
    let mut seeds = vec![
        seed(
            "crafted: a stored wheel with a .so, data and .data folders",
            ordinary.clone(),
        ),
        seed("crafted: a deflated wheel", deflated.clone()),
        seed(
            "crafted: a '../' entry",
            build_zip(
                &[("pkg/__init__.py", init), ("../evil.py", b"x = 1\n")],
                false,
            ),
        ),
        seed(
            "crafted: an absolute entry",
            build_zip(&[("/etc/evil.py", b"x = 1\n")], false),
        ),
        seed(
            "crafted: a backslash entry",
            build_zip(&[("pkg\\..\\..\\evil.py", b"x = 1\n")], false),
        ),
        seed(
            "crafted: a .so that is an ELF library",
            build_zip(
                &[(
                    "pkg/_ext.so",
                    b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x03\0\x3e\0",
                )],
                false,
            ),
        ),
        seed(
            "crafted: a declared size of 4 GiB - 16",
            zip_with_declared_size(0xffff_fff0),
        ),
        seed("crafted: an empty zip", build_zip(&[], false)),
        seed("crafted: no bytes", Vec::new()),
    ];
    for (what, zip) in [("stored", &ordinary), ("deflated", &deflated)] {
        seeds.push(seed(
            format!("crafted: a {what} wheel cut in half"),
            zip[..zip.len() / 2].to_vec(),
        ));
        seeds.push(seed(
            format!("crafted: a {what} wheel cut inside its central directory"),
            zip[..central_headers(zip)[0] + 30].to_vec(),
        ));
        seeds.push(seed(
            format!("crafted: a {what} wheel without its last byte"),
            zip[..zip.len() - 1].to_vec(),
        ));
    }
    // A symlink entry.
    {
        use zip::write::SimpleFileOptions;
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        zip.add_symlink("pkg/link.py", "/etc/passwd", SimpleFileOptions::default())
            .expect("a symlink entry");
        seeds.push(seed(
            "crafted: a symlink entry",
            zip.finish().expect("a zip").into_inner(),
        ));
    }
    seeds
}

// ---------------------------------------------------------------------------------------------
// wasm_facts

fn wasm_seeds(cache: &Cache, options: &SeedOptions) -> Vec<Seed> {
    let mut seeds = Vec::new();
    let mut cut_one = false;
    for archive in cache.archives(64 << 20) {
        for (i, entry) in archive.entries.iter().enumerate() {
            if entry.kind != FileKind::Extension {
                continue;
            }
            let Ok(bytes) = archive.read(i) else { continue };
            let name = format!("{}:{}", archive.path.display(), entry.path);
            if bytes.len() <= options.max_bytes {
                seeds.push(seed(name, bytes));
            } else if !cut_one {
                // One large module cut to size: a truncated module with real sections.
                cut_one = true;
                seeds.push(seed(
                    format!("{name} (first {} bytes)", options.max_bytes),
                    bytes[..options.max_bytes].to_vec(),
                ));
            }
        }
    }
    let module = crafted_side_module();
    seeds.push(seed("crafted: a side module", module.clone()));
    seeds.push(seed(
        "crafted: bad magic (an ELF header)",
        b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x03\0\x3e\0\x01\0\0\0".to_vec(),
    ));
    for cut in [4, 6, 8, 9, 12, module.len() / 2, module.len() - 1] {
        seeds.push(seed(
            format!("crafted: a side module cut at byte {cut}"),
            module[..cut].to_vec(),
        ));
    }
    // A type section that claims 4 GiB - 1 bytes.
    seeds.push(seed(
        "crafted: a section claiming 4 GiB",
        b"\0asm\x01\0\0\0\x01\xff\xff\xff\xff\x0f\x00".to_vec(),
    ));
    // A dylink.0 `needed` list claiming 2^32 - 1 names.
    let mut needed = b"\0asm\x01\0\0\0\x00\x14\x08dylink.0\x02\x09\xff\xff\xff\xff\x0f".to_vec();
    needed.extend_from_slice(b"\x03abc");
    seeds.push(seed("crafted: a needed list claiming 2^32 names", needed));
    seeds
}

/// A small valid side module: `dylink.0` with a needed library, imports from `env` and `GOT.mem`,
/// an exported function.
pub fn crafted_side_module() -> Vec<u8> {
    use wasm_encoder::{
        CodeSection, CustomSection, EntityType, ExportKind, ExportSection, Function,
        FunctionSection, GlobalType, ImportSection, Instruction, Module, TypeSection, ValType,
    };
    let mut module = Module::new();
    // dylink.0: mem-info (subsection 1, all zero), needed (subsection 2) = ["libz.so"].
    let mut dylink = vec![1, 4, 0, 0, 0, 0, 2, 9, 1, 7];
    dylink.extend_from_slice(b"libz.so");
    module.section(&CustomSection {
        name: "dylink.0".into(),
        data: dylink.into(),
    });
    let mut types = TypeSection::new();
    types.ty().function([ValType::I32], [ValType::I32]);
    module.section(&types);
    let mut imports = ImportSection::new();
    imports.import("env", "malloc", EntityType::Function(0));
    imports.import(
        "GOT.mem",
        "errno",
        EntityType::Global(GlobalType {
            val_type: ValType::I32,
            mutable: true,
            shared: false,
        }),
    );
    module.section(&imports);
    let mut functions = FunctionSection::new();
    functions.function(0);
    module.section(&functions);
    let mut exports = ExportSection::new();
    exports.export("PyInit__ext", ExportKind::Func, 1);
    module.section(&exports);
    let mut code = CodeSection::new();
    let mut f = Function::new([]);
    f.instruction(&Instruction::LocalGet(0));
    f.instruction(&Instruction::Call(0));
    f.instruction(&Instruction::End);
    code.function(&f);
    module.section(&code);
    module.finish()
}

// ---------------------------------------------------------------------------------------------
// python_facts

fn python_seeds(cache: &Cache, options: &SeedOptions) -> Vec<Seed> {
    let py_cap = options.max_bytes.min(128 << 10);
    let mut found: Vec<(String, Vec<u8>)> = Vec::new();
    for archive in cache.archives(2 << 20) {
        for (i, entry) in archive.entries.iter().enumerate() {
            if entry.kind != FileKind::Python || entry.size as usize > py_cap {
                continue;
            }
            if let Ok(bytes) = archive.read(i) {
                found.push((format!("{}:{}", archive.path.display(), entry.path), bytes));
            }
        }
    }
    // Spread over everything found: every k-th file.
    let step = found.len().div_ceil(options.max_python_files.max(1)).max(1);
    let mut seeds: Vec<Seed> = found
        .into_iter()
        .step_by(step)
        .map(|(name, bytes)| seed(name, bytes))
        .collect();
    seeds.extend(crafted_python());
    seeds
}

fn crafted_python() -> Vec<Seed> {
    let ordinary = "\
import os, sys as system
from . import sibling
from ..pkg.mod import (a, b as c)
from __future__ import annotations
import importlib
try:
    import ujson as json
except ImportError:
    import json
if TYPE_CHECKING:
    import typing
def load(name):
    import xml.etree.ElementTree
    return importlib.import_module('plugins.' + name)
__all__ = ['load', 'sibling']
mod = __import__('encodings.' + 'utf_8')
lazy = lazy_loader.attach(__name__, submodules=['sub'])
class C:
    x: 'list[int]' = f\"{1 + 2!r:>{width}}\"
    def m(self): return [i async for i in self.it() if i]
match command.split():
    case [\"go\", direction]: pass
    case _: pass
";
    vec![
        seed("crafted: imports of every kind", ordinary.as_bytes()),
        seed("crafted: 100000 open parentheses", "(".repeat(100_000)),
        seed(
            "crafted: 300 nested brackets, closed",
            format!("x = {}1{}\n", "[".repeat(300), "]".repeat(300)),
        ),
        seed(
            "crafted: a chain of 100000 additions",
            format!("x = {}1\n", "1+".repeat(100_000)),
        ),
        seed(
            "crafted: 5000 nots",
            format!("x = {}y\n", "not ".repeat(5000)),
        ),
        seed(
            "crafted: 150 nested blocks",
            (0..150)
                .map(|i| format!("{}if x:\n", " ".repeat(i)))
                .collect::<String>()
                + &" ".repeat(150)
                + "import deep\n",
        ),
        seed(
            "crafted: nested f-strings",
            "x = f\"{f'{f\"{f'{1}'}\"}'}\"\nimport a\n",
        ),
        seed(
            "crafted: latin-1 bytes without a coding declaration",
            b"s = '\xe9t\xe9'\nimport os\n".to_vec(),
        ),
        seed(
            "crafted: a latin-1 coding declaration",
            b"# -*- coding: latin-1 -*-\ns = '\xe9t\xe9'\nimport os\n".to_vec(),
        ),
        seed(
            "crafted: an unknown codec",
            b"# coding: no-such-codec\nimport os\n".to_vec(),
        ),
        seed(
            "crafted: a BOM, then invalid UTF-8",
            b"\xef\xbb\xbfimport os\nx = '\xff\xfe'\n".to_vec(),
        ),
        seed(
            "crafted: UTF-16 with a BOM",
            b"\xff\xfei\0m\0p\0o\0r\0t\0 \0o\0s\0\n\0".to_vec(),
        ),
        seed("crafted: NUL bytes", b"import os\0\nimport sys\n".to_vec()),
        seed(
            "crafted: an unterminated triple-quoted string",
            "import os\nx = '''\n".repeat(3),
        ),
        seed(
            "crafted: a 200000-character line",
            format!("x = '{}'\nimport os\n", "a".repeat(200_000)),
        ),
        seed(
            "crafted: CR line ends",
            "import os\rimport sys\r\n".as_bytes(),
        ),
        seed("crafted: empty", Vec::new()),
    ]
}

// ---------------------------------------------------------------------------------------------
// pyproject

fn pyproject_seeds() -> Vec<Seed> {
    let mut seeds = Vec::new();
    // The settings page's own example (docs/config.md), as users copy it.
    let readme = include_str!("../../../docs/config.md");
    for block in readme.split("```toml").skip(1) {
        if let Some(body) = block.split("```").next() {
            if body.contains("[tool.pyodide-pack]") {
                seeds.push(seed(
                    "docs/config.md: [tool.pyodide-pack] example",
                    body.trim_start(),
                ));
            }
        }
    }
    let project = "\
[build-system]
requires = [\"setuptools>=61\"]
build-backend = \"setuptools.build_meta\"

[project]
name = \"app\"
version = \"0.1.0\"
dependencies = [\"pydantic>=2\", 'tabulate; python_version >= \"3.8\"']
authors = [{ name = \"A\", email = \"a@example.org\" }]

[tool.pyodide-pack]
inputs = [\"more.py\", \"inputs/other.py\"]
exclude = [\"sympy/plotting/**\"]
timeout = 120
browser = \"both\"
lazy = false
docstring-exclude = [\"app.cli\"]

[tool.ruff]
line-length = 100
";
    seeds.push(seed("crafted: a project with the table", project));
    seeds.push(seed("crafted: no table", "[project]\nname = \"x\"\n"));
    for (what, text) in [
        ("an unknown key", "[tool.pyodide-pack]\nfrobnicate = true\n"),
        (
            "a key of the wrong type",
            "[tool.pyodide-pack]\ninputs = \"one.py\"\ntimeout = -1\n",
        ),
        (
            "a bad browser",
            "[tool.pyodide-pack]\nbrowser = \"firefox\"\n",
        ),
        ("the table not a table", "[tool]\npyodide-pack = 3\n"),
        ("tool not a table", "tool = \"x\"\n"),
        (
            "an inline table",
            "tool = { pyodide-pack = { timeout = 5 } }\n",
        ),
        ("a dotted key", "tool.pyodide-pack.timeout = 1e400\n"),
        ("an array of tables", "[[tool.pyodide-pack]]\ntimeout = 1\n"),
        (
            "huge integers",
            "[tool.pyodide-pack]\ntimeout = 99999999999999999999999\n",
        ),
        (
            "dates",
            "[tool.pyodide-pack]\noutput = 1979-05-27T07:32:00-08:00\n",
        ),
        (
            "duplicate keys",
            "[tool.pyodide-pack]\nlazy = true\nlazy = false\n",
        ),
        (
            "escapes",
            "[tool.pyodide-pack]\noutput = \"\\u0000\\U0010FFFF\\ud800\"\n",
        ),
        (
            "a multi-line string",
            "[tool.pyodide-pack]\noutput = \"\"\"\na\\\n  b\"\"\"\n",
        ),
    ] {
        seeds.push(seed(format!("crafted: {what}"), text));
    }
    seeds.push(seed(
        "crafted: 10000 nested arrays",
        format!("a = {}{}\n", "[".repeat(10_000), "]".repeat(10_000)),
    ));
    seeds.push(seed(
        "crafted: 10000 nested inline tables",
        format!("a = {}{}\n", "{b = ".repeat(10_000), "}".repeat(10_000)),
    ));
    seeds.push(seed(
        "crafted: a 10000-part dotted key",
        format!("{} = 1\n", vec!["a"; 10_000].join(".")),
    ));
    seeds.push(seed(
        "crafted: invalid UTF-8",
        b"[tool.pyodide-pack]\noutput = \"\xff\xfe\"\n".to_vec(),
    ));
    seeds.push(seed("crafted: empty", Vec::new()));
    seeds
}

// ---------------------------------------------------------------------------------------------
// trace_record

fn trace_seeds(cache: &Cache, options: &SeedOptions) -> Vec<Seed> {
    let mut seeds: Vec<Seed> = cache
        .traces
        .iter()
        .take(8)
        .filter_map(|p| {
            let bytes = std::fs::read(p).ok()?;
            (bytes.len() <= options.max_bytes).then(|| seed(p.display().to_string(), bytes))
        })
        .collect();
    seeds.push(seed("crafted: a small valid trace", small_trace()));
    seeds.push(seed(
        "crafted: another schema",
        br#"{"schema": "pyodide-pack/trace-9", "runs": []}"#.to_vec(),
    ));
    seeds.push(seed(
        "crafted: 100000 nested arrays",
        format!(
            "{{\"schema\": \"pyodide-pack/trace-1\", \"runs\": {}",
            "[".repeat(100_000)
        ),
    ));
    seeds.push(seed(
        "crafted: huge numbers",
        String::from_utf8_lossy(&small_trace())
            .replace("\"wall_ms\": 1.5", "\"wall_ms\": 1e999")
            .replace("\"run_ms\": 1.0", "\"run_ms\": -99999999999999999999999999"),
    ));
    seeds
}

/// A trace as `pyodide-pack trace` writes it, built from the real types.
pub fn small_trace() -> Vec<u8> {
    use pyodide_pack_trace::{
        ImportEvent, ModuleOrigin, RunTimings, Trace, TraceRun, TRACE_SCHEMA,
    };
    let trace = Trace {
        schema: TRACE_SCHEMA.to_string(),
        tool_version: "0.1.0".into(),
        app: "corpus/app/app.py".into(),
        pyodide_version: Some("314.0.7".into()),
        runs: vec![TraceRun {
            label: "app.py".into(),
            input: Some("inputs/more.py".into()),
            opened: vec![
                "/lib/python314.zip/json/__init__.py".into(),
                "/lib/python3.14/site-packages/pkg/data.json".into(),
            ],
            dynlibs: vec!["/lib/python3.14/site-packages/pkg/_ext.so".into()],
            imports: vec![
                ImportEvent {
                    module: "json".into(),
                    found: true,
                },
                ImportEvent {
                    module: "ujson".into(),
                    found: false,
                },
            ],
            modules: vec![
                ModuleOrigin {
                    name: "json".into(),
                    origin: Some("/lib/python314.zip/json/__init__.py".into()),
                },
                ModuleOrigin {
                    name: "sys".into(),
                    origin: Some("built-in".into()),
                },
            ],
            stdout: "ok\n".into(),
            timings: RunTimings {
                load_pyodide_ms: 0.5,
                install_ms: 0.25,
                run_ms: 1.0,
                wall_ms: 1.5,
            },
        }],
    };
    serde_json::to_vec_pretty(&trace).expect("a trace serializes")
}

// ---------------------------------------------------------------------------------------------
// pack_record

fn pack_seeds(cache: &Cache) -> Vec<Seed> {
    let mut seeds = Vec::new();
    // A report a real pack wrote, where one is at hand (`pack` writes none into the cache).
    let here = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../dist/report.json");
    if let Ok(bytes) = std::fs::read(&here) {
        seeds.push(seed(
            format!("{} (reduced)", here.display()),
            reduce_report(&bytes),
        ));
    }
    let _ = cache;
    seeds.push(seed("crafted: a small valid pack report", small_report()));
    seeds
}

/// A `pyodide-pack/pack-2` report of a tiny app: two archives, four files (one lazy, one dropped
/// by a glob), import and package-init edges.
pub fn small_report() -> Vec<u8> {
    let report = serde_json::json!({
        "schema": "pyodide-pack/pack-2",
        "analysis": {
            "schema": "pyodide-pack/analyze-1",
            "entry": "app.py",
            "archives": [
                {"id": 0, "name": "app", "kind": "app", "package": "app", "version": null},
                {"id": 1, "name": "python_stdlib.zip", "kind": "stdlib", "package": "stdlib", "version": "3.14.2"},
                {"id": 2, "name": "pkg-1.0-py3-none-any.whl", "kind": "wheel", "package": "pkg", "version": "1.0"}
            ],
            "files": [
                {"id": 0, "archive": 0, "path": "app.py", "install_path": "/home/pyodide/app.py", "kind": "python", "module": "app", "size": 40, "compressed_size": 40, "kept": true, "tier": "eager", "eager_reason": "static"},
                {"id": 1, "archive": 2, "path": "pkg/__init__.py", "install_path": "/lib/python3.14/site-packages/pkg/__init__.py", "kind": "python", "module": "pkg", "size": 30, "compressed_size": 30, "kept": true, "tier": "eager", "eager_reason": "touched"},
                {"id": 2, "archive": 1, "path": "json/__init__.py", "install_path": "/lib/python314.zip/json/__init__.py", "kind": "python", "module": "json", "size": 100, "compressed_size": 60, "kept": true, "tier": "lazy"},
                {"id": 3, "archive": 2, "path": "pkg/unused.py", "install_path": "/lib/python3.14/site-packages/pkg/unused.py", "kind": "python", "module": "pkg.unused", "size": 10, "compressed_size": 10, "kept": false, "excluded_by": "pkg/unused.py"}
            ],
            "roots": [
                {"file": 0, "path": "app.py", "kind": "entry", "module": null, "why": "the entry script"}
            ],
            "edges": [
                {"from": 0, "to": 1, "kind": "import", "name": "pkg", "optional": false, "nested": false, "reason": {"file": 0, "path": "app.py", "line": 1, "text": "import pkg"}},
                {"from": 1, "to": 2, "kind": "import", "name": "json", "optional": true, "nested": true, "reason": {"file": 1, "path": "pkg/__init__.py", "line": 3, "text": "import json"}},
                {"from": 1, "to": 3, "kind": "package-init", "name": "pkg.unused", "optional": false, "nested": false, "reason": {"file": 1, "path": "pkg/__init__.py", "line": null, "text": "pkg.unused"}},
                {"from": 0, "to": 2, "kind": "runtime", "name": "json", "optional": false, "nested": false, "reason": {"file": 0, "path": "app.py", "line": null, "text": "run app.py: imported json"}}
            ]
        },
        "pack": {
            "lazy_files": [
                {"install_path": "/lib/python3.14/json/__init__.py", "size": 100, "sizes": {"raw": 100, "gzip": 80, "brotli": 70}}
            ]
        },
        "validation": null,
        "seconds": 0.5
    });
    serde_json::to_vec_pretty(&report).expect("a report serializes")
}

/// A real report cut to its first 40 files, the edges and roots between them and 5 lazy files, so
/// a mutation iteration stays fast (real reports are megabytes).
pub fn reduce_report(bytes: &[u8]) -> Vec<u8> {
    const FILES: usize = 40;
    let Ok(mut report) = serde_json::from_slice::<serde_json::Value>(bytes) else {
        return bytes.to_vec();
    };
    let analysis = &mut report["analysis"];
    if let Some(files) = analysis["files"].as_array_mut() {
        files.truncate(FILES);
    }
    let inside = |v: &serde_json::Value| v.as_u64().is_some_and(|i| (i as usize) < FILES);
    if let Some(edges) = analysis["edges"].as_array_mut() {
        edges.retain(|e| inside(&e["from"]) && inside(&e["to"]));
        edges.truncate(200);
    }
    if let Some(roots) = analysis["roots"].as_array_mut() {
        roots.retain(|r| inside(&r["file"]));
    }
    for key in [
        "packages",
        "warnings",
        "unresolved_dynamic_imports",
        "missing_modules",
    ] {
        if let Some(list) = analysis[key].as_array_mut() {
            list.truncate(5);
        }
    }
    if let Some(trace) = analysis.get_mut("trace") {
        *trace = serde_json::Value::Null;
    }
    if let Some(lazy) = report["pack"]["lazy_files"].as_array_mut() {
        lazy.truncate(5);
    }
    serde_json::to_vec_pretty(&report).unwrap_or_else(|_| bytes.to_vec())
}
