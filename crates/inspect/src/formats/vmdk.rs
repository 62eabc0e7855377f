//! VMware VMDK, in its two single-stream shapes:
//!
//! * a hosted sparse extent (`KDMV` header, monolithicSparse or streamOptimized) with
//!   an embedded text descriptor at sector 1;
//! * a bare text descriptor file (monolithicFlat and friends), which points at other
//!   files and is therefore refused.
//!
//! Safety follows oslo.utils: every descriptor line must be understood, `createType`
//! must be monolithicSparse or streamOptimized, extents must not contain `/`, and
//! there must be at least one extent. On top of that, a `parentFileNameHint` (qemu
//! follows it as a backing file) is refused. A stream-optimized image whose grain
//! directory is at the end is checked against its footer, as oslo.utils does.

use super::Detection;
use crate::bytes::{has_at, u32_le, u64_le};
use crate::DiskFormat;

const SPARSE_MAGIC: &[u8] = b"KDMV";
const SECTOR: u64 = 512;
const CAPACITY: usize = 12;
const DESCRIPTOR_SECTOR: usize = 28;
const DESCRIPTOR_SECTORS: usize = 36;
const GD_OFFSET: usize = 56;
/// The only embedded-descriptor location qemu and oslo.utils accept.
const DESCRIPTOR_OFFSET: usize = 0x200;
/// qemu reads at most this much descriptor text.
pub(crate) const DESCRIPTOR_MAX: usize = (1 << 20) - 1;
const GD_AT_END: u64 = u64::MAX;
const MARKER_EOS: u32 = 0;
const MARKER_FOOTER: u32 = 3;
const ALLOWED_CREATE_TYPES: [&str; 2] = ["monolithicSparse", "streamOptimized"];
const TRUNCATED: &str = "VMDK header is truncated";
const INVALID_DESCRIPTOR: &str = "Invalid VMDK descriptor data";

pub(crate) fn probe(head: &[u8], tail: &[u8]) -> Option<Detection> {
    if has_at(head, 0, SPARSE_MAGIC) {
        Some(sparse(head, tail))
    } else if looks_like_descriptor(head) {
        let text = descriptor_text(head);
        Some(Detection {
            format: DiskFormat::Vmdk,
            virtual_size: text.as_deref().ok().and_then(extents_size),
            safety: text.and_then(check_descriptor),
        })
    } else {
        None
    }
}

fn sparse(head: &[u8], tail: &[u8]) -> Detection {
    let footer = (u64_le(head, GD_OFFSET) == Some(GD_AT_END)).then(|| footer_header(tail)).flatten();
    let capacity = u64_le(footer.unwrap_or(head), CAPACITY);
    Detection {
        format: DiskFormat::Vmdk,
        virtual_size: capacity.and_then(|sectors| sectors.checked_mul(SECTOR)),
        safety: sparse_safety(head, tail),
    }
}

fn sparse_safety(head: &[u8], tail: &[u8]) -> Result<(), String> {
    let version = u32_le(head, 4).ok_or(TRUNCATED)?;
    if !(1..=3).contains(&version) {
        return Err(format!("Unsupported VMDK version {version}"));
    }
    let descriptor_sector = u64_le(head, DESCRIPTOR_SECTOR).ok_or(TRUNCATED)?;
    let descriptor_sectors = u64_le(head, DESCRIPTOR_SECTORS).ok_or(TRUNCATED)?;
    let gd_offset = u64_le(head, GD_OFFSET).ok_or(TRUNCATED)?;
    if descriptor_sector.checked_mul(SECTOR) != Some(DESCRIPTOR_OFFSET as u64) {
        return Err("Wrong VMDK descriptor location".into());
    }
    if gd_offset == GD_AT_END {
        check_footer(head, tail)?;
    }
    // Bounded by DESCRIPTOR_MAX, so the cast cannot truncate.
    let len = descriptor_sectors.saturating_mul(SECTOR).min(DESCRIPTOR_MAX as u64) as usize;
    let descriptor = head.get(DESCRIPTOR_OFFSET..DESCRIPTOR_OFFSET + len).ok_or("VMDK descriptor is truncated")?;
    check_descriptor(descriptor_text(descriptor)?)
}

/// The sparse header repeated in the footer of a stream-optimized image: the last
/// 1536 bytes are a footer marker, the footer header and an end-of-stream marker.
fn footer_header(tail: &[u8]) -> Option<&[u8]> {
    let start = tail.len().checked_sub(1536)?;
    tail.get(start + 512..start + 1024)
}

