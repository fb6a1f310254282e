//! The user's settings: the `[tool.pyodide-pack]` table of the nearest `pyproject.toml`, beside the
//! app or in a folder above it. Command-line flags override it (the CLI merges the two).
//!
//! Relative paths in the table (inputs, output) are relative to the folder of that
//! `pyproject.toml`, so the settings mean the same thing wherever the tool is run from.
#![warn(unreachable_pub)]

mod budget;

use std::path::{Path, PathBuf};

use serde::Deserialize;

pub use budget::{BudgetConfig, ByteLimit, Compression};

/// Every key the table may hold; anything else is an error that names it.
pub const KNOWN_KEYS: &[&str] = &[
    "inputs",
    "include",
    "exclude",
    "output",
    "trace",
    "validate",
    "timeout",
    "strip-docstrings",
    "docstring-exclude",
    "compile-pyc",
    "stdlib-from-trace",
    "browser",
    "isolate",
    "eager",
    "lazy",
    "budget",
    "html",
    "transfer",
    "pyodide",
    "page",
    "runtime-files",
    "offline",
    "keep-deployments",
];

/// Where browser validation runs the app: `browser = "main" | "worker" | "both"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BrowserSetting {
    Main,
    Worker,
    Both,
}

/// How the eager zips (`bundle.zip`, `python_stdlib.zip`) travel to the page: `transfer = "..."`,
/// `--transfer FORM`. The lazy tier is plain files either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TransferForm {
    /// Zips of per-file deflate, wheel entries copied as they are: the form before transfer forms
    /// existed. A server cannot compress them further.
    Deflate,
    /// Each zip stored (no per-file compression) and gzipped whole (`bundle.zip.gz`); the loader
    /// decodes it with the platform's own gzip (`DecompressionStream`, Node's zlib).
    Gzip,
    /// Each zip stored and compressed whole with Zstandard (`bundle.zip.zst`); the loader decodes
    /// it with a small vendored decoder written beside it (`zstd-decoder.mjs`).
    #[default]
    Zstd,
    /// Each zip stored, with precompressed `.br` and `.gz` siblings for a host that serves them
    /// with `Content-Encoding` (or compresses on the fly); on a host that does neither, the
    /// stored zips travel uncompressed.
    Precompressed,
}

impl TransferForm {
    pub const ALL: [TransferForm; 4] = [
        TransferForm::Deflate,
        TransferForm::Gzip,
        TransferForm::Zstd,
        TransferForm::Precompressed,
    ];

    pub fn name(self) -> &'static str {
        match self {
            TransferForm::Deflate => "deflate",
            TransferForm::Gzip => "gzip",
            TransferForm::Zstd => "zstd",
            TransferForm::Precompressed => "precompressed",
        }
    }
}

impl std::fmt::Display for TransferForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Where the page takes the Pyodide runtime from: `runtime-files = "cdn" | "copy"`,
/// `--runtime-files`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RuntimeFiles {
    /// The jsDelivr folder of the packed release (the files are not written).
    #[default]
    Cdn,
    /// Copied into the output's `pyodide/` folder: a site that needs no CDN (intranets, offline,
    /// a strict Content-Security-Policy).
    Copy,
}

impl RuntimeFiles {
    pub fn name(self) -> &'static str {
        match self {
            RuntimeFiles::Cdn => "cdn",
            RuntimeFiles::Copy => "copy",
        }
    }
}

impl std::str::FromStr for RuntimeFiles {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [RuntimeFiles::Cdn, RuntimeFiles::Copy]
            .into_iter()
            .find(|choice| choice.name() == s)
            .ok_or_else(|| format!("unknown runtime-files {s:?}: expected cdn or copy"))
    }
}

