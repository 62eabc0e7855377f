//! A partitioned raw disk: an MBR boot signature (GPT disks carry a protective MBR).
//! Reported as `gpt`, like oslo.utils, and checked the same way: boot flags must be
//! 0x00/0x80, a protective (0xEE) entry must start at LBA 1 / CHS 0-2-0 and stand
//! alone, and at least one partition must exist. A FAT boot sector, which also ends
//! in 0x55AA, is not a partition table.

use super::Detection;
use crate::bytes::{has_at, u32_le};
use crate::DiskFormat;

const BOOT_SIGNATURE: [u8; 2] = [0x55, 0xaa];
const PARTITION_TABLE: usize = 446;
const GPT_PROTECTIVE: u8 = 0xee;
const FAT_MEDIA_FIXED_DISK: u8 = 0xf8;

pub(crate) fn probe(head: &[u8], total_len: u64) -> Option<Detection> {
    if !has_at(head, 510, &BOOT_SIGNATURE) || is_fat_boot_sector(head) {
        return None;
    }
    Some(Detection { format: DiskFormat::Gpt, virtual_size: Some(total_len), safety: check_partitions(head) })
}

fn is_fat_boot_sector(head: &[u8]) -> bool {
    head.get(0x10) == Some(&2) && head.get(0x15) == Some(&FAT_MEDIA_FIXED_DISK)
}

fn check_partitions(head: &[u8]) -> Result<(), String> {
    let mut used = Vec::new();
    let mut protective = false;
    for i in 0..4 {
        let entry = head.get(PARTITION_TABLE + 16 * i..PARTITION_TABLE + 16 * (i + 1)).ok_or("MBR is truncated")?;
        if entry[0] != 0x00 && entry[0] != 0x80 {
            return Err(format!("MBR PTE {i} has invalid boot flag"));
        }
        let os_type = entry[4];
        if os_type != 0 {
            used.push(i);
        }
        if os_type == GPT_PROTECTIVE {
            protective = true;
            if entry[1..4] != [0x00, 0x02, 0x00] {
                return Err("GPT MBR has invalid start CHS".into());
            }
            if u32_le(entry, 8) != Some(1) {
                return Err("GPT MBR has invalid start LBA".into());
            }
        }
    }
    if protective && used != [0] {
        return Err("GPT MBR defines invalid extra partitions".into());
    }
    if used.is_empty() {
        return Err("GPT MBR has no partitions defined".into());
    }
    Ok(())
}
