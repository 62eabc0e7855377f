//! TLS for the listeners whose clients refuse plain HTTP (Azure, Yandex gRPC): an
//! operator certificate, or a self-signed one generated on first start and kept in
//! the data dir so clients can trust it (`<data_dir>/tls/cert.pem`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio_rustls::TlsAcceptor;

/// Certificate and key files, PEM.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// The operator's files if given, else `<data_dir>/tls/{cert,key}.pem`, generated
/// (self-signed, for `hosts`) when missing. The key file is created owner-only.
pub fn ensure_certificate(data_dir: &Path, given: Option<TlsFiles>, hosts: &[String]) -> anyhow::Result<TlsFiles> {
    if let Some(files) = given {
        return Ok(files);
    }
    let dir = data_dir.join("tls");
    let files = TlsFiles { cert: dir.join("cert.pem"), key: dir.join("key.pem") };
    if files.cert.exists() && files.key.exists() {
        return Ok(files);
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(&dir)?;
    let mut names: Vec<String> = vec!["localhost".into(), "127.0.0.1".into(), "::1".into()];
    for h in hosts {
        let h = h.trim_start_matches('[').trim_end_matches(']').to_string();
        if !names.contains(&h) {
            names.push(h);
        }
    }
    let certified = rcgen::generate_simple_self_signed(names).map_err(|e| anyhow::anyhow!("cannot generate a TLS certificate: {e}"))?;
    write_private(&files.key, certified.key_pair.serialize_pem().as_bytes())?;
    std::fs::write(&files.cert, certified.cert.pem())?;
    tracing::warn!(cert = %files.cert.display(), "generated a self-signed TLS certificate; clients must trust this file");
    Ok(files)
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

pub fn acceptor(files: &TlsFiles) -> anyhow::Result<TlsAcceptor> {
    let cert_pem = std::fs::read(&files.cert).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", files.cert.display()))?;
    let key_pem = std::fs::read(&files.key).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", files.key.display()))?;
    let certs = rustls_pemfile::certs(&mut cert_pem.as_slice()).collect::<Result<Vec<_>, _>>()?;
    let key = rustls_pemfile::private_key(&mut key_pem.as_slice())?
        .ok_or_else(|| anyhow::anyhow!("no private key in {}", files.key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}