impl std::str::FromStr for TransferForm {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TransferForm::ALL
            .into_iter()
            .find(|form| form.name() == s)
            .ok_or_else(|| {
                format!(
                    "unknown transfer form {s:?}: expected deflate, gzip, zstd or precompressed"
                )
            })
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct PackConfig {
    /// Python files run after the app (one traced run each).
    #[serde(default)]
    pub inputs: Vec<PathBuf>,
    /// Globs of files to keep although nothing imports or opens them.
    #[serde(default)]
    pub include: Vec<String>,
    /// Globs of files to drop although something imports them.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// The output folder of `pack`.
    pub output: Option<PathBuf>,
    /// Run the trace when packing (default true).
    pub trace: Option<bool>,
    /// Validate the bundle after packing (default true).
    pub validate: Option<bool>,
    /// Seconds a traced or validated run may take.
    pub timeout: Option<u64>,
    /// Strip docstrings from the bundled `.py` files.
    pub strip_docstrings: Option<bool>,
    /// Modules (globs over dotted names) whose docstrings are kept.
    #[serde(default)]
    pub docstring_exclude: Vec<String>,
    /// Ship `.pyc` compiled by the runtime's own interpreter instead of `.py` (default true).
    pub compile_pyc: Option<bool>,
    /// How the eager zips travel (default zstd).
    pub transfer: Option<TransferForm>,
    /// Keep only the stdlib files a traced run touched.
    pub stdlib_from_trace: Option<bool>,
    /// Globs of files forced into the eager tier.
    #[serde(default)]
    pub eager: Vec<String>,
    /// `false`: no lazy tier, everything kept is eager.
    pub lazy: Option<bool>,
    /// Validate in headless Chromium too, on the page's main thread, in a worker, or both.
    pub browser: Option<BrowserSetting>,
    /// Serve the browser validation's page cross-origin isolated (COOP/COEP headers).
    pub isolate: Option<bool>,
    /// Size limits on what `pack` ships (`[tool.pyodide-pack.budget]`).
    pub budget: Option<BudgetConfig>,
    /// `false`: `pack` writes no `report.html`.
    pub html: Option<bool>,
    /// The Pyodide release to pack against (`"0.27.7"`), installed from npm into the cache:
    /// what `--pyodide VERSION` says. `--runtime DIR` and `--pyodide` win over it.
    pub pyodide: Option<String>,
    /// `false`: `pack` writes no `index.html` (and no copy of the entry script).
    pub page: Option<bool>,
    /// Where the page takes the Pyodide runtime from (default: the CDN).
    pub runtime_files: Option<RuntimeFiles>,
    /// Write a service worker that keeps the app working offline after one visit.
    pub offline: Option<bool>,
    /// How many earlier deployments' content-named files a pack into the same folder keeps
    /// (default 2).
    pub keep_deployments: Option<usize>,
}

/// The settings and where they came from.
#[derive(Debug, Clone, Default)]
pub struct LoadedConfig {
    /// The `pyproject.toml` read, if one was found.
    pub file: Option<PathBuf>,
    pub config: PackConfig,
}

impl LoadedConfig {
    /// A path from the table, made absolute against the `pyproject.toml`'s folder.
    pub fn resolve(&self, path: &Path) -> PathBuf {
        match self.file.as_deref().and_then(Path::parent) {
            Some(dir) if path.is_relative() => dir.join(path),
            _ => path.to_path_buf(),
        }
    }

