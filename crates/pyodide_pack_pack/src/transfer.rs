//! The transfer form: how the two eager zips travel from the host to the page.
//!
//! Per-file deflate (the zips as they were before, `deflate`) leaves a server nothing to compress,
//! and compresses each file alone. The other forms store the entries and compress each zip as one
//! stream, which finds the repeats across files (measured on the pydantic app's `.pyc` bundle:
//! per-file deflate 3.54 MB, one gzip -9 stream 3.34 MB, one zstd -19 stream 2.54 MB, one brotli
//! q11 stream 2.36 MB). `gzip` and `zstd` are decoded by the loader, so they need nothing of the
//! host; `precompressed` needs a host that serves the `.br` / `.gz` siblings itself.

use std::io::Write;
use std::path::PathBuf;

use pyodide_pack_config::TransferForm;
use pyodide_pack_env::{hex, CacheRoot};
use sha2::{Digest, Sha256};

use crate::entries::EntryCompression;
use crate::PackError;

/// The decoder `loader.mjs` imports for the zstd form, written beside it.
pub const ZSTD_DECODER: &str = "zstd-decoder.mjs";

/// fzstd (MIT), vendored as published; see `harness/vendor/README.md`.
const FZSTD: &str = include_str!("../../../harness/vendor/fzstd/fzstd.mjs");
const FZSTD_LICENSE: &str = include_str!("../../../harness/vendor/fzstd/LICENSE");

/// zstd level 19: the smallest of the levels that need no `--ultra` window (larger windows would
/// make the decoder allocate more). About 10 s for a 16 MB zip, once: results are cached.
const ZSTD_LEVEL: i32 = 19;
/// gzip -9, for the gzip form and the `.gz` siblings.
const GZIP_LEVEL: u32 = 9;
/// brotli q11 with a 16 MiB window (what CDNs use for static assets), for the `.br` siblings.
const BROTLI_QUALITY: i32 = 11;
const BROTLI_WINDOW: i32 = 24;

/// Changes whenever an encoder's settings change, so old cache entries are ignored.
const TRANSFER_CACHE_VERSION: &str = "transfer-v1-zstd19-gz9-br11w24";

/// The output names of the two eager zips in a form.
pub(crate) fn zip_names(form: TransferForm) -> (&'static str, &'static str) {
    match form {
        TransferForm::Deflate | TransferForm::Precompressed => {
            (crate::BUNDLE_ZIP, crate::STDLIB_ZIP)
        }
        TransferForm::Gzip => ("bundle.zip.gz", "python_stdlib.zip.gz"),
        TransferForm::Zstd => ("bundle.zip.zst", "python_stdlib.zip.zst"),
    }
}

/// How the zips' entries are held before the form's own compression.
pub(crate) fn entry_compression(form: TransferForm) -> EntryCompression {
    match form {
        TransferForm::Deflate => EntryCompression::Deflate,
        TransferForm::Gzip | TransferForm::Zstd | TransferForm::Precompressed => {
            EntryCompression::Store
        }
    }
}

/// The decoder file the loader imports in this form, with its text.
pub(crate) fn decoder(form: TransferForm) -> Option<(&'static str, String)> {
    (form == TransferForm::Zstd).then(|| {
        let license: String = FZSTD_LICENSE
            .lines()
            .map(|line| format!("// {line}").trim_end().to_string() + "\n")
            .collect();
        let text = format!(
            "// zstd-decoder.mjs: fzstd 0.1.1 (https://github.com/101arrowz/fzstd), written by \
             pyodide-pack for loader.mjs.\n{license}{FZSTD}"
        );
        (ZSTD_DECODER, text)
    })
}

/// One eager zip in its transfer form: the file to write, and the precompressed siblings
/// (`.br`, `.gz`) a host may serve in its place.
pub(crate) struct Encoded {
    pub(crate) body: Vec<u8>,
    pub(crate) siblings: Vec<(&'static str, Vec<u8>)>,
}

/// Encodes a zip in `form` with the siblings the form ships, reusing cached results.
pub(crate) fn encode(
    form: TransferForm,
    zip: Vec<u8>,
    cache: &CacheRoot,
    label: &str,
) -> Result<Encoded, PackError> {
    let siblings = match form {
        TransferForm::Precompressed => {
            let cached = TransferCache::new(cache, &zip);
            vec![
                (".br", cached.get_or("br", || brotli(&zip, label))?),
                (".gz", cached.get_or("gz", || gzip(&zip, label))?),
            ]
        }
        TransferForm::Deflate | TransferForm::Gzip | TransferForm::Zstd => Vec::new(),
    };
    Ok(Encoded {
        body: encode_body(form, zip, cache, label)?,
        siblings,
    })
}

/// The file a zip travels as in `form`, without siblings (what the floor is measured on).
pub(crate) fn encode_body(
    form: TransferForm,
    zip: Vec<u8>,
    cache: &CacheRoot,
    label: &str,
) -> Result<Vec<u8>, PackError> {
    match form {
        TransferForm::Deflate | TransferForm::Precompressed => Ok(zip),
        TransferForm::Gzip => TransferCache::new(cache, &zip).get_or("gz", || gzip(&zip, label)),
        TransferForm::Zstd => TransferCache::new(cache, &zip).get_or("zst", || zstd(&zip, label)),
    }
}

fn gzip(bytes: &[u8], label: &str) -> Result<Vec<u8>, PackError> {
    let mut encoder =
        flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(GZIP_LEVEL));
    encoder
        .write_all(bytes)
        .and_then(|_| encoder.finish())
        .map_err(|e| encode_error(label, "gzip", e))
}

