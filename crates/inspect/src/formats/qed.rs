//! QEMU Enhanced Disk: recognised only to be refused, as Glance does (no consumer
//! supports it, and letting it through as `raw` would hand qemu a probed format).

use super::Detection;
use crate::bytes::{has_at, u64_le};
use crate::DiskFormat;

const MAGIC: &[u8] = b"QED\0";
const IMAGE_SIZE: usize = 48;

pub(crate) fn probe(head: &[u8]) -> Option<Detection> {
    has_at(head, 0, MAGIC).then(|| Detection {
        format: DiskFormat::Qed,
        virtual_size: u64_le(head, IMAGE_SIZE),
        safety: Err("QED format is not allowed".into()),
    })
}
