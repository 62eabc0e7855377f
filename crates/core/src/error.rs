//! The one error type every use case returns. Its variant is the *kind* of
//! failure (each dialect maps it to its own status code and envelope); its
//! [`Problem`] says which rule failed, with the structured facts a dialect needs to
//! word it its own way. `Display` gives the default wording (Glance's, which real
//! clients and tempest match on).

use std::fmt;

use thiserror::Error;
use uuid::Uuid;

use crate::image::ImageStatus;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum DomainError {
    /// Missing, deleted, or invisible to the caller (never leaks existence).
    #[error("{0}")]
    NotFound(Problem),
    /// Visible to the caller but the action is not allowed.
    #[error("{0}")]
    Forbidden(Problem),
    /// Malformed or invalid input.
    #[error("{0}")]
    BadRequest(Problem),
    /// The resource's current state does not allow the action.
    #[error("{0}")]
    Conflict(Problem),
    /// A quota or size cap would be exceeded.
    #[error("{0}")]
    OverLimit(Problem),
    /// Uploaded bytes are not what the image claims (format mismatch, unsafe image).
    #[error("{0}")]
    InvalidImageData(Problem),
    /// A requested byte range lies outside the data.
    #[error("{0}")]
    RangeNotSatisfiable(Problem),
    /// The image went away while the request was running.
    #[error("{0}")]
    Gone(Problem),
    /// Authentication failed or is missing.
    #[error("{0}")]
    Unauthenticated(Problem),
    /// A backend (catalog, blob store) failed; details are logged, not shown.
    #[error("{0}")]
    Unavailable(Problem),
}

pub type DomainResult<T> = Result<T, DomainError>;

/// An attribute a rule is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    Name,
    Tag,
    PropertyKey,
    PropertyValue,
    MinDisk,
    MinRam,
    ContainerFormat,
    DiskFormat,
    Owner,
    MemberId,
}

impl Field {
    /// The attribute's Glance name.
    pub fn as_str(self) -> &'static str {
        match self {
            Field::Name => "name",
            Field::Tag => "tags",
            Field::PropertyKey => "property name",
            Field::PropertyValue => "property value",
            Field::MinDisk => "min_disk",
            Field::MinRam => "min_ram",
            Field::ContainerFormat => "container_format",
            Field::DiskFormat => "disk_format",
            Field::Owner => "owner",
            Field::MemberId => "member",
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a per-project or per-image quota counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Counted {
    Images,
    Tags,
    Properties,
    Members,
}

/// Which limit a byte count ran into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ByteLimit {
    /// The operator's largest image (`image_size_cap`).
    SizeCap,
    /// The project's stored-bytes quota (`image_size_total`).
    StorageQuota,
    /// The project's staged-bytes quota (`image_stage_total`).
    StagingQuota,
}

/// What the caller may not do (policy's refusals).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denial {
    /// Reading needs the reader role.
    Read,
    /// Only members of the owning project (or admins) change an image.
    Modify {
        image: Uuid,
    },
    /// Only members of the owning project (or admins) delete an image.
    Delete {
        image: Uuid,
    },
    /// A caller of the owning project without the member role.
    MissingRole {
        image: Uuid,
        delete: bool,
    },
    /// Creating needs the member role.
    Create,
    /// Creating for another project.
    CreateOwnedBy {
        owner: String,
    },
    CreateWithoutOwner,
    /// `public` is for admins.
    Publicize,
    Communitize,
    /// Downloading needs the member role.
    Download,
    /// A deactivated image's data is for admins only.
    DownloadDeactivated,
    /// Only the member project accepts or rejects a share.
    MemberStatus,
}

/// Why bytes were refused as image data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataRefusal {
    /// The detected format failed its safety checks.
    Unsafe { format: String, reason: String },
    /// A `bare` image's bytes are not its declared `disk_format`.
    Mismatch { declared: String, detected: String },
}

