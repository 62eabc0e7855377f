//! VirtualBox VDI: a little-endian header whose signature sits at 0x40 and whose disk
//! size sits at 0x170. No safety concern is known for it.

use super::Detection;
use crate::bytes::{u32_le, u64_le};
use crate::DiskFormat;

const SIGNATURE_OFFSET: usize = 0x40;
const SIGNATURE: u32 = 0xbeda_107f;
const DISK_SIZE: usize = 0x170;

pub(crate) fn probe(head: &[u8]) -> Option<Detection> {
    (u32_le(head, SIGNATURE_OFFSET) == Some(SIGNATURE)).then(|| Detection::safe(DiskFormat::Vdi, u64_le(head, DISK_SIZE)))
}
