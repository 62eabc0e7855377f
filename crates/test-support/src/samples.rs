//! Disk-image samples. The qcow2 ones come from `qemu-img` itself (installed by
//! `scripts/test.sh`); the hostile VMDK is a descriptor file, as an attacker would
//! write it by hand.

use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

/// One sample: what it is called in test output, its bytes, and the
/// `disk_format` an uploader would honestly declare for it.
#[derive(Debug, Clone)]
pub struct Sample {
    pub name: &'static str,
    pub disk_format: &'static str,
    pub bytes: Vec<u8>,
}

struct Made {
    clean_qcow2: Vec<u8>,
    backed_qcow2: Vec<u8>,
    data_file_qcow2: Vec<u8>,
}

fn qemu_img(dir: &Path, args: &[&str]) {
    let out = Command::new("qemu-img")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("qemu-img must be installed to run these tests (scripts/test.sh installs qemu-utils): {e}"));
    assert!(out.status.success(), "qemu-img {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

fn made() -> &'static Made {
    static MADE: OnceLock<Made> = OnceLock::new();
    MADE.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path();
        qemu_img(path, &["create", "-q", "-f", "qcow2", "clean.qcow2", "1M"]);
        // The image of CVE-2022-47951's family: a compute host that boots it reads
        // the host's /etc/passwd as the disk's backing data.
        qemu_img(path, &["create", "-q", "-f", "qcow2", "-u", "-b", "/etc/passwd", "-F", "raw", "backed.qcow2", "1M"]);
        // qemu-img creates the data file itself, so it names one in the scratch
        // directory; what matters is the header's external-data-file bit.
        qemu_img(path, &["create", "-q", "-f", "qcow2", "-o", "data_file=data.raw", "data.qcow2", "1M"]);
        let read = |name: &str| std::fs::read(path.join(name)).expect("read sample");
        Made { clean_qcow2: read("clean.qcow2"), backed_qcow2: read("backed.qcow2"), data_file_qcow2: read("data.qcow2") }
    })
}

/// A plain 1 MiB qcow2: safe.
pub fn clean_qcow2() -> Sample {
    Sample { name: "clean qcow2", disk_format: "qcow2", bytes: made().clean_qcow2.clone() }
}

/// A qcow2 whose backing file is the host's `/etc/passwd`.
pub fn backed_qcow2() -> Sample {
    Sample { name: "qcow2 with a backing file", disk_format: "qcow2", bytes: made().backed_qcow2.clone() }
}

/// A qcow2 whose data lives in an external file on the host.
pub fn data_file_qcow2() -> Sample {
    Sample { name: "qcow2 with an external data file", disk_format: "qcow2", bytes: made().data_file_qcow2.clone() }
}

/// A VMDK descriptor whose one extent is a file of the host (CVE-2024-32498's
/// family): qemu would read `/etc/passwd` as the disk.
pub fn vmdk_host_file() -> Sample {
    let descriptor = "# Disk DescriptorFile\n\
        version=1\n\
        CID=fffffffe\n\
        parentCID=ffffffff\n\
        createType=\"monolithicSparse\"\n\
        \n\
        # Extent description\n\
        RW 2048 SPARSE \"/etc/passwd\"\n\
        \n\
        # The Disk Data Base\n\
        #DDB\n\
        ddb.virtualHWVersion = \"4\"\n\
        ddb.geometry.cylinders = \"2\"\n\
        ddb.geometry.heads = \"16\"\n\
        ddb.geometry.sectors = \"63\"\n\
        ddb.adapterType = \"ide\"\n";
    Sample { name: "vmdk descriptor pointing at a host file", disk_format: "vmdk", bytes: descriptor.as_bytes().to_vec() }
}

/// The hostile samples every byte path must refuse.
pub fn unsafe_samples() -> Vec<Sample> {
    vec![backed_qcow2(), data_file_qcow2(), vmdk_host_file()]
}

/// Every container format Glance knows.
pub const CONTAINER_FORMATS: [&str; 8] = ["bare", "ovf", "ami", "ari", "aki", "ova", "docker", "compressed"];
