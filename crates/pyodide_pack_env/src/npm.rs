//! npm packages the tool installs into its cache on first use: the pinned Pyodide runtime, and the
//! browser driver of browser validation. Each lands in its own prefix folder,
//! `$CACHE/<area>/<version>/node_modules/<package>`, installed atomically.

use std::path::PathBuf;
use std::process::Command;

use crate::{CacheRoot, EnvError};

/// The npm prefix folder of `package@version` in `area` of the cache (its `node_modules` holds the
/// package), whether or not it is installed yet.
pub fn npm_prefix(cache: &CacheRoot, area: &str, version: &str) -> PathBuf {
    cache.root().join(area).join(version)
}

/// Installs `package@version` from npm into `npm_prefix(cache, area, version)` unless it is there,
/// and returns the prefix. Installed into a staging folder and renamed into place, so a failed or
/// interrupted install leaves nothing, and two installs at once both end with one whole copy.
pub fn install_npm_package(
    cache: &CacheRoot,
    area: &str,
    package: &str,
    version: &str,
) -> Result<PathBuf, EnvError> {
    let final_dir = npm_prefix(cache, area, version);
    let installed = |dir: &PathBuf| {
        dir.join("node_modules")
            .join(package)
            .join("package.json")
            .is_file()
    };
    if installed(&final_dir) {
        return Ok(final_dir);
    }
    let parent = cache.dir(area)?;
    let staging = parent.join(format!(".{version}.{}.partial", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging).map_err(|e| EnvError::io(&staging, e))?;
    eprintln!(
        "installing {package}@{version} from npm into {}",
        final_dir.display()
    );
    let output = Command::new("npm")
        .args([
            "install",
            "--no-audit",
            "--no-fund",
            "--no-save",
            "--prefix",
        ])
        .arg(&staging)
        .arg(format!("{package}@{version}"))
        // puppeteer packages would otherwise try to download a browser of their own.
        .env("PUPPETEER_SKIP_DOWNLOAD", "1")
        .output();
    let output = match output {
        Ok(o) => o,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(EnvError::MissingTool {
                tool: "npm".into(),
                hint: format!("install Node.js (18 or newer) with npm to get {package}"),
            });
        }
        Err(e) => return Err(EnvError::io("npm", e)),
    };
    if !output.status.success() {
        let _ = std::fs::remove_dir_all(&staging);
        let stderr = String::from_utf8_lossy(&output.stderr);
        let line = stderr
            .lines()
            .rfind(|l| !l.trim().is_empty())
            .unwrap_or("npm failed");
        return Err(EnvError::Npm {
            package: format!("{package}@{version}"),
            dir: final_dir,
            message: line.to_string(),
        });
    }
    if installed(&final_dir) {
        // Another process finished first: keep its copy.
        let _ = std::fs::remove_dir_all(&staging);
        return Ok(final_dir);
    }
    let _ = std::fs::remove_dir_all(&final_dir);
    if let Err(e) = std::fs::rename(&staging, &final_dir) {
        let _ = std::fs::remove_dir_all(&staging);
        if !installed(&final_dir) {
            return Err(EnvError::io(&final_dir, e));
        }
    }
    Ok(final_dir)
}
