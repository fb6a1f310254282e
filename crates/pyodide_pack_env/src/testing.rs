//! Small environments built in a test, for the later stages' unit tests (graph, trace merge,
//! report) without a real runtime, Node or the cache: an app folder, a stdlib zip and wheels
//! written into a temporary folder from the test's own files, read the way the real ones are, and
//! a runtime whose facts the test names (its built-in modules, what it boots).
//!
//! ```ignore
//! let (_dir, env) = TestEnv::new()
//!     .app("app.py", "import json\nimport pkg\n")
//!     .stdlib("json/__init__.py", "from .decoder import x\n")
//!     .stdlib("json/decoder.py", "x = 1\n")
//!     .wheel("pkg", "1.0", &[("pkg/__init__.py", b"")])
//!     .build();
//! ```

use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;

use crate::environment::{Environment, FileRef, APP_INSTALL_ROOT, DSO_DIR};
use crate::requirements::WheelSource;
use crate::runtime::{Runtime, RuntimeFacts};
use crate::{Archive, ArchiveKind};

/// Files of an archive: (path inside it, bytes).
type Files = Vec<(String, Vec<u8>)>;

/// A wheel or a shared library: (name, version, files).
type Package = (String, String, Files);

/// An environment to build: the first app file is the entry script.
#[derive(Default)]
pub struct TestEnv {
    app: Files,
    stdlib: Files,
    wheels: Vec<Package>,
    shared_libraries: Vec<Package>,
    facts: RuntimeFacts,
}

