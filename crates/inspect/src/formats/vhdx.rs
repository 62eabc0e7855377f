//! Microsoft VHDX: `vhdxfile` at offset 0. The virtual size lives in the metadata
//! region, which the region table (at 192 KiB, backup at 256 KiB) locates anywhere in
//! the file; [`SizeLocator`] follows that chain while the stream goes by, keeping at
//! most the 64 KiB metadata table and the 8-byte size item. If the chain points
//! backwards into bytes already gone (never the case for qemu or Hyper-V images), the
//! virtual size is reported as unknown. No safety concern is known for VHDX.

use super::Detection;
use crate::bytes::{has_at, u16_le, u32_le, u64_le};
use crate::capture::Capture;
use crate::DiskFormat;

const SIGNATURE: &[u8] = b"vhdxfile";
const REGION_TABLES: [usize; 2] = [0x3_0000, 0x4_0000];
const REGION_SIGNATURE: &[u8] = b"regi";
const METADATA_SIGNATURE: &[u8] = b"metadata";
const MAX_ENTRIES: usize = 2047;
const ENTRY_LEN: usize = 32;
const TABLE_HEADER_LEN: usize = 16;
const METADATA_HEADER_LEN: usize = 32;
const METADATA_TABLE_LEN: usize = METADATA_HEADER_LEN + MAX_ENTRIES * ENTRY_LEN;
/// 8B7CA206-4790-4B9A-B8FE-575F050F886E, in its on-disk (mixed-endian) byte order.
const METADATA_REGION_GUID: [u8; 16] = [0x06, 0xa2, 0x7c, 0x8b, 0x90, 0x47, 0x9a, 0x4b, 0xb8, 0xfe, 0x57, 0x5f, 0x05, 0x0f, 0x88, 0x6e];
/// 2FA54224-CD1B-4876-B211-5DBED83BF4B8, the "Virtual Disk Size" metadata item.
const VIRTUAL_DISK_SIZE_GUID: [u8; 16] = [0x24, 0x42, 0xa5, 0x2f, 0x1b, 0xcd, 0x76, 0x48, 0xb2, 0x11, 0x5d, 0xbe, 0xd8, 0x3b, 0xf4, 0xb8];

pub(crate) fn probe(head: &[u8], virtual_size: Option<u64>) -> Option<Detection> {
    has_at(head, 0, SIGNATURE).then(|| Detection::safe(DiskFormat::Vhdx, virtual_size))
}

/// Follows region table → metadata table → virtual-disk-size item through the stream.
#[derive(Debug)]
pub(crate) struct SizeLocator {
    state: State,
}

#[derive(Debug)]
enum State {
    /// Waiting for the signature and the region table, both within the head.
    Start,
    MetadataTable(Capture),
    SizeItem(Capture),
    Found(u64),
    GaveUp,
}

enum Parse<T> {
    NeedMore,
    Found(T),
    Invalid,
}

impl SizeLocator {
    pub(crate) fn new() -> Self {
        SizeLocator { state: State::Start }
    }

    /// Offer the next `chunk` (at stream offset `at`); `head` is the head buffer
    /// including that chunk's share of it.
    pub(crate) fn feed(&mut self, head: &[u8], chunk: &[u8], at: u64) {
        if let State::MetadataTable(c) | State::SizeItem(c) = &mut self.state {
            c.absorb(chunk, at);
        }
        self.advance(head, chunk, at, false);
    }

    /// The virtual size, once the stream (of which `head` is the start) has ended.
    pub(crate) fn finish(mut self, head: &[u8]) -> Option<u64> {
        self.advance(head, &[], 0, true);
        match self.state {
            State::Found(size) => Some(size),
            _ => None,
        }
    }

    fn advance(&mut self, head: &[u8], chunk: &[u8], at: u64, eof: bool) {
        loop {
            let next = match &self.state {
                State::Found(_) | State::GaveUp => return,
                State::Start => {
                    if head.len() < SIGNATURE.len() && !eof {
                        return;
                    }
                    if !has_at(head, 0, SIGNATURE) {
                        State::GaveUp
                    } else {
                        match metadata_region_offset(head) {
                            Parse::NeedMore if !eof => return,
                            Parse::Found(offset) => {
                                let mut c = Capture::new(offset, METADATA_TABLE_LEN);
                                c.absorb(head, 0);
                                c.absorb(chunk, at);
                                State::MetadataTable(c)
                            }
                            Parse::NeedMore | Parse::Invalid => State::GaveUp,
                        }
                    }
                }
                State::MetadataTable(table) => match size_item_offset(table.data()) {
                    Parse::NeedMore if !eof && !table.is_complete() => return,
                    Parse::Found(relative) => match table.offset().checked_add(relative) {
                        Some(offset) => {
                            let mut c = Capture::new(offset, 8);
                            c.absorb(head, 0);
                            c.absorb(table.data(), table.offset());
                            c.absorb(chunk, at);
                            State::SizeItem(c)
                        }
                        None => State::GaveUp,
                    },
                    Parse::NeedMore | Parse::Invalid => State::GaveUp,
                },
                State::SizeItem(item) => match u64_le(item.data(), 0) {
                    Some(size) => State::Found(size),
                    None if eof => State::GaveUp,
                    None => return,
                },
            };
            self.state = next;
        }
    }
}

