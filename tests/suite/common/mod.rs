//! Shared by the integration tests: where the fetched runtime and corpus wheels are, running the
//! CLI, running an app under real Pyodide in Node, and building small crafted wheels.
#![allow(dead_code)]

pub mod page;
pub mod visits;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use pyodide_pack_env::{cached_runtime_dir, CacheRoot, PINNED_PYODIDE_VERSION};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn cache() -> CacheRoot {
    CacheRoot::from_env()
}

/// The runtime `corpus/fetch.sh` installed. Tests fail (not skip) without it.
pub fn runtime_dir() -> PathBuf {
    runtime_dir_of(PINNED_PYODIDE_VERSION)
}

/// The runtimes of `corpus/runtimes.txt`, pinned first, as `corpus/fetch.sh` reads them.
pub fn runtime_versions() -> Vec<String> {
    std::fs::read_to_string(repo().join("corpus").join("runtimes.txt"))
        .unwrap()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(String::from)
        .collect()
}

/// The npm core of `version` that `corpus/fetch.sh` installed. Tests fail (not skip) without it.
pub fn runtime_dir_of(version: &str) -> PathBuf {
    let dir = cached_runtime_dir(&cache(), version);
    assert!(
        dir.join("pyodide-lock.json").is_file(),
        "no Pyodide {version} at {}: run corpus/fetch.sh first",
        dir.display()
    );
    dir
}

/// The full Pyodide 0.27.7 distribution (runtime and lock packages) that `corpus/fetch.sh`
/// unpacked from the package index. Tests fail (not skip) without it.
pub fn distribution_dir() -> PathBuf {
    let dir = cache().root().join("distributions").join("pyodide-0.27.7");
    assert!(
        dir.join(".complete").is_file(),
        "no Pyodide 0.27.7 distribution at {}: run corpus/fetch.sh first",
        dir.display()
    );
    dir
}

pub fn corpus_wheels(app: &str) -> PathBuf {
    let dir = cache().root().join("corpus").join(app).join("wheels");
    assert!(
        dir.is_dir(),
        "no wheels for {app} at {}: run corpus/fetch.sh first",
        dir.display()
    );
    dir
}

pub fn corpus_app(app: &str) -> PathBuf {
    repo().join("corpus").join(app).join("app.py")
}

pub fn wheels_in(dir: &Path) -> Vec<PathBuf> {
    pyodide_pack_env::wheels_in(dir).unwrap()
}

/// The flags that name a corpus-like environment: the app, its wheels, the fetched runtime.
pub fn env_flags(app: &Path, wheels: &Path) -> Vec<String> {
    vec![
        app.display().to_string(),
        "--wheels".into(),
        wheels.display().to_string(),
        "--runtime".into(),
        runtime_dir().display().to_string(),
    ]
}

