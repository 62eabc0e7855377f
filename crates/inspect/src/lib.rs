//! Disk-format inspection of uploaded image bytes, as Glance does with oslo.utils'
//! `format_inspector`: which format the bytes really are, the virtual size their
//! header declares, and whether they are safe to hand to qemu (no backing file, no
//! external data file, no unknown features, no extent pointing outside the image).
//!
//! Pure, streaming and bounded: feed an [`Inspector`] every chunk of the upload, call
//! [`Inspector::finish`], then [`judge`] applies Glance's rules to the container and
//! `disk_format` the user declared. Nothing here panics on hostile bytes.
//!
//! The VHDX virtual size is read from its metadata region; it is `None` only when
//! that region is not where a streaming reader can reach it.

mod bytes;
mod capture;
mod declared;
mod formats;
mod inspector;

pub use declared::{check_declared, check_safety, container_holds_bare_disk, is_inspectable, judge, Refusal};
pub use inspector::{Inspector, HEAD_LEN, TAIL_LEN};

/// A format the inspector can recognise, named as Glance names disk formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DiskFormat {
    /// Nothing recognised: plain bytes.
    Raw,
    Qcow2,
    Vmdk,
    /// Microsoft VHD (qemu's `vpc`), fixed or dynamic.
    Vhd,
    Vhdx,
    Vdi,
    /// ISO 9660 or UDF.
    Iso,
    /// QEMU Enhanced Disk: recognised to be refused.
    Qed,
    Luks,
    /// A raw disk carrying an MBR or GPT partition table.
    Gpt,
}

impl DiskFormat {
    pub const ALL: [DiskFormat; 10] = [
        DiskFormat::Raw,
        DiskFormat::Qcow2,
        DiskFormat::Vmdk,
        DiskFormat::Vhd,
        DiskFormat::Vhdx,
        DiskFormat::Vdi,
        DiskFormat::Iso,
        DiskFormat::Qed,
        DiskFormat::Luks,
        DiskFormat::Gpt,
    ];

    /// The Glance / oslo.utils name.
    pub fn as_str(self) -> &'static str {
        match self {
            DiskFormat::Raw => "raw",
            DiskFormat::Qcow2 => "qcow2",
            DiskFormat::Vmdk => "vmdk",
            DiskFormat::Vhd => "vhd",
            DiskFormat::Vhdx => "vhdx",
            DiskFormat::Vdi => "vdi",
            DiskFormat::Iso => "iso",
            DiskFormat::Qed => "qed",
            DiskFormat::Luks => "luks",
            DiskFormat::Gpt => "gpt",
        }
    }

    /// The format a Glance name designates, if it is one the inspector recognises.
    pub fn from_name(name: &str) -> Option<DiskFormat> {
        DiskFormat::ALL.into_iter().find(|f| f.as_str() == name)
    }
}

impl std::fmt::Display for DiskFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the bytes of an upload are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspection {
    pub format: DiskFormat,
    /// The size of the disk the image describes, from its header (the byte count for
    /// raw and partitioned disks); `None` when the header does not say or is cut short.
    pub virtual_size: Option<u64>,
    /// `Err(reason)` when the detected format's safety checks fail.
    pub safety: Result<(), String>,
    /// How many bytes the upload had.
    pub byte_count: u64,
}
