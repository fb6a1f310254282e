//! Resolving a requirements file into Pyodide wheels: a requirement that names a package of the
//! runtime's `pyodide-lock.json` comes from the lock with its `depends` closure (as a page's
//! `loadPackage` and micropip do); the rest goes to pip (pip's resolver; we don't write one).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr;

use pep508_rs::pep440_rs::Version;
use pep508_rs::{Requirement, VersionOrUrl};
use serde::{Deserialize, Serialize};

use crate::archive::sha256_hex;
use crate::cache::write_atomically;
use crate::lock::{default_index_url, fetch_lock_package, normalize};
use crate::{CacheRoot, EnvError, Runtime};

/// Where a wheel of the environment came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WheelSource {
    /// The runtime's `pyodide-lock.json` (beside the lock, or fetched from the index URL).
    Lock,
    /// The package index, through pip.
    Index,
    /// A `--wheels` folder given alone.
    Folder,
}

/// A wheel a requirements file resolved to.
#[derive(Debug, Clone)]
pub struct ResolvedWheel {
    pub path: PathBuf,
    pub source: WheelSource,
    /// For a `shared_library` package of the lock: its name and version (the file is a zip of
    /// `.so` files, not a wheel).
    pub shared_library: Option<(String, String)>,
}

/// A requirement the lock has under another version than the one asked for.
struct PinnedElsewhere {
    name: String,
    requested: String,
    lock_version: String,
}

/// Resolves `requirements`: lock packages from the lock (fetched beside it or from `index_url`,
/// default the runtime version's CDN folder), the rest with pip.
pub(crate) fn resolve_requirements(
    requirements: &Path,
    find_links: Option<&Path>,
    runtime: &Runtime,
    index_url: Option<&str>,
    cache: &CacheRoot,
) -> Result<Vec<ResolvedWheel>, EnvError> {
    let text = std::fs::read_to_string(requirements).map_err(|e| EnvError::io(requirements, e))?;
    let lock = runtime.lock();
    let mut from_lock: Vec<String> = Vec::new();
    let mut pinned_elsewhere: Vec<PinnedElsewhere> = Vec::new();
    let mut pip_lines: Vec<&str> = Vec::new();
    for line in text.lines() {
        let bare = line.split(" #").next().unwrap_or("").trim();
        if bare.is_empty() || bare.starts_with('#') || bare.starts_with('-') {
            pip_lines.push(line);
            continue;
        }
        let Ok(requirement) = Requirement::<pep508_rs::VerbatimUrl>::from_str(bare) else {
            // pip says what is wrong with it.
            pip_lines.push(line);
            continue;
        };
        let Some(package) = lock.get(requirement.name.as_ref()) else {
            pip_lines.push(line);
            continue;
        };
        match &requirement.version_or_url {
            Some(VersionOrUrl::Url(_)) => pip_lines.push(line),
            Some(VersionOrUrl::VersionSpecifier(specifiers)) => {
                let fits = Version::from_str(&package.version)
                    .map(|v| specifiers.contains(&v))
                    .unwrap_or(false);
                if fits {
                    from_lock.push(package.name.clone());
                } else {
                    pinned_elsewhere.push(PinnedElsewhere {
                        name: package.name.clone(),
                        requested: specifiers.to_string(),
                        lock_version: package.version.clone(),
                    });
                    pip_lines.push(line);
                }
            }
            None => from_lock.push(package.name.clone()),
        }
    }

    let closure = lock
        .closure(&from_lock)
        .map_err(|reason| EnvError::Runtime {
            dir: runtime.dir.clone(),
            reason: format!("pyodide-lock.json: {reason}"),
        })?;
    let index_url = index_url
        .map(str::to_string)
        .unwrap_or_else(|| default_index_url(runtime));
    let mut wheels = Vec::new();
    let mut lock_names = BTreeSet::new();
    // A lock dependency the user pinned to another version: the user's pin wins (pip provides it).
    let pinned: BTreeSet<String> = pinned_elsewhere
        .iter()
        .map(|p| normalize(&p.name))
        .collect();
    for package in &closure {
        if pinned.contains(&normalize(&package.name)) {
            continue;
        }
        lock_names.insert(normalize(&package.name));
        wheels.push(ResolvedWheel {
            path: fetch_lock_package(package, runtime, &index_url, cache)?,
            source: WheelSource::Lock,
            shared_library: package
                .is_shared_library()
                .then(|| (package.name.clone(), package.version.clone())),
        });
    }

    let pip_text: String = if from_lock.is_empty() && pinned_elsewhere.is_empty() {
        text.clone()
    } else {
        // pip reads this copy from the cache: an included file's relative path is made absolute
        // against the user's file, where it was written.
        let base = requirements
            .canonicalize()
            .ok()
            .and_then(|p| p.parent().map(Path::to_path_buf))
            .unwrap_or_default();
        pip_lines
            .iter()
            .map(|l| format!("{}\n", absolute_includes(l, &base)))
            .collect()
    };
    let wants_pip = pip_lines.iter().any(|l| {
        let bare = l.trim();
        !bare.is_empty() && !bare.starts_with('#')
    });
    if wants_pip {
        let base = requirements
            .canonicalize()
            .map_err(|e| EnvError::io(requirements, e))?;
        let pip_wheels =
            match pip_download(&pip_text, &base, requirements, find_links, runtime, cache) {
                Err(EnvError::NoPyodideWheel { requirement, .. })
                    if pinned_elsewhere
                        .iter()
                        .any(|p| requirement.to_lowercase().contains(&p.name.to_lowercase())) =>
                {
                    let pin = pinned_elsewhere
                        .iter()
                        .find(|p| requirement.to_lowercase().contains(&p.name.to_lowercase()))
                        .expect("found above");
                    return Err(EnvError::PinNotInLock {
                        requirements: requirements.to_path_buf(),
                        name: pin.name.clone(),
                        requested: pin.requested.clone(),
                        lock_version: pin.lock_version.clone(),
                    });
                }
                other => other?,
            };
        // One line, however many: a newcomer's first pack is not a wall of these.
        match pinned_elsewhere.as_slice() {
            [] => {}
            [pin] => eprintln!(
                "{}: {} {} comes from the package index (the lock has {})",
                requirements.display(),
                pin.name,
                pin.requested,
                pin.lock_version
            ),
            pins => eprintln!(
                "{}: {} requirements come from the package index, pinned to versions the lock does not have: {}",
                requirements.display(),
                pins.len(),
                pins.iter()
                    .map(|p| format!("{} {} (the lock has {})", p.name, p.requested, p.lock_version))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
        for path in pip_wheels {
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.split('-').next())
                .map(normalize)
                .unwrap_or_default();
            if lock_names.contains(&name) {
                // A pip package's dependency the lock provides: the lock's copy wins, as in a page.
                continue;
            }
            wheels.push(ResolvedWheel {
                path,
                source: WheelSource::Index,
                shared_library: None,
            });
        }
    }
    Ok(wheels)
}

#[derive(Debug, Serialize, Deserialize)]
struct Resolution {
    wheels: Vec<String>,
}

/// The Python that runs pip: `$PYODIDE_PACK_PYTHON`, else `python3`.
fn python() -> String {
    std::env::var("PYODIDE_PACK_PYTHON")
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "python3".into())
}

