//! One archive of the environment: a wheel, the runtime's stdlib zip, or the app's folder.

use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zip::ZipArchive;

use crate::platform::describe_non_wasm;
use crate::EnvError;

/// Where the archive came from; decides install paths and how it is reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum ArchiveKind {
    /// The runtime's `python_stdlib.zip`, mounted at `/lib/python3XY.zip`.
    Stdlib,
    /// A wheel unpacked into site-packages.
    Wheel {
        distribution: String,
        version: String,
    },
    /// The app's own folder: the entry script and its sibling modules.
    App,
    /// A `shared_library` package of the runtime's lock (a zip of `.so` files), unpacked into
    /// Pyodide's library folder (`/usr/lib`, on `LD_LIBRARY_PATH`). Nothing in it is a module.
    SharedLibrary { library: String, version: String },
}

/// What a file is, by its name. Decides which stage looks at it and which default rule keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileKind {
    Python,
    /// A `.pyi` stub: never imported, but lazy_loader packages read their imports from it.
    Stub,
    /// A WebAssembly side module (`.so`).
    Extension,
    /// A file inside `*.dist-info/`.
    Metadata,
    Bytecode,
    /// Anything else: data a package may read at run time.
    Data,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ArchiveEntry {
    /// The path inside the archive.
    pub path: String,
    /// Where Pyodide puts the file.
    pub install_path: String,
    /// The path below the import root (site-packages, the stdlib zip, the app folder): what module
    /// names are derived from. `None` for files outside any import root (wheel `.data/scripts`, ...).
    pub import_path: Option<String>,
    pub size: u64,
    pub compressed_size: u64,
    pub kind: FileKind,
}

/// An entry that declares more is refused: wasm32 Pyodide has 4 GiB of memory in all, and no
/// real wheel holds a file near this.
const MAX_ENTRY_BYTES: u64 = 1 << 30;

/// What reading an entry reserves up front at most: the declared size is the entry's own claim.
const RESERVE_AT_MOST: u64 = 16 << 20;

/// The bytes of a zip, shared cheaply between threads: mapped from the file (only the pages a
/// run reads are loaded: the central directory, the entries it parses or copies), or owned.
#[derive(Debug, Clone)]
pub enum ArchiveBytes {
    Mapped(Arc<memmap2::Mmap>),
    Owned(Arc<[u8]>),
}

impl AsRef<[u8]> for ArchiveBytes {
    fn as_ref(&self) -> &[u8] {
        match self {
            ArchiveBytes::Mapped(map) => map,
            ArchiveBytes::Owned(bytes) => bytes,
        }
    }
}

impl std::ops::Deref for ArchiveBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.as_ref()
    }
}

impl From<Arc<[u8]>> for ArchiveBytes {
    fn from(bytes: Arc<[u8]>) -> Self {
        ArchiveBytes::Owned(bytes)
    }
}

impl ArchiveBytes {
    /// Maps `path`; reads it instead where mapping is not possible (an empty file, a pipe).
    pub fn open(path: &Path) -> Result<ArchiveBytes, EnvError> {
        let file = std::fs::File::open(path).map_err(|e| EnvError::io(path, e))?;
        let len = file.metadata().map(|m| m.len()).unwrap_or(0);
        if len > 0 {
            // SAFETY: the map is read-only and private. Wheels and the stdlib zip are inputs
            // nobody writes while a pack reads them; one changed underneath would at worst give
            // wrong bytes or a SIGBUS, as it would to any tool that maps its inputs (ripgrep).
            if let Ok(map) = unsafe { memmap2::Mmap::map(&file) } {
                return Ok(ArchiveBytes::Mapped(Arc::new(map)));
            }
        }
        let mut bytes = Vec::new();
        let mut file = file;
        file.read_to_end(&mut bytes)
            .map_err(|e| EnvError::io(path, e))?;
        Ok(ArchiveBytes::Owned(bytes.into()))
    }
}

/// The bytes behind an archive, shared cheaply between threads.
#[derive(Debug, Clone)]
enum Source {
    Zip(ZipArchive<Cursor<ArchiveBytes>>),
    Folder(PathBuf),
}

