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

/// The zstd form's frames hold at most this many bytes of the zip (but at least one entry). The
/// loader decodes and installs each frame as soon as its last byte arrives, and loads its
/// extension modules while the next ones download; 8 MiB is the level-19 window, so the frames
/// cost almost nothing in size (sklearn's bundle: +0.1%).
const FRAME_BYTES: usize = 8 << 20;

/// Changes whenever an encoder's settings change, so old cache entries are ignored.
const TRANSFER_CACHE_VERSION: &str = "transfer-v2-zstd19f8-gz9-br11w24";

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
    /// The zstd form's frames, in order (the body is their concatenation); empty in the others.
    pub(crate) frames: Vec<Frame>,
}

/// One zstd frame of the body: its bytes on the wire and the zip bytes it decodes to, which are
/// whole entries (the last frame also holds the central directory).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct Frame {
    pub(crate) compressed: usize,
    pub(crate) decoded: usize,
    /// Of its bytes on the wire: the loader checks each frame as it arrives.
    pub(crate) sha256: String,
}

/// Encodes a zip in `form` with the siblings the form ships, reusing cached results. `group`
/// names each entry's group: a zstd frame never holds entries of two groups (the bundle keeps its
/// extension modules, which load first, apart from the rest).
pub(crate) fn encode(
    form: TransferForm,
    zip: Vec<u8>,
    group: impl Fn(&str) -> bool,
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
    let (body, frames) = match form {
        TransferForm::Zstd => zstd_frames(&zip, group, cache, label)?,
        _ => (encode_body(form, zip, cache, label)?, Vec::new()),
    };
    Ok(Encoded {
        body,
        siblings,
        frames,
    })
}

/// The file a zip travels as in `form`, without siblings (what the floor is measured on: framed
/// like the outputs, in one group).
pub(crate) fn encode_body(
    form: TransferForm,
    zip: Vec<u8>,
    cache: &CacheRoot,
    label: &str,
) -> Result<Vec<u8>, PackError> {
    match form {
        TransferForm::Deflate | TransferForm::Precompressed => Ok(zip),
        TransferForm::Gzip => TransferCache::new(cache, &zip).get_or("gz", || gzip(&zip, label)),
        TransferForm::Zstd => Ok(zstd_frames(&zip, |_| false, cache, label)?.0),
    }
}

/// The zstd form: the zip cut at entry starts into frames of at most `FRAME_BYTES` (a larger
/// entry has a frame of its own) that never mix two groups, each compressed (and cached) alone.
/// Any zstd decoder reads the concatenation as the whole zip.
fn zstd_frames(
    zip: &[u8],
    group: impl Fn(&str) -> bool,
    cache: &CacheRoot,
    label: &str,
) -> Result<(Vec<u8>, Vec<Frame>), PackError> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip))
        .map_err(|e| crate::entries::zip_error(label, e))?;
    let mut entries = Vec::with_capacity(archive.len());
    for i in 0..archive.len() {
        let entry = archive
            .by_index_raw(i)
            .map_err(|e| crate::entries::zip_error(label, e))?;
        let name = entry
            .name()
            .map_err(|e| crate::entries::zip_error(label, e))?;
        entries.push((entry.header_start() as usize, group(&name)));
    }
    let mut starts = vec![0usize];
    for (i, &(start, this_group)) in entries.iter().enumerate().skip(1) {
        let frame_start = *starts.last().unwrap_or(&0);
        let end = entries.get(i + 1).map_or(zip.len(), |next| next.0);
        if start > frame_start
            && (this_group != entries[i - 1].1 || end - frame_start > FRAME_BYTES)
        {
            starts.push(start);
        }
    }
    starts.push(zip.len());
    let mut body = Vec::new();
    let mut frames = Vec::new();
    for window in starts.windows(2) {
        let part = &zip[window[0]..window[1]];
        let encoded = TransferCache::new(cache, part).get_or("zst", || zstd(part, label))?;
        frames.push(Frame {
            compressed: encoded.len(),
            decoded: part.len(),
            sha256: crate::integrity::sri_sha256(&encoded),
        });
        body.extend_from_slice(&encoded);
    }
    Ok((body, frames))
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
        let _ = pyodide_pack_env::write_atomically(&path, &bytes);
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    /// A zip of stored entries, each `size` bytes of a pattern.
    fn stored_zip(entries: &[(&str, usize)]) -> Vec<u8> {
        let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        for (name, size) in entries {
            writer.start_file(*name, options).unwrap();
            let bytes: Vec<u8> = (0..*size)
                .map(|i| (i % 251) as u8 ^ name.len() as u8)
                .collect();
            writer.write_all(&bytes).unwrap();
        }
        writer.finish().unwrap().into_inner()
    }

    #[test]
    fn zstd_frames_start_at_entries_and_never_mix_groups() {
        let dir = tempfile::tempdir().unwrap();
        let cache = CacheRoot::new(dir.path().to_path_buf());
        let mib = 1 << 20;
        let zip = stored_zip(&[
            ("lib/a.so", 5 * mib),
            ("lib/b.so", 2 * mib),
            ("lib/c.so", 3 * mib), // over FRAME_BYTES with a and b: a frame of its own
            ("site/d.pyc", 1000),
            ("site/e.pyc", 10 * mib), // larger than a frame: a frame of its own, not cut
        ]);
        let encoded = encode(
            TransferForm::Zstd,
            zip.clone(),
            |n| n.ends_with(".so"),
            &cache,
            "t",
        )
        .unwrap();
        let decoded: Vec<usize> = encoded.frames.iter().map(|f| f.decoded).collect();
        let header = |name: &str| 30 + name.len();
        let c_start = header("lib/a.so") + 5 * mib + header("lib/b.so") + 2 * mib;
        let d_start = c_start + header("lib/c.so") + 3 * mib;
        let e_start = d_start + header("site/d.pyc") + 1000;
        assert_eq!(
            decoded[..3],
            [c_start, d_start - c_start, e_start - d_start]
        );
        assert_eq!(decoded.len(), 4, "{decoded:?}");
        assert_eq!(decoded.iter().sum::<usize>(), zip.len());
        let compressed: usize = encoded.frames.iter().map(|f| f.compressed).sum();
        assert_eq!(compressed, encoded.body.len());
        // Each frame decodes alone to its part of the zip; the whole body to the whole zip.
        let mut at = (0, 0);
        for frame in &encoded.frames {
            let part = &encoded.body[at.0..at.0 + frame.compressed];
            let bytes = zstd::bulk::decompress(part, frame.decoded).unwrap();
            assert_eq!(bytes, zip[at.1..at.1 + frame.decoded]);
            at = (at.0 + frame.compressed, at.1 + frame.decoded);
        }
        assert_eq!(zstd::decode_all(&encoded.body[..]).unwrap(), zip);
    }

    #[test]
    fn every_form_decodes_to_the_zip() {
        let dir = tempfile::tempdir().unwrap();
        let cache = CacheRoot::new(dir.path().to_path_buf());
        let zip = stored_zip(&[("a.py", 300_000), ("b.py", 500_000)]);
        for form in TransferForm::ALL {
            // Twice: the second comes from the cache and must be the same.
            for _ in 0..2 {
                let encoded = encode(form, zip.clone(), |_| false, &cache, "test.zip").unwrap();
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
