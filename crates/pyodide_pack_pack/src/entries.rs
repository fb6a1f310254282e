//! The output zips, written deterministically: per-file deflate (wheel entries copied compressed,
//! as they are, no recompression; new bytes deflated here), or every entry stored, for a transfer
//! form that compresses the whole zip as one stream.

use std::collections::BTreeMap;
use std::io::{Cursor, Write};

use pyodide_pack_env::{Environment, FileRef};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

use crate::plan::Destination;
use crate::PackError;

/// A packed entry's bytes: copied compressed from its archive, or new bytes (reduced, or from the
/// app's folder) deflated here.
#[derive(Clone)]
pub(crate) enum Content {
    Raw(FileRef),
    Bytes(Vec<u8>),
}

pub(crate) struct PackedEntry {
    pub(crate) file: FileRef,
    pub(crate) name: String,
    pub(crate) content: Content,
    pub(crate) destination: Destination,
}

pub(crate) fn zip_error(path: &str, e: impl std::fmt::Display) -> PackError {
    PackError::Zip {
        path: path.to_string(),
        message: e.to_string(),
    }
}

/// How each entry of an output zip is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EntryCompression {
    /// Per-file deflate; wheel entries copied as they are.
    Deflate,
    /// No per-file compression: the transfer form compresses the whole zip, which finds the
    /// repeats across files that per-file deflate cannot.
    Store,
}

/// Writes entries into a new in-memory zip. Deterministic: fixed timestamps, input order.
pub(crate) fn write_zip(
    env: &Environment,
    entries: &[&PackedEntry],
    label: &str,
    compression: EntryCompression,
) -> Result<Vec<u8>, PackError> {
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default()
        .compression_method(match compression {
            EntryCompression::Deflate => CompressionMethod::Deflated,
            EntryCompression::Store => CompressionMethod::Stored,
        })
        .last_modified_time(zip::DateTime::default());
    let mut sources: BTreeMap<u32, ZipArchive<Cursor<pyodide_pack_env::ArchiveBytes>>> =
        BTreeMap::new();
    for entry in entries {
        match &entry.content {
            Content::Raw(file) if compression == EntryCompression::Store => {
                // Inflated through the archive's guarded read (bounded by what it declares).
                let bytes = env.read(*file).map_err(|e| zip_error(label, e))?;
                writer
                    .start_file(&entry.name, options)
                    .map_err(|e| zip_error(label, e))?;
                writer.write_all(&bytes).map_err(|e| zip_error(label, e))?;
            }
            Content::Raw(file) => {
                let zip = match sources.entry(file.archive) {
                    std::collections::btree_map::Entry::Occupied(o) => o.into_mut(),
                    std::collections::btree_map::Entry::Vacant(v) => match env.archive(*file).zip()
                    {
                        Some(zip) => v.insert(zip),
                        None => return Err(zip_error(label, "a raw entry from a folder")),
                    },
                };
                let source_name = &env.entry(*file).path;
                let index = zip
                    .index_for_name(source_name)
                    .ok_or_else(|| zip_error(label, format!("{source_name} vanished")))?;
                let raw = zip.by_index_raw(index).map_err(|e| zip_error(label, e))?;
                writer
                    .raw_copy_file_rename(raw, &entry.name)
                    .map_err(|e| zip_error(label, e))?;
            }
            Content::Bytes(bytes) => {
                writer
                    .start_file(&entry.name, options)
                    .map_err(|e| zip_error(label, e))?;
                writer.write_all(bytes).map_err(|e| zip_error(label, e))?;
            }
        }
    }
    Ok(writer
        .finish()
        .map_err(|e| zip_error(label, e))?
        .into_inner())
}
