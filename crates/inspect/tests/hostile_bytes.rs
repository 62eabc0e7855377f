//! Hostile input: random bytes, real signatures followed by garbage, and headers whose
//! offsets and counts point anywhere. The inspector must never panic and must give
//! the same verdict whatever the chunking.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use imagery_inspect::{check_declared, judge, Inspection, Inspector, HEAD_LEN};

/// xorshift64*: deterministic, dependency-free noise.
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

fn inspect_chunked(bytes: &[u8], noise: &mut Noise) -> Inspection {
    let mut inspector = Inspector::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let n = 1 + noise.below(rest.len().min(70_000));
        inspector.feed(&rest[..n]);
        rest = &rest[n..];
    }
    inspector.finish(bytes.len() as u64)
}

fn inspect_whole(bytes: &[u8]) -> Inspection {
    let mut inspector = Inspector::new();
    inspector.feed(bytes);
    inspector.finish(bytes.len() as u64)
}

fn assert_stable(bytes: &[u8], noise: &mut Noise) {
    let whole = inspect_whole(bytes);
    assert_eq!(inspect_chunked(bytes, noise), whole);
    for declared in ["raw", "qcow2", "vmdk", "vhd", "vhdx", "vdi", "iso", "ami"] {
        let bare = check_declared(declared, &whole);
        for container in ["bare", "ovf", "ova", "docker", "compressed", "ami"] {
            let verdict = judge(container, declared, &whole);
            // Whatever the container, bytes refused as unsafe are refused everywhere.
            if whole.safety.is_err() {
                assert!(verdict.is_err() && bare.is_err(), "{container}/{declared}");
            }
        }
    }
}

#[test]
fn random_bytes() {
    let mut noise = Noise(0x1234_5678_9abc_def1);
    for len in [0, 1, 2, 3, 4, 7, 8, 63, 64, 511, 512, 513, 1535, 1536, 4096, 40_000, HEAD_LEN + 3] {
        let bytes = noise.bytes(len);
        assert_stable(&bytes, &mut noise);
    }
    for _ in 0..40 {
        let len = noise.below(3 << 20);
        let bytes = noise.bytes(len);
        assert_stable(&bytes, &mut noise);
    }
}

const SIGNATURES: [(usize, &[u8]); 12] = [
    (0, b"QFI\xfb"),
    (0, b"QED\0"),
    (0, b"KDMV"),
    (0, b"vhdxfile"),
    (0, b"conectix"),
    (0, b"LUKS\xba\xbe"),
    (0x40, &[0x7f, 0x10, 0xda, 0xbe]),
    (0x8001, b"CD001"),
    (0x8001, b"NSR02"),
    (510, &[0x55, 0xaa]),
    (0, b"# Disk DescriptorFile\nversion=1\ncreateType=\"x\"\n"),
    (0, b"version=1\n"),
];

/// Plant `magic` at `offset` in `bytes`, if it fits.
fn plant(bytes: &mut [u8], offset: usize, magic: &[u8]) {
    if let Some(slot) = offset.checked_add(magic.len()).and_then(|end| bytes.get_mut(offset..end)) {
        slot.copy_from_slice(magic);
    }
}

#[test]
fn signatures_followed_by_garbage() {
    let mut noise = Noise(0xdead_beef_cafe_f00d);
    for (offset, magic) in SIGNATURES {
        for len in [offset + magic.len(), offset + magic.len() + 1, 100, 600, 0x9000, 0x5_0000, HEAD_LEN + 2000] {
            for _ in 0..3 {
                let mut bytes = noise.bytes(len);
                plant(&mut bytes, offset, magic);
                assert_stable(&bytes, &mut noise);
            }
        }
    }
}

#[test]
fn hostile_offsets_and_counts() {
    let mut noise = Noise(42);
    for _ in 0..200 {
        let len = 0x5_0000 + noise.below(0x40_0000);
        let mut bytes = vec![0u8; len];
        // VHDX: a valid chain skeleton whose numbers are random or extreme.
        plant(&mut bytes, 0, b"vhdxfile");
        plant(&mut bytes, 0x3_0000, b"regi");
        let count = [0u32, 1, 2047, 2048, u32::MAX][noise.below(5)];
        plant(&mut bytes, 0x3_0008, &count.to_le_bytes());
        plant(&mut bytes, 0x3_0010, &[0x06, 0xa2, 0x7c, 0x8b, 0x90, 0x47, 0x9a, 0x4b, 0xb8, 0xfe, 0x57, 0x5f, 0x05, 0x0f, 0x88, 0x6e]);
        let meta = [0u64, 0x3_0000, (len as u64).saturating_sub(40), u64::MAX, u64::MAX - 7, noise.next()][noise.below(6)];
        plant(&mut bytes, 0x3_0020, &meta.to_le_bytes());
        if let Ok(at) = usize::try_from(meta) {
            plant(&mut bytes, at, b"metadata");
            plant(&mut bytes, at.saturating_add(10), &(noise.below(3000) as u16).to_le_bytes());
            plant(
                &mut bytes,
                at.saturating_add(32),
                &[0x24, 0x42, 0xa5, 0x2f, 0x1b, 0xcd, 0x76, 0x48, 0xb2, 0x11, 0x5d, 0xbe, 0xd8, 0x3b, 0xf4, 0xb8],
            );
            plant(&mut bytes, at.saturating_add(48), &(noise.next() as u32).to_le_bytes());
        }
        assert_stable(&bytes, &mut noise);

        // VMDK: descriptor location and size, grain directory at the end.
        let vmdk_len = noise.below(0x2_0000) + 64;
        let mut vmdk = noise.bytes(vmdk_len);
        plant(&mut vmdk, 0, b"KDMV");
        plant(&mut vmdk, 4, &(noise.below(5) as u32).to_le_bytes());
        plant(&mut vmdk, 28, &[1u64, 0, u64::MAX, noise.next()][noise.below(4)].to_le_bytes());
        plant(&mut vmdk, 36, &[1u64, 0, u64::MAX, 1 << 55][noise.below(4)].to_le_bytes());
        if noise.below(2) == 0 {
            plant(&mut vmdk, 56, &u64::MAX.to_le_bytes());
        }
        assert_stable(&vmdk, &mut noise);

        // qcow2 / vdi / iso / vhd with extreme size fields.
        let misc_len = 0x9000 + noise.below(4096);
        let mut misc = noise.bytes(misc_len);
        let (offset, magic) = SIGNATURES[noise.below(SIGNATURES.len())];
        plant(&mut misc, offset, magic);
        plant(&mut misc, 24, &u64::MAX.to_be_bytes());
        plant(&mut misc, 0x8050, &u32::MAX.to_le_bytes());
        plant(&mut misc, 0x8080, &u16::MAX.to_le_bytes());
        assert_stable(&misc, &mut noise);
    }
}
