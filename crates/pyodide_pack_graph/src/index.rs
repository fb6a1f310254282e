//! Module names for files, and the lookups the graph builder needs: module -> file, the `.pyi`
//! beside a module, the file that provides a shared library, the archive folders that are packages.

use std::collections::{HashMap, HashSet};
use std::fmt;

use pyodide_pack_env::{ArchiveKind, Environment, FileKind, FileRef, RuntimeFacts};

/// A dotted Python module name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ModuleName(String);

impl ModuleName {
    pub fn new(name: impl Into<String>) -> Self {
        ModuleName(name.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `a.b.c` -> `a.b`.
    pub fn parent(&self) -> Option<ModuleName> {
        self.0
            .rsplit_once('.')
            .map(|(p, _)| ModuleName(p.to_string()))
    }

    pub fn child(&self, name: &str) -> ModuleName {
        if self.0.is_empty() {
            ModuleName(name.to_string())
        } else {
            ModuleName(format!("{}.{name}", self.0))
        }
    }

    /// `a`, `a.b`, `a.b.c` for `a.b.c`.
    pub fn prefixes(&self) -> impl Iterator<Item = ModuleName> + '_ {
        self.0
            .match_indices('.')
            .map(|(i, _)| ModuleName(self.0[..i].to_string()))
            .chain(std::iter::once(self.clone()))
    }
}

impl fmt::Display for ModuleName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How a module name is provided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    File(FileRef),
    /// Compiled into the interpreter, or provided by the runtime without a file.
    BuiltIn,
    /// Frozen into the interpreter; its source (if the stdlib zip has it) is never read at run
    /// time, but its imports are real.
    Frozen(Option<FileRef>),
    /// A folder without `__init__.py` (PEP 420).
    Namespace,
    Missing,
}

#[derive(Debug, Default)]
pub struct ModuleIndex {
    modules: HashMap<String, FileRef>,
    namespaces: HashSet<String>,
    module_of: HashMap<FileRef, (String, bool)>,
    /// `(archive, import path)` -> file, to find the `.pyi` beside a module and package folders.
    by_import_path: HashMap<(u32, String), FileRef>,
    /// Shared-library file name (`libfoo.so`) -> files with that name.
    libraries: HashMap<String, Vec<FileRef>>,
    builtins: HashSet<String>,
    frozen: HashSet<String>,
    /// Every module name, sorted: the members of a family are a range of it.
    sorted_modules: Vec<(String, FileRef)>,
    /// Data files as `(archive, import path)`, sorted: the data under a folder is a range of it.
    sorted_data: Vec<(u32, String, FileRef)>,
}

/// The module a file defines, from its path below the import root: `a/b.py` -> `a.b`,
/// `a/__init__.py` -> `a` (a package), `a/_x.cpython-314-wasm32-emscripten.so` -> `a._x`.
pub(crate) fn module_for_path(import_path: &str, kind: FileKind) -> Option<(String, bool)> {
    let (dir, file) = match import_path.rsplit_once('/') {
        Some((d, f)) => (d, f),
        None => ("", import_path),
    };
    let stem = match kind {
        FileKind::Python => file.strip_suffix(".py")?,
        FileKind::Extension => file.split('.').next()?,
        _ => return None,
    };
    let is_identifier = |s: &str| {
        s.chars()
            .next()
            .is_some_and(|c| c.is_alphabetic() || c == '_')
            && s.chars().all(|c| c.is_alphanumeric() || c == '_')
    };
    if !dir.is_empty() && !dir.split('/').all(is_identifier) {
        return None;
    }
    // A file stem need not be an identifier: `__import__("_sysconfigdata__emscripten_wasm32-emscripten")`
    // imports one. Only a dot would make the name ambiguous.
    let is_importable_stem = |s: &str| !s.is_empty() && !s.contains('.') && !s.contains(' ');
    let dotted_dir = dir.replace('/', ".");
    if stem == "__init__" {
        if dotted_dir.is_empty() {
            return None;
        }
        return Some((dotted_dir, true));
    }
    if !is_importable_stem(stem) {
        return None;
    }
    if dotted_dir.is_empty() {
        Some((stem.to_string(), false))
    } else {
        Some((format!("{dotted_dir}.{stem}"), false))
    }
}

