//! Microsoft VHD (qemu's "vpc"): a 512-byte big-endian footer at the end of the file,
//! copied at offset 0 for dynamic and differencing disks. A fixed disk is raw data
//! followed by the footer, so it can only be recognised at the end of the stream
//! (qemu does not probe it at all; oslo.utils does not see it).
//!
//! The virtual size is the footer's "current size". A differencing disk names a
//! parent file, the VHD equivalent of a qcow2 backing file, so it is unsafe.

use super::Detection;
use crate::bytes::{has_at, u32_be, u64_be};
use crate::DiskFormat;

const COOKIE: &[u8] = b"conectix";
const FOOTER_LEN: usize = 512;
const CURRENT_SIZE: usize = 48;
const DISK_TYPE: usize = 60;
const DISK_TYPE_DIFFERENCING: u32 = 4;

/// A dynamic or differencing disk: the footer copy at offset 0.
pub(crate) fn probe_start(head: &[u8]) -> Option<Detection> {
    has_at(head, 0, COOKIE).then(|| from_footer(head))
}

/// Any VHD, fixed disks included: the footer in the last 512 bytes.
pub(crate) fn probe_end(tail: &[u8]) -> Option<Detection> {
    let footer = tail.get(tail.len().checked_sub(FOOTER_LEN)?..)?;
    has_at(footer, 0, COOKIE).then(|| from_footer(footer))
}

fn from_footer(footer: &[u8]) -> Detection {
    let safety = match u32_be(footer, DISK_TYPE) {
        Some(DISK_TYPE_DIFFERENCING) => Err("VHD differencing image has a parent".into()),
        Some(_) => Ok(()),
        None => Err("VHD footer is truncated".into()),
    };
    Detection { format: DiskFormat::Vhd, virtual_size: u64_be(footer, CURRENT_SIZE), safety }
}