#[derive(Debug, Clone)]
pub struct Archive {
    /// The file name (`sympy-1.14.0-py3-none-any.whl`, `python_stdlib.zip`) or the app folder's name.
    pub name: String,
    pub path: PathBuf,
    pub kind: ArchiveKind,
    /// Hex sha256 of the archive's bytes (for the app folder: of its files' names and bytes).
    pub sha256: String,
    pub entries: Vec<ArchiveEntry>,
    source: Source,
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Lower-case hex of a digest: the one spelling of every cache key and archive digest.
pub fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Classifies a path inside an archive by its name alone.
pub(crate) fn file_kind(path: &str) -> FileKind {
    let first_dir = path.split('/').next().unwrap_or("");
    if path.contains(".dist-info/") && first_dir.ends_with(".dist-info") {
        FileKind::Metadata
    } else if path.ends_with(".py") {
        FileKind::Python
    } else if path.ends_with(".pyi") {
        FileKind::Stub
    } else if path.ends_with(".so") {
        FileKind::Extension
    } else if path.ends_with(".pyc") {
        FileKind::Bytecode
    } else {
        FileKind::Data
    }
}

/// Why an entry name may not be installed, if it may not.
fn unsafe_name_problem(name: &str) -> Option<&'static str> {
    if name.starts_with('/') || name.starts_with('\\') {
        return Some("is an absolute path");
    }
    if name.len() >= 2 && name.as_bytes()[1] == b':' {
        return Some("has a drive letter");
    }
    if name.contains('\\') {
        return Some("contains a backslash");
    }
    if name.split('/').any(|part| part == "..") {
        return Some("escapes the install folder with '..'");
    }
    if name.contains('\0') {
        return Some("contains a NUL byte");
    }
    None
}

impl Archive {
    /// Reads a wheel or the stdlib zip: checks every entry name, hashes the bytes, and checks that
    /// every `.so` is WebAssembly.
    pub fn read_zip(
        path: &Path,
        kind: ArchiveKind,
        install_root: &str,
    ) -> Result<Archive, EnvError> {
        let bytes = ArchiveBytes::open(path)?;
        let sha256 = sha256_hex(&bytes);
        Self::from_zip_parts(path, bytes, sha256, kind, install_root)
    }

    /// [`Archive::read_zip`], with the sha256 kept in `cache` by the file's path, length and
    /// modification time: hashing every wheel and the stdlib zip on every run is a good part of
    /// a warm analysis otherwise.
    pub fn read_zip_cached(
        path: &Path,
        kind: ArchiveKind,
        install_root: &str,
        cache: &crate::CacheRoot,
    ) -> Result<Archive, EnvError> {
        let bytes = ArchiveBytes::open(path)?;
        let record = crate::runtime::stat_key(&[path.to_path_buf()])
            .map(|key| cache.root().join("digests").join(&key[..2]).join(&key[2..]));
        let known = record
            .as_ref()
            .and_then(|p| std::fs::read_to_string(p).ok())
            .filter(|d| d.len() == 64 && d.bytes().all(|b| b.is_ascii_hexdigit()));
        let sha256 = match known {
            Some(digest) => digest,
            None => {
                let digest = sha256_hex(&bytes);
                if let Some(record) = &record {
                    let _ = crate::cache::write_atomically(record, digest.as_bytes());
                }
                digest
            }
        };
        Self::from_zip_parts(path, bytes, sha256, kind, install_root)
    }

    pub fn from_zip_bytes(
        path: &Path,
        bytes: Arc<[u8]>,
        kind: ArchiveKind,
        install_root: &str,
    ) -> Result<Archive, EnvError> {
        let sha256 = sha256_hex(&bytes);
        Self::from_zip_parts(path, bytes.into(), sha256, kind, install_root)
    }

    fn from_zip_parts(
        path: &Path,
        bytes: ArchiveBytes,
        sha256: String,
        kind: ArchiveKind,
        install_root: &str,
    ) -> Result<Archive, EnvError> {
        let bad_zip = |reason: String| EnvError::BadZip {
            path: path.to_path_buf(),
            reason,
        };
        let mut zip = ZipArchive::new(Cursor::new(bytes)).map_err(|e| bad_zip(e.to_string()))?;
        let is_wheel = matches!(kind, ArchiveKind::Wheel { .. });
        let mut entries = Vec::with_capacity(zip.len());
        for index in 0..zip.len() {
            let file = zip
                .by_index_raw(index)
                .map_err(|e| bad_zip(format!("entry #{index}: {e}")))?;
            let name = file
                .name()
                .map_err(|e| bad_zip(format!("entry #{index} has an unreadable name: {e}")))?
                .to_string();
            if let Some(problem) = unsafe_name_problem(&name) {
                return Err(EnvError::UnsafeEntry {
                    archive: path.to_path_buf(),
                    entry: name,
                    problem,
                });
            }
            if file.is_symlink() {
                return Err(EnvError::UnsafeEntry {
                    archive: path.to_path_buf(),
                    entry: name,
                    problem: "is a symbolic link",
                });
            }
            if file.is_dir() {
                continue;
            }
            let import_path = if is_wheel {
                wheel_import_path(&name)
            } else {
                Some(name.clone())
            };
            let install_path = match &import_path {
                Some(p) => format!("{install_root}/{p}"),
                None => format!("{install_root}/{name}"),
            };
            let kind = import_path
                .as_deref()
                .map(file_kind)
                .unwrap_or(FileKind::Data);
            entries.push(ArchiveEntry {
                kind,
                size: file.size(),
                compressed_size: file.compressed_size(),
                path: name,
                install_path,
                import_path,
            });
        }
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let archive = Archive {
            name,
            path: path.to_path_buf(),
            kind,
            sha256,
            entries,
            source: Source::Zip(zip),
        };
        archive.check_side_modules()?;
        Ok(archive)
    }