    /// How messages name where a setting came from.
    pub fn source(&self) -> String {
        match &self.file {
            Some(file) => format!("{} [tool.pyodide-pack]", file.display()),
            None => "defaults".to_string(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not valid TOML: {message}")]
    Toml { path: PathBuf, message: String },
    #[error("{path}: [tool.pyodide-pack] has unknown key(s) {keys} (known: {known})")]
    UnknownKeys {
        path: PathBuf,
        keys: String,
        known: String,
    },
    #[error("{path}: [tool.pyodide-pack]: {message}")]
    BadValue { path: PathBuf, message: String },
}

/// The nearest `pyproject.toml` at or above the app's folder decides: if it has no
/// `[tool.pyodide-pack]` table the settings are the defaults (a parent project's file is not
/// consulted past the app's own project).
pub fn find_config(app: &Path) -> Result<LoadedConfig, ConfigError> {
    let start = app
        .canonicalize()
        .unwrap_or_else(|_| app.to_path_buf())
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    for dir in start.ancestors() {
        let candidate = dir.join("pyproject.toml");
        if candidate.is_file() {
            return read_config(&candidate);
        }
    }
    Ok(LoadedConfig::default())
}

/// Reads the `[tool.pyodide-pack]` table of one `pyproject.toml`.
pub fn read_config(path: &Path) -> Result<LoadedConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let document: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| ConfigError::Toml {
            path: path.to_path_buf(),
            message: e.message().to_string(),
        })?;
    let table = document
        .get("tool")
        .and_then(|tool| tool.get("pyodide-pack"))
        .cloned();
    let Some(table) = table else {
        return Ok(LoadedConfig {
            file: Some(path.to_path_buf()),
            config: PackConfig::default(),
        });
    };
    let toml::Value::Table(entries) = &table else {
        return Err(ConfigError::BadValue {
            path: path.to_path_buf(),
            message: "must be a table".into(),
        });
    };
    let unknown: Vec<String> = entries
        .keys()
        .filter(|k| !KNOWN_KEYS.contains(&k.as_str()))
        .map(|k| format!("{k:?}"))
        .collect();
    if !unknown.is_empty() {
        return Err(ConfigError::UnknownKeys {
            path: path.to_path_buf(),
            keys: unknown.join(", "),
            known: KNOWN_KEYS.join(", "),
        });
    }
    let config = PackConfig::deserialize(table).map_err(|e| ConfigError::BadValue {
        path: path.to_path_buf(),
        message: e.message().to_string(),
    })?;
    Ok(LoadedConfig {
        file: Some(path.to_path_buf()),
        config,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, text: &str) -> PathBuf {
        let path = dir.join("pyproject.toml");
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn reads_the_table_from_a_parent_folder() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "[project]\nname = \"x\"\n[tool.pyodide-pack]\ninputs = [\"more.py\"]\nexclude = [\"a/**\"]\ncompile-pyc = true\n",
        );
        std::fs::create_dir(dir.path().join("src")).unwrap();
        std::fs::write(dir.path().join("src/app.py"), "").unwrap();
        let loaded = find_config(&dir.path().join("src/app.py")).unwrap();
        assert_eq!(loaded.config.exclude, ["a/**"]);
        assert_eq!(loaded.config.compile_pyc, Some(true));
        assert_eq!(
            loaded.resolve(&loaded.config.inputs[0]),
            dir.path().canonicalize().unwrap().join("more.py")
        );
    }

    #[test]
    fn unknown_keys_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            "[tool.pyodide-pack]\nincludes = [\"x\"]\nouptut = \"d\"\n",
        );
        let error = read_config(&path).unwrap_err().to_string();
        assert!(error.contains("\"includes\", \"ouptut\""), "{error}");
        assert!(error.contains("pyproject.toml"), "{error}");
    }

    #[test]
    fn wrong_types_are_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "[tool.pyodide-pack]\ninclude = \"x\"\n");
        let error = read_config(&path).unwrap_err().to_string();
        assert!(error.contains("[tool.pyodide-pack]"), "{error}");
    }

    #[test]
    fn browser_takes_one_of_three_values() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "[tool.pyodide-pack]\nbrowser = \"both\"\n");
        assert_eq!(
            read_config(&path).unwrap().config.browser,
            Some(BrowserSetting::Both)
        );
        let path = write(dir.path(), "[tool.pyodide-pack]\nbrowser = \"firefox\"\n");
        let error = read_config(&path).unwrap_err().to_string();
        assert!(
            error.contains("firefox") && error.contains("main"),
            "{error}"
        );
    }

    #[test]
    fn a_project_without_the_table_has_defaults() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "[project]\nname = \"x\"\n");
        std::fs::write(dir.path().join("app.py"), "").unwrap();
        let loaded = find_config(&dir.path().join("app.py")).unwrap();
        assert!(loaded.file.is_some());
        assert!(loaded.config.inputs.is_empty());
    }
}
