//! The blob store: image bytes on the local filesystem (default), in an S3-compatible
//! bucket, or in memory (tests), behind [`imagery_core::ports::BlobStore`], plus the
//! single-pass [`UploadHasher`] that computes an upload's size, MD5 and SHA-512 (its
//! content address) while it streams.
//!
//! Layout inside the store: `staging/<uuid>` for writes in progress, and
//! `blobs/<first two characters of the key>/<key>` for committed blobs. A write only
//! becomes visible under `blobs/` on commit, after it is durable; anything left in
//! `staging/` by a crash is removed by `sweep_temporary` (on S3, with the multipart
//! uploads a crash left open).
//!
//! Start with [`open()`], which turns a store URL into a `BlobStore`; S3 part sizes
//! are planned in [`parts`].

mod error;
mod hashing;
mod layout;
mod local;
mod multipart;
mod open;
pub mod parts;
mod pipe;
mod s3;
mod store;

pub use hashing::{Digests, UploadHasher};
pub use open::{open, open_s3, open_with, S3Addressing, S3Settings};
pub use store::ObjectBlobStore;
