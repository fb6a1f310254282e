//! The whole environment of one app: runtime, stdlib zip, wheels and the app's folder.

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::archive::parse_wheel_name;
use crate::requirements::{resolve_requirements, ResolvedWheel, WheelSource};
use crate::{Archive, ArchiveEntry, ArchiveKind, CacheRoot, EnvError, Runtime, RuntimeFacts};

/// A file of the environment: an entry of one archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct FileRef {
    pub archive: u32,
    pub entry: u32,
}

/// What the user asked for on the command line.
#[derive(Debug, Clone, Default)]
pub struct EnvironmentRequest {
    pub entry: PathBuf,
    pub wheels_dir: Option<PathBuf>,
    pub requirements: Option<PathBuf>,
    pub runtime_dir: Option<PathBuf>,
    /// `--pyodide VERSION`: the npm core of that release (when no `runtime_dir` is given).
    pub pyodide_version: Option<String>,
    /// Where lock packages the runtime folder lacks are fetched from (default: the CDN folder of
    /// the runtime's version).
    pub index_url: Option<String>,
    /// Modules a page's host provides with no file of the environment (PyScript's `pyscript`):
    /// resolved like the runtime's built-in modules.
    pub provided_modules: Vec<String>,
}

#[derive(Debug)]
pub struct Environment {
    pub runtime: Runtime,
    pub runtime_facts: RuntimeFacts,
    /// The app folder first, then the stdlib zip, then the wheels: the order of `sys.path`, which
    /// decides which file wins when two provide the same module.
    pub archives: Vec<Archive>,
    /// The entry script.
    pub entry: FileRef,
    /// The requirements file that was resolved, if any.
    pub requirements: Option<PathBuf>,
    /// Where each archive's wheel came from (`None` for the app folder and the stdlib).
    pub sources: Vec<Option<WheelSource>>,
    /// What was decided on the user's behalf while reading it (a wheel left out), shown with the
    /// analysis's warnings.
    pub warnings: Vec<String>,
    /// Import names the runtime's lock provides (its packages' `imports`), with the package: how
    /// a missing `import sqlite3` can say which requirement would provide it.
    pub lock_imports: std::collections::BTreeMap<String, crate::LockPackage>,
}

/// Where Pyodide installs the shared libraries of its lock (`install_dir = "dynlib"`): its
/// `DSO_DIR`, first on `LD_LIBRARY_PATH`, where the dynamic loader finds a side module's `needed`
/// libraries.
pub const DSO_DIR: &str = "/usr/lib";

/// The folder Pyodide runs scripts from.
pub const APP_INSTALL_ROOT: &str = "/home/pyodide";

impl Environment {
    pub fn load(request: &EnvironmentRequest, cache: &CacheRoot) -> Result<Environment, EnvError> {
        let entry = &request.entry;
        if !entry.is_file() {
            return Err(EnvError::App {
                path: entry.clone(),
                reason: "no such file".into(),
            });
        }
        let entry = entry.canonicalize().map_err(|e| EnvError::io(entry, e))?;
        let app_dir = entry.parent().unwrap_or(Path::new(".")).to_path_buf();
        let runtime = Runtime::locate(
            request.runtime_dir.as_deref(),
            request.pyodide_version.as_deref(),
            cache,
        )?;
        let mut runtime_facts = runtime.facts_cached(cache)?;
        runtime_facts
            .builtin_modules
            .extend(request.provided_modules.iter().cloned());

        let requirements = match (&request.requirements, &request.wheels_dir) {
            (Some(r), _) => Some(r.clone()),
            (None, Some(_)) => None,
            (None, None) => Some(app_dir.join("requirements.txt")).filter(|p| p.is_file()),
        };
        let mut warnings = Vec::new();
        let resolved: Vec<ResolvedWheel> = match (&requirements, &request.wheels_dir) {
            (Some(req), links) => resolve_requirements(
                req,
                links.as_deref(),
                &runtime,
                request.index_url.as_deref(),
                cache,
            )?,
            (None, Some(dir)) => newest_of_each(wheels_in(dir)?, &mut warnings)?
                .into_iter()
                .map(|path| ResolvedWheel {
                    path,
                    source: WheelSource::Folder,
                    shared_library: None,
                })
                .collect(),
            (None, None) => Vec::new(),
        };
        let mut sources = vec![None, None];
        sources.extend(resolved.iter().map(|w| Some(w.source)));

        let site_packages = runtime.site_packages();
        let stdlib_mount = runtime.stdlib_mount();
        let stdlib_path = runtime.stdlib_zip();
        // The stdlib zip (`None`), then each resolved wheel or shared library, read in parallel.
        let mut jobs: Vec<(PathBuf, Option<ResolvedWheel>)> = vec![(stdlib_path, None)];
        jobs.extend(resolved.into_iter().map(|w| (w.path.clone(), Some(w))));
        let loaded: Vec<Archive> = jobs
            .par_iter()
            .map(|(path, wheel)| match wheel {
                None => Archive::read_zip_cached(path, ArchiveKind::Stdlib, &stdlib_mount, cache),
                Some(ResolvedWheel {
                    shared_library: Some((library, version)),
                    ..
                }) => {
                    let kind = ArchiveKind::SharedLibrary {
                        library: library.clone(),
                        version: version.clone(),
                    };
                    Archive::read_zip_cached(path, kind, DSO_DIR, cache)
                }
                Some(_) => {
                    let (distribution, version, platform) = parse_wheel_name(path)?;
                    check_wheel_platform(path, &platform, &runtime)?;
                    Archive::read_zip_cached(
                        path,
                        ArchiveKind::Wheel {
                            distribution,
                            version,
                        },
                        &site_packages,
                        cache,
                    )
                }
            })
            .collect::<Result<_, _>>()?;

        let app = Archive::read_app_folder(&app_dir, &entry, APP_INSTALL_ROOT)?;
        let entry_name = entry
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let entry_index = app.find(&entry_name).ok_or_else(|| EnvError::App {
            path: entry.clone(),
            reason: "the entry script is not readable".into(),
        })?;
        let mut archives = vec![app];
        archives.extend(loaded);
        let lock_imports = runtime.lock().import_names();
        Ok(Environment {
            lock_imports,
            runtime,
            runtime_facts,
            archives,
            entry: FileRef {
                archive: 0,
                entry: entry_index as u32,
            },
            requirements,
            sources,
            warnings,
        })
    }

