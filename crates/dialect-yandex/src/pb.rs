//! The generated protobuf messages and gRPC services, in Yandex's package layout.
#![allow(clippy::all, missing_docs, rustdoc::broken_intra_doc_links, rustdoc::invalid_html_tags, rustdoc::bare_urls)]

pub mod google {
    pub mod rpc {
        tonic::include_proto!("google.rpc");
    }
}

pub mod yandex {
    pub mod cloud {
        pub mod access {
            tonic::include_proto!("yandex.cloud.access");
        }
        pub mod compute {
            pub mod v1 {
                tonic::include_proto!("yandex.cloud.compute.v1");
            }
        }
        pub mod endpoint {
            tonic::include_proto!("yandex.cloud.endpoint");
        }
        pub mod iam {
            pub mod v1 {
                tonic::include_proto!("yandex.cloud.iam.v1");
            }
        }
        pub mod operation {
            tonic::include_proto!("yandex.cloud.operation");
        }
    }
}