fn check_footer(head: &[u8], tail: &[u8]) -> Result<(), String> {
    let start = tail.len().checked_sub(1536).ok_or("VMDK footer is missing")?;
    let footer_marker = &tail[start..start + 512];
    let footer = &tail[start + 512..start + 1024];
    let eos_marker = &tail[start + 1024..];
    if !has_at(footer, 0, SPARSE_MAGIC) {
        return Err("Header and footer signature do not match".into());
    }
    if u32_le(footer, 4) != u32_le(head, 4) {
        return Err("Header and footer versions do not match".into());
    }
    if u64_le(footer, DESCRIPTOR_SECTOR) != u64_le(head, DESCRIPTOR_SECTOR)
        || u64_le(footer, DESCRIPTOR_SECTORS) != u64_le(head, DESCRIPTOR_SECTORS)
    {
        return Err("Footer specifies a different descriptor than header".into());
    }
    if u64_le(footer, GD_OFFSET) == Some(GD_AT_END) {
        return Err("Footer indicates another footer".into());
    }
    let marker_ok = |marker: &[u8], kind: u32, value_may_be_set: bool| {
        (value_may_be_set || u64_le(marker, 0) == Some(0))
            && u32_le(marker, 8) == Some(0)
            && u32_le(marker, 12) == Some(kind)
            && marker[16..].iter().all(|&b| b == 0)
    };
    if !marker_ok(footer_marker, MARKER_FOOTER, true) {
        return Err("Footer marker is invalid".into());
    }
    if !marker_ok(eos_marker, MARKER_EOS, false) {
        return Err("End-of-stream marker is invalid".into());
    }
    Ok(())
}

/// Would qemu (or oslo.utils) take this stream for a text descriptor?
fn looks_like_descriptor(head: &[u8]) -> bool {
    qemu_probes_descriptor(&head[..head.len().min(2048)]) || oslo_sees_descriptor(head)
}

/// qemu's `vmdk_probe` on text: comment and blank lines may precede a `version=N` line.
fn qemu_probes_descriptor(buf: &[u8]) -> bool {
    let mut p = 0;
    while p < buf.len() {
        match buf[p] {
            b'#' => {
                while p < buf.len() && buf[p] != b'\n' {
                    p += 1;
                }
                p += 1;
            }
            b' ' => {
                while p < buf.len() && buf[p] == b' ' {
                    p += 1;
                }
                if p < buf.len() && buf[p] == b'\r' {
                    p += 1;
                }
                if p == buf.len() || buf[p] != b'\n' {
                    return false;
                }
                p += 1;
            }
            _ => {
                let rest = &buf[p..];
                return [b'1', b'2', b'3'].iter().any(|v| {
                    let line = [b"version=".as_slice(), &[*v]].concat();
                    rest.starts_with(&line) && (rest[line.len()..].starts_with(b"\n") || rest[line.len()..].starts_with(b"\r\n"))
                });
            }
        }
    }
    false
}

/// oslo.utils: a first sector of printable ASCII whose text declares a `createType`.
fn oslo_sees_descriptor(head: &[u8]) -> bool {
    let first = &head[..head.len().min(512)];
    !first.is_empty()
        && first.iter().all(|&b| b.is_ascii_graphic() || b.is_ascii_whitespace())
        && descriptor_text(head).map(|text| text.to_ascii_lowercase().contains("createtype=\"")).unwrap_or(false)
}

/// The descriptor as text: up to the first NUL (sectors are zero-padded) and at most
/// what qemu would read; it must be ASCII.
fn descriptor_text(bytes: &[u8]) -> Result<&str, String> {
    let bytes = &bytes[..bytes.len().min(DESCRIPTOR_MAX)];
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    let text = &bytes[..end];
    if !text.is_ascii() {
        return Err(INVALID_DESCRIPTOR.into());
    }
    std::str::from_utf8(text).map_err(|_| INVALID_DESCRIPTOR.to_string())
}

enum Line<'a> {
    Field { key: &'a str, value: &'a str },
    Extent(&'a str),
}

/// Each line must be a comment, a `ddb` entry, a `key=value` field or an extent;
/// anything else rejects the descriptor.
fn parse_lines(text: &str) -> Result<Vec<Line<'_>>, String> {
    let mut lines = Vec::new();
    for line in text.split('\n').map(str::trim) {
        let lower_first_word = line.split(' ').next().unwrap_or("").to_ascii_lowercase();
        if line.is_empty() || line.starts_with('#') || line.to_ascii_lowercase().starts_with("ddb") {
            continue;
        } else if let Some((key, value)) = line.split_once('=').filter(|(key, _)| !key.contains(' ')) {
            lines.push(Line::Field { key, value: value.trim().trim_matches('"') });
        } else if ["rw", "rdonly", "noaccess"].contains(&lower_first_word.as_str()) {
            lines.push(Line::Extent(line));
        } else {
            return Err(INVALID_DESCRIPTOR.into());
        }
    }
    Ok(lines)
}

