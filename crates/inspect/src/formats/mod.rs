//! One module per disk format. Each probe looks at the buffered regions of a finished
//! stream ([`Evidence`]) and, when its signature is present, reports the format, the
//! virtual size its header declares and the outcome of its safety checks.

pub(crate) mod iso;
pub(crate) mod luks;
pub(crate) mod mbr;
pub(crate) mod qcow2;
pub(crate) mod qed;
pub(crate) mod vdi;
pub(crate) mod vhd;
pub(crate) mod vhdx;
pub(crate) mod vmdk;

use crate::DiskFormat;

/// What the inspector kept of a stream.
pub(crate) struct Evidence<'a> {
    /// The first [`crate::inspector::HEAD_LEN`] bytes (all of them for a shorter stream).
    pub head: &'a [u8],
    /// The last [`crate::inspector::TAIL_LEN`] bytes.
    pub tail: &'a [u8],
    pub total_len: u64,
    /// The VHDX virtual size, when the metadata region could be followed.
    pub vhdx_virtual_size: Option<u64>,
}

/// One format's verdict on a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Detection {
    pub format: DiskFormat,
    pub virtual_size: Option<u64>,
    pub safety: Result<(), String>,
}

impl Detection {
    pub(crate) fn safe(format: DiskFormat, virtual_size: Option<u64>) -> Self {
        Detection { format, virtual_size, safety: Ok(()) }
    }
}

/// Formats identified by a signature in their first sectors — the ones `qemu-img`
/// itself probes, so two of them matching at once is a disguised image.
pub(crate) fn header_probes(e: &Evidence<'_>) -> Vec<Detection> {
    [
        qcow2::probe(e.head),
        qed::probe(e.head),
        vmdk::probe(e.head, e.tail),
        vhdx::probe(e.head, e.vhdx_virtual_size),
        vdi::probe(e.head),
        vhd::probe_start(e.head),
        luks::probe(e.head, e.total_len),
    ]
    .into_iter()
    .flatten()
    .collect()
}
