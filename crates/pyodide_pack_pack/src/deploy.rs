//! Deployments: a pack into a folder that holds an earlier pack keeps the content-named files of
//! the last deployments (`deployments.json` lists each one's files), so that a page opened
//! before the redeploy still finds every file it names, lazy ones included; and the caching
//! rules a host reads from `_headers`: content-named files for ever, the rest revalidated.

use std::path::{Component, Path};

use serde::{Deserialize, Serialize};

use crate::{PackError, PackSummary, IMMUTABLE_DIR};

/// The list of deployments, beside `loader.mjs`.
pub const DEPLOYMENTS: &str = "deployments.json";
/// The caching rules, at the root of the output (Netlify's and Cloudflare Pages' name for them).
pub const HEADERS: &str = "_headers";
const SCHEMA: &str = "pyodide-pack/deployments-1";
/// What a content-named file may be cached with: its name changes when its bytes do.
pub(crate) const CACHE_FOR_EVER: &str = "public, max-age=31536000, immutable";
/// What the page and the entry files are sent with: cached, but revalidated before each use.
pub(crate) const REVALIDATE: &str = "no-cache";
/// How many earlier deployments a pack keeps by default.
pub const KEEP_DEPLOYMENTS: usize = 2;

/// One pack's content-named files.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Deployment {
    /// The digest of what it serves: one per distinct pack.
    pub id: String,
    /// Seconds since the Unix epoch.
    pub packed_at: u64,
    /// Relative to the folder of `deployments.json`.
    pub files: Vec<String>,
}

impl Deployment {
    /// The deployment a pack wrote: its content-named files, and `served`, the files of the site
    /// it serves under their own names with their digests (the page, `loader.mjs`, a page's own
    /// files), which name it too: a new page over the same bundle is another deployment.
    pub fn of(summary: &PackSummary, served: &[(String, String)]) -> Deployment {
        let named = summary.content_named.iter().map(|p| (p.as_str(), ""));
        let served = served.iter().map(|(p, sha)| (p.as_str(), sha.as_str()));
        let id = crate::content::set_digest(named.chain(served));
        let packed_at = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Deployment {
            id,
            packed_at,
            files: summary.content_named.clone(),
        }
    }
}

#[derive(Serialize, Deserialize)]
struct DeploymentsFile {
    schema: String,
    deployments: Vec<Deployment>,
}

/// What a pack kept of the deployments before it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Kept {
    /// This deployment's id.
    pub current: String,
    /// The earlier deployments still served, newest first.
    pub deployments: Vec<String>,
    /// Their files carried over (those the new pack did not write itself).
    pub files: usize,
    pub bytes: u64,
}

/// What `pack` did to make its output safe to cache and to redeploy, for the record.
#[derive(Debug, Clone, Serialize)]
pub struct DeploymentSummary {
    /// The files named by their content, under `immutable/`.
    pub content_named: usize,
    /// The files to revalidate (relative to the output's root).
    pub entry_files: Vec<String>,
    /// The earlier deployments still served.
    pub kept: Kept,
    /// The caching rules written, and where.
    pub headers_file: String,
    pub headers: Vec<HeaderRule>,
    /// The service worker (`--offline`), relative to the output's root.
    pub service_worker: Option<String>,
}

/// One rule of `_headers`.
#[derive(Debug, Clone, Serialize)]
pub struct HeaderRule {
    pub path: String,
    pub cache_control: String,
}

