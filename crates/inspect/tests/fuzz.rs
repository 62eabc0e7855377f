//! Property-based fuzzing of the inspector and `judge`: arbitrary bytes, real
//! headers of every format followed by (or overwritten with) random bytes, and
//! arbitrary chunkings of the same bytes. Properties:
//!
//! * nothing panics;
//! * the verdict does not depend on how the stream was chunked;
//! * bytes whose safety checks fail are refused by every container/format pair.
//!
//! Deterministic and bounded for CI: a fixed seed and a fixed number of cases
//! (`PROPTEST_CASES` / `PROPTEST_RNG_SEED` override both for a longer local run).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use imagery_inspect::{check_declared, check_safety, judge, Inspection, Inspector, HEAD_LEN};
use proptest::prelude::*;
use proptest::test_runner::{RngAlgorithm, RngSeed};

fn env<T: std::str::FromStr>(name: &str) -> Option<T> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases: env("PROPTEST_CASES").unwrap_or(cases),
        failure_persistence: None,
        rng_algorithm: RngAlgorithm::ChaCha,
        rng_seed: RngSeed::Fixed(env("PROPTEST_RNG_SEED").unwrap_or(0x1a6e_5eed)),
        ..ProptestConfig::default()
    }
}

fn inspect_whole(bytes: &[u8]) -> Inspection {
    let mut inspector = Inspector::new();
    inspector.feed(bytes);
    inspector.finish(bytes.len() as u64)
}

/// Feed `bytes` cut at `cuts` (each taken modulo what is left, plus one).
fn inspect_chunked(bytes: &[u8], cuts: &[usize]) -> Inspection {
    let mut inspector = Inspector::new();
    let mut rest = bytes;
    let mut cuts = cuts.iter().cycle();
    while !rest.is_empty() {
        let n = 1 + cuts.next().copied().unwrap_or(usize::MAX) % rest.len();
        inspector.feed(&rest[..n]);
        // Empty chunks are allowed anywhere and change nothing.
        inspector.feed(&[]);
        rest = &rest[n..];
    }
    assert_eq!(inspector.bytes_fed(), bytes.len() as u64);
    inspector.finish(bytes.len() as u64)
}

const DECLARED: [&str; 11] = ["raw", "qcow2", "vmdk", "vhd", "vhdx", "vdi", "iso", "qed", "luks", "gpt", "ami"];
const CONTAINERS: [&str; 6] = ["bare", "ovf", "ova", "docker", "compressed", "ami"];

/// The properties every stream must keep.
fn check(bytes: &[u8], cuts: &[usize]) -> Result<(), TestCaseError> {
    let whole = inspect_whole(bytes);
    prop_assert_eq!(&inspect_chunked(bytes, cuts), &whole);
    prop_assert_eq!(whole.byte_count, bytes.len() as u64);
    let unsafe_bytes = check_safety(&whole).is_err();
    prop_assert_eq!(unsafe_bytes, whole.safety.is_err());
    for declared in DECLARED {
        let matched = check_declared(declared, &whole);
        if unsafe_bytes {
            prop_assert!(matched.is_err());
        }
        for container in CONTAINERS {
            let verdict = judge(container, declared, &whole);
            if unsafe_bytes {
                prop_assert!(verdict.is_err(), "{container}/{declared} accepted unsafe {:?}", whole);
            }
            if container == "bare" {
                prop_assert_eq!(&verdict, &matched);
            } else if !unsafe_bytes {
                prop_assert_eq!(verdict, Ok(None));
            }
        }
    }
    // What was detected, declared as such, is accepted when safe, with its virtual size.
    if !unsafe_bytes {
        prop_assert_eq!(check_declared(whole.format.as_str(), &whole), Ok(whole.virtual_size));
    }
    Ok(())
}

/// Every signature the inspector knows, at its offset.
const SIGNATURES: [(usize, &[u8]); 15] = [
    (0, b"QFI\xfb"),
    (0, b"QED\0"),
    (0, b"KDMV"),
    (0, b"vhdxfile"),
    (0, b"conectix"),
    (0, b"LUKS\xba\xbe"),
    (0x40, &[0x7f, 0x10, 0xda, 0xbe]),
    (0x8001, b"CD001"),
    (0x8001, b"NSR02"),
    (0x8001, b"NSR03"),
    (0x8001, b"BEA01"),
    (510, &[0x55, 0xaa]),
    (0, b"# Disk DescriptorFile\nversion=1\ncreateType=\"monolithicSparse\"\n"),
    (0, b"version=1\n"),
    (0, b"  \r\nversion=3\r\n"),
];

