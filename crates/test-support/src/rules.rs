//! The rule matrix (issue 12, item 6): one row per rule, one column per cloud.
//! Every row is the same invalid input sent through Glance, Nova, Huawei IMS,
//! Azure ARM and Yandex Compute; each cell says what that cloud answers — its
//! status, the code its own envelope carries and, where the cloud's limit
//! differs, that limit. Each dialect crate has a `tests/rules.rs` that walks its
//! column of this one table over a real socket.
//!
//! Codes are each envelope's own: Glance's `"code"` (`"400 Bad Request"`), Nova's
//! fault name (`badRequest`), IMS's `IMG.xxxx`, ARM's `error.code`, and the gRPC
//! code name Yandex sends (as a number in the REST body, see [`grpc_code`]).
//! Limits are the clouds' own numbers, written here independently of the product.

/// The clouds, one column each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cloud {
    Glance,
    Nova,
    Huawei,
    Azure,
    Yandex,
}

/// The rules, one row each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Row {
    /// A name one character longer than the cloud allows.
    LongName,
    /// A property (metadata, tag value, label value) one character too long.
    LongPropertyValue,
    /// A property key with characters the cloud does not allow.
    BadPropertyKey,
    /// `min_disk` / `min_ram` (Yandex: `min_disk_size`) out of range.
    MinDiskOrRamOutOfRange,
    /// A disk or container format (Azure: `osType`) not in the allow-list.
    UnknownFormat,
    /// A tag one character longer than the cloud allows.
    LongTag,
    /// Deleting a protected image.
    DeleteProtected,
    /// A reader-only user creating or changing an image.
    ReaderWrites,
    /// A member of another project changing an image it can see but not change.
    OtherProjectWrites,
    /// Any request on an image the caller cannot see.
    InvisibleImage,
    /// A second image with a name already used in the project.
    NameTaken,
    /// An import from a URI outside the operator's allow-list.
    ImportNotAllowed,
}