/// Runs the built CLI.
pub fn pyodide_pack(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pyodide-pack"))
        .args(args)
        .output()
        .expect("the CLI runs")
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// What a real run of an app under Pyodide in Node recorded (harness/run_app.mjs).
#[derive(Debug, serde::Deserialize)]
pub struct RunRecord {
    pub modules: Vec<(String, Option<String>)>,
    pub opened: Vec<String>,
    pub dynlibs: Vec<String>,
    pub stdout: String,
    pub error: Option<serde_json::Value>,
}

pub fn run_in_pyodide(app: &Path, wheels: &[PathBuf]) -> RunRecord {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run.json");
    // The app's folder: its Python files, at the paths Pyodide runs scripts from.
    let mut files = Vec::new();
    for item in std::fs::read_dir(app.parent().unwrap()).unwrap() {
        let path = item.unwrap().path();
        if path.extension().is_some_and(|x| x == "py") {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            files.push((path, format!("/home/pyodide/{name}")));
        }
    }
    let entry = format!(
        "/home/pyodide/{}",
        app.file_name().unwrap().to_string_lossy()
    );
    let spec = serde_json::json!({
        "runtime": runtime_dir(),
        "wheels": wheels,
        "files": files,
        "entry": entry,
        "out": out,
    });
    let spec_path = dir.path().join("spec.json");
    std::fs::write(&spec_path, spec.to_string()).unwrap();
    let status = Command::new("node")
        .arg(repo().join("harness").join("run_app.mjs"))
        .arg(&spec_path)
        .output()
        .expect("node runs (is Node.js installed?)");
    let text = std::fs::read_to_string(&out).unwrap_or_else(|_| {
        panic!(
            "the harness wrote no record: {}",
            String::from_utf8_lossy(&status.stderr)
                .chars()
                .take(2000)
                .collect::<String>()
        )
    });
    let record: RunRecord = serde_json::from_str(&text).unwrap();
    assert!(
        record.error.is_none(),
        "{} failed under Pyodide: {:?}",
        app.display(),
        record.error
    );
    record
}

/// Writes a wheel (a zip) with the given entries.
pub fn write_wheel(path: &Path, entries: &[(&str, &[u8])]) {
    let file = std::fs::File::create(path).unwrap();
    let mut zip = zip::ZipWriter::new(file);
    let options = zip::write::SimpleFileOptions::default();
    for (name, bytes) in entries {
        zip.start_file(*name, options).unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap();
}

// (Not every test binary builds side modules.)
#[allow(unused_imports)]
pub use pyodide_pack_env::testing::{side_module, side_module_with};

/// A throw-away app: `name` with `source` in a new folder, and an empty `wheels/` beside it.
pub fn scratch_app(name: &str, source: &str) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let app = dir.path().join(name);
    std::fs::write(&app, source).unwrap();
    let wheels = dir.path().join("wheels");
    std::fs::create_dir(&wheels).unwrap();
    (dir, app, wheels)
}

/// A file of a packed output by what it is, where the output holds it named by its content:
/// `bundle.zip.zst` (and its `.br` sibling), `loader.mjs` (the content-named loader the stub
/// re-exports), `lazy/lib/python3.14/x.pyc`, `pyodide/pyodide.asm.wasm`, `index.mjs`.
pub fn deployed(out: &Path, name: &str) -> PathBuf {
    let loader = pyodide_pack_pack::deployed_loader(out).unwrap();
    let folder = loader.parent().unwrap().to_path_buf();
    if name == "loader.mjs" {
        return loader;
    }
    let manifest = manifest_of(&loader);
    let named = |name: &str, sha: &serde_json::Value| {
        pyodide_pack_pack::content_name(name, sha.as_str().unwrap())
    };
    if let Some(pinned) = manifest["files"].get(name) {
        return folder.join(named(name, &pinned["sha256"]));
    }
    for suffix in [".br", ".gz"] {
        if let Some(pinned) = name
            .strip_suffix(suffix)
            .and_then(|b| manifest["files"].get(b))
        {
            let base = named(name.strip_suffix(suffix).unwrap(), &pinned["sha256"]);
            return folder.join(format!("{base}{suffix}"));
        }
    }
    if let Some(path) = name.strip_prefix("lazy/") {
        let install = format!("/{path}");
        let file = manifest["lazy"]["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f[0] == install.as_str());
        return match file {
            Some(f) => folder.join("lazy").join(named(path, &f[2])),
            // (Not in the manifest: where it would be, which does not exist.)
            None => folder.join("lazy").join(path),
        };
    }
    if let Some(file) = name.strip_prefix("pyodide/") {
        let dir = manifest["runtime_dir"].as_str().expect("a copied runtime");
        return folder.join(dir).join(file);
    }
    let found: Vec<PathBuf> = std::fs::read_dir(&folder)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.is_file() && without_digest(&p.file_name().unwrap().to_string_lossy()) == name
        })
        .collect();
    assert_eq!(found.len(), 1, "{name} in {}: {found:?}", folder.display());
    found[0].clone()
}

/// A content name with its digest taken out (`bundle.0123456789abcdef.zip.zst` ->
/// `bundle.zip.zst`).
pub fn without_digest(name: &str) -> String {
    let is_digest = |p: &str| p.len() == 16 && p.bytes().all(|b| b.is_ascii_hexdigit());
    let parts: Vec<&str> = name.split('.').collect();
    match parts.iter().skip(1).position(|p| is_digest(p)) {
        Some(i) => {
            let mut kept = parts.clone();
            kept.remove(i + 1);
            kept.join(".")
        }
        None => name.to_string(),
    }
}

/// What a packed output's `immutable/` folder holds (the digests taken out of the names), the
/// lazy tier and the runtime's folder left out, sorted.
pub fn immutable_names(out: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(out.join("immutable"))
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_file())
        .map(|e| without_digest(&e.file_name().to_string_lossy()))
        .collect();
    names.sort();
    names
}