/// Which rule failed, and the facts a dialect needs to say so in its own words.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Problem {
    /// A situation with no structured rule behind it; the words say it all.
    Said(String),
    /// No image with this id is visible to the caller.
    ImageNotFound(String),
    /// `field` (the property `key`, for properties) is longer than `max` characters.
    TooLong { field: Field, max: usize, key: Option<String> },
    /// An integer attribute outside `min..=max`.
    OutOfRange { field: Field, value: i64, min: i64, max: i64 },
    /// A value not in the operator's list (formats).
    NotOneOf { field: Field, value: String, allowed: Vec<String> },
    /// Empty, or characters the rule does not allow (control characters; Nova's
    /// metadata key pattern).
    BadCharacters { field: Field, value: String },
    /// A property key reserved for the server (`os_glance*`, `imagery:`, Glance's
    /// reserved attributes).
    Reserved { key: String },
    /// A property key that names an image attribute.
    AttributeNotProperty { key: String },
    /// The image has no custom property `key`.
    PropertyNotFound { key: String },
    /// An attribute only the server sets.
    ReadOnly { attribute: String },
    /// More `what` than the quota allows.
    Quota { what: Counted, limit: i64 },
    /// More bytes than `limit` allows (`limit` bytes).
    TooManyBytes { by: ByteLimit, limit: u64 },
    /// The blob store has no room left for the bytes (a full disk, a filesystem
    /// quota): nothing was kept, and the same upload may succeed once space is freed.
    StoreFull,
    /// Bytes refused as image data.
    ImageData(DataRefusal),
    /// The caller may not do this.
    Denied(Denial),
    /// A protected image cannot be deleted.
    Protected { image: Uuid },
    /// The status machine does not allow this change.
    Transition { from: ImageStatus, to: ImageStatus },
    /// Another image of the project already has this name (where names are unique).
    NameTaken { name: String },
    /// A URL outside the operator's allow-list for imports.
    SourceNotAllowed { uri: String },
    /// A list query with more filters than [`crate::query::MAX_FILTERS`].
    TooManyFilters { limit: usize },
    /// A list query whose `in:` lists name more values than
    /// [`crate::query::MAX_FILTER_VALUES`] in all.
    TooManyFilterValues { limit: usize },
    /// Fetching an import source (`uri`, as the caller gave it) failed.
    Fetch { uri: String, failure: FetchFailure },
}

/// Why fetching an import source failed. The words name no internals (no
/// resolver, library or socket errors: those are logged).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FetchFailure {
    /// The host is, or resolves only to, an address imports may not reach:
    /// loopback, private, link-local (cloud metadata), shared (CGNAT),
    /// documentation, multicast, unspecified and other special addresses.
    SpecialAddress,
    /// A redirect leads outside the operator's allowed sources.
    RedirectNotAllowed,
    /// More redirects than imports follow.
    TooManyRedirects { max: usize },
    /// No connection could be made (the name does not resolve, the port is closed…).
    Unreachable,
    /// No connection within `secs` seconds.
    ConnectTimeout { secs: u64 },
    /// No byte (or no response head) for `secs` seconds.
    Stalled { secs: u64 },
    /// The whole fetch took longer than `secs` seconds.
    Deadline { secs: u64 },
    /// The source answered a status other than 2xx.
    Status { code: u16 },
    /// The source answered with a `Content-Encoding` (imports take bytes as they are stored).
    Encoded { encoding: String },
    /// The connection broke before the body was complete.
    Interrupted,
}