    /// The app's folder: the entry script, sibling `.py` files and package folders below it (with
    /// every file in them, data folders included).
    pub fn read_app_folder(
        dir: &Path,
        entry: &Path,
        install_root: &str,
    ) -> Result<Archive, EnvError> {
        let mut entries = Vec::new();
        let mut hasher = Sha256::new();
        let mut stack = vec![(dir.to_path_buf(), String::new())];
        while let Some((folder, prefix)) = stack.pop() {
            let mut listing: Vec<_> = std::fs::read_dir(&folder)
                .map_err(|e| EnvError::io(&folder, e))?
                .filter_map(|e| e.ok())
                .collect();
            listing.sort_by_key(|e| e.file_name());
            for item in listing {
                let name = item.file_name().to_string_lossy().into_owned();
                if name.starts_with('.') || name == "__pycache__" || name == "node_modules" {
                    continue;
                }
                let rel = format!("{prefix}{name}");
                let full = item.path();
                let Ok(meta) = item.metadata() else { continue };
                if meta.is_dir() {
                    // At the top only package folders hold the app (dist/, docs/ are not it);
                    // inside a package every folder is its data (`pkg/locale/fr.json`).
                    if !prefix.is_empty() || full.join("__init__.py").is_file() {
                        stack.push((full, format!("{rel}/")));
                    }
                    continue;
                }
                let is_entry = full == entry;
                // At the top of the app folder only Python files are code; inside a package
                // folder everything is (data files included).
                let top_level_non_python = prefix.is_empty() && !name.ends_with(".py");
                if !is_entry && top_level_non_python {
                    continue;
                }
                let bytes = std::fs::read(&full).map_err(|e| EnvError::io(&full, e))?;
                hasher.update(rel.as_bytes());
                hasher.update(&bytes);
                entries.push(ArchiveEntry {
                    kind: file_kind(&rel),
                    size: bytes.len() as u64,
                    compressed_size: bytes.len() as u64,
                    install_path: format!("{install_root}/{rel}"),
                    import_path: Some(rel.clone()),
                    path: rel,
                });
            }
        }
        let sha256 = hex(&hasher.finalize());
        Ok(Archive {
            name: dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "app".into()),
            path: dir.to_path_buf(),
            kind: ArchiveKind::App,
            sha256,
            entries,
            source: Source::Folder(dir.to_path_buf()),
        })
    }

    /// The distribution name, normalised (`pydantic_core`), for wheels; the archive name otherwise.
    pub fn package_name(&self) -> String {
        match &self.kind {
            ArchiveKind::Wheel { distribution, .. } => distribution.clone(),
            ArchiveKind::SharedLibrary { library, .. } => library.clone(),
            ArchiveKind::Stdlib => "stdlib".to_string(),
            ArchiveKind::App => "app".to_string(),
        }
    }

    /// The version of a wheel or a shared library package.
    pub fn version(&self) -> Option<&str> {
        match &self.kind {
            ArchiveKind::Wheel { version, .. } | ArchiveKind::SharedLibrary { version, .. } => {
                Some(version)
            }
            ArchiveKind::Stdlib | ArchiveKind::App => None,
        }
    }

    /// The bytes of the zip this archive was read from (already in memory); `None` for the app's
    /// folder.
    pub fn zip_bytes(&self) -> Option<ArchiveBytes> {
        match &self.source {
            Source::Zip(zip) => Some(zip.clone().into_inner().into_inner()),
            Source::Folder(_) => None,
        }
    }

    /// The zip this archive was read from (a cheap clone), for copying entries without inflating
    /// them; `None` for the app's folder.
    pub fn zip(&self) -> Option<ZipArchive<Cursor<ArchiveBytes>>> {
        match &self.source {
            Source::Zip(zip) => Some(zip.clone()),
            Source::Folder(_) => None,
        }
    }

    pub fn find(&self, path: &str) -> Option<usize> {
        self.entries.iter().position(|e| e.path == path)
    }

    /// The bytes of one entry, decompressed.
    pub fn read(&self, index: usize) -> Result<Vec<u8>, EnvError> {
        let entry = &self.entries[index];
        match &self.source {
            Source::Folder(dir) => {
                let full = dir.join(&entry.path);
                std::fs::read(&full).map_err(|e| EnvError::io(full, e))
            }
            Source::Zip(zip) => {
                let mut zip = zip.clone();
                let bad = |reason: String| EnvError::BadZip {
                    path: self.path.clone(),
                    reason: format!("{}: {reason}", entry.path),
                };
                if entry.size > MAX_ENTRY_BYTES {
                    return Err(bad(format!(
                        "declares {} bytes uncompressed, more than the {MAX_ENTRY_BYTES} a Pyodide file system holds in one file",
                        entry.size
                    )));
                }
                let file = zip.by_name(&entry.path).map_err(|e| bad(e.to_string()))?;
                // The declared size only bounds the read: the reservation is capped, and an entry
                // that inflates past what it declares is an error, not an allocation.
                let mut out = Vec::with_capacity(entry.size.min(RESERVE_AT_MOST) as usize);
                file.take(entry.size + 1)
                    .read_to_end(&mut out)
                    .map_err(|e| bad(e.to_string()))?;
                if out.len() as u64 > entry.size {
                    return Err(bad(format!(
                        "inflates past the {} bytes its header declares",
                        entry.size
                    )));
                }
                Ok(out)
            }
        }
    }

    /// The first bytes of an entry, without inflating the rest.
    fn read_head(&self, index: usize, len: usize) -> Result<Vec<u8>, EnvError> {
        let entry = &self.entries[index];
        let Source::Zip(zip) = &self.source else {
            let mut bytes = self.read(index)?;
            bytes.truncate(len);
            return Ok(bytes);
        };
        let mut zip = zip.clone();
        let bad = |reason: String| EnvError::BadZip {
            path: self.path.clone(),
            reason: format!("{}: {reason}", entry.path),
        };
        let file = zip.by_name(&entry.path).map_err(|e| bad(e.to_string()))?;
        let mut out = Vec::with_capacity(len);
        file.take(len as u64)
            .read_to_end(&mut out)
            .map_err(|e| bad(e.to_string()))?;
        Ok(out)
    }

    /// Every `.so` must be WebAssembly: a manylinux or macOS wheel is a user error worth naming.
    fn check_side_modules(&self) -> Result<(), EnvError> {
        for (index, entry) in self.entries.iter().enumerate() {
            if entry.kind != FileKind::Extension {
                continue;
            }
            let head = self.read_head(index, 64)?;
            if head.starts_with(b"\0asm") {
                continue;
            }
            return Err(EnvError::WrongPlatform {
                archive: self.path.clone(),
                entry: entry.path.clone(),
                found: describe_non_wasm(&head),
            });
        }
        Ok(())
    }
}