/// The manifest of a (content-named) loader.
pub fn manifest_of(loader: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(loader).unwrap();
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("const MANIFEST = "))
        .expect("a manifest line");
    serde_json::from_str(line.trim_end_matches(';')).unwrap()
}

/// One of the eager zips (`bundle.zip`, `python_stdlib.zip`) of a packed folder, whatever its
/// transfer form (`.zip`, `.zip.gz`, `.zip.zst`), decoded.
pub fn eager_zip(out: &Path, name: &str) -> Vec<u8> {
    use std::io::Read;
    let manifest = manifest_of(&pyodide_pack_pack::deployed_loader(out).unwrap());
    let pinned = |n: &str| manifest["files"].get(n).is_some();
    if pinned(name) {
        return std::fs::read(deployed(out, name)).unwrap();
    }
    let gz = format!("{name}.gz");
    if pinned(&gz) {
        let mut bytes = Vec::new();
        flate2::read::GzDecoder::new(std::fs::File::open(deployed(out, &gz)).unwrap())
            .read_to_end(&mut bytes)
            .unwrap();
        return bytes;
    }
    let zst = format!("{name}.zst");
    assert!(pinned(&zst), "no {name} in any form in {}", out.display());
    zstd::stream::decode_all(std::fs::File::open(deployed(out, &zst)).unwrap()).unwrap()
}

/// The entry names of one of the eager zips of a packed folder (see [`eager_zip`]).
pub fn eager_zip_names(out: &Path, name: &str) -> Vec<String> {
    let bytes = eager_zip(out, name);
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    (0..zip.len())
        .map(|i| zip.by_index(i).unwrap().name().unwrap().to_string())
        .collect()
}

/// The install paths of the lazy files one validation run fetched (`runs[i]` of a validation
/// record).
pub fn lazy_paths(run: &serde_json::Value) -> Vec<String> {
    run["lazy_fetched"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap().to_string())
        .collect()
}

/// Runs `pyodide-pack validate OUTDIR ARGS... --input INPUT --json RECORD` (the record beside
/// OUTDIR) and returns the record; the command must succeed.
pub fn validate_input_record(out: &Path, args: &[String], input: &Path) -> serde_json::Value {
    let record = out.parent().unwrap().join("validation.json");
    let mut all = vec!["validate".to_string(), out.display().to_string()];
    all.extend(args.iter().cloned());
    all.extend([
        "--input".into(),
        input.display().to_string(),
        "--json".into(),
        record.display().to_string(),
    ]);
    let all: Vec<&str> = all.iter().map(String::as_str).collect();
    let output = pyodide_pack(&all);
    assert!(output.status.success(), "{}", stderr(&output));
    serde_json::from_slice(&std::fs::read(record).unwrap()).unwrap()
}

/// Pins `file` (a name the manifest pins, `bundle.zip.zst`) to `bytes` in the output's loader:
/// the file written under its new content name, the manifest rewritten to it. For a test that
/// breaks a file on purpose to see what the app does with it, not what the integrity check does
/// (tests/suite/integrity.rs).
pub fn repin(out: &Path, file: &str, bytes: &[u8]) {
    let loader = pyodide_pack_pack::deployed_loader(out).unwrap();
    let text = std::fs::read_to_string(&loader).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let line = lines
        .iter_mut()
        .find(|l| l.starts_with("const MANIFEST = "))
        .expect("a manifest line");
    let json = line["const MANIFEST = ".len()..].trim_end_matches(';');
    let mut manifest: serde_json::Value = serde_json::from_str(json).unwrap();
    let pinned = pyodide_pack_pack::Pinned::of(bytes);
    let path = loader
        .parent()
        .unwrap()
        .join(pyodide_pack_pack::content_name(file, &pinned.sha256));
    std::fs::write(path, bytes).unwrap();
    manifest["files"][file] = serde_json::to_value(pinned).unwrap();
    *line = format!("const MANIFEST = {manifest};");
    std::fs::write(&loader, lines.join("\n") + "\n").unwrap();
}

/// The one manifest line of a packed output's loader.
pub fn manifest_line(out: &Path) -> String {
    std::fs::read_to_string(pyodide_pack_pack::deployed_loader(out).unwrap())
        .unwrap()
        .lines()
        .find(|l| l.starts_with("const MANIFEST = "))
        .expect("a manifest line")
        .to_string()
}