/// The metadata region's file offset, from the first valid region table.
fn metadata_region_offset(head: &[u8]) -> Parse<u64> {
    let mut need_more = false;
    for table_at in REGION_TABLES {
        match region_table_entry(head, table_at) {
            Parse::Found(offset) => return Parse::Found(offset),
            Parse::NeedMore => need_more = true,
            Parse::Invalid => {}
        }
    }
    if need_more {
        Parse::NeedMore
    } else {
        Parse::Invalid
    }
}

fn region_table_entry(head: &[u8], table_at: usize) -> Parse<u64> {
    let Some(count) = u32_le(head, table_at + 8) else {
        return Parse::NeedMore;
    };
    if !has_at(head, table_at, REGION_SIGNATURE) || count as usize > MAX_ENTRIES {
        return Parse::Invalid;
    }
    let entries_at = table_at + TABLE_HEADER_LEN;
    if head.len() < entries_at + count as usize * ENTRY_LEN {
        return Parse::NeedMore;
    }
    for i in 0..count as usize {
        let entry = entries_at + i * ENTRY_LEN;
        if has_at(head, entry, &METADATA_REGION_GUID) {
            return u64_le(head, entry + 16).map_or(Parse::Invalid, Parse::Found);
        }
    }
    Parse::Invalid
}

/// The virtual-disk-size item's offset relative to the metadata region.
fn size_item_offset(table: &[u8]) -> Parse<u64> {
    if table.len() < METADATA_HEADER_LEN {
        return Parse::NeedMore;
    }
    let Some(count) = u16_le(table, 10) else {
        return Parse::NeedMore;
    };
    if !has_at(table, 0, METADATA_SIGNATURE) || count as usize > MAX_ENTRIES {
        return Parse::Invalid;
    }
    if table.len() < METADATA_HEADER_LEN + count as usize * ENTRY_LEN {
        return Parse::NeedMore;
    }
    for i in 0..count as usize {
        let entry = METADATA_HEADER_LEN + i * ENTRY_LEN;
        if has_at(table, entry, &VIRTUAL_DISK_SIZE_GUID) {
            return u32_le(table, entry + 16).map_or(Parse::Invalid, |o| Parse::Found(u64::from(o)));
        }
    }
    Parse::Invalid
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A VHDX skeleton: region table → metadata table at `meta` → size item at
    /// `meta + item`.
    fn image(len: usize, meta: usize, item: usize, size: u64) -> Vec<u8> {
        let mut b = vec![0u8; len];
        b[..8].copy_from_slice(SIGNATURE);
        let t = REGION_TABLES[0];
        b[t..t + 4].copy_from_slice(REGION_SIGNATURE);
        b[t + 8..t + 12].copy_from_slice(&2u32.to_le_bytes());
        // A first, unrelated region entry, then the metadata one.
        b[t + 48..t + 64].copy_from_slice(&METADATA_REGION_GUID);
        b[t + 64..t + 72].copy_from_slice(&(meta as u64).to_le_bytes());
        b[meta..meta + 8].copy_from_slice(METADATA_SIGNATURE);
        b[meta + 10..meta + 12].copy_from_slice(&3u16.to_le_bytes());
        let e = meta + 32 + 2 * ENTRY_LEN;
        b[e..e + 16].copy_from_slice(&VIRTUAL_DISK_SIZE_GUID);
        b[e + 16..e + 20].copy_from_slice(&(item as u32).to_le_bytes());
        b[meta + item..meta + item + 8].copy_from_slice(&size.to_le_bytes());
        b
    }

    fn locate(bytes: &[u8], chunk: usize) -> Option<u64> {
        let head_len = crate::inspector::HEAD_LEN;
        let mut head = Vec::new();
        let mut locator = SizeLocator::new();
        let mut at = 0u64;
        for c in bytes.chunks(chunk) {
            let room = head_len - head.len();
            head.extend_from_slice(&c[..room.min(c.len())]);
            locator.feed(&head, c, at);
            at += c.len() as u64;
        }
        locator.finish(&head)
    }

    #[test]
    fn follows_the_chain_wherever_it_lies() {
        let mib = 1 << 20;
        for (meta, item) in [(0x5_0000, 0x1_0000), (mib - 0x100, 0x1_0000), (3 * mib, 0x1_0000), (3 * mib, 0x200)] {
            let bytes = image(4 * mib, meta, item, 0xabcd_0000);
            for chunk in [1, 511, 4096, 65537, 4 * mib] {
                assert_eq!(locate(&bytes, chunk), Some(0xabcd_0000), "meta {meta:#x} item {item:#x} chunk {chunk}");
            }
        }
        // A short stream that ends inside the head still resolves.
        assert_eq!(locate(&image(0x7_0000, 0x5_0000, 0x1_0000, 7), 333), Some(7));
    }

    #[test]
    fn items_inside_the_table_and_missing_references() {
        let mib = 1 << 20;
        // An item overlapping the metadata header resolves from the captured table:
        // bytes 8..16 hold the reserved field (0) and the entry count (3).
        let mut bytes = image(4 * mib, 3 * mib, 0x1_0000, 9);
        let e = 3 * mib + 32 + 2 * ENTRY_LEN;
        bytes[e + 16..e + 20].copy_from_slice(&8u32.to_le_bytes());
        assert_eq!(locate(&bytes, 4096), Some(3 << 16));
        // The metadata region lies beyond the end.
        assert_eq!(locate(&image(4 * mib, 3 * mib, 0x1_0000, 9)[..3 * mib + 100], 4096), None);
        // No metadata region entry.
        let mut no_region = image(2 * mib, 0x5_0000, 0x1_0000, 9);
        no_region[0x3_0030..0x3_0040].fill(0);
        assert_eq!(locate(&no_region, 4096), None);
    }
}