impl TestEnv {
    pub fn new() -> TestEnv {
        let mut env = TestEnv::default();
        env.facts.builtin_modules = ["builtins", "sys", "marshal", "_warnings"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        env
    }

    /// A file of the app folder (the first one is the entry script).
    pub fn app(mut self, path: &str, text: &str) -> TestEnv {
        self.app.push((path.into(), text.as_bytes().to_vec()));
        self
    }

    /// A file of the stdlib zip.
    pub fn stdlib(mut self, path: &str, text: &str) -> TestEnv {
        self.stdlib.push((path.into(), text.as_bytes().to_vec()));
        self
    }

    /// A wheel `DIST-VERSION-py3-none-any.whl` holding `files` (paths inside the wheel).
    pub fn wheel(mut self, distribution: &str, version: &str, files: &[(&str, &[u8])]) -> TestEnv {
        self.wheels.push((
            distribution.into(),
            version.into(),
            files
                .iter()
                .map(|(p, b)| (p.to_string(), b.to_vec()))
                .collect(),
        ));
        self
    }

    /// A `shared_library` package of the lock (a zip of `.so` files unpacked into `/usr/lib`).
    pub fn shared_library(mut self, name: &str, version: &str, files: &[(&str, &[u8])]) -> TestEnv {
        self.shared_libraries.push((
            name.into(),
            version.into(),
            files
                .iter()
                .map(|(p, b)| (p.to_string(), b.to_vec()))
                .collect(),
        ));
        self
    }

    /// A module the runtime has compiled in.
    pub fn builtin(mut self, module: &str) -> TestEnv {
        self.facts.builtin_modules.insert(module.into());
        self
    }

    /// A module CPython imports while it starts (a root of every analysis).
    pub fn boots(mut self, module: &str) -> TestEnv {
        self.facts.interpreter_boot_modules.push(module.into());
        self
    }

    /// A symbol the main module exports (what side modules may import from it).
    pub fn exports(mut self, symbol: &str) -> TestEnv {
        self.facts.main_exports.insert(symbol.into());
        self
    }

    /// Writes the archives into a temporary folder (kept as long as the returned guard) and reads
    /// them as an environment of a Pyodide 314 runtime (CPython 3.14).
    pub fn build(self) -> (tempfile::TempDir, Environment) {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let root = dir.path();
        let app_dir = root.join("app");
        for (path, bytes) in &self.app {
            let file = app_dir.join(path);
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(file, bytes).unwrap();
        }
        let entry_name = &self.app.first().expect("an entry script").0;
        let runtime_dir = root.join("runtime");
        std::fs::create_dir_all(&runtime_dir).unwrap();
        let runtime = Runtime::synthetic(&runtime_dir);
        let stdlib_zip = runtime_dir.join("python_stdlib.zip");
        write_zip(&stdlib_zip, &self.stdlib);
        let app = Archive::read_app_folder(&app_dir, &app_dir.join(entry_name), APP_INSTALL_ROOT)
            .expect("the app folder reads");
        let entry = app
            .find(entry_name)
            .expect("the entry is in the app folder") as u32;
        let mut archives = vec![
            app,
            Archive::read_zip(&stdlib_zip, ArchiveKind::Stdlib, &runtime.stdlib_mount())
                .expect("the stdlib zip reads"),
        ];
        let mut sources = vec![None, None];
        for (distribution, version, files) in &self.wheels {
            let path = root.join(format!("{distribution}-{version}-py3-none-any.whl"));
            write_zip(&path, files);
            let kind = ArchiveKind::Wheel {
                distribution: distribution.clone(),
                version: version.clone(),
            };
            archives.push(
                Archive::read_zip(&path, kind, &runtime.site_packages()).expect("the wheel reads"),
            );
            sources.push(Some(WheelSource::Folder));
        }
        for (library, version, files) in &self.shared_libraries {
            let path = root.join(format!("{library}-{version}.zip"));
            write_zip(&path, files);
            let kind = ArchiveKind::SharedLibrary {
                library: library.clone(),
                version: version.clone(),
            };
            archives.push(Archive::read_zip(&path, kind, DSO_DIR).expect("the library reads"));
            sources.push(Some(WheelSource::Lock));
        }
        let env = Environment {
            runtime,
            runtime_facts: self.facts,
            archives,
            entry: FileRef { archive: 0, entry },
            requirements: None,
            sources,
            warnings: Vec::new(),
            lock_imports: Default::default(),
        };
        (dir, env)
    }
}

fn write_zip(path: &Path, files: &[(String, Vec<u8>)]) {
    let file = std::fs::File::create(path).expect("a zip to write");
    let mut zip = zip::ZipWriter::new(file);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in files {
        zip.start_file(name.as_str(), options).unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap();
}

/// A small wasm side module: a `dylink.0` section (needed libraries), imported functions from
/// `env`, and exported functions, all `() -> ()` with empty bodies.
pub fn side_module(needed: &[&str], imports: &[&str], exports: &[&str]) -> Vec<u8> {
    let exports: Vec<(&str, Vec<wasm_encoder::Instruction<'static>>)> = exports
        .iter()
        .map(|name| (*name, vec![wasm_encoder::Instruction::End]))
        .collect();
    side_module_with(needed, imports, &exports, None)
}

/// A side module with a `dylink.0` section (`needed` libraries, no memory), functions imported
/// from `env`, and exported functions with the given bodies; every function takes nothing and
/// returns `result`.
pub fn side_module_with(
    needed: &[&str],
    imports: &[&str],
    exports: &[(&str, Vec<wasm_encoder::Instruction<'static>>)],
    result: Option<wasm_encoder::ValType>,
) -> Vec<u8> {
    use wasm_encoder::{
        CodeSection, CustomSection, EntityType, ExportKind, ExportSection, Function,
        FunctionSection, ImportSection, Module, TypeSection,
    };
    fn leb(mut v: u32, out: &mut Vec<u8>) {
        loop {
            let byte = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                out.push(byte);
                break;
            }
            out.push(byte | 0x80);
        }
    }
    // WASM_DYLINK_MEM_INFO: memory size, alignment, table size, alignment.
    let mut dylink = vec![1, 4, 0, 0, 0, 0];
    if !needed.is_empty() {
        let mut body = Vec::new();
        leb(needed.len() as u32, &mut body);
        for lib in needed {
            leb(lib.len() as u32, &mut body);
            body.extend(lib.as_bytes());
        }
        dylink.push(2); // WASM_DYLINK_NEEDED
        leb(body.len() as u32, &mut dylink);
        dylink.extend(body);
    }
    let mut module = Module::new();
    module.section(&CustomSection {
        name: "dylink.0".into(),
        data: dylink.into(),
    });
    let mut types = TypeSection::new();
    types.ty().function([], result);
    module.section(&types);
    let mut import_section = ImportSection::new();
    for name in imports {
        import_section.import("env", name, EntityType::Function(0));
    }
    module.section(&import_section);
    let mut functions = FunctionSection::new();
    for _ in exports {
        functions.function(0);
    }
    module.section(&functions);
    let mut export_section = ExportSection::new();
    for (i, (name, _)) in exports.iter().enumerate() {
        export_section.export(name, ExportKind::Func, (imports.len() + i) as u32);
    }
    module.section(&export_section);
    let mut code = CodeSection::new();
    for (_, body) in exports {
        let mut f = Function::new([]);
        for instruction in body {
            f.instruction(instruction);
        }
        code.function(&f);
    }
    module.section(&code);
    module.finish()
}

/// The file of `env` at `path` (inside its archive), for assertions.
pub fn file(env: &Environment, path: &str) -> FileRef {
    env.files()
        .find(|f| env.entry(*f).path == path)
        .unwrap_or_else(|| panic!("no file {path} in the test environment"))
}

/// The names of `files`, sorted: what an assertion compares.
pub fn paths(env: &Environment, files: impl IntoIterator<Item = FileRef>) -> Vec<String> {
    let set: BTreeSet<String> = files
        .into_iter()
        .map(|f| env.entry(f).path.clone())
        .collect();
    set.into_iter().collect()
}
