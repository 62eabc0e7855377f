//! ISO 9660 (and UDF) optical images: a volume descriptor set from sector 16
//! (offset 0x8000, 2048-byte descriptors, identifier at +1). The virtual size is the
//! primary volume descriptor's volume space size × logical block size. No safety
//! concern is known.

use super::Detection;
use crate::bytes::{u16_le, u32_le};
use crate::DiskFormat;

const FIRST_DESCRIPTOR: usize = 0x8000;
const DESCRIPTOR_LEN: usize = 2048;
/// How many descriptors to walk before giving up on finding the terminator.
const MAX_DESCRIPTORS: usize = 32;
const PRIMARY: u8 = 1;
const TERMINATOR: u8 = 255;
const VOLUME_SPACE_SIZE: usize = 80;
const LOGICAL_BLOCK_SIZE: usize = 128;

pub(crate) fn probe(head: &[u8]) -> Option<Detection> {
    let mut is_iso = false;
    let mut virtual_size = None;
    for i in 0..MAX_DESCRIPTORS {
        let at = FIRST_DESCRIPTOR + i * DESCRIPTOR_LEN;
        let Some(descriptor) = head.get(at..(at + DESCRIPTOR_LEN).min(head.len())) else {
            break;
        };
        let Some(identifier) = descriptor.get(1..6) else {
            break;
        };
        match identifier {
            b"CD001" => {
                is_iso = true;
                match descriptor[0] {
                    PRIMARY if virtual_size.is_none() => virtual_size = primary_volume_size(descriptor),
                    TERMINATOR => break,
                    _ => {}
                }
            }
            b"NSR02" | b"NSR03" => is_iso = true,
            b"BEA01" | b"TEA01" | b"BOOT2" | b"CDW02" => {}
            _ => break,
        }
    }
    is_iso.then(|| Detection::safe(DiskFormat::Iso, virtual_size))
}

fn primary_volume_size(descriptor: &[u8]) -> Option<u64> {
    let blocks = u32_le(descriptor, VOLUME_SPACE_SIZE)?;
    let block_size = u16_le(descriptor, LOGICAL_BLOCK_SIZE)?;
    let size = u64::from(blocks) * u64::from(block_size);
    (size > 0).then_some(size)
}
