//! QEMU qcow2 (and its ancestor qcow): a big-endian header at offset 0.
//!
//! Safety follows oslo.utils: only versions 2 and 3, no backing file, no external
//! data file, and no incompatible-feature bit beyond the four oslo knows (dirty,
//! corrupt, external data file, compression type). Extended L2 (bit 4) is treated as
//! unknown, exactly as Glance does.

use super::Detection;
use crate::bytes::{has_at, u32_be, u64_be};
use crate::DiskFormat;

const MAGIC: &[u8] = b"QFI\xfb";
const VERSION: usize = 4;
const BACKING_FILE_OFFSET: usize = 8;
const SIZE: usize = 24;
const INCOMPATIBLE_FEATURES: usize = 72;
const DATA_FILE_BIT: u64 = 1 << 2;
const KNOWN_INCOMPATIBLE_FEATURES: u64 = 0b1111;
const TRUNCATED: &str = "qcow2 header is truncated";

pub(crate) fn probe(head: &[u8]) -> Option<Detection> {
    if !has_at(head, 0, MAGIC) {
        return None;
    }
    Some(Detection { format: DiskFormat::Qcow2, virtual_size: u64_be(head, SIZE), safety: safety(head) })
}

fn safety(head: &[u8]) -> Result<(), String> {
    let version = u32_be(head, VERSION).ok_or(TRUNCATED)?;
    if version != 2 && version != 3 {
        return Err(format!("Unsupported qcow2 version {version}"));
    }
    if u64_be(head, BACKING_FILE_OFFSET).ok_or(TRUNCATED)? != 0 {
        return Err("Image has a backing file".into());
    }
    if version == 3 {
        let features = u64_be(head, INCOMPATIBLE_FEATURES).ok_or(TRUNCATED)?;
        if features & DATA_FILE_BIT != 0 {
            return Err("Image has data_file set".into());
        }
        if features & !KNOWN_INCOMPATIBLE_FEATURES != 0 {
            return Err("Unknown QCOW2 features found".into());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(version: u32, backing: u64, features: u64) -> Vec<u8> {
        let mut h = vec![0u8; 512];
        h[..4].copy_from_slice(MAGIC);
        h[4..8].copy_from_slice(&version.to_be_bytes());
        h[8..16].copy_from_slice(&backing.to_be_bytes());
        h[24..32].copy_from_slice(&(1u64 << 30).to_be_bytes());
        h[72..80].copy_from_slice(&features.to_be_bytes());
        h
    }

    #[test]
    fn checks_version_backing_and_features() {
        let ok = probe(&header(3, 0, 0b1011)).unwrap();
        assert_eq!(ok.virtual_size, Some(1 << 30));
        assert_eq!(ok.safety, Ok(()));
        assert_eq!(probe(&header(2, 0, u64::MAX)).unwrap().safety, Ok(()));
        assert!(probe(&header(1, 0, 0)).unwrap().safety.unwrap_err().contains("version 1"));
        assert!(probe(&header(4, 0, 0)).unwrap().safety.is_err());
        assert!(probe(&header(3, 0x200, 0)).unwrap().safety.unwrap_err().contains("backing"));
        assert!(probe(&header(3, 0, 0b100)).unwrap().safety.unwrap_err().contains("data_file"));
        assert!(probe(&header(3, 0, 1 << 4)).unwrap().safety.unwrap_err().contains("Unknown"));
        assert!(probe(&header(3, 0, 1 << 63)).unwrap().safety.unwrap_err().contains("Unknown"));
        let truncated = probe(&header(3, 0, 0)[..40]).unwrap();
        assert_eq!(truncated.virtual_size, Some(1 << 30));
        assert_eq!(truncated.safety.unwrap_err(), TRUNCATED);
        assert!(probe(b"QFI").is_none());
    }
}
