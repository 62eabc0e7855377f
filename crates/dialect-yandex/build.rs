//! Compile the Yandex Cloud protos (see `proto/README.md`) with protox, a pure-Rust
//! protobuf compiler, so a machine with nothing but cargo can build this crate.

use std::path::PathBuf;

const PROTOS: [&str; 5] = [
    "yandex/cloud/compute/v1/image_service.proto",
    "yandex/cloud/operation/operation_service.proto",
    "yandex/cloud/endpoint/api_endpoint_service.proto",
    "yandex/cloud/iam/v1/iam_token_service.proto",
    "google/rpc/status.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?).join("proto");
    println!("cargo:rerun-if-changed={}", root.display());
    let files: Vec<PathBuf> = PROTOS.iter().map(|p| root.join(p)).collect();
    let descriptors = protox::compile(&files, [&root])?;
    tonic_prost_build::configure()
        .codec_path("crate::codec::StrictCodec")
        .build_server(true)
        .build_client(true)
        .build_transport(false)
        .btree_map(".")
        .compile_fds(descriptors)?;
    Ok(())
}