    pub fn archive(&self, file: FileRef) -> &Archive {
        &self.archives[file.archive as usize]
    }

    pub fn entry(&self, file: FileRef) -> &ArchiveEntry {
        &self.archives[file.archive as usize].entries[file.entry as usize]
    }

    pub fn read(&self, file: FileRef) -> Result<Vec<u8>, EnvError> {
        self.archive(file).read(file.entry as usize)
    }

    /// Every file of the environment, archive by archive.
    pub fn files(&self) -> impl Iterator<Item = FileRef> + '_ {
        self.archives.iter().enumerate().flat_map(|(a, archive)| {
            (0..archive.entries.len()).map(move |e| FileRef {
                archive: a as u32,
                entry: e as u32,
            })
        })
    }

    /// `archive:path`, the way messages name a file.
    pub fn display(&self, file: FileRef) -> String {
        let archive = self.archive(file);
        let entry = self.entry(file);
        match archive.kind {
            ArchiveKind::App => entry.path.clone(),
            _ => format!("{}:{}", archive.name, entry.path),
        }
    }
}

/// The `.whl` files of a folder, sorted by name.
pub fn wheels_in(dir: &Path) -> Result<Vec<PathBuf>, EnvError> {
    let mut wheels: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| EnvError::io(dir, e))?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "whl"))
        .collect();
    wheels.sort();
    Ok(wheels)
}

/// A wheels folder given alone is installed as it is, so two versions of one distribution would
/// both be unpacked into site-packages, one over the other. Only the newest is kept (what pip
/// picks from a folder for an unpinned requirement), with one warning naming both files.
fn newest_of_each(
    wheels: Vec<PathBuf>,
    warnings: &mut Vec<String>,
) -> Result<Vec<PathBuf>, EnvError> {
    use pep508_rs::pep440_rs::Version;
    use std::collections::BTreeMap;
    use std::str::FromStr;
    let mut by_distribution: BTreeMap<String, Vec<(Option<Version>, String, PathBuf)>> =
        BTreeMap::new();
    for path in wheels {
        let (distribution, version, _) = parse_wheel_name(&path)?;
        by_distribution
            .entry(crate::lock::normalize(&distribution))
            .or_default()
            .push((Version::from_str(&version).ok(), version, path));
    }
    let mut kept = Vec::new();
    for (distribution, mut versions) in by_distribution {
        // Unparsable versions sort first, so a valid one wins; ties keep the name order.
        versions.sort_by(|a, b| a.0.cmp(&b.0));
        let (_, version, newest) = versions.pop().expect("a group has a wheel");
        if !versions.is_empty() {
            let name = |p: &Path| p.file_name().map(|n| n.to_string_lossy().into_owned());
            let others: Vec<String> = versions.iter().filter_map(|v| name(&v.2)).collect();
            warnings.push(format!(
                "{}: {} versions of {distribution}: {} and {}; using {version} (the newest, as pip would) and ignoring the other{}",
                newest.parent().unwrap_or(Path::new(".")).display(),
                versions.len() + 1,
                others.join(", "),
                name(&newest).unwrap_or_default(),
                if versions.len() > 1 { "s" } else { "" }
            ));
        }
        kept.push(newest);
    }
    kept.sort();
    Ok(kept)
}

/// A wheel tagged for another platform is refused before anything reads it: a native wheel, or
/// a Pyodide wheel of another ABI (a 314 wheel on a 0.27 runtime), whose extension modules would
/// fail to load.
fn check_wheel_platform(path: &Path, platform: &str, runtime: &Runtime) -> Result<(), EnvError> {
    let tags: Vec<&str> = platform.split('.').collect();
    // The lock's own tags, and the Emscripten-versioned tag of the same toolchain
    // (`emscripten_3_1_58_wasm32` for 0.27), which older build tools wrote.
    let emscripten = format!("{}_wasm32", runtime.platform);
    if platform == "any"
        || tags
            .iter()
            .any(|t| *t == emscripten || runtime.wheel_platforms.iter().any(|w| w == t))
    {
        return Ok(());
    }
    let is_pyodide = |t: &&str| {
        t.starts_with("pyemscripten") || t.starts_with("pyodide") || t.starts_with("emscripten")
    };
    let reason = if tags.iter().any(is_pyodide) {
        format!(
            "built for {platform}, another Pyodide ABI than this runtime's (Pyodide {}: {})",
            runtime.version,
            runtime.wheel_platforms.join(" or ")
        )
    } else {
        format!(
            "built for platform {platform}, not for Pyodide ({})",
            runtime.wheel_platform()
        )
    };
    Err(EnvError::BadWheelName {
        path: path.to_path_buf(),
        reason,
    })
}
