//! Real images made by `qemu-img create` at test time, fed to the inspector in odd
//! chunk sizes: the detected format and virtual size must be what
//! `qemu-img info --output=json` reports, and the unsafe variants must be refused.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;

use imagery_inspect::{DiskFormat, Inspection, Inspector};

/// Glance's verdict on `bare` bytes declared as `declared`, in Glance's words.
fn check_declared(declared: &str, seen: &Inspection) -> Result<Option<u64>, String> {
    imagery_inspect::check_declared(declared, seen).map_err(|refusal| refusal.to_string())
}

const CHUNK_SIZES: [usize; 4] = [1, 7, 4096, 65537];

fn qemu_img(args: &[&str], dir: &Path) {
    let out = Command::new("qemu-img").args(args).current_dir(dir).output().expect("qemu-img must be installed to run these tests");
    assert!(out.status.success(), "qemu-img {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// `(format, virtual-size)` as qemu sees the file, probing or with a forced format.
fn qemu_info(path: &Path, forced_format: Option<&str>) -> (String, u64) {
    let mut cmd = Command::new("qemu-img");
    cmd.args(["info", "--output=json"]);
    if let Some(f) = forced_format {
        cmd.args(["-f", f]);
    }
    let out = cmd.arg(path).output().expect("qemu-img info");
    assert!(out.status.success(), "qemu-img info: {}", String::from_utf8_lossy(&out.stderr));
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).expect("qemu-img json");
    let format = info["format"].as_str().expect("format").to_string();
    let size = info["virtual-size"].as_u64().expect("virtual-size");
    (format, size)
}

/// Inspect `bytes` with every chunk size; all must agree.
fn inspect(bytes: &[u8]) -> Inspection {
    let mut results = CHUNK_SIZES.iter().map(|&size| {
        let mut inspector = Inspector::new();
        for chunk in bytes.chunks(size) {
            inspector.feed(chunk);
        }
        inspector.finish(bytes.len() as u64)
    });
    let first = results.next().expect("at least one chunk size");
    for (other, size) in results.zip(&CHUNK_SIZES[1..]) {
        assert_eq!(other, first, "chunk size {size} disagrees");
    }
    first
}

struct Fixtures {
    dir: tempfile::TempDir,
}

impl Fixtures {
    fn new() -> Self {
        Fixtures { dir: tempfile::tempdir().expect("tempdir") }
    }

    fn create(&self, name: &str, args: &[&str]) -> PathBuf {
        let mut full = vec!["create", "-q"];
        full.extend_from_slice(args);
        full.push(name);
        // The size comes last in qemu-img's argument order.
        let size = full.remove(full.len() - 2);
        full.push(size);
        qemu_img(&full, self.dir.path());
        self.dir.path().join(name)
    }
}

/// Create `name` with `args` (ending in the size), inspect it and compare with qemu.
fn check_against_qemu(fx: &Fixtures, name: &str, args: &[&str], qemu_format: &str, ours: DiskFormat) -> Inspection {
    let path = fx.create(name, args);
    let bytes = std::fs::read(&path).expect("read fixture");
    let inspection = inspect(&bytes);
    let (format, virtual_size) = qemu_info(&path, Some(qemu_format));
    assert_eq!(format, qemu_format);
    assert_eq!(inspection.format, ours, "{name}");
    assert_eq!(inspection.virtual_size, Some(virtual_size), "{name}");
    assert_eq!(inspection.byte_count, bytes.len() as u64);
    inspection
}

#[test]
fn qcow2_plain_backing_and_data_file() {
    let fx = Fixtures::new();
    let plain = check_against_qemu(&fx, "plain.qcow2", &["-f", "qcow2", "100M"], "qcow2", DiskFormat::Qcow2);
    assert_eq!(plain.safety, Ok(()));
    assert_eq!(check_declared("qcow2", &plain), Ok(Some(100 << 20)));
    assert_eq!(check_declared("raw", &plain), Ok(Some(plain.byte_count)));
    assert_eq!(check_declared("vmdk", &plain), Err("Image disk_format vmdk does not match stream data qcow2".into()));

    let v2 = check_against_qemu(&fx, "v2.qcow2", &["-f", "qcow2", "-o", "compat=0.10", "3M"], "qcow2", DiskFormat::Qcow2);
    assert_eq!(v2.safety, Ok(()));

    let backed =
        check_against_qemu(&fx, "backed.qcow2", &["-f", "qcow2", "-b", "plain.qcow2", "-F", "qcow2", "100M"], "qcow2", DiskFormat::Qcow2);
    assert_eq!(backed.safety, Err("Image has a backing file".into()));
    for declared in ["qcow2", "raw"] {
        assert_eq!(check_declared(declared, &backed), Err("Image failed safety checks: Image has a backing file".into()));
    }

    let external =
        check_against_qemu(&fx, "external.qcow2", &["-f", "qcow2", "-o", "data_file=external.data", "64M"], "qcow2", DiskFormat::Qcow2);
    assert_eq!(external.safety, Err("Image has data_file set".into()));
    assert!(check_declared("raw", &external).is_err());
}

#[test]
fn vmdk_sparse_stream_optimized_and_flat_descriptor() {
    let fx = Fixtures::new();
    for (name, subformat) in [("sparse.vmdk", "monolithicSparse"), ("stream.vmdk", "streamOptimized")] {
        let option = format!("subformat={subformat}");
        let seen = check_against_qemu(&fx, name, &["-f", "vmdk", "-o", &option, "50M"], "vmdk", DiskFormat::Vmdk);
        assert_eq!(seen.safety, Ok(()), "{subformat}");
        assert_eq!(check_declared("vmdk", &seen), Ok(Some(50 << 20)));
    }

    // monolithicFlat: the upload is the descriptor file, pointing at another file.
    let flat = check_against_qemu(&fx, "flat.vmdk", &["-f", "vmdk", "-o", "subformat=monolithicFlat", "10M"], "vmdk", DiskFormat::Vmdk);
    assert_eq!(flat.safety, Err("Unsupported VMDK subformat monolithicFlat".into()));
    assert_eq!(check_declared("vmdk", &flat), Err("Image failed safety checks: Unsupported VMDK subformat monolithicFlat".into()));

    // The same descriptor claiming an allowed type but reaching outside the image.
    let text = std::fs::read_to_string(fx.dir.path().join("flat.vmdk")).expect("descriptor");
    let hostile = text.replace("monolithicFlat", "monolithicSparse").replace("\"flat-flat.vmdk\"", "\"/etc/shadow\"");
    assert_ne!(hostile, text);
    let seen = inspect(hostile.as_bytes());
    assert_eq!(seen.format, DiskFormat::Vmdk);
    assert_eq!(seen.safety, Err("Invalid extent filenames found".into()));
}

/// A stream-optimized VMDK as VMware writes it: the grain directory offset in the
/// header is "at end", and the real header follows in a footer before the
/// end-of-stream marker. qemu does not write this shape, so build it from its output.
#[test]
fn vmdk_stream_optimized_with_footer() {
    let fx = Fixtures::new();
    let path = fx.create("stream.vmdk", &["-f", "vmdk", "-o", "subformat=streamOptimized", "20M"]);
    let original = std::fs::read(&path).expect("read");
    let mut bytes = original.clone();
    bytes[56..64].copy_from_slice(&u64::MAX.to_le_bytes());
    let mut footer_marker = vec![0u8; 512];
    footer_marker[12..16].copy_from_slice(&3u32.to_le_bytes());
    bytes.extend_from_slice(&footer_marker);
    bytes.extend_from_slice(&original[..512]);
    bytes.extend_from_slice(&[0u8; 512]);
    let seen = inspect(&bytes);
    assert_eq!(seen.format, DiskFormat::Vmdk);
    assert_eq!(seen.virtual_size, Some(20 << 20));
    assert_eq!(seen.safety, Ok(()));

    let mut no_eos = bytes.clone();
    let last = no_eos.len() - 1;
    no_eos[last] = 1;
    assert_eq!(inspect(&no_eos).safety, Err("End-of-stream marker is invalid".into()));
    let mut footer_says_footer = bytes.clone();
    let footer_gd = bytes.len() - 1024 + 56;
    footer_says_footer[footer_gd..footer_gd + 8].copy_from_slice(&u64::MAX.to_le_bytes());
    assert_eq!(inspect(&footer_says_footer).safety, Err("Footer indicates another footer".into()));
}

#[test]
fn vhd_fixed_and_dynamic() {
    let fx = Fixtures::new();
    for subformat in ["fixed", "dynamic"] {
        let name = format!("{subformat}.vhd");
        let option = format!("subformat={subformat}");
        let seen = check_against_qemu(&fx, &name, &["-f", "vpc", "-o", &option, "3M"], "vpc", DiskFormat::Vhd);
        assert_eq!(seen.safety, Ok(()), "{subformat}");
        assert_eq!(check_declared("vhd", &seen), Ok(seen.virtual_size));
        assert!(check_declared("vhdx", &seen).is_err());
    }
}

#[test]
fn vhdx_vdi_and_raw() {
    let fx = Fixtures::new();
    let vhdx = check_against_qemu(&fx, "disk.vhdx", &["-f", "vhdx", "100M"], "vhdx", DiskFormat::Vhdx);
    assert_eq!(vhdx.safety, Ok(()));
    let vdi = check_against_qemu(&fx, "disk.vdi", &["-f", "vdi", "30M"], "vdi", DiskFormat::Vdi);
    assert_eq!(vdi.safety, Ok(()));
    let raw = check_against_qemu(&fx, "disk.raw", &["-f", "raw", "1M"], "raw", DiskFormat::Raw);
    assert_eq!(raw.safety, Ok(()));
    assert_eq!(check_declared("raw", &raw), Ok(Some(1 << 20)));
    assert_eq!(check_declared("ami", &raw), Ok(None));
    assert!(check_declared("vdi", &raw).is_err());
}

fn both_endian_u32(v: u32) -> [u8; 8] {
    let mut out = [0u8; 8];
    out[..4].copy_from_slice(&v.to_le_bytes());
    out[4..].copy_from_slice(&v.to_be_bytes());
    out
}

/// A minimal ISO 9660 image: system area, optional boot record, primary volume
/// descriptor, terminator, then zero sectors up to `sectors`.
fn iso_image(sectors: u32, boot_record: bool) -> Vec<u8> {
    let mut image = vec![0u8; sectors as usize * 2048];
    let mut at = 16 * 2048;
    let mut descriptor = |kind: u8, image: &mut Vec<u8>| {
        image[at] = kind;
        image[at + 1..at + 6].copy_from_slice(b"CD001");
        image[at + 6] = 1;
        at += 2048;
        at - 2048
    };
    if boot_record {
        descriptor(0, &mut image);
    }
    let pvd = descriptor(1, &mut image);
    image[pvd + 80..pvd + 88].copy_from_slice(&both_endian_u32(sectors));
    image[pvd + 128..pvd + 130].copy_from_slice(&2048u16.to_le_bytes());
    image[pvd + 130..pvd + 132].copy_from_slice(&2048u16.to_be_bytes());
    descriptor(255, &mut image);
    image
}

#[test]
fn iso9660_built_by_hand() {
    let fx = Fixtures::new();
    for boot_record in [false, true] {
        let image = iso_image(64, boot_record);
        let path = fx.dir.path().join("disc.iso");
        std::fs::write(&path, &image).expect("write iso");
        // qemu has no ISO driver: it reads the image as raw, of the same size.
        let (_, qemu_size) = qemu_info(&path, None);
        let seen = inspect(&image);
        assert_eq!(seen.format, DiskFormat::Iso);
        assert_eq!(seen.virtual_size, Some(qemu_size));
        assert_eq!(check_declared("iso", &seen), Ok(Some(qemu_size)));
        assert_eq!(check_declared("raw", &seen), Ok(Some(image.len() as u64)));
        assert!(check_declared("qcow2", &seen).is_err());
    }

    // A hybrid ISO also carries an MBR: still an ISO.
    let mut hybrid = iso_image(64, false);
    hybrid[446 + 4] = 0x17;
    hybrid[510..512].copy_from_slice(&[0x55, 0xaa]);
    assert_eq!(inspect(&hybrid).format, DiskFormat::Iso);
}

#[test]
fn disguised_images_are_refused() {
    let fx = Fixtures::new();
    let path = fx.create("plain.qcow2", &["-f", "qcow2", "10M"]);
    let mut bytes = std::fs::read(&path).expect("read");
    bytes[0x8001..0x8006].copy_from_slice(b"CD001");
    let seen = inspect(&bytes);
    assert_eq!(seen.format, DiskFormat::Qcow2);
    assert_eq!(seen.safety, Err("Multiple formats detected: qcow2, iso".into()));
    assert!(check_declared("iso", &seen).is_err());
    assert!(check_declared("qcow2", &seen).is_err());
}

#[test]
fn partitioned_raw_disk_is_gpt() {
    let mut disk = vec![0u8; 1 << 20];
    let entry = 446;
    disk[entry + 1..entry + 4].copy_from_slice(&[0x00, 0x02, 0x00]);
    disk[entry + 4] = 0xee;
    disk[entry + 8..entry + 12].copy_from_slice(&1u32.to_le_bytes());
    disk[entry + 12..entry + 16].copy_from_slice(&2047u32.to_le_bytes());
    disk[510..512].copy_from_slice(&[0x55, 0xaa]);
    disk[512..520].copy_from_slice(b"EFI PART");
    let seen = inspect(&disk);
    assert_eq!(seen.format, DiskFormat::Gpt);
    assert_eq!(seen.safety, Ok(()));
    assert_eq!(check_declared("raw", &seen), Ok(Some(1 << 20)));

    disk[entry] = 0x42;
    let bad = inspect(&disk);
    assert_eq!(bad.safety, Err("MBR PTE 0 has invalid boot flag".into()));
    assert!(check_declared("raw", &bad).is_err());
}

#[test]
fn truncated_fixtures_never_panic() {
    let fx = Fixtures::new();
    let fixtures = [
        fx.create("a.qcow2", &["-f", "qcow2", "10M"]),
        fx.create("a.vmdk", &["-f", "vmdk", "10M"]),
        fx.create("s.vmdk", &["-f", "vmdk", "-o", "subformat=streamOptimized", "10M"]),
        fx.create("a.vhd", &["-f", "vpc", "10M"]),
        fx.create("a.vhdx", &["-f", "vhdx", "10M"]),
        fx.create("a.vdi", &["-f", "vdi", "10M"]),
    ];
    for path in fixtures {
        let bytes = std::fs::read(&path).expect("read");
        let mut cut = 0;
        while cut < bytes.len() {
            let mut inspector = Inspector::new();
            inspector.feed(&bytes[..cut]);
            let seen = inspector.finish(cut as u64);
            let _ = check_declared("raw", &seen);
            cut = if cut < 1024 { cut + 1 } else { cut * 2 + 13 };
        }
    }
}
