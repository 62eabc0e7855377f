//! How a streamed upload is cut into S3 multipart parts. S3 allows at most 10,000
//! parts per upload, each 5 MiB to 5 GiB (the last may be smaller), and a part's
//! length must be known before it is sent, so each part is buffered in memory: the
//! plan keeps parts as small as the upload's size allows.
//!
//! * Declared size (Content-Length, `x-openstack-image-size`): fixed parts of
//!   `ceil(size / 9,000)` (at least 8 MiB), so the declared size fills at most 9,000
//!   parts. Should more bytes arrive than declared (the service refuses the upload at
//!   its end, but the parts are already on their way), the last 1,000 parts double
//!   every 100.
//! * Unknown size (chunked transfer): 8 MiB parts, doubling every 1,000 parts: 8 GiB
//!   in 8 MiB parts, the next 16 GiB in 16 MiB parts, … about 8 TiB in all, beyond
//!   S3's 5 TiB object limit. Small uploads stay cheap; only huge ones buffer big parts.
//!
//! The same limits bound the copy of a committed object to its content address
//! ([`CopyPlan`]).

/// S3's smallest part (all but the last).
pub const MIN_PART: u64 = 5 << 20;
/// S3's largest part.
pub const MAX_PART: u64 = 5 << 30;
/// S3's largest number of parts in one upload.
pub const MAX_PARTS: u32 = 10_000;
/// The largest object a single CopyObject may copy; above it, a multipart copy.
pub const MAX_SINGLE_COPY: u64 = 5 << 30;

const MIB: u64 = 1 << 20;
/// The smallest part this plan uses: fewer requests than S3's 5 MiB minimum.
const BASE_PART: u64 = 8 * MIB;
/// Parts of a declared size: the declared bytes fit in this many.
const DECLARED_PARTS: u32 = 9_000;
/// Beyond the declared parts, parts double every this many.
const DECLARED_GROWTH_EVERY: u32 = 100;
/// Unknown size: parts double every this many.
const UNKNOWN_GROWTH_EVERY: u32 = 1_000;
/// Part buffers in flight at most, in bytes (at least one part is always allowed).
const IN_FLIGHT_BYTES: u64 = 64 * MIB;
const MAX_PARTS_IN_FLIGHT: usize = 4;

/// Part sizes for one upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartPlan {
    /// Size of the first parts.
    base: u64,
    /// How many parts have the base size before growth starts.
    steady_parts: u32,
    /// After that, parts double every this many.
    growth_every: u32,
}

impl PartPlan {
    /// The plan for an upload of `expected_size` bytes, if known.
    pub fn for_size(expected_size: Option<u64>) -> PartPlan {
        match expected_size {
            Some(size) => {
                let per_part = size.div_ceil(u64::from(DECLARED_PARTS)).div_ceil(MIB) * MIB;
                PartPlan { base: per_part.clamp(BASE_PART, MAX_PART), steady_parts: DECLARED_PARTS, growth_every: DECLARED_GROWTH_EVERY }
            }
            None => PartPlan { base: BASE_PART, steady_parts: UNKNOWN_GROWTH_EVERY, growth_every: UNKNOWN_GROWTH_EVERY },
        }
    }

    /// The size of part `index` (0-based; S3 numbers parts from 1).
    pub fn part_size(&self, index: u32) -> u64 {
        let doublings = match index.checked_sub(self.steady_parts) {
            None => 0,
            Some(beyond) => 1 + beyond / self.growth_every,
        };
        // Past 2^10 the size is beyond MAX_PART for any base.
        self.base.saturating_mul(1 << doublings.min(10)).min(MAX_PART)
    }

    /// How many parts of the size of part `index` may be in flight at once.
    pub fn parts_in_flight(&self, index: u32) -> usize {
        let fit = IN_FLIGHT_BYTES / self.part_size(index).max(1);
        usize::try_from(fit).unwrap_or(MAX_PARTS_IN_FLIGHT).clamp(1, MAX_PARTS_IN_FLIGHT)
    }

    /// The largest object the plan can hold in [`MAX_PARTS`] parts.
    pub fn capacity(&self) -> u64 {
        (0..MAX_PARTS).map(|i| self.part_size(i)).fold(0u64, u64::saturating_add)
    }

    /// The sizes of the parts an upload of exactly `size` bytes is cut into, or
    /// `None` if it needs more than [`MAX_PARTS`].
    pub fn parts_for(&self, size: u64) -> Option<Vec<u64>> {
        let mut parts = Vec::new();
        let mut left = size;
        let mut index = 0;
        while left > 0 || parts.is_empty() {
            if index >= MAX_PARTS {
                return None;
            }
            let part = self.part_size(index).min(left);
            parts.push(part);
            left -= part;
            index += 1;
        }
        Some(parts)
    }
}

/// How a completed upload is copied to its content address: one CopyObject up to
/// 5 GiB, above that a multipart copy of 1 GiB ranges (a multiple of every part
/// size, so block-aligned on stores that deduplicate blocks), larger when 10,000 of
/// those would not cover the object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CopyPlan {
    /// Objects up to this size are copied with one CopyObject (at most 5 GiB).
    pub single_copy_max: u64,
    /// The smallest range of one UploadPartCopy (5 MiB to 5 GiB).
    pub min_copy_part: u64,
}