/// Where a wheel entry lands relative to site-packages, following the wheel spec's `.data` folders.
fn wheel_import_path(name: &str) -> Option<String> {
    let mut parts = name.splitn(3, '/');
    let first = parts.next()?;
    if first.ends_with(".data") {
        let scheme = parts.next()?;
        let rest = parts.next()?;
        return match scheme {
            "purelib" | "platlib" => Some(rest.to_string()),
            _ => None,
        };
    }
    Some(name.to_string())
}

/// `(distribution, version)` from a wheel file name, as the wheel spec lays it out.
pub(crate) fn parse_wheel_name(path: &Path) -> Result<(String, String, String), EnvError> {
    let bad = |reason: &str| EnvError::BadWheelName {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    };
    let file = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| bad("not a UTF-8 file name"))?;
    let stem = file
        .strip_suffix(".whl")
        .ok_or_else(|| bad("a wheel's name ends with .whl"))?;
    let parts: Vec<&str> = stem.split('-').collect();
    if parts.len() != 5 && parts.len() != 6 {
        return Err(bad(
            "not a wheel file name (distribution-version-python-abi-platform.whl)",
        ));
    }
    let platform = parts[parts.len() - 1].to_string();
    Ok((parts[0].to_lowercase(), parts[1].to_string(), platform))
}