/// Writes `deployments.json` into `new_dir` (the staging folder of a pack) with `current` and
/// up to `keep` earlier deployments of `old_dir` (the folder it replaces, if any), whose files
/// are carried over: hard-linked where the file system allows, else copied.
pub fn keep_deployments(
    new_dir: &Path,
    old_dir: Option<&Path>,
    current: Deployment,
    keep: usize,
) -> Result<Kept, PackError> {
    let earlier = match old_dir.map(|d| d.join(DEPLOYMENTS)) {
        Some(path) if path.is_file() => {
            let text = std::fs::read(&path).map_err(|e| PackError::io(&path, e))?;
            let file: DeploymentsFile = serde_json::from_slice(&text).map_err(|e| {
                PackError::io(
                    &path,
                    std::io::Error::other(format!(
                        "not a list of deployments ({e}); delete it to keep none"
                    )),
                )
            })?;
            file.deployments
        }
        _ => Vec::new(),
    };
    let mut kept = Kept {
        current: current.id.clone(),
        ..Kept::default()
    };
    let current_id = current.id.clone();
    let mut list = vec![current];
    for deployment in earlier
        .into_iter()
        .filter(|d| d.id != current_id)
        .take(keep)
    {
        let Some(old_dir) = old_dir else { break };
        let mut files = Vec::new();
        for file in &deployment.files {
            // (The list is ours, but a hand-edited one must not reach outside the folder.)
            if !inside(file) {
                continue;
            }
            let (from, to) = (old_dir.join(file), new_dir.join(file));
            let Ok(meta) = std::fs::metadata(&from) else {
                continue;
            };
            files.push(file.clone());
            if to.exists() {
                continue;
            }
            if let Some(parent) = to.parent() {
                std::fs::create_dir_all(parent).map_err(|e| PackError::io(parent, e))?;
            }
            if std::fs::hard_link(&from, &to).is_err() {
                std::fs::copy(&from, &to).map_err(|e| PackError::io(&to, e))?;
            }
            kept.files += 1;
            kept.bytes += meta.len();
        }
        kept.deployments.push(deployment.id.clone());
        list.push(Deployment {
            files,
            ..deployment
        });
    }
    let path = new_dir.join(DEPLOYMENTS);
    let file = DeploymentsFile {
        schema: SCHEMA.to_string(),
        deployments: list,
    };
    let text = serde_json::to_vec_pretty(&file).map_err(|e| PackError::io(&path, e.into()))?;
    std::fs::write(&path, text).map_err(|e| PackError::io(&path, e))?;
    Ok(kept)
}

/// A relative path that stays inside its folder, under `immutable/`.
fn inside(file: &str) -> bool {
    let path = Path::new(file);
    path.starts_with(IMMUTABLE_DIR) && path.components().all(|c| matches!(c, Component::Normal(_)))
}

/// The caching rules of an output. `prefix`: where the packed folder
/// is under the site's root (`""`, or `pyodide-pack/` for a page); `entries`: the files to
/// revalidate, relative to the root (a folder's `index.html` is also its folder's URL). No two
/// rules match one file: hosts join the values of rules that overlap.
pub fn header_rules(prefix: &str, entries: &[String]) -> Vec<HeaderRule> {
    let mut paths: Vec<String> = Vec::new();
    for entry in entries {
        if let Some(folder) = entry.strip_suffix("index.html") {
            paths.push(format!("/{folder}"));
        }
        paths.push(format!("/{entry}"));
    }
    paths.sort();
    paths.dedup();
    let mut rules = vec![HeaderRule {
        path: format!("/{prefix}{IMMUTABLE_DIR}/*"),
        cache_control: CACHE_FOR_EVER.to_string(),
    }];
    rules.extend(paths.into_iter().map(|path| HeaderRule {
        path,
        cache_control: REVALIDATE.to_string(),
    }));
    rules
}

/// The rules as `_headers` writes them.
pub fn headers_file(rules: &[HeaderRule]) -> String {
    let mut out = String::from(
        "# Written by pyodide-pack for hosts that read _headers (Netlify, Cloudflare Pages): files\n\
         # named by their content are cached for ever, the page and entry files revalidated.\n",
    );
    for rule in rules {
        out.push_str(&format!(
            "{}\n  Cache-Control: {}\n",
            rule.path, rule.cache_control
        ));
    }
    out
}

