//! `[tool.pyodide-pack.budget]`: size limits on what `pack` ships, checked by `pack` and `size`.
//!
//! ```toml
//! [tool.pyodide-pack.budget]
//! compression = "brotli"      # what limits are measured in: brotli (default), gzip or none
//! eager = "1.5 MB"            # bundle.zip + python_stdlib.zip + loader.mjs: the up-front download
//! lazy = "2 MB"               # the lazy tier, every file together
//! total = "3 MB"              # eager + lazy: the whole deployment
//! files = { "bundle.zip" = "1.2 MB", "lazy/**" = "200 kB" }   # per output file (globs)
//! packages = { pydantic-core = "900 kB" }                      # per package, eager + lazy
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize};

/// How a limit is measured: the bytes a CDN serves with that encoding.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    #[default]
    Brotli,
    Gzip,
    None,
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Compression::Brotli => "brotli",
            Compression::Gzip => "gzip",
            Compression::None => "uncompressed",
        })
    }
}

/// A size as people write it: `"1.5 MB"`, `"300 kB"` (decimal, as browsers and CDNs report),
/// `"2 MiB"` (binary), or a plain number of bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct ByteLimit(pub u64);

impl FromStr for ByteLimit {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let trimmed = text.trim();
        if let Ok(bytes) = trimmed.parse::<u64>() {
            return Ok(ByteLimit(bytes));
        }
        bytesize::ByteSize::from_str(trimmed)
            .map(|size| ByteLimit(size.as_u64()))
            .map_err(|_| {
                format!(
                    "{text:?} is not a size (write it like \"1.5 MB\", \"300 kB\" or \"2 MiB\")"
                )
            })
    }
}

impl<'de> Deserialize<'de> for ByteLimit {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Written {
            Bytes(u64),
            Text(String),
        }
        match Written::deserialize(deserializer)? {
            Written::Bytes(bytes) => Ok(ByteLimit(bytes)),
            Written::Text(text) => text.parse().map_err(serde::de::Error::custom),
        }
    }
}

/// The budget table. Every limit is optional; an empty table checks nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct BudgetConfig {
    #[serde(default)]
    pub compression: Compression,
    /// The up-front download: `bundle.zip`, `python_stdlib.zip` and `loader.mjs`.
    pub eager: Option<ByteLimit>,
    /// The lazy tier, all its files together.
    pub lazy: Option<ByteLimit>,
    /// Everything deployed: eager and lazy.
    pub total: Option<ByteLimit>,
    /// Output files by glob over their path in OUTDIR (`bundle.zip`, `lazy/**`): each file that
    /// matches must fit. The first matching glob applies.
    #[serde(default)]
    pub files: BTreeMap<String, ByteLimit>,
    /// Packages by distribution name (as in pack's table): eager and lazy together.
    #[serde(default)]
    pub packages: BTreeMap<String, ByteLimit>,
}

impl BudgetConfig {
    pub fn is_empty(&self) -> bool {
        self.eager.is_none()
            && self.lazy.is_none()
            && self.total.is_none()
            && self.files.is_empty()
            && self.packages.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_people_write_them() {
        let parse = |t: &str| t.parse::<ByteLimit>().map(|b| b.0);
        assert_eq!(parse("1.5 MB"), Ok(1_500_000));
        assert_eq!(parse("300 kB"), Ok(300_000));
        assert_eq!(parse("2 MiB"), Ok(2 * 1024 * 1024));
        assert_eq!(parse("1234"), Ok(1234));
        assert!(parse("big").unwrap_err().contains("\"big\" is not a size"));
    }

    #[test]
    fn the_table_reads_limits_and_compression() {
        let table: toml::Table = toml::from_str(
            "compression = \"gzip\"\neager = \"1.5 MB\"\ntotal = 3000000\nfiles = { \"bundle.zip\" = \"1 MB\" }\n",
        )
        .unwrap();
        let budget = BudgetConfig::deserialize(toml::Value::Table(table)).unwrap();
        assert_eq!(budget.compression, Compression::Gzip);
        assert_eq!(budget.eager, Some(ByteLimit(1_500_000)));
        assert_eq!(budget.total, Some(ByteLimit(3_000_000)));
        assert_eq!(budget.files["bundle.zip"], ByteLimit(1_000_000));
        assert!(!budget.is_empty());
    }
}
