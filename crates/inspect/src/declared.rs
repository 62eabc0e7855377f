//! The one verdict on uploaded bytes: are they safe to hand to a hypervisor, and
//! are they what the image declares? Glance's rules (glance `location.py` with
//! `require_image_format_match`, the default), with one deliberate difference:
//! the safety checks run whatever the `container_format`, because a qcow2 with a
//! backing file is as dangerous inside an `ovf` or `docker` image as in a `bare`
//! one (CVE-2022-47951, CVE-2024-32498).

use std::fmt;

use crate::{DiskFormat, Inspection};

/// Why bytes are refused. `Display` gives Glance's wording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The detected format failed its safety checks (backing file, external data
    /// file, unknown features, an extent outside the image, a disguised image…).
    Unsafe { format: DiskFormat, reason: String },
    /// The bytes are not the declared `disk_format` (only decided for `bare`).
    Mismatch { declared: String, detected: DiskFormat },
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Unsafe { reason, .. } => write!(f, "Image failed safety checks: {reason}"),
            Refusal::Mismatch { declared, detected } => write!(f, "Image disk_format {declared} does not match stream data {detected}"),
        }
    }
}

impl std::error::Error for Refusal {}

/// Can the inspector tell whether bytes are of this declared `disk_format`? Formats
/// it cannot (ami, ari, aki, ploop, anything unknown) accept raw-looking bytes.
pub fn is_inspectable(disk_format: &str) -> bool {
    DiskFormat::from_name(disk_format).is_some()
}

/// Containers whose payload is the disk image itself, so the bytes must be the
/// declared `disk_format`. Every other container (`ovf`, `ova`, `docker`,
/// `compressed`, `ami`, `ari`, `aki`) wraps or describes the disk, as Glance sees
/// it, and only the safety checks apply.
pub fn container_holds_bare_disk(container_format: &str) -> bool {
    container_format == "bare"
}

/// The safety checks alone, for bytes whose declared format is not known yet
/// (glance-direct staging).
pub fn check_safety(inspection: &Inspection) -> Result<(), Refusal> {
    inspection.safety.clone().map_err(|reason| Refusal::Unsafe { format: inspection.format, reason })
}

/// The whole verdict on bytes stored for an image with these formats; `Ok` holds
/// the virtual size to record (only for `bare`, as Glance records it).
///
/// 1. The safety checks of whatever format the bytes are run first, for every
///    container.
/// 2. For `bare`, the bytes must match `disk_format` ([`check_declared`]).
pub fn judge(container_format: &str, disk_format: &str, inspection: &Inspection) -> Result<Option<u64>, Refusal> {
    check_safety(inspection)?;
    if container_holds_bare_disk(container_format) {
        check_declared(disk_format, inspection)
    } else {
        Ok(None)
    }
}

