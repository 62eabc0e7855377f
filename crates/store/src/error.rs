//! object_store errors as `std::io::Error`, the error type of the `BlobStore` port:
//! "not found" must stay recognisable, everything else is an opaque backend failure.

use std::io;

pub(crate) fn to_io(e: object_store::Error) -> io::Error {
    let kind = match &e {
        object_store::Error::NotFound { .. } => io::ErrorKind::NotFound,
        object_store::Error::AlreadyExists { .. } => io::ErrorKind::AlreadyExists,
        object_store::Error::NotSupported { .. } | object_store::Error::NotImplemented => io::ErrorKind::Unsupported,
        _ => io::ErrorKind::Other,
    };
    io::Error::new(kind, e)
}

pub(crate) fn join_failed(e: tokio::task::JoinError) -> io::Error {
    io::Error::other(format!("blob store worker failed: {e}"))
}
