//! The one table of what differs between the Pyodide releases the tool supports, keyed by what the
//! runtime's own files say (the version in `package.json` or the lock, the CPython version in the
//! lock's `info`). Everything else the stages need is read from the files themselves (see
//! [`super::Runtime::open`]): the bootstrap file's name, the wheel platform tags of the lock, the
//! stdlib mount and site-packages (from the CPython version, as Pyodide computes them).
//!
//! Each row is checked against the real runtime by the `runtimes` integration test.

use std::fmt;

/// A Pyodide release line and the CPython it is built on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReleaseLine {
    /// The version prefix, without the patch number: `0.27`, `314`.
    pub line: &'static str,
    pub python: PythonMinor,
}

/// A CPython `major.minor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PythonMinor {
    pub major: u8,
    pub minor: u8,
}

impl fmt::Display for PythonMinor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

impl PythonMinor {
    /// `3.12.7` -> 3.12.
    pub fn parse(full: &str) -> Option<PythonMinor> {
        let mut parts = full.split('.');
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        Some(PythonMinor { major, minor })
    }
}

const PY312: PythonMinor = PythonMinor {
    major: 3,
    minor: 12,
};
const PY313: PythonMinor = PythonMinor {
    major: 3,
    minor: 13,
};
const PY314: PythonMinor = PythonMinor {
    major: 3,
    minor: 14,
};

/// The supported release lines: every `0.27.x`, `0.28.x`, `0.29.x` and `314.x` release on npm.
/// (Pyodide moved to CPython-based version numbers after 0.29: 314 is built on CPython 3.14.)
pub const RELEASE_LINES: &[ReleaseLine] = &[
    ReleaseLine {
        line: "0.27",
        python: PY312,
    },
    ReleaseLine {
        line: "0.28",
        python: PY313,
    },
    ReleaseLine {
        line: "0.29",
        python: PY313,
    },
    ReleaseLine {
        line: "314",
        python: PY314,
    },
];

/// `0.27.x, 0.28.x, 0.29.x, 314.x`: how messages name what is supported.
pub fn supported_lines() -> String {
    RELEASE_LINES
        .iter()
        .map(|l| format!("{}.x", l.line))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The release line of a version (`0.27.7` -> the 0.27 row), if supported. A pre-release
/// (`0.28.0.dev0`, `315.0.0-alpha.1`) belongs to its line when that line is supported.
pub(super) fn release_line(version: &str) -> Option<&'static ReleaseLine> {
    RELEASE_LINES.iter().find(|l| {
        version
            .strip_prefix(l.line)
            .is_some_and(|rest| rest.starts_with('.'))
    })
}

/// A full release version, as npm names it: `0.27.7`, `314.0.8`.
pub(super) fn is_release_version(version: &str) -> bool {
    let parts: Vec<&str> = version.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

/// What one CPython minor version brings to the analysis.
#[derive(Debug)]
pub(super) struct PythonRow {
    pub python: PythonMinor,
    /// Modules imported from the interpreter's own data, never from the stdlib zip
    /// (`Python/frozen.c`, what `_imp._frozen_module_names()` lists), plus the aliases that
    /// bootstrap installs under a second name (`importlib._bootstrap`, `os.path`).
    pub frozen: &'static [&'static str],
    /// What CPython imports while it initialises, before any Pyodide code runs: the codec
    /// machinery of the file-system and stdio encodings (`Python/codecs.c`, `pylifecycle.c`).
    pub interpreter_boot: &'static [&'static str],
}

/// CPython 3.12, 3.13 and 3.14 freeze the same modules (the list has not changed since 3.11's
/// "deep-frozen" start-up modules); each row still names it, so a future row can differ.
const FROZEN_3_12_TO_3_14: &[&str] = &[
    "_frozen_importlib",
    "_frozen_importlib_external",
    "importlib._bootstrap",
    "importlib._bootstrap_external",
    "zipimport",
    "abc",
    "codecs",
    "io",
    "_collections_abc",
    "_sitebuiltins",
    "genericpath",
    "ntpath",
    "posixpath",
    "os",
    "os.path",
    "site",
    "stat",
    "importlib.util",
    "importlib.machinery",
    "runpy",
    "__hello__",
    "__hello_alias__",
    "__hello_only__",
    "__phello__",
    "__phello__.ham",
    "__phello__.ham.eggs",
    "__phello__.spam",
    "__phello_alias__",
    "__phello_alias__.spam",
];

const BOOT_ENCODINGS: &[&str] = &["encodings", "encodings.utf_8"];

pub(super) const PYTHON_ROWS: &[PythonRow] = &[
    PythonRow {
        python: PY312,
        frozen: FROZEN_3_12_TO_3_14,
        interpreter_boot: BOOT_ENCODINGS,
    },
    PythonRow {
        python: PY313,
        frozen: FROZEN_3_12_TO_3_14,
        interpreter_boot: BOOT_ENCODINGS,
    },
    PythonRow {
        python: PY314,
        frozen: FROZEN_3_12_TO_3_14,
        interpreter_boot: BOOT_ENCODINGS,
    },
];

pub(super) fn python_row(python: PythonMinor) -> Option<&'static PythonRow> {
    PYTHON_ROWS.iter().find(|r| r.python == python)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_find_their_line() {
        assert_eq!(release_line("0.27.7").unwrap().python, PY312);
        assert_eq!(release_line("0.28.0.dev0").unwrap().line, "0.28");
        assert_eq!(release_line("0.29.5").unwrap().python, PY313);
        assert_eq!(release_line("314.0.8").unwrap().python, PY314);
        assert!(release_line("0.26.4").is_none());
        assert!(release_line("0.270.1").is_none());
        assert!(release_line("3141.0.0").is_none());
        assert!(release_line("315.0.0-alpha.1").is_none());
        assert_eq!(supported_lines(), "0.27.x, 0.28.x, 0.29.x, 314.x");
    }

    #[test]
    fn release_versions_are_three_numbers() {
        assert!(is_release_version("0.27.7"));
        assert!(is_release_version("314.0.8"));
        assert!(!is_release_version("0.27"));
        assert!(!is_release_version("latest"));
        assert!(!is_release_version("0.27.7; rm -rf /"));
        assert!(!is_release_version("314.0.0-alpha.1"));
    }

    #[test]
    fn every_line_has_its_python_row() {
        for line in RELEASE_LINES {
            assert!(python_row(line.python).is_some(), "{}", line.line);
        }
        assert_eq!(PythonMinor::parse("3.12.7"), Some(PY312));
        assert_eq!(PythonMinor::parse("3"), None);
    }
}