fn plant(bytes: &mut [u8], offset: usize, magic: &[u8]) {
    if let Some(slot) = offset.checked_add(magic.len()).and_then(|end| bytes.get_mut(offset..end)) {
        slot.copy_from_slice(magic);
    }
}

/// Values that make offsets and counts interesting.
fn extreme_u64() -> impl Strategy<Value = u64> {
    prop_oneof![
        Just(0u64),
        Just(1),
        Just(2),
        Just(3),
        Just(4),
        Just(0x200),
        Just(0x3_0000),
        Just(0x5_0000),
        Just(2047),
        Just(2048),
        Just(u64::from(u32::MAX)),
        Just(u64::MAX),
        Just(u64::MAX - 7),
        Just(1 << 55),
        any::<u64>(),
    ]
}

#[derive(Debug, Clone)]
enum Mutation {
    /// Overwrite one byte.
    Byte(usize, u8),
    /// Overwrite 2, 4 or 8 bytes with an (often extreme) value, either endianness.
    Field { at: usize, width: usize, value: u64, big_endian: bool },
    /// Cut the stream short.
    Truncate(usize),
    /// Append bytes.
    Extend(Vec<u8>),
}

fn mutation(offsets: impl Strategy<Value = usize> + Clone) -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (offsets.clone(), any::<u8>()).prop_map(|(at, b)| Mutation::Byte(at, b)),
        (offsets.clone(), prop_oneof![Just(2usize), Just(4), Just(8)], extreme_u64(), any::<bool>())
            .prop_map(|(at, width, value, big_endian)| Mutation::Field { at, width, value, big_endian }),
        offsets.prop_map(Mutation::Truncate),
        proptest::collection::vec(any::<u8>(), 0..700).prop_map(Mutation::Extend),
    ]
}

fn apply(bytes: &mut Vec<u8>, mutations: &[Mutation]) {
    for m in mutations {
        match m {
            Mutation::Byte(at, b) => {
                if let Some(slot) = bytes.get_mut(*at) {
                    *slot = *b;
                }
            }
            Mutation::Field { at, width, value, big_endian } => {
                let raw = if *big_endian { value.to_be_bytes() } else { value.to_le_bytes() };
                let field = if *big_endian { &raw[8 - width..] } else { &raw[..*width] };
                plant(bytes, *at, field);
            }
            Mutation::Truncate(len) => {
                // Truncations only ever remove a little, so most mutants keep their header.
                if *len < bytes.len() && bytes.len() - len < 4096 {
                    bytes.truncate(*len);
                }
            }
            Mutation::Extend(more) => bytes.extend_from_slice(more),
        }
    }
}

// ---------------------------------------------------------------------------
// Real headers of every format, clean, as a starting point for mutations.

fn qcow2() -> Vec<u8> {
    let mut b = vec![0u8; 1024];
    plant(&mut b, 0, b"QFI\xfb");
    plant(&mut b, 4, &3u32.to_be_bytes());
    plant(&mut b, 24, &(1u64 << 30).to_be_bytes());
    plant(&mut b, 72, &0b1011u64.to_be_bytes());
    b
}

fn vmdk_descriptor(create_type: &str) -> String {
    format!(
        "# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\ncreateType=\"{create_type}\"\n\n# Extent description\nRW 2048 SPARSE \"disk.vmdk\"\n\nddb.virtualHWVersion = \"4\"\n"
    )
}

fn vmdk_sparse(stream_optimized: bool) -> Vec<u8> {
    let mut b = vec![0u8; 0x200 + 0x400 + 0x600];
    plant(&mut b, 0, b"KDMV");
    plant(&mut b, 4, &3u32.to_le_bytes());
    plant(&mut b, 12, &2048u64.to_le_bytes());
    plant(&mut b, 28, &1u64.to_le_bytes());
    plant(&mut b, 36, &2u64.to_le_bytes());
    let kind = if stream_optimized { "streamOptimized" } else { "monolithicSparse" };
    plant(&mut b, 0x200, vmdk_descriptor(kind).as_bytes());
    if stream_optimized {
        plant(&mut b, 56, &u64::MAX.to_le_bytes());
        // Footer marker, footer (a copy of the header, grain directory known), end-of-stream.
        let len = b.len();
        let footer = len - 1024;
        let header: Vec<u8> = b[..512].to_vec();
        plant(&mut b, footer, &header);
        plant(&mut b, footer + 56, &0x1000u64.to_le_bytes());
        plant(&mut b, len - 1536 + 12, &3u32.to_le_bytes());
    }
    b
}

