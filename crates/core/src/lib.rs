//! The image domain of imagery: what an image is, which status changes are legal,
//! who may see and change it, and the ports (catalog, blob store) that the service
//! drives. Nothing here performs I/O; every dialect renders views derived from
//! these types.

pub mod cluster;
pub mod context;
pub mod error;
pub mod identity;
pub mod image;
pub mod member;
pub mod operation;
pub mod policy;
pub mod ports;
pub mod query;
pub mod rules;
pub mod time;

pub use context::Caller;
pub use error::{ByteLimit, Counted, DataRefusal, Denial, DomainError, DomainResult, FetchFailure, Field, Problem};
pub use image::{Image, ImageData, ImageStatus, Visibility};
pub use member::{Member, MemberStatus};
