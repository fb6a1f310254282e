//! Download sizes as a CDN serves them: the file itself, gzip and brotli.

use std::io::Write;

use serde::Serialize;

/// Sizes of one or more downloaded files.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
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