impl ModuleIndex {
    pub fn new(env: &Environment, runtime: &RuntimeFacts) -> (ModuleIndex, Vec<String>) {
        let mut index = ModuleIndex {
            builtins: runtime.builtin_modules.iter().cloned().collect(),
            frozen: runtime.frozen_modules.iter().cloned().collect(),
            ..Default::default()
        };
        let mut warnings = env.warnings.clone();
        // (winning archive, shadowed archive) -> the modules both provide: one warning per pair
        // of wheels, not one per module (two wheels of one big package would give hundreds).
        let mut shadowed: std::collections::BTreeMap<(u32, u32), Vec<String>> = Default::default();
        // Archives come in sys.path order: the first provider of a module wins, as at run time.
        for file in env.files() {
            let entry = env.entry(file);
            let Some(import_path) = entry.import_path.as_deref() else {
                continue;
            };
            index
                .by_import_path
                .insert((file.archive, import_path.to_string()), file);
            if entry.kind == FileKind::Extension {
                let name = import_path.rsplit('/').next().unwrap_or(import_path);
                index
                    .libraries
                    .entry(name.to_string())
                    .or_default()
                    .push(file);
            }
            if matches!(env.archive(file).kind, ArchiveKind::SharedLibrary { .. }) {
                // A shared library is loaded by name, never imported.
                continue;
            }
            let Some((module, is_package)) = module_for_path(import_path, entry.kind) else {
                continue;
            };
            if let Some(dir) = import_path.rsplit_once('/').map(|(d, _)| d) {
                // Every folder above a module may be a namespace package.
                let mut ns = dir.replace('/', ".");
                loop {
                    index.namespaces.insert(ns.clone());
                    match ns.rsplit_once('.') {
                        Some((p, _)) => ns = p.to_string(),
                        None => break,
                    }
                }
            }
            index.module_of.insert(file, (module.clone(), is_package));
            match index.modules.get(&module) {
                Some(existing) if existing.archive != file.archive => {
                    let app_or_stdlib = matches!(
                        env.archive(*existing).kind,
                        ArchiveKind::App | ArchiveKind::Stdlib
                    );
                    if !app_or_stdlib {
                        shadowed
                            .entry((existing.archive, file.archive))
                            .or_default()
                            .push(module.clone());
                    }
                }
                Some(existing) => {
                    // Within one archive a package (`a/__init__.py`) beats a module (`a.py`)
                    // and a `.py` beats a `.so` of the same name only when listed first; prefer
                    // the package, as the path finder does.
                    if is_package && !index.module_of.get(existing).is_some_and(|m| m.1) {
                        index.modules.insert(module, file);
                    }
                }
                None => {
                    index.modules.insert(module, file);
                }
            }
        }
        for ((winner, loser), modules) in shadowed {
            let shown = modules
                .iter()
                .take(3)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ");
            let more = match modules.len() {
                n if n > 3 => format!(" and {} more", n - 3),
                _ => String::new(),
            };
            warnings.push(format!(
                "{} and {} both provide {} module(s) ({shown}{more}); {}'s are used, as it comes first on sys.path",
                env.archives[winner as usize].name,
                env.archives[loser as usize].name,
                modules.len(),
                env.archives[winner as usize].name,
            ));
        }
        let mut sorted: Vec<(String, FileRef)> =
            index.modules.iter().map(|(m, f)| (m.clone(), *f)).collect();
        sorted.sort();
        index.sorted_modules = sorted;
        let mut data: Vec<(u32, String, FileRef)> = env
            .files()
            .filter(|f| env.entry(*f).kind == FileKind::Data)
            .filter_map(|f| {
                let path = env.entry(f).import_path.clone()?;
                Some((f.archive, path, f))
            })
            .collect();
        data.sort();
        index.sorted_data = data;
        (index, warnings)
    }

