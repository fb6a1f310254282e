//! Download sizes as a CDN serves them: the file itself, gzip and brotli.

use std::io::Write;
use std::path::PathBuf;

use pyodide_pack_env::{hex, CacheRoot};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Sizes of one or more downloaded files.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Sizes {
    /// The bytes of the file(s) (zips are already deflated inside).
    pub raw: u64,
    /// gzip level 6, what servers apply on the fly.
    pub gzip: u64,
    /// brotli quality 9 (window 22).
    pub brotli: u64,
}

impl Sizes {
    pub fn of(bytes: &[u8]) -> Sizes {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
        let gzip = match gz.write_all(bytes).and_then(|_| gz.finish()) {
            Ok(out) => out.len() as u64,
            Err(_) => bytes.len() as u64,
        };
        let mut br = Vec::new();
        let params = brotli::enc::BrotliEncoderParams {
            quality: 9,
            lgwin: 22,
            ..Default::default()
        };
        let brotli = match brotli::BrotliCompress(&mut &bytes[..], &mut br, &params) {
            Ok(_) => br.len() as u64,
            Err(_) => bytes.len() as u64,
        };
        Sizes {
            raw: bytes.len() as u64,
            gzip,
            brotli,
        }
    }

    pub fn add(&mut self, other: Sizes) {
        self.raw += other.raw;
        self.gzip += other.gzip;
        self.brotli += other.brotli;
    }
}

/// `1.2 MB`, `340 kB`, `12 B` (decimal units, as CDNs and browsers report).
pub fn format_size(bytes: u64) -> String {
    let b = bytes as f64;
    if b >= 1e6 {
        format!("{:.2} MB", b / 1e6)
    } else if b >= 1e3 {
        format!("{:.1} kB", b / 1e3)
    } else {
        format!("{bytes} B")
    }
}

/// Changes whenever `Sizes::of` measures differently (levels, window), so old entries are ignored.
const SIZES_VERSION: &str = "sizes-v1-gz6-br9w22";

/// Sizes measured once per content. Compressing is most of what measuring costs (brotli at
/// quality 9 takes about 0.1 s per MB here), and every `pack` and `size` run measures the same
/// wheels, stdlib zip and lazy files again: keyed by the sha256 of the bytes, a warm run
/// compresses only what changed.
#[derive(Debug, Clone, Default)]
pub struct SizeCache {
    dir: Option<PathBuf>,
}

impl SizeCache {
    pub fn new(cache: &CacheRoot) -> SizeCache {
        SizeCache {
            dir: Some(cache.root().join("sizes").join(SIZES_VERSION)),
        }
    }

    /// Measures every time (tests, benches of the measuring itself).
    pub fn disabled() -> SizeCache {
        SizeCache::default()
    }

    pub fn sizes_of(&self, bytes: &[u8]) -> Sizes {
        // Every size is cached, small ones too: brotli clears its 32 MB match-finder tables
        // for each file, so a tier of 500 small files costs more to measure than to look up.
        let Some(dir) = self.dir.as_ref() else {
            return Sizes::of(bytes);
        };
        let key = hex(&Sha256::digest(bytes));
        let path = dir.join(&key[..2]).join(&key[2..]);
        let cached = std::fs::read(&path)
            .ok()
            .and_then(|text| serde_json::from_slice::<Sizes>(&text).ok())
            .filter(|sizes| sizes.raw == bytes.len() as u64);
        if let Some(sizes) = cached {
            return sizes;
        }
        let sizes = Sizes::of(bytes);
        if let Ok(text) = serde_json::to_vec(&sizes) {
            // A cache that cannot be written only costs the next run the time to measure.
            let _ = pyodide_pack_env::write_atomically(&path, &text);
        }
        sizes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cached_sizes_are_the_measured_ones() {
        let dir = tempfile::tempdir().unwrap();
        let cache = SizeCache::new(&CacheRoot::new(dir.path().to_path_buf()));
        let bytes: Vec<u8> = (0..20_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let first = cache.sizes_of(&bytes);
        assert_eq!(first, Sizes::of(&bytes));
        assert_eq!(cache.sizes_of(&bytes), first, "read back from the cache");
        let entries = walk_count(dir.path());
        assert_eq!(entries, 1, "one entry for one content");
    }

    fn walk_count(dir: &std::path::Path) -> usize {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                if e.file_type().unwrap().is_dir() {
                    walk_count(&e.path())
                } else {
                    1
                }
            })
            .sum()
    }
}
