//! Telling a WebAssembly side module from native code built for another platform.

use goblin::{peek_bytes, Hint};

/// Describes a shared library that is not WebAssembly: which platform it was built for.
pub(crate) fn describe_non_wasm(head: &[u8]) -> String {
    let mut magic = [0u8; 16];
    let n = head.len().min(16);
    magic[..n].copy_from_slice(&head[..n]);
    match peek_bytes(&magic) {
        Ok(Hint::Elf(_)) => {
            let machine = if head.len() >= 20 {
                let little = head.get(5) == Some(&1);
                let raw = [head[18], head[19]];
                let value = if little {
                    u16::from_le_bytes(raw)
                } else {
                    u16::from_be_bytes(raw)
                };
                goblin::elf::header::machine_to_str(value).to_string()
            } else {
                "unknown machine".to_string()
            };
            format!("an ELF shared library for {machine} (Linux)")
        }
        Ok(Hint::Mach(_)) | Ok(Hint::MachFat(_)) => "a Mach-O library (macOS)".to_string(),
        Ok(Hint::PE) => "a PE/COFF library (Windows)".to_string(),
        _ if head.is_empty() => "an empty file".to_string(),
        _ => "not a WebAssembly module (unknown format)".to_string(),
    }
}
