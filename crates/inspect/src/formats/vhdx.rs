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
const METADATA_REGION_GUID: [u8; 16] = [
    0x06, 0xa2, 0x7c, 0x8b, 0x90, 0x47, 0x9a, 0x4b, 0xb8, 0xfe, 0x57, 0x5f, 0x05, 0x0f, 0x88, 0x6e,
];
/// 2FA54224-CD1B-4876-B211-5DBED83BF4B8, the "Virtual Disk Size" metadata item.
const VIRTUAL_DISK_SIZE_GUID: [u8; 16] = [
    0x24, 0x42, 0xa5, 0x2f, 0x1b, 0xcd, 0x76, 0x48, 0xb2, 0x11, 0x5d, 0xbe, 0xd8, 0x3b, 0xf4, 0xb8,
];

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
        SizeLocator {
            state: State::Start,
        }
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
            return u32_le(table, entry + 16)
                .map_or(Parse::Invalid, |o| Parse::Found(u64::from(o)));
        }
    }
    Parse::Invalid
}