    /// The modules whose name starts with `prefix` (`encodings.` -> every codec module), each with
    /// its file, in name order.
    pub fn modules_with_prefix<'a>(
        &'a self,
        prefix: &'a str,
    ) -> impl Iterator<Item = (&'a str, FileRef)> + 'a {
        let start = self
            .sorted_modules
            .partition_point(|(m, _)| m.as_str() < prefix);
        self.sorted_modules[start..]
            .iter()
            .take_while(move |(m, _)| m.starts_with(prefix))
            .map(|(m, f)| (m.as_str(), *f))
    }

    /// The data files (no module, no metadata) under folder `dir` of `archive`, at any depth.
    pub fn data_under(&self, archive: u32, dir: &str) -> Vec<FileRef> {
        let prefix = format!("{dir}/");
        let start = self
            .sorted_data
            .partition_point(|(a, p, _)| (*a, p.as_str()) < (archive, prefix.as_str()));
        self.sorted_data[start..]
            .iter()
            .take_while(|(a, p, _)| *a == archive && p.starts_with(&prefix))
            .map(|(_, _, f)| *f)
            .collect()
    }

    pub fn resolve(&self, module: &str) -> Resolution {
        if self.builtins.contains(module) {
            return Resolution::BuiltIn;
        }
        if self.frozen.contains(module) {
            return Resolution::Frozen(self.modules.get(module).copied());
        }
        if let Some(file) = self.modules.get(module) {
            return Resolution::File(*file);
        }
        if self.namespaces.contains(module) {
            return Resolution::Namespace;
        }
        Resolution::Missing
    }

    /// The module a file defines and whether it is a package's `__init__`.
    pub fn module_of(&self, file: FileRef) -> Option<(&str, bool)> {
        self.module_of.get(&file).map(|(m, p)| (m.as_str(), *p))
    }

    pub fn file_at(&self, archive: u32, import_path: &str) -> Option<FileRef> {
        self.by_import_path
            .get(&(archive, import_path.to_string()))
            .copied()
    }

    pub fn libraries_named(&self, name: &str) -> &[FileRef] {
        self.libraries.get(name).map(Vec::as_slice).unwrap_or(&[])
    }

    pub fn all_modules(&self) -> impl Iterator<Item = (&str, FileRef)> {
        self.modules.iter().map(|(m, f)| (m.as_str(), *f))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_names_from_paths() {
        assert_eq!(
            module_for_path("a/b.py", FileKind::Python),
            Some(("a.b".into(), false))
        );
        assert_eq!(
            module_for_path("a/__init__.py", FileKind::Python),
            Some(("a".into(), true))
        );
        assert_eq!(
            module_for_path(
                "pydantic_core/_pydantic_core.cpython-314-wasm32-emscripten.so",
                FileKind::Extension
            ),
            Some(("pydantic_core._pydantic_core".into(), false))
        );
        assert_eq!(module_for_path("a-b/c.py", FileKind::Python), None);
        assert_eq!(
            module_for_path(
                "_sysconfigdata__emscripten_wasm32-emscripten.py",
                FileKind::Python
            ),
            Some(("_sysconfigdata__emscripten_wasm32-emscripten".into(), false))
        );
        assert_eq!(
            module_for_path("json.py", FileKind::Python),
            Some(("json".into(), false))
        );
        assert_eq!(
            module_for_path("x.dist-info/METADATA", FileKind::Metadata),
            None
        );
    }

    #[test]
    fn module_name_prefixes() {
        let names: Vec<_> = ModuleName::new("a.b.c")
            .prefixes()
            .map(|m| m.to_string())
            .collect();
        assert_eq!(names, vec!["a", "a.b", "a.b.c"]);
    }
}
