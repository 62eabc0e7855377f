//! Bounds-checked little/big-endian field readers: every read of an untrusted header
//! goes through these, so a short or hostile buffer yields `None` instead of a panic.

fn array<const N: usize>(buf: &[u8], offset: usize) -> Option<[u8; N]> {
    let end = offset.checked_add(N)?;
    buf.get(offset..end)?.try_into().ok()
}

pub(crate) fn u16_le(buf: &[u8], offset: usize) -> Option<u16> {
    array(buf, offset).map(u16::from_le_bytes)
}

pub(crate) fn u16_be(buf: &[u8], offset: usize) -> Option<u16> {
    array(buf, offset).map(u16::from_be_bytes)
}

pub(crate) fn u32_le(buf: &[u8], offset: usize) -> Option<u32> {
    array(buf, offset).map(u32::from_le_bytes)
}

pub(crate) fn u32_be(buf: &[u8], offset: usize) -> Option<u32> {
    array(buf, offset).map(u32::from_be_bytes)
}

pub(crate) fn u64_le(buf: &[u8], offset: usize) -> Option<u64> {
    array(buf, offset).map(u64::from_le_bytes)
}

pub(crate) fn u64_be(buf: &[u8], offset: usize) -> Option<u64> {
    array(buf, offset).map(u64::from_be_bytes)
}

/// Does `buf` hold `magic` at `offset`?
pub(crate) fn has_at(buf: &[u8], offset: usize, magic: &[u8]) -> bool {
    offset.checked_add(magic.len()).and_then(|end| buf.get(offset..end)).is_some_and(|found| found == magic)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_bounds_checked() {
        let buf = [1u8, 2, 3, 4, 5, 6, 7, 8];
        assert_eq!(u32_le(&buf, 0), Some(0x0403_0201));
        assert_eq!(u32_be(&buf, 4), Some(0x0506_0708));
        assert_eq!(u64_be(&buf, 0), Some(0x0102_0304_0506_0708));
        assert_eq!(u64_le(&buf, 1), None);
        assert_eq!(u16_le(&buf, usize::MAX), None);
        assert!(has_at(&buf, 6, &[7, 8]));
        assert!(!has_at(&buf, 7, &[8, 9]));
        assert!(!has_at(&buf, usize::MAX, &[1]));
    }
}