fn vmdk_text() -> Vec<u8> {
    vmdk_descriptor("monolithicFlat").into_bytes()
}

fn vhd_footer(disk_type: u32) -> Vec<u8> {
    let mut f = vec![0u8; 512];
    plant(&mut f, 0, b"conectix");
    plant(&mut f, 48, &(1u64 << 30).to_be_bytes());
    plant(&mut f, 60, &disk_type.to_be_bytes());
    f
}

fn vhd_fixed() -> Vec<u8> {
    let mut b = vec![0u8; 4096];
    b.extend_from_slice(&vhd_footer(2));
    b
}

fn vhd_dynamic() -> Vec<u8> {
    let mut b = vhd_footer(3);
    b.resize(2048, 0);
    b.extend_from_slice(&vhd_footer(3));
    b
}

const METADATA_REGION_GUID: [u8; 16] = [0x06, 0xa2, 0x7c, 0x8b, 0x90, 0x47, 0x9a, 0x4b, 0xb8, 0xfe, 0x57, 0x5f, 0x05, 0x0f, 0x88, 0x6e];
const VIRTUAL_DISK_SIZE_GUID: [u8; 16] = [0x24, 0x42, 0xa5, 0x2f, 0x1b, 0xcd, 0x76, 0x48, 0xb2, 0x11, 0x5d, 0xbe, 0xd8, 0x3b, 0xf4, 0xb8];

/// A VHDX whose region table points at a metadata table at `meta`, whose
/// virtual-disk-size item is at `meta + item`.
fn vhdx(meta: usize, item: usize) -> Vec<u8> {
    let mut b = vec![0u8; (meta + item + 8).max(0x5_0000)];
    plant(&mut b, 0, b"vhdxfile");
    for table in [0x3_0000, 0x4_0000] {
        plant(&mut b, table, b"regi");
        plant(&mut b, table + 8, &2u32.to_le_bytes());
        plant(&mut b, table + 48, &METADATA_REGION_GUID);
        plant(&mut b, table + 64, &(meta as u64).to_le_bytes());
    }
    plant(&mut b, meta, b"metadata");
    plant(&mut b, meta + 10, &3u16.to_le_bytes());
    let entry = meta + 32 + 2 * 32;
    plant(&mut b, entry, &VIRTUAL_DISK_SIZE_GUID);
    plant(&mut b, entry + 16, &(item as u32).to_le_bytes());
    plant(&mut b, meta + item, &(7u64 << 30).to_le_bytes());
    b
}

fn vdi() -> Vec<u8> {
    let mut b = vec![0u8; 512];
    plant(&mut b, 0x40, &0xbeda_107fu32.to_le_bytes());
    plant(&mut b, 0x170, &(1u64 << 30).to_le_bytes());
    b
}

fn iso() -> Vec<u8> {
    let mut b = vec![0u8; 0x8000 + 3 * 2048];
    b[0x8000] = 1;
    plant(&mut b, 0x8001, b"CD001");
    plant(&mut b, 0x8000 + 80, &1000u32.to_le_bytes());
    plant(&mut b, 0x8000 + 128, &2048u16.to_le_bytes());
    plant(&mut b, 0x8800, b"\x00BEA01");
    b[0x9000] = 255;
    plant(&mut b, 0x9001, b"CD001");
    b
}

fn gpt() -> Vec<u8> {
    let mut b = vec![0u8; 1024];
    plant(&mut b, 446, &[0x00, 0x00, 0x02, 0x00, 0xee, 0xff, 0xff, 0xff]);
    plant(&mut b, 446 + 8, &1u32.to_le_bytes());
    plant(&mut b, 510, &[0x55, 0xaa]);
    b
}

fn luks() -> Vec<u8> {
    let mut b = vec![0u8; 4096];
    plant(&mut b, 0, b"LUKS\xba\xbe");
    plant(&mut b, 6, &1u16.to_be_bytes());
    plant(&mut b, 104, &4u32.to_be_bytes());
    b
}

fn qed() -> Vec<u8> {
    let mut b = vec![0u8; 512];
    plant(&mut b, 0, b"QED\0");
    plant(&mut b, 48, &(1u64 << 30).to_le_bytes());
    b
}

