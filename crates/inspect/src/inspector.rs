//! The streaming [`Inspector`]: it sees every chunk of an upload once, keeps the head
//! of the stream, its tail and the few VHDX metadata bytes, and decides the format at
//! the end. Memory is bounded by [`HEAD_LEN`] + [`TAIL_LEN`] + 64 KiB.

use crate::capture::Tail;
use crate::formats::{self, iso, mbr, vhd, vhdx, Detection, Evidence};
use crate::{DiskFormat, Inspection};

/// Bytes kept from the start: every header, the ISO volume descriptors, the VHDX
/// region tables and a maximal (1 MiB − 1) embedded VMDK descriptor at sector 1.
pub const HEAD_LEN: usize = formats::vmdk::DESCRIPTOR_MAX + 1 + 512;
/// Bytes kept from the end: a stream-optimized VMDK footer (3 sectors), which also
/// covers the 512-byte VHD footer.
pub const TAIL_LEN: usize = 1536;

/// Feed it the upload's chunks in order (any boundaries), then [`finish`](Self::finish).
#[derive(Debug)]
pub struct Inspector {
    head: Vec<u8>,
    tail: Tail<TAIL_LEN>,
    fed: u64,
    vhdx: vhdx::SizeLocator,
}

impl Default for Inspector {
    fn default() -> Self {
        Self::new()
    }
}

impl Inspector {
    pub fn new() -> Self {
        Inspector { head: Vec::new(), tail: Tail::new(), fed: 0, vhdx: vhdx::SizeLocator::new() }
    }

    /// The next bytes of the stream.
    pub fn feed(&mut self, chunk: &[u8]) {
        if chunk.is_empty() {
            return;
        }
        let at = self.fed;
        let wanted = HEAD_LEN - self.head.len();
        if wanted > 0 {
            if self.head.is_empty() {
                self.head.reserve_exact(HEAD_LEN);
            }
            self.head.extend_from_slice(&chunk[..wanted.min(chunk.len())]);
        }
        self.tail.push(chunk);
        self.vhdx.feed(&self.head, chunk, at);
        self.fed = at.saturating_add(chunk.len() as u64);
    }

    /// How many bytes were fed so far.
    pub fn bytes_fed(&self) -> u64 {
        self.fed
    }

    /// The verdict once the stream has ended; `total_len` is the number of bytes of
    /// the whole upload (the same as were fed), reported as the raw byte count.
    pub fn finish(self, total_len: u64) -> Inspection {
        let evidence = Evidence { head: &self.head, tail: self.tail.bytes(), total_len, vhdx_virtual_size: self.vhdx.finish(&self.head) };
        let Detection { format, virtual_size, safety } = decide(&evidence);
        Inspection { format, virtual_size, safety, byte_count: total_len }
    }
}

/// Which format the stream is, when several signatures are present:
///
/// 1. a header format at offset 0 (qcow2, vmdk, vhdx, vdi, dynamic vhd, qed, luks)
///    wins, but a second header format or an ISO volume descriptor alongside it is a
///    disguised image and fails safety ("Multiple formats detected");
/// 2. otherwise a VHD footer at the end (a fixed VHD: whatever its content looks
///    like, the footer says what the file is);
/// 3. otherwise ISO 9660/UDF, which takes precedence over the MBR of hybrid ISOs;
/// 4. otherwise an MBR/GPT partition table;
/// 5. otherwise raw.
fn decide(e: &Evidence<'_>) -> Detection {
    let mut headers = formats::header_probes(e);
    let iso = iso::probe(e.head);
    if !headers.is_empty() {
        let mut primary = headers.remove(0);
        let others: Vec<&str> = headers.iter().chain(iso.as_ref()).map(|d| d.format.as_str()).collect();
        if !others.is_empty() {
            primary.safety = Err(format!("Multiple formats detected: {}, {}", primary.format.as_str(), others.join(", ")));
        }
        return primary;
    }
    vhd::probe_end(e.tail)
        .or(iso)
        .or_else(|| mbr::probe(e.head, e.total_len))
        .unwrap_or_else(|| Detection::safe(DiskFormat::Raw, Some(e.total_len)))
}