fn check_descriptor(text: &str) -> Result<(), String> {
    let lines = parse_lines(text)?;
    let field = |name: &str| {
        lines.iter().find_map(|l| match l {
            Line::Field { key, value } if key.eq_ignore_ascii_case(name) => Some(*value),
            _ => None,
        })
    };
    match field("createType") {
        None => return Err("VMDK descriptor has no createType".into()),
        Some(t) if !ALLOWED_CREATE_TYPES.iter().any(|a| a.eq_ignore_ascii_case(t)) => {
            let shown: String = t.chars().take(64).collect();
            return Err(format!("Unsupported VMDK subformat {shown}"));
        }
        Some(_) => {}
    }
    if field("parentFileNameHint").is_some_and(|hint| !hint.is_empty()) {
        return Err("Image has a parent (parentFileNameHint)".into());
    }
    let extents: Vec<&str> = lines
        .iter()
        .filter_map(|l| match l {
            Line::Extent(e) => Some(*e),
            Line::Field { .. } => None,
        })
        .collect();
    if extents.iter().any(|e| e.contains('/')) {
        return Err("Invalid extent filenames found".into());
    }
    if extents.is_empty() {
        return Err("No extents found".into());
    }
    Ok(())
}

/// The size a descriptor file describes: the sum of its extents' sector counts.
fn extents_size(text: &str) -> Option<u64> {
    let lines = parse_lines(text).ok()?;
    let mut total: u64 = 0;
    let mut any = false;
    for line in lines {
        if let Line::Extent(extent) = line {
            let sectors: u64 = extent.split_whitespace().nth(1)?.parse().ok()?;
            total = total.checked_add(sectors.checked_mul(SECTOR)?)?;
            any = true;
        }
    }
    any.then_some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn descriptor_file(create_type: &str, extent: &str) -> Vec<u8> {
        format!(
            "# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\ncreateType=\"{create_type}\"\n\n# Extent description\n{extent}\n\nddb.virtualHWVersion = \"4\"\n"
        )
        .into_bytes()
    }

    #[test]
    fn descriptor_files_are_recognised_and_checked() {
        let flat = probe(&descriptor_file("monolithicFlat", "RW 2048 FLAT \"a-flat.vmdk\" 0"), &[]).unwrap();
        assert_eq!(flat.format, DiskFormat::Vmdk);
        assert_eq!(flat.virtual_size, Some(2048 * 512));
        assert_eq!(flat.safety.unwrap_err(), "Unsupported VMDK subformat monolithicFlat");

        let escape = probe(&descriptor_file("monolithicSparse", "RW 2048 SPARSE \"/etc/passwd\""), &[]).unwrap();
        assert_eq!(escape.safety.unwrap_err(), "Invalid extent filenames found");

        let none = probe(&descriptor_file("streamOptimized", ""), &[]).unwrap();
        assert_eq!(none.safety.unwrap_err(), "No extents found");

        let ok = probe(&descriptor_file("streamOptimized", "RW 8 SPARSE \"x.vmdk\""), &[]).unwrap();
        assert_eq!(ok.safety, Ok(()));

        let mut parent = descriptor_file("monolithicSparse", "RW 8 SPARSE \"x.vmdk\"");
        parent.extend_from_slice(b"parentFileNameHint=\"base.vmdk\"\n");
        assert!(probe(&parent, &[]).unwrap().safety.unwrap_err().contains("parent"));

        let mut junk = descriptor_file("monolithicSparse", "RW 8 SPARSE \"x.vmdk\"");
        junk.extend_from_slice(b"what is this\n");
        assert_eq!(probe(&junk, &[]).unwrap().safety.unwrap_err(), INVALID_DESCRIPTOR);
    }

    #[test]
    fn ordinary_text_is_not_a_descriptor() {
        assert!(probe(b"hello world\nversion=1 is great\n", &[]).is_none());
        assert!(probe(b"", &[]).is_none());
        assert!(probe(b"version=1\n", &[]).is_some());
        assert!(probe(b"# c\n   \r\nversion=2\r\n", &[]).is_some());
    }
}