fn real_header() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(qcow2()),
        Just(vmdk_sparse(false)),
        Just(vmdk_sparse(true)),
        Just(vmdk_text()),
        Just(vhd_fixed()),
        Just(vhd_dynamic()),
        Just(vdi()),
        Just(iso()),
        Just(gpt()),
        Just(luks()),
        Just(qed()),
        // VHDX chains with the metadata table inside the head, past it, and the item
        // inside the table itself.
        (0x5_0000usize..0x6_0000, 0usize..0x1_1000).prop_map(|(meta, item)| vhdx(meta, item)),
        Just(vhdx(HEAD_LEN - 0x100, 0x1_0000)),
        Just(vhdx(HEAD_LEN + 0x1000, 0x1_0008)),
    ]
}

/// Mutation offsets favour the first sectors and the header fields, but reach anywhere
/// in the first 0x60000 bytes (ISO descriptors, VHDX tables).
fn offsets() -> impl Strategy<Value = usize> + Clone {
    prop_oneof![4 => 0usize..600, 1 => 0x8000usize..0x9800, 1 => 0x3_0000usize..0x3_0100, 1 => 0usize..0x6_0000]
}

fn cuts() -> impl Strategy<Value = Vec<usize>> {
    proptest::collection::vec(prop_oneof![0usize..16, 0usize..4096, any::<usize>()], 1..24)
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..2048), cuts in cuts()) {
        check(&bytes, &cuts)?;
    }

    #[test]
    fn magic_followed_by_random_bytes(
        sig in 0..SIGNATURES.len(),
        noise in proptest::collection::vec(any::<u8>(), 0..1024),
        len in prop_oneof![0usize..1024, 0x8000usize..0x9800],
        cuts in cuts(),
    ) {
        let (offset, magic) = SIGNATURES[sig];
        // Noise repeated over the requested length, the signature planted at its place.
        let mut bytes: Vec<u8> = if noise.is_empty() { vec![0; len] } else { noise.iter().copied().cycle().take(len).collect() };
        if bytes.len() < offset + magic.len() {
            bytes.resize(offset + magic.len(), 0);
        }
        plant(&mut bytes, offset, magic);
        check(&bytes, &cuts)?;
    }
}

proptest! {
    #![proptest_config(config(160))]

    #[test]
    fn mutated_real_headers(
        mut bytes in real_header(),
        mutations in proptest::collection::vec(mutation(offsets()), 0..6),
        cuts in cuts(),
    ) {
        apply(&mut bytes, &mutations);
        check(&bytes, &cuts)?;
    }

    #[test]
    fn two_signatures_are_never_safe(
        a in 0..6usize,
        tail in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        // Header formats at offset 0 that cannot share the same bytes are a disguised
        // image: a qcow2 carrying a VDI signature at 0x40, say.
        let headers: [Vec<u8>; 6] = [qcow2(), vmdk_sparse(false), vhd_dynamic(), luks(), qed(), vhdx(0x5_0000, 0x100)];
        let mut bytes = headers[a].clone();
        plant(&mut bytes, 0x40, &0xbeda_107fu32.to_le_bytes());
        bytes.extend_from_slice(&tail);
        let whole = inspect_whole(&bytes);
        prop_assert!(whole.safety.is_err(), "{:?}", whole);
        check(&bytes, &[tail.len()])?;
    }
}

/// The clean headers are what they claim and pass their safety checks, so the
/// mutations above start from accepted images.
#[test]
fn clean_headers_are_accepted() {
    let cases: [(Vec<u8>, &str); 12] = [
        (qcow2(), "qcow2"),
        (vmdk_sparse(false), "vmdk"),
        (vmdk_sparse(true), "vmdk"),
        (vhd_fixed(), "vhd"),
        (vhd_dynamic(), "vhd"),
        (vdi(), "vdi"),
        (iso(), "iso"),
        (gpt(), "gpt"),
        (luks(), "luks"),
        (vhdx(0x5_0000, 0x1_0000), "vhdx"),
        (vhdx(HEAD_LEN - 0x100, 0x1_0000), "vhdx"),
        (vhdx(HEAD_LEN + 0x1000, 0x1_0008), "vhdx"),
    ];
    for (bytes, format) in cases {
        let whole = inspect_whole(&bytes);
        assert_eq!(whole.format.as_str(), format, "{whole:?}");
        assert_eq!(whole.safety, Ok(()), "{format}");
        assert_eq!(judge("bare", format, &whole), Ok(whole.virtual_size), "{format}");
    }
    assert_eq!(inspect_whole(&vhdx(0x5_0000, 0x1_0000)).virtual_size, Some(7 << 30));
    assert_eq!(inspect_whole(&vhdx(HEAD_LEN + 0x1000, 0x1_0008)).virtual_size, Some(7 << 30));
    assert!(inspect_whole(&vmdk_text()).safety.is_err());
    assert!(inspect_whole(&qed()).safety.is_err());
}
