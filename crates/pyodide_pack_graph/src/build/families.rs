//! Families: what a computed import or a computed path can reach. Static analysis cannot say
//! which member a run takes, so it links every member; these edges only make files available
//! (the lazy tier), they never put a file in the eager download ([`EdgeKind::is_family`]).

use pyodide_pack_env::{ArchiveKind, FileKind, FileRef};
use pyodide_pack_facts::{PythonFacts, Site};

use super::{Builder, SiteFlags};
use crate::index::{ModuleName, Resolution};
use crate::model::EdgeKind;

/// The stdlib's computed imports that no local analysis resolves: (importing module, prefix of
/// the modules it can import, why). Documented in the README.
pub(crate) const STDLIB_RULES: &[(&str, &str, &str)] = &[(
    "sysconfig",
    "_sysconfigdata_",
    "sysconfig imports its data module by a name _get_sysconfigdata_name() builds",
)];

fn family_flags(kind: EdgeKind, optional: bool, nested: bool) -> SiteFlags {
    SiteFlags {
        kind,
        optional,
        nested,
    }
}

impl Builder<'_> {
    /// Links `from` to every module whose name starts with `prefix` (not to itself).
    fn link_family(&mut self, from: FileRef, prefix: &str, site: &Site, flags: SiteFlags) {
        if prefix.is_empty() {
            return;
        }
        let members: Vec<String> = self
            .index
            .modules_with_prefix(prefix)
            .filter(|(_, file)| *file != from)
            .map(|(m, _)| m.to_string())
            .collect();
        for module in members {
            self.link_module(from, &ModuleName::new(module), site, flags);
        }
    }

    /// Links `from` to the data files under `dir` of `archive`.
    fn link_data_under(&mut self, from: FileRef, archive: u32, dir: &str, site: &Site) {
        let flags = family_flags(EdgeKind::DataFamily, false, true);
        for file in self.index.data_under(archive, dir) {
            let name = self.env.entry(file).path.clone();
            self.edge(from, file, &name, site, flags);
        }
    }

    /// The folder (import path) of a package's `__init__`.
    fn package_dir(&self, init: FileRef) -> Option<String> {
        let path = self.env.entry(init).import_path.as_deref()?;
        path.strip_suffix("/__init__.py").map(str::to_string)
    }

    /// The families of one Python file: computed imports, name literals, data access, stdlib
    /// rules.
    pub(super) fn expand_families(&mut self, file: FileRef, facts: &PythonFacts) {
        self.expand_entry_points_call(file, facts);
        for family in &facts.dynamic_families {
            let prefix = if family.relative_to_self {
                let Some(package) = self.own_package(file) else {
                    continue;
                };
                format!("{}.{}", package.as_str(), family.prefix)
            } else {
                family.prefix.clone()
            };
            let flags = family_flags(EdgeKind::DynamicFamily, family.optional, family.nested);
            self.link_family(file, &prefix, &family.site, flags);
        }

        for literal in &facts.name_literals {
            let flags = family_flags(EdgeKind::NameLiteral, true, true);
            if literal.prefix {
                self.link_family(file, &format!("{}.", literal.name), &literal.site, flags);
                continue;
            }
            let Resolution::File(target) = self.index.resolve(&literal.name) else {
                continue;
            };
            if target == file {
                continue;
            }
            self.link_module(
                file,
                &ModuleName::new(literal.name.clone()),
                &literal.site,
                flags,
            );
            // A package named by a literal: its modules and data can be reached by name from it
            // (`resources.files("tzdata.zoneinfo")` joined with a zone's path).
            if let Some(dir) = self.package_dir(target) {
                self.link_family(file, &format!("{}.", literal.name), &literal.site, flags);
                self.link_data_under(file, target.archive, &dir, &literal.site);
            }
        }

        if let Some(site) = &facts.data_access.own {
            if let Some(package) = self.own_package(file) {
                if let Resolution::File(init) = self.index.resolve(package.as_str()) {
                    if let Some(dir) = self.package_dir(init) {
                        self.link_data_under(file, init.archive, &dir, site);
                    }
                }
            }
        }
        for (package, site) in &facts.data_access.packages {
            let flags = family_flags(EdgeKind::DataFamily, false, true);
            let Some(init) = self.link_module(file, &ModuleName::new(package.clone()), site, flags)
            else {
                continue;
            };
            if let Some(dir) = self.package_dir(init) {
                self.link_data_under(file, init.archive, &dir, site);
            }
        }

        if self.env.archive(file).kind == ArchiveKind::Stdlib {
            let module = self.index.module_of(file).map(|(m, _)| m.to_string());
            for (importer, prefix, why) in STDLIB_RULES {
                if module.as_deref() == Some(*importer) {
                    let site = Site {
                        line: 0,
                        text: format!("stdlib rule: {why}"),
                    };
                    let flags = family_flags(EdgeKind::StdlibRule, false, true);
                    self.link_family(file, prefix, &site, flags);
                }
            }
        }
    }

    /// Dotted names in a side module's data that name a module of the environment (not the
    /// module itself): what its C code imports by name (`_sqlite3` imports `sqlite3.dump` for
    /// `iterdump()`). A name literal, so optional: lazy unless a run touched it.
    pub(super) fn link_names_in_data(&mut self, file: FileRef, names: &[String]) {
        let own = self.index.module_of(file).map(|(m, _)| m.to_string());
        for name in names {
            if own.as_deref() == Some(name.as_str()) {
                continue;
            }
            let Resolution::File(target) = self.index.resolve(name) else {
                continue;
            };
            if target == file {
                continue;
            }
            let site = Site {
                line: 0,
                text: format!("{name:?} in the module's data (imported by name from C)"),
            };
            let flags = family_flags(EdgeKind::NameLiteral, true, true);
            self.link_module(file, &ModuleName::new(name.clone()), &site, flags);
        }
    }

    /// The first time a file of a wheel is reached: its distribution's `entry_points.txt`, and
    /// every target it names.
    pub(super) fn expand_entry_points(&mut self, file: FileRef) {
        if !matches!(self.env.archive(file).kind, ArchiveKind::Wheel { .. }) {
            return;
        }
        let distribution = self.env.archive(file).package_name();
        let site = Site {
            line: 0,
            text: format!("entry points of distribution {distribution}"),
        };
        self.link_entry_points(file, file.archive, &site);
    }

    /// A module that asks for entry points can load any distribution's plugins: every wheel's
    /// `entry_points.txt` and the targets it names.
    pub(super) fn expand_entry_points_call(&mut self, file: FileRef, facts: &PythonFacts) {
        let Some(site) = &facts.entry_points_call else {
            return;
        };
        for archive in 0..self.env.archives.len() as u32 {
            if matches!(
                self.env.archives[archive as usize].kind,
                ArchiveKind::Wheel { .. }
            ) {
                self.link_entry_points(file, archive, site);
            }
        }
    }

    /// Links `from` to `entry_points.txt` of `archive` (once per archive, its targets too).
    fn link_entry_points(&mut self, from: FileRef, archive_index: u32, site: &Site) {
        let archive = &self.env.archives[archive_index as usize];
        let Some(index) = archive.entries.iter().position(|e| {
            e.kind == FileKind::Metadata && e.path.ends_with(".dist-info/entry_points.txt")
        }) else {
            return;
        };
        let listing = FileRef {
            archive: archive_index,
            entry: index as u32,
        };
        let flags = family_flags(EdgeKind::EntryPoint, true, true);
        let name = self.env.entry(listing).path.clone();
        if listing != from {
            self.edge(from, listing, &name, site, flags);
        }
        if !self.entry_points_seen.insert(archive_index) {
            return;
        }
        let Ok(bytes) = archive.read(index) else {
            return;
        };
        let text = String::from_utf8_lossy(&bytes).into_owned();
        for (number, line) in text.lines().enumerate() {
            // `name = module.path:attr [extras]`; section headers and comments name no module.
            let Some((_, target)) = line.split_once('=') else {
                continue;
            };
            let module = target.split(':').next().unwrap_or("").trim();
            let module = module.split_whitespace().next().unwrap_or("");
            if module.is_empty() {
                continue;
            }
            let site = Site {
                line: number as u32 + 1,
                text: line.trim().to_string(),
            };
            if let Resolution::File(_) = self.index.resolve(module) {
                self.link_module(listing, &ModuleName::new(module.to_string()), &site, flags);
            }
        }
    }
}