/// `-r FILE` / `-c FILE` (and the long forms) with FILE relative to `base`; other lines as they are.
fn absolute_includes(line: &str, base: &Path) -> String {
    let trimmed = line.trim_start();
    for flag in ["-r", "-c", "--requirement", "--constraint"] {
        if let Some(rest) = trimmed.strip_prefix(flag) {
            let file = rest.trim_start_matches(['=', ' ']).trim();
            if !file.is_empty() && (rest.starts_with(' ') || rest.starts_with('=')) {
                let path = Path::new(file);
                if path.is_relative() && !file.contains("://") {
                    return format!("{flag} {}", base.join(path).display());
                }
            }
        }
    }
    line.to_string()
}

/// Resolves the requirements `text` (of the file `absolute`, named `requirements` in messages)
/// for the runtime's platform into a folder of wheels in the cache. The resolution is keyed by the
/// text (and `find_links`), so only the first run pays pip. With `find_links`, pip resolves
/// offline from that folder only.
fn pip_download(
    text: &str,
    absolute: &Path,
    requirements: &Path,
    find_links: Option<&Path>,
    runtime: &Runtime,
    cache: &CacheRoot,
) -> Result<Vec<PathBuf>, EnvError> {
    let platforms = runtime.wheel_platforms.join(",");
    let key_source = format!(
        "{text}\n--platform={platforms}\n--python={}\n--find-links={}",
        runtime.python_minor(),
        find_links
            .map(|p| p.display().to_string())
            .unwrap_or_default()
    );
    let key = &sha256_hex(key_source.as_bytes())[..24];
    let dir = cache.dir("wheels")?.join(key);
    let record = dir.join("resolution.json");
    if let Ok(bytes) = std::fs::read(&record) {
        if let Ok(resolution) = serde_json::from_slice::<Resolution>(&bytes) {
            let wheels: Vec<PathBuf> = resolution.wheels.iter().map(|w| dir.join(w)).collect();
            if wheels.iter().all(|w| w.is_file()) {
                return Ok(wheels);
            }
        }
    }
    std::fs::create_dir_all(&dir).map_err(|e| EnvError::io(&dir, e))?;
    let python_version = runtime.python_minor();
    let abi = format!("cp{}", python_version.replace('.', ""));
    // What pip resolves: the user's file as it is when the lock provides none of it (so its
    // `-r other.txt` lines resolve as they always do), else the requirements the lock does not
    // provide, written beside the resolution.
    let original = std::fs::read_to_string(absolute).unwrap_or_default();
    let pip_file = if original == text {
        absolute.to_path_buf()
    } else {
        let file = dir.join("requirements.txt");
        std::fs::write(&file, text).map_err(|e| EnvError::io(&file, e))?;
        file
    };
    let mut command = Command::new(python());
    command
        .args([
            "-m",
            "pip",
            "download",
            "--disable-pip-version-check",
            "--quiet",
        ])
        .arg("--only-binary=:all:");
    // Every tag the lock's own wheels carry (0.29 has two namings of one ABI).
    for platform in &runtime.wheel_platforms {
        command.args(["--platform", platform]);
    }
    command
        .args(["--python-version", &python_version])
        .args(["--implementation", "cp", "--abi", &abi])
        .arg("-d")
        .arg(&dir)
        .arg("-r")
        .arg(&pip_file);
    // pip reads `-r other.txt` and local paths relative to its working folder: run it beside the
    // user's file.
    if let Some(parent) = absolute.parent() {
        command.current_dir(parent);
    }
    if let Some(links) = find_links {
        let links = links.canonicalize().map_err(|e| EnvError::io(links, e))?;
        command.arg("--no-index").arg("--find-links").arg(links);
    }
    let output = command.output().map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            EnvError::MissingTool {
                tool: python(),
                hint:
                    "install Python 3 with pip (or set PYODIDE_PACK_PYTHON), or pass --wheels DIR"
                        .into(),
            }
        } else {
            EnvError::io(python(), e)
        }
    })?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        if let Some(rest) = stderr
            .lines()
            .find_map(|l| l.split("No matching distribution found for ").nth(1))
        {
            return Err(EnvError::NoPyodideWheel {
                requirements: requirements.to_path_buf(),
                requirement: rest.trim().to_string(),
                platform: runtime.wheel_platform().to_string(),
            });
        }
        let message = stderr
            .lines()
            .rfind(|l| l.contains("ERROR"))
            .or_else(|| stderr.lines().rfind(|l| !l.trim().is_empty()))
            .unwrap_or("pip failed")
            .trim()
            .to_string();
        return Err(EnvError::Resolve {
            requirements: requirements.to_path_buf(),
            message,
        });
    }
    // What pip just downloaded is the folder's wheels; a stale one from an older resolution of the
    // same key cannot be told apart, which is why the key covers the whole file.
    let mut wheels: Vec<String> = std::fs::read_dir(&dir)
        .map_err(|e| EnvError::io(&dir, e))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".whl"))
        .collect();
    wheels.sort();
    let json = serde_json::to_vec_pretty(&Resolution {
        wheels: wheels.clone(),
    })
    .expect("a list of strings serialises");
    write_atomically(&record, &json)?;
    Ok(wheels.into_iter().map(|w| dir.join(w)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn included_files_become_absolute() {
        let base = Path::new("/proj");
        assert_eq!(absolute_includes("-r more.txt", base), "-r /proj/more.txt");
        assert_eq!(
            absolute_includes("--constraint=c.txt", base),
            "--constraint /proj/c.txt"
        );
        assert_eq!(absolute_includes("-r /abs.txt", base), "-r /abs.txt");
        assert_eq!(absolute_includes("requests==2", base), "requests==2");
        assert_eq!(
            absolute_includes("--only-binary=:all:", base),
            "--only-binary=:all:"
        );
    }
}