impl Default for CopyPlan {
    fn default() -> Self {
        CopyPlan { single_copy_max: MAX_SINGLE_COPY, min_copy_part: 1 << 30 }
    }
}

impl CopyPlan {
    /// Whether an object of `size` bytes needs a multipart copy.
    pub fn is_multipart(&self, size: u64) -> bool {
        size > self.single_copy_max.min(MAX_SINGLE_COPY)
    }

    /// The range size of each UploadPartCopy for an object of `size` bytes.
    pub fn part_size(&self, size: u64) -> u64 {
        let needed = size.div_ceil(u64::from(MAX_PARTS)).div_ceil(MIB) * MIB;
        needed.clamp(self.min_copy_part.clamp(MIN_PART, MAX_PART), MAX_PART)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GIB: u64 = 1 << 30;
    const TIB: u64 = 1 << 40;

    fn assert_valid(parts: &[u64], size: u64, what: &str) {
        assert!(parts.len() <= MAX_PARTS as usize, "{what}: {} parts", parts.len());
        assert_eq!(parts.iter().sum::<u64>(), size, "{what}");
        let (last, rest) = parts.split_last().expect("at least one part");
        assert!(*last <= MAX_PART, "{what}: last part {last}");
        for (i, part) in rest.iter().enumerate() {
            assert!((MIN_PART..=MAX_PART).contains(part), "{what}: part {i} is {part} bytes");
        }
    }

    /// The acceptance test: the 1 TiB size cap, declared up front, fits.
    #[test]
    fn a_declared_tebibyte_fits_in_ten_thousand_parts() {
        let plan = PartPlan::for_size(Some(TIB));
        let parts = plan.parts_for(TIB).expect("1 TiB fits");
        assert_valid(&parts, TIB, "1 TiB declared");
        assert!(parts.len() <= 9_000, "{} parts", parts.len());
        // 117 MiB parts: memory per upload stays bounded by a few of them.
        assert_eq!(plan.part_size(0), 117 * MIB);
        assert_eq!(plan.parts_in_flight(0), 1);
    }

    #[test]
    fn undeclared_sizes_up_to_s3s_object_limit_fit() {
        let plan = PartPlan::for_size(None);
        for size in [0, 1, 8 * MIB, 8 * GIB + 1, 48 * GIB + 7, TIB, 5 * TIB] {
            let parts = plan.parts_for(size).unwrap_or_else(|| panic!("{size} bytes do not fit"));
            assert_valid(&parts, size, &format!("{size} bytes, chunked"));
        }
        assert_eq!(plan.part_size(0), 8 * MIB);
        assert_eq!(plan.part_size(999), 8 * MIB);
        assert_eq!(plan.part_size(1_000), 16 * MIB);
        assert!(plan.capacity() > 5 * TIB);
        // A 1 GiB chunked upload keeps 8 MiB parts, four in flight.
        assert_eq!(plan.parts_for(GIB).map(|p| p.len()), Some(128));
        assert_eq!(plan.parts_in_flight(0), 4);
    }

    #[test]
    fn declared_sizes_small_and_large_fit_even_when_the_client_sends_more() {
        for declared in [0, 1, 5 * MIB, GIB, 100 * GIB, 700 * GIB, TIB] {
            let plan = PartPlan::for_size(Some(declared));
            for size in [declared, declared + 1, declared.saturating_mul(2).max(1), declared + 64 * GIB] {
                let parts = plan.parts_for(size).unwrap_or_else(|| panic!("declared {declared}, sent {size}: too many parts"));
                assert_valid(&parts, size, &format!("declared {declared}, sent {size}"));
            }
        }
        // Small declared sizes do not buffer more than the 8 MiB floor.
        assert_eq!(PartPlan::for_size(Some(GIB)).part_size(0), 8 * MIB);
    }

    #[test]
    fn copy_parts_cover_any_object() {
        let plan = CopyPlan::default();
        assert!(!plan.is_multipart(MAX_SINGLE_COPY) && plan.is_multipart(MAX_SINGLE_COPY + 1));
        for size in [MAX_SINGLE_COPY + 1, 6 * GIB, TIB, 5 * TIB] {
            let part = plan.part_size(size);
            assert!((MIN_PART..=MAX_PART).contains(&part));
            assert!(size.div_ceil(part) <= u64::from(MAX_PARTS), "{size}");
        }
        assert_eq!(plan.part_size(6 * GIB), GIB);
        // A test plan with tiny ranges still respects S3's limits.
        let tiny = CopyPlan { single_copy_max: 0, min_copy_part: 1 };
        assert!(tiny.is_multipart(1));
        assert_eq!(tiny.part_size(13 * MIB), MIN_PART);
        assert!(CopyPlan { single_copy_max: u64::MAX, min_copy_part: u64::MAX }.is_multipart(MAX_SINGLE_COPY + 1));
    }
}