impl fmt::Display for FetchFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FetchFailure::SpecialAddress => f.write_str(
                "its address is not a public one (loopback, private, link-local and other special addresses are refused unless the operator allows them)",
            ),
            FetchFailure::RedirectNotAllowed => f.write_str("it redirects outside the operator's allowed sources"),
            FetchFailure::TooManyRedirects { max } => write!(f, "it redirects more than {max} times"),
            FetchFailure::Unreachable => f.write_str("the source could not be reached"),
            FetchFailure::ConnectTimeout { secs } => write!(f, "no connection within {secs} s"),
            FetchFailure::Stalled { secs } => write!(f, "no data arrived for {secs} s"),
            FetchFailure::Deadline { secs } => write!(f, "the transfer did not finish within {secs} s"),
            FetchFailure::Status { code } => write!(f, "it answered HTTP status {code}"),
            FetchFailure::Encoded { encoding } => {
                write!(f, "it answered with Content-Encoding '{encoding}'; imports take unencoded bytes only")
            }
            FetchFailure::Interrupted => f.write_str("the transfer was interrupted"),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Said(words) => f.write_str(words),
            Problem::ImageNotFound(id) => write!(f, "No image found with ID {id}"),
            Problem::TooLong { field: Field::Name, max, .. } => write!(f, "Name too long: it may have at most {max} characters."),
            Problem::TooLong { field: Field::Tag, max, .. } => write!(f, "Tag is too long: a tag may have at most {max} characters."),
            Problem::TooLong { field: Field::PropertyKey, max, .. } => {
                write!(f, "Custom property should not be greater than {max} characters.")
            }
            Problem::TooLong { field: Field::PropertyValue, max, key } => {
                write!(f, "The value of property '{}' is too long: it may have at most {max} characters.", key.as_deref().unwrap_or(""))
            }
            Problem::TooLong { field, max, .. } => write!(f, "{field} is too long: it may have at most {max} characters."),
            Problem::OutOfRange { field, min, max, .. } => write!(f, "Invalid value for {field}: it must be between {min} and {max}."),
            Problem::NotOneOf { field, value, allowed } => {
                write!(f, "Invalid value '{value}' for {field}: it must be one of {}.", allowed.join(", "))
            }
            Problem::BadCharacters { field: Field::PropertyKey, value } if value.is_empty() => {
                f.write_str("Property names must not be empty.")
            }
            Problem::BadCharacters { field, .. } => write!(f, "Invalid {field}: it has characters that are not allowed."),
            Problem::Reserved { key } => write!(f, "Attribute '{key}' is reserved."),
            Problem::AttributeNotProperty { key } => write!(f, "Attribute '{key}' is an image attribute, not a custom property."),
            Problem::PropertyNotFound { key } => write!(f, "Property {key} does not exist."),
            Problem::ReadOnly { attribute } => write!(f, "Attribute '{attribute}' is read-only."),
            Problem::Quota { what: Counted::Images, limit } => {
                write!(f, "Maximum number of images exceeded: the project may hold {limit} images.")
            }
            Problem::Quota { what: Counted::Tags, limit } => {
                write!(f, "Maximum number of tags exceeded: an image may have at most {limit} tags.")
            }
            Problem::Quota { what: Counted::Properties, limit } => {
                write!(f, "Maximum number of properties exceeded: an image may have at most {limit} properties.")
            }
            Problem::Quota { what: Counted::Members, limit } => {
                write!(f, "Maximum number of members exceeded: an image may have at most {limit} members.")
            }
            Problem::TooManyBytes { by: ByteLimit::SizeCap, limit } => write!(f, "Image exceeds the size cap of {limit} bytes."),
            Problem::TooManyBytes { limit, .. } => {
                write!(f, "Denying attempt to upload image because it exceeds the quota: the project may store {limit} bytes.")
            }
            Problem::StoreFull => f.write_str("Image storage media is full: There is not enough disk space on the image storage media."),
            Problem::ImageData(DataRefusal::Unsafe { reason, .. }) => write!(f, "Image failed safety checks: {reason}"),
            Problem::ImageData(DataRefusal::Mismatch { declared, detected }) => {
                write!(f, "Image disk_format {declared} does not match stream data {detected}")
            }
            Problem::Denied(denial) => match denial {
                Denial::Read => f.write_str("You are not authorized to read images."),
                Denial::Modify { image } => write!(f, "You are not permitted to modify image {image}."),
                Denial::Delete { image } => write!(f, "You are not permitted to delete image {image}."),
                Denial::MissingRole { image, delete: false } => write!(f, "You are not permitted to modify image {image}."),
                Denial::MissingRole { image, delete: true } => write!(f, "You are not permitted to delete image {image}."),
                Denial::Create => f.write_str("You are not authorized to create images."),
                Denial::CreateOwnedBy { owner } => write!(f, "You are not permitted to create images owned by '{owner}'."),
                Denial::CreateWithoutOwner => f.write_str("You are not permitted to create images without an owner."),
                Denial::Publicize => f.write_str("You are not authorized to complete publicize_image action."),
                Denial::Communitize => f.write_str("You are not authorized to complete communitize_image action."),
                Denial::Download => f.write_str("You are not authorized to download images."),
                Denial::DownloadDeactivated => f.write_str("The requested image has been deactivated. Image data download is forbidden."),
                Denial::MemberStatus => f.write_str("You are not permitted to modify 'status' on this image member."),
            },
            Problem::Protected { image } => write!(f, "Image {image} is protected and cannot be deleted."),
            Problem::Transition { from, to } => write!(f, "Image status transition from {from} to {to} is not allowed"),
            Problem::NameTaken { name } => write!(f, "An image named '{name}' already exists in this project."),
            Problem::SourceNotAllowed { uri } => {
                write!(f, "URI {uri} does not pass filtering: imports are limited to the operator's allowed sources.")
            }
            Problem::TooManyFilters { limit } => write!(f, "Too many filters: a list query may have at most {limit} filters."),
            Problem::TooManyFilterValues { limit } => {
                write!(f, "Too many filter values: the filters of a list query may name at most {limit} values in all.")
            }
            Problem::Fetch { uri, failure } => write!(f, "Could not fetch {uri}: {failure}."),
        }
    }
}

impl From<String> for Problem {
    fn from(words: String) -> Self {
        Problem::Said(words)
    }
}

impl From<&str> for Problem {
    fn from(words: &str) -> Self {
        Problem::Said(words.to_string())
    }
}

impl DomainError {
    pub fn image_not_found(id: impl fmt::Display) -> Self {
        DomainError::NotFound(Problem::ImageNotFound(id.to_string()))
    }

    /// The structured reason, whatever the kind.
    pub fn problem(&self) -> &Problem {
        match self {
            DomainError::NotFound(p)
            | DomainError::Forbidden(p)
            | DomainError::BadRequest(p)
            | DomainError::Conflict(p)
            | DomainError::OverLimit(p)
            | DomainError::InvalidImageData(p)
            | DomainError::RangeNotSatisfiable(p)
            | DomainError::Gone(p)
            | DomainError::Unauthenticated(p)
            | DomainError::Unavailable(p) => p,
        }
    }
}
