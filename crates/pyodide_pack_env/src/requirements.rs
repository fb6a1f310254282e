//! Resolving a requirements file into Pyodide wheels with pip (pip's resolver; we don't write one).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::{Deserialize, Serialize};

use crate::archive::sha256_hex;
use crate::cache::write_atomically;
use crate::{CacheRoot, EnvError, Runtime};

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

/// Resolves `requirements` for the runtime's platform into a folder of wheels in the cache. The
/// resolution is keyed by the file's content (and `find_links`), so only the first run pays pip.
/// With `find_links`, pip resolves offline from that folder only.
pub fn resolve_requirements(
    requirements: &Path,
    find_links: Option<&Path>,
    runtime: &Runtime,
    cache: &CacheRoot,
) -> Result<Vec<PathBuf>, EnvError> {
    let text = std::fs::read_to_string(requirements).map_err(|e| EnvError::io(requirements, e))?;
    let platform = runtime.wheel_platform();
    let key_source = format!(
        "{text}\n--platform={platform}\n--python={}\n--find-links={}",
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
    // pip reads `-r other.txt` and local paths relative to its working folder: run it beside the file.
    let absolute = requirements
        .canonicalize()
        .map_err(|e| EnvError::io(requirements, e))?;
    let mut command = Command::new(python());
    command
        .args([
            "-m",
            "pip",
            "download",
            "--disable-pip-version-check",
            "--quiet",
        ])
        .args(["--only-binary=:all:", "--platform", &platform])
        .args(["--python-version", &python_version])
        .args(["--implementation", "cp", "--abi", &abi])
        .arg("-d")
        .arg(&dir)
        .arg("-r")
        .arg(&absolute);
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