/// Glance's match rule for a `bare` image declared as `declared`:
///
/// * detected == declared → the detected virtual size;
/// * bytes that are raw (or a raw partitioned disk) under a format the inspector
///   cannot check (ami, ari, aki, ploop, …) → accepted, no virtual size;
/// * declared `raw` but the bytes are a known format → accepted with the byte count
///   as virtual size (that format's safety checks still apply);
/// * anything else → [`Refusal::Mismatch`].
///
/// Safety is checked here too, so this alone never accepts unsafe bytes.
pub fn check_declared(declared: &str, inspection: &Inspection) -> Result<Option<u64>, Refusal> {
    check_safety(inspection)?;
    let detected = inspection.format;
    if declared == detected.as_str() {
        return Ok(inspection.virtual_size);
    }
    let raw_bytes = matches!(detected, DiskFormat::Raw | DiskFormat::Gpt);
    if raw_bytes && !is_inspectable(declared) {
        return Ok(None);
    }
    if declared == DiskFormat::Raw.as_str() {
        return Ok(Some(inspection.byte_count));
    }
    Err(Refusal::Mismatch { declared: declared.to_string(), detected })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(format: DiskFormat, virtual_size: Option<u64>, safety: Result<(), &str>) -> Inspection {
        Inspection { format, virtual_size, safety: safety.map_err(str::to_string), byte_count: 1000 }
    }

    fn said(r: Result<Option<u64>, Refusal>) -> Result<Option<u64>, String> {
        r.map_err(|e| e.to_string())
    }

    #[test]
    fn glance_rules() {
        let qcow2 = seen(DiskFormat::Qcow2, Some(1 << 30), Ok(()));
        assert_eq!(check_declared("qcow2", &qcow2), Ok(Some(1 << 30)));
        assert_eq!(check_declared("raw", &qcow2), Ok(Some(1000)));
        assert_eq!(said(check_declared("vmdk", &qcow2)), Err("Image disk_format vmdk does not match stream data qcow2".into()));
        assert!(check_declared("ami", &qcow2).is_err());

        let backed = seen(DiskFormat::Qcow2, Some(1 << 30), Err("Image has a backing file"));
        let failed = Err("Image failed safety checks: Image has a backing file".to_string());
        assert_eq!(said(check_declared("qcow2", &backed)), failed);
        assert_eq!(said(check_declared("raw", &backed)), failed);
        assert_eq!(said(check_declared("ami", &backed)), failed);

        let raw = seen(DiskFormat::Raw, Some(1000), Ok(()));
        assert_eq!(check_declared("raw", &raw), Ok(Some(1000)));
        for opaque in ["ami", "ari", "aki", "ploop", "something-else"] {
            assert_eq!(check_declared(opaque, &raw), Ok(None));
        }
        assert_eq!(said(check_declared("qcow2", &raw)), Err("Image disk_format qcow2 does not match stream data raw".into()));

        let iso = seen(DiskFormat::Iso, Some(4096), Ok(()));
        assert_eq!(check_declared("iso", &iso), Ok(Some(4096)));
        assert_eq!(check_declared("raw", &iso), Ok(Some(1000)));

        let gpt = seen(DiskFormat::Gpt, Some(1000), Err("GPT MBR has no partitions defined"));
        assert!(said(check_declared("raw", &gpt)).unwrap_err().starts_with("Image failed safety checks"));
        assert!(matches!(check_declared("vhd", &gpt), Err(Refusal::Unsafe { .. })));
    }

    #[test]
    fn safety_applies_to_every_container_and_match_only_to_bare() {
        let backed = seen(DiskFormat::Qcow2, Some(1 << 30), Err("Image has a backing file"));
        let clean = seen(DiskFormat::Qcow2, Some(1 << 30), Ok(()));
        for container in ["bare", "ovf", "ova", "ami", "ari", "aki", "docker", "compressed"] {
            for declared in ["qcow2", "raw", "vmdk", "ami"] {
                assert_eq!(
                    judge(container, declared, &backed),
                    Err(Refusal::Unsafe { format: DiskFormat::Qcow2, reason: "Image has a backing file".into() }),
                    "{container}/{declared}"
                );
            }
            let expected = if container == "bare" { Some(1 << 30) } else { None };
            assert_eq!(judge(container, "qcow2", &clean), Ok(expected), "{container}");
        }
        // An archive's bytes are not the declared disk, and need not be.
        let tarball = seen(DiskFormat::Raw, Some(1000), Ok(()));
        for container in ["ova", "docker", "compressed", "ovf"] {
            assert_eq!(judge(container, "vmdk", &tarball), Ok(None));
        }
        assert!(matches!(judge("bare", "vmdk", &tarball), Err(Refusal::Mismatch { .. })));
    }

    #[test]
    fn names_round_trip() {
        for f in DiskFormat::ALL {
            assert_eq!(DiskFormat::from_name(f.as_str()), Some(f));
        }
        assert_eq!(DiskFormat::from_name("ami"), None);
    }
}
