//! Glance's verdict on a declared `disk_format` against what the bytes are
//! (glance `location.py` with `require_image_format_match`, the default).

use crate::{DiskFormat, Inspection};

/// Can the inspector tell whether bytes are of this declared `disk_format`? Formats
/// it cannot (ami, ari, aki, ploop, anything unknown) accept raw-looking bytes.
pub fn is_inspectable(disk_format: &str) -> bool {
    DiskFormat::from_name(disk_format).is_some()
}

/// Apply Glance's rules to an upload declared as `declared`:
///
/// * detected == declared → the detected virtual size;
/// * bytes that are raw (or a raw partitioned disk) under a format the inspector
///   cannot check (ami, ari, aki, ploop, …) → accepted, no virtual size;
/// * declared `raw` but the bytes are a known format → accepted with the byte count
///   as virtual size, but that format's safety checks still apply;
/// * anything else → "Image disk_format X does not match stream data Y".
///
/// A failed safety check gives `Image failed safety checks: <reason>`. The `Ok`
/// value is the virtual size to record.
pub fn check_declared(declared: &str, inspection: &Inspection) -> Result<Option<u64>, String> {
    let detected = inspection.format;
    let safe = || inspection.safety.clone().map_err(|reason| format!("Image failed safety checks: {reason}"));
    if declared == detected.as_str() {
        safe()?;
        return Ok(inspection.virtual_size);
    }
    let raw_bytes = matches!(detected, DiskFormat::Raw | DiskFormat::Gpt);
    if raw_bytes && !is_inspectable(declared) {
        return Ok(None);
    }
    if declared == DiskFormat::Raw.as_str() {
        safe()?;
        return Ok(Some(inspection.byte_count));
    }
    Err(format!("Image disk_format {declared} does not match stream data {detected}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(format: DiskFormat, virtual_size: Option<u64>, safety: Result<(), &str>) -> Inspection {
        Inspection { format, virtual_size, safety: safety.map_err(str::to_string), byte_count: 1000 }
    }

    #[test]
    fn glance_rules() {
        let qcow2 = seen(DiskFormat::Qcow2, Some(1 << 30), Ok(()));
        assert_eq!(check_declared("qcow2", &qcow2), Ok(Some(1 << 30)));
        assert_eq!(check_declared("raw", &qcow2), Ok(Some(1000)));
        assert_eq!(check_declared("vmdk", &qcow2), Err("Image disk_format vmdk does not match stream data qcow2".into()));
        assert!(check_declared("ami", &qcow2).is_err());

        let backed = seen(DiskFormat::Qcow2, Some(1 << 30), Err("Image has a backing file"));
        let failed = Err("Image failed safety checks: Image has a backing file".to_string());
        assert_eq!(check_declared("qcow2", &backed), failed);
        assert_eq!(check_declared("raw", &backed), failed);

        let raw = seen(DiskFormat::Raw, Some(1000), Ok(()));
        assert_eq!(check_declared("raw", &raw), Ok(Some(1000)));
        for opaque in ["ami", "ari", "aki", "ploop", "something-else"] {
            assert_eq!(check_declared(opaque, &raw), Ok(None));
        }
        assert_eq!(check_declared("qcow2", &raw), Err("Image disk_format qcow2 does not match stream data raw".into()));

        let iso = seen(DiskFormat::Iso, Some(4096), Ok(()));
        assert_eq!(check_declared("iso", &iso), Ok(Some(4096)));
        assert_eq!(check_declared("raw", &iso), Ok(Some(1000)));

        let gpt = seen(DiskFormat::Gpt, Some(1000), Err("GPT MBR has no partitions defined"));
        assert_eq!(check_declared("ami", &gpt), Ok(None));
        assert!(check_declared("raw", &gpt).unwrap_err().starts_with("Image failed safety checks"));
        assert!(check_declared("vhd", &gpt).unwrap_err().contains("stream data gpt"));
    }

    #[test]
    fn names_round_trip() {
        for f in DiskFormat::ALL {
            assert_eq!(DiskFormat::from_name(f.as_str()), Some(f));
        }
        assert_eq!(DiskFormat::from_name("ami"), None);
    }
}