/// What a cloud answers to a row's input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Refused with `status` and the envelope's `code`; `limit` is the cloud's
    /// own limit for rules that have one.
    Refused { status: u16, code: &'static str, limit: Option<usize> },
    /// Not an error in this cloud (`status` of the success).
    Accepted { status: u16 },
    /// The cloud has no such operation (or no such attribute): why.
    NoSuchOperation(&'static str),
}

/// One row of the matrix.
#[derive(Debug, Clone, Copy)]
pub struct Line {
    pub row: Row,
    pub rule: &'static str,
    pub glance: Outcome,
    pub nova: Outcome,
    pub huawei: Outcome,
    pub azure: Outcome,
    pub yandex: Outcome,
}

impl Line {
    pub fn of(&self, cloud: Cloud) -> Outcome {
        match cloud {
            Cloud::Glance => self.glance,
            Cloud::Nova => self.nova,
            Cloud::Huawei => self.huawei,
            Cloud::Azure => self.azure,
            Cloud::Yandex => self.yandex,
        }
    }
}

/// Glance's column 255 limit (its database columns), shared by Huawei IMS.
pub const GLANCE_NAME_MAX: usize = 255;
/// Glance's property value column (TEXT, 65,535).
pub const GLANCE_PROPERTY_VALUE_MAX: usize = 65_535;
/// Nova's `parameter_types.metadata`: values of at most 255 characters.
pub const NOVA_METADATA_VALUE_MAX: usize = 255;
/// ARM's image names: 1–80 characters.
pub const AZURE_NAME_MAX: usize = 80;
/// ARM tags: values up to 256 characters, names up to 512.
pub const AZURE_TAG_VALUE_MAX: usize = 256;
pub const AZURE_TAG_NAME_MAX: usize = 512;
/// Yandex's name pattern `|[a-z]([-_a-z0-9]{0,61}[a-z0-9])?`: at most 63.
pub const YANDEX_NAME_MAX: usize = 63;
/// Yandex labels: values at most 63 characters.
pub const YANDEX_LABEL_VALUE_MAX: usize = 63;
/// Yandex `min_disk_size`: 4 MiB .. 4 TiB (0 = unset).
pub const YANDEX_MIN_DISK_SIZE: std::ops::RangeInclusive<i64> = 4_194_304..=4_398_046_511_104;
/// Glance's `min_disk` / `min_ram`: 0 ..= 2³¹−1.
pub const GLANCE_INT_MAX: i64 = i32::MAX as i64;

const fn refused(status: u16, code: &'static str) -> Outcome {
    Outcome::Refused { status, code, limit: None }
}

const fn refused_over(status: u16, code: &'static str, limit: usize) -> Outcome {
    Outcome::Refused { status, code, limit: Some(limit) }
}

const GLANCE_400: Outcome = refused(400, "400 Bad Request");
const GLANCE_403: Outcome = refused(403, "403 Forbidden");
const NOVA_NO_WRITES: Outcome = Outcome::NoSuchOperation("Nova's image API has no create or update: only show, list, delete and metadata");
const YANDEX_INVALID: Outcome = refused(400, "INVALID_ARGUMENT");

/// The matrix. Deviations from the real clouds are noted per cell.
pub const MATRIX: &[Line] = &[
    Line {
        row: Row::LongName,
        rule: "name longer than the cloud allows",
        glance: refused_over(400, "400 Bad Request", GLANCE_NAME_MAX),
        nova: NOVA_NO_WRITES,
        huawei: refused_over(400, "IMG.0001", GLANCE_NAME_MAX),
        azure: refused_over(400, "InvalidResourceName", AZURE_NAME_MAX),
        yandex: refused_over(400, "INVALID_ARGUMENT", YANDEX_NAME_MAX),
    },
    Line {
        row: Row::LongPropertyValue,
        rule: "property value longer than the cloud allows",
        glance: refused_over(400, "400 Bad Request", GLANCE_PROPERTY_VALUE_MAX),
        nova: refused_over(400, "badRequest", NOVA_METADATA_VALUE_MAX),
        huawei: refused_over(400, "IMG.0001", GLANCE_PROPERTY_VALUE_MAX),
        // Azure tags are its custom properties.
        azure: refused_over(400, "InvalidParameter", AZURE_TAG_VALUE_MAX),
        // Yandex labels are its custom properties.
        yandex: refused_over(400, "INVALID_ARGUMENT", YANDEX_LABEL_VALUE_MAX),
    },
    Line {
        row: Row::BadPropertyKey,
        rule: "property key with characters the cloud refuses",
        // A control character.
        glance: GLANCE_400,
        // Nova's pattern ^[a-zA-Z0-9-_:. ]{1,255}$ refuses '/'.
        nova: refused(400, "badRequest"),
        huawei: refused(400, "IMG.0001"),
        // A tag name with '/'.
        azure: refused(400, "InvalidParameter"),
        // An upper-case label key.
        yandex: YANDEX_INVALID,
    },
    Line {
        row: Row::MinDiskOrRamOutOfRange,
        rule: "min_disk / min_ram out of range",
        glance: GLANCE_400,
        nova: NOVA_NO_WRITES,
        huawei: refused(400, "IMG.0001"),
        azure: Outcome::NoSuchOperation("ARM images have no min_disk / min_ram"),
        // min_disk_size below 4 MiB.
        yandex: YANDEX_INVALID,
    },
    Line {
        row: Row::UnknownFormat,
        rule: "disk_format / container_format not in the allow-list",
        glance: GLANCE_400,
        nova: NOVA_NO_WRITES,
        huawei: refused(400, "IMG.0001"),
        // ARM has no formats; its allow-listed enum is osDisk.osType.
        azure: refused(400, "InvalidParameter"),
        yandex: Outcome::NoSuchOperation("Yandex images have no format attribute (imagery derives it from the URI)"),
    },
    Line {
        row: Row::LongTag,
        rule: "tag longer than the cloud allows",
        glance: refused_over(400, "400 Bad Request", GLANCE_NAME_MAX),
        nova: NOVA_NO_WRITES,
        huawei: refused_over(400, "IMG.0001", GLANCE_NAME_MAX),
        // ARM tags are name/value pairs: a tag name over 512.
        azure: refused_over(400, "InvalidParameter", AZURE_TAG_NAME_MAX),
        yandex: Outcome::NoSuchOperation("Yandex images have labels, not tags (see the property rows)"),
    },
    Line {
        row: Row::DeleteProtected,
        rule: "deleting a protected image",
        glance: GLANCE_403,
        // Nova turns Glance's 403 into "You are not allowed to delete the image."
        nova: refused(403, "forbidden"),
        // IMS's "no permission".
        huawei: refused(403, "IMG.0161"),
        azure: refused(409, "ScopeLocked"),
        // Yandex images have no protection flag: an image protected through another
        // dialect is in a state that forbids the delete.
        yandex: refused(400, "FAILED_PRECONDITION"),
    },
    Line {
        row: Row::ReaderWrites,
        rule: "a reader-only user creating or changing an image",
        glance: GLANCE_403,
        nova: refused(403, "forbidden"),
        huawei: refused(403, "IMG.0161"),
        azure: refused(403, "AuthorizationFailed"),
        yandex: refused(403, "PERMISSION_DENIED"),
    },
    Line {
        row: Row::OtherProjectWrites,
        rule: "another project changing an image it can see",
        glance: GLANCE_403,
        nova: refused(403, "forbidden"),
        // IMS's "only the owner".
        huawei: refused(403, "IMG.0047"),
        // ARM shows a subscription's own images only; another subscription is a scope
        // without a role assignment.
        azure: refused(403, "AuthorizationFailed"),
        yandex: refused(403, "PERMISSION_DENIED"),
    },
    Line {
        row: Row::InvisibleImage,
        rule: "an image the caller cannot see",
        glance: refused(404, "404 Not Found"),
        nova: refused(404, "itemNotFound"),
        huawei: refused(404, "IMG.0027"),
        azure: refused(404, "ResourceNotFound"),
        yandex: refused(404, "NOT_FOUND"),
    },
    Line {
        row: Row::NameTaken,
        rule: "a name already used in the project",
        glance: Outcome::Accepted { status: 201 },
        nova: NOVA_NO_WRITES,
        huawei: Outcome::Accepted { status: 201 },
        // PUT is create-or-replace: the same name replaces the image.
        azure: Outcome::Accepted { status: 200 },
        yandex: refused(409, "ALREADY_EXISTS"),
    },
    Line {
        row: Row::ImportNotAllowed,
        rule: "import from a URI outside the allow-list",
        glance: GLANCE_400,
        nova: Outcome::NoSuchOperation("Nova has no image import"),
        huawei: refused(400, "IMG.0001"),
        // An https blobUri names a source, it is never fetched: recorded as
        // metadata (other schemes are 400 InvalidParameter).
        azure: Outcome::Accepted { status: 201 },
        yandex: YANDEX_INVALID,
    },
];

/// The cell of `row` for `cloud`.
pub fn expect(row: Row, cloud: Cloud) -> Outcome {
    MATRIX.iter().find(|line| line.row == row).map(|line| line.of(cloud)).unwrap_or(Outcome::NoSuchOperation("row missing"))
}

/// The status and code of a refusal; panics on a cell that is not one.
pub fn refusal(row: Row, cloud: Cloud) -> (u16, &'static str, Option<usize>) {
    match expect(row, cloud) {
        Outcome::Refused { status, code, limit } => (status, code, limit),
        other => panic!("{row:?} × {cloud:?} is not a refusal: {other:?}"),
    }
}

/// The cloud's limit for `row`; panics when the cell has none.
pub fn limit(row: Row, cloud: Cloud) -> usize {
    refusal(row, cloud).2.unwrap_or_else(|| panic!("{row:?} × {cloud:?} has no limit"))
}

/// The numeric `google.rpc.Code` of a gRPC code name (the Yandex REST body's `code`).
pub fn grpc_code(name: &str) -> i64 {
    match name {
        "INVALID_ARGUMENT" => 3,
        "NOT_FOUND" => 5,
        "ALREADY_EXISTS" => 6,
        "PERMISSION_DENIED" => 7,
        "FAILED_PRECONDITION" => 9,
        "UNAUTHENTICATED" => 16,
        other => panic!("no gRPC code named {other}"),
    }
}

/// `n` characters: one more than `limit` gives an over-long value.
pub fn chars(c: char, n: usize) -> String {
    std::iter::repeat_n(c, n).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_once() {
        let rows = [
            Row::LongName,
            Row::LongPropertyValue,
            Row::BadPropertyKey,
            Row::MinDiskOrRamOutOfRange,
            Row::UnknownFormat,
            Row::LongTag,
            Row::DeleteProtected,
            Row::ReaderWrites,
            Row::OtherProjectWrites,
            Row::InvisibleImage,
            Row::NameTaken,
            Row::ImportNotAllowed,
        ];
        assert_eq!(MATRIX.len(), rows.len());
        for row in rows {
            assert_eq!(MATRIX.iter().filter(|l| l.row == row).count(), 1, "{row:?}");
        }
        assert_eq!(limit(Row::LongPropertyValue, Cloud::Nova), 255);
        assert_eq!(grpc_code(refusal(Row::NameTaken, Cloud::Yandex).1), 6);
    }
}