fn zstd(bytes: &[u8], label: &str) -> Result<Vec<u8>, PackError> {
    // The frame records the content size, so the decoder allocates the output once.
    let mut compressor =
        zstd::bulk::Compressor::new(ZSTD_LEVEL).map_err(|e| encode_error(label, "zstd", e))?;
    compressor
        .include_contentsize(true)
        .and_then(|_| compressor.compress(bytes))
        .map_err(|e| encode_error(label, "zstd", e))
}

fn brotli(bytes: &[u8], label: &str) -> Result<Vec<u8>, PackError> {
    let params = brotli::enc::BrotliEncoderParams {
        quality: BROTLI_QUALITY,
        lgwin: BROTLI_WINDOW,
        size_hint: bytes.len(),
        ..Default::default()
    };
    let mut out = Vec::new();
    brotli::BrotliCompress(&mut &bytes[..], &mut out, &params)
        .map_err(|e| encode_error(label, "brotli", e))?;
    Ok(out)
}

fn encode_error(label: &str, codec: &str, e: impl std::fmt::Display) -> PackError {
    PackError::Zip {
        path: label.to_string(),
        message: format!("{codec} encoding failed: {e}"),
    }
}

/// Encoded bytes kept by the sha256 of the zip: the level-19 and q11 encoders take seconds for a
/// large bundle, and most packs ship the same zips again.
struct TransferCache {
    base: PathBuf,
}

impl TransferCache {
    fn new(cache: &CacheRoot, zip: &[u8]) -> TransferCache {
        let key = hex(&Sha256::digest(zip));
        TransferCache {
            base: cache
                .root()
                .join(TRANSFER_CACHE_VERSION)
                .join(&key[..2])
                .join(&key[2..]),
        }
    }

    fn get_or(
        &self,
        extension: &str,
        make: impl FnOnce() -> Result<Vec<u8>, PackError>,
    ) -> Result<Vec<u8>, PackError> {
        let path = self.base.with_extension(extension);
        if let Ok(bytes) = std::fs::read(&path) {
            return Ok(bytes);
        }
        let bytes = make()?;
        // A cache that cannot be written only costs the next pack the time to encode.
        let _ = pyodide_pack_env::cache::write_atomically(&path, &bytes);
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn every_form_decodes_to_the_zip() {
        let dir = tempfile::tempdir().unwrap();
        let cache = CacheRoot::new(dir.path().to_path_buf());
        let zip: Vec<u8> = (0..200_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        for form in TransferForm::ALL {
            // Twice: the second comes from the cache and must be the same.
            for _ in 0..2 {
                let encoded = encode(form, zip.clone(), &cache, "test.zip").unwrap();
                let decoded = match form {
                    TransferForm::Deflate | TransferForm::Precompressed => encoded.body.clone(),
                    TransferForm::Gzip => {
                        let mut out = Vec::new();
                        flate2::read::GzDecoder::new(&encoded.body[..])
                            .read_to_end(&mut out)
                            .unwrap();
                        out
                    }
                    TransferForm::Zstd => zstd::bulk::decompress(&encoded.body, zip.len()).unwrap(),
                };
                assert_eq!(decoded, zip, "{form}");
                if form == TransferForm::Precompressed {
                    let names: Vec<&str> = encoded.siblings.iter().map(|(n, _)| *n).collect();
                    assert_eq!(names, [".br", ".gz"]);
                    let mut out = Vec::new();
                    brotli::BrotliDecompress(&mut &encoded.siblings[0].1[..], &mut out).unwrap();
                    assert_eq!(out, zip);
                }
            }
        }
    }

    #[test]
    fn the_decoder_carries_its_license() {
        let (name, text) = decoder(TransferForm::Zstd).unwrap();
        assert_eq!(name, ZSTD_DECODER);
        assert!(text.contains("// MIT License"));
        assert!(text.contains("export function decompress"));
        assert!(decoder(TransferForm::Gzip).is_none());
    }
}
