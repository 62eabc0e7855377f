//! LUKS encrypted volumes: version 1 is accepted (qemu supports it), anything else is
//! refused. The virtual size is the payload after the header, like oslo.utils reports.

use super::Detection;
use crate::bytes::{has_at, u16_be, u32_be};
use crate::DiskFormat;

const MAGIC: &[u8] = b"LUKS\xba\xbe";
const VERSION: usize = 6;
const PAYLOAD_OFFSET_SECTORS: usize = 104;

pub(crate) fn probe(head: &[u8], total_len: u64) -> Option<Detection> {
    if !has_at(head, 0, MAGIC) {
        return None;
    }
    let version = u16_be(head, VERSION);
    let safety = match version {
        Some(1) => Ok(()),
        Some(v) => Err(format!("LUKS version {v} is not supported")),
        None => Err("LUKS header is truncated".into()),
    };
    let virtual_size = match version {
        Some(1) => u32_be(head, PAYLOAD_OFFSET_SECTORS).and_then(|sectors| total_len.checked_sub(u64::from(sectors) * 512)),
        _ => None,
    };
    Some(Detection { format: DiskFormat::Luks, virtual_size, safety })
}