/// Writes the rules into `root/_headers`, after the rules a site's own `_headers` holds.
pub fn write_headers(root: &Path, rules: &str) -> Result<(), PackError> {
    let path = root.join(HEADERS);
    let mut text = match std::fs::read_to_string(&path) {
        Ok(own) if !own.trim().is_empty() => own.trim_end().to_string() + "\n\n",
        _ => String::new(),
    };
    text.push_str(rules);
    std::fs::write(&path, text).map_err(|e| PackError::io(&path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployment(id: &str, files: &[&str]) -> Deployment {
        Deployment {
            id: id.into(),
            packed_at: 0,
            files: files.iter().map(|f| f.to_string()).collect(),
        }
    }

    fn write(dir: &Path, file: &str, bytes: &[u8]) {
        let path = dir.join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }

    #[test]
    fn a_redeploy_keeps_the_files_of_the_last_deployments_and_drops_older_ones() {
        let root = tempfile::tempdir().unwrap();
        let (one, two, three) = (
            root.path().join("1"),
            root.path().join("2"),
            root.path().join("3"),
        );
        for dir in [&one, &two, &three] {
            std::fs::create_dir_all(dir).unwrap();
        }
        write(&one, "immutable/a.1.py", b"a1");
        write(&one, "immutable/shared.py", b"s");
        keep_deployments(
            &one,
            None,
            deployment("1", &["immutable/a.1.py", "immutable/shared.py"]),
            1,
        )
        .unwrap();
        write(&two, "immutable/a.2.py", b"a2");
        write(&two, "immutable/shared.py", b"s");
        let kept = keep_deployments(
            &two,
            Some(&one),
            deployment("2", &["immutable/a.2.py", "immutable/shared.py"]),
            1,
        )
        .unwrap();
        assert_eq!(kept.deployments, ["1"]);
        assert_eq!(
            (kept.files, kept.bytes),
            (1, 2),
            "shared.py was written anew"
        );
        assert_eq!(std::fs::read(two.join("immutable/a.1.py")).unwrap(), b"a1");
        // The third keeps the second, not the first.
        write(&three, "immutable/a.3.py", b"a3");
        let kept = keep_deployments(
            &three,
            Some(&two),
            deployment("3", &["immutable/a.3.py"]),
            1,
        )
        .unwrap();
        assert_eq!(kept.deployments, ["2"]);
        assert!(three.join("immutable/a.2.py").is_file());
        assert!(three.join("immutable/shared.py").is_file());
        assert!(!three.join("immutable/a.1.py").exists());
        let list: serde_json::Value =
            serde_json::from_slice(&std::fs::read(three.join(DEPLOYMENTS)).unwrap()).unwrap();
        let ids: Vec<&str> = list["deployments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["3", "2"]);
    }

    #[test]
    fn keeping_none_carries_nothing_and_a_path_outside_is_never_followed() {
        let root = tempfile::tempdir().unwrap();
        let (old, new) = (root.path().join("old"), root.path().join("new"));
        write(&old, "immutable/a.py", b"a");
        write(root.path(), "secret", b"s");
        std::fs::create_dir_all(&new).unwrap();
        let list = serde_json::json!({"schema": SCHEMA, "deployments": [
            {"id": "0", "packed_at": 0, "files": ["immutable/a.py", "../secret", "immutable/../../secret"]},
        ]});
        std::fs::write(old.join(DEPLOYMENTS), list.to_string()).unwrap();
        let kept = keep_deployments(&new, Some(&old), deployment("1", &[]), 0).unwrap();
        assert!(kept.deployments.is_empty());
        assert!(!new.join("immutable/a.py").exists());
        let kept = keep_deployments(&new, Some(&old), deployment("1", &[]), 3).unwrap();
        assert_eq!((kept.deployments.len(), kept.files), (1, 1));
        assert!(!root.path().join("new/secret").exists());
        std::fs::write(old.join(DEPLOYMENTS), "{").unwrap();
        let err = keep_deployments(&new, Some(&old), deployment("1", &[]), 3).unwrap_err();
        assert!(err.to_string().contains("delete it to keep none"), "{err}");
    }

    #[test]
    fn the_rules_never_overlap_and_a_folder_index_is_its_folder() {
        let text = headers_file(&header_rules(
            "pyodide-pack/",
            &[
                "index.html".into(),
                "docs/index.html".into(),
                "pyodide-pack/loader.mjs".into(),
            ],
        ));
        assert_eq!(
            text.lines()
                .filter(|l| !l.starts_with('#'))
                .collect::<Vec<_>>(),
            [
                "/pyodide-pack/immutable/*",
                "  Cache-Control: public, max-age=31536000, immutable",
                "/",
                "  Cache-Control: no-cache",
                "/docs/",
                "  Cache-Control: no-cache",
                "/docs/index.html",
                "  Cache-Control: no-cache",
                "/index.html",
                "  Cache-Control: no-cache",
                "/pyodide-pack/loader.mjs",
                "  Cache-Control: no-cache",
            ]
        );
        let root = tempfile::tempdir().unwrap();
        std::fs::write(root.path().join(HEADERS), "/own\n  X-Own: 1\n").unwrap();
        write_headers(root.path(), &text).unwrap();
        let written = std::fs::read_to_string(root.path().join(HEADERS)).unwrap();
        assert!(written.starts_with("/own\n  X-Own: 1\n\n# Written by pyodide-pack"));
    }
}
