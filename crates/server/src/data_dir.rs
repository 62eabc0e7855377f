//! The data directory holds credentials (the catalog with its keys, the
//! key-encryption key, the admin's openrc, the TLS key) and private image bytes:
//! it is created owner-only (0700), and an install whose data dir, catalog or
//! blob tree group or others can reach is tightened at start, with one warning.
//! Also where the key-encryption key comes from.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use imagery_identity::{KeyEncryptionKey, OPENRC_FILE};

use crate::config::Config;

/// The key-encryption key's file in the data dir, when none is configured.
pub const KEK_FILE: &str = "kek";

/// Create the data dir owner-only and take group and other permissions off what
/// an older version (or a lax umask) left readable: the data dir, the SQLite
/// catalog with its `-wal`/`-shm`, the local blob tree, the key-encryption key,
/// the admin openrc and the generated TLS key. Symbolic links are not followed.
pub fn prepare(config: &Config) -> anyhow::Result<()> {
    create_private_dir_all(&config.data_dir).map_err(|e| anyhow::anyhow!("cannot create data dir {}: {e}", config.data_dir.display()))?;
    let mut tightened = Tightened::default();
    tightened.entry(&config.data_dir);
    if let Some(catalog) = sqlite_file(&config.database_url()) {
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let mut name = catalog.clone().into_os_string();
            name.push(suffix);
            tightened.entry(Path::new(&name));
        }
    }
    if let Some(blobs) = local_blob_dir(&config.blob_url()) {
        tightened.tree(&blobs);
    }
    tightened.entry(&config.kek_file.clone().unwrap_or_else(|| config.data_dir.join(KEK_FILE)));
    tightened.entry(&config.data_dir.join(OPENRC_FILE));
    tightened.entry(&config.data_dir.join("tls"));
    tightened.entry(&config.data_dir.join("tls").join("key.pem"));
    tightened.report();
    Ok(())
}

/// The key-encryption key, with where it came from (for messages): `kek`
/// (base64) if set, else `kek_file`, else `<data_dir>/kek`, created on first start.
pub fn key_encryption_key(config: &Config) -> anyhow::Result<(KeyEncryptionKey, String)> {
    if let Some(text) = &config.kek {
        let key = KeyEncryptionKey::from_base64(text).map_err(|e| anyhow::anyhow!("IMAGERY_KEK / kek: {}", plain(&e)))?;
        return Ok((key, "IMAGERY_KEK".into()));
    }
    if let Some(path) = &config.kek_file {
        let key = KeyEncryptionKey::read_file(path).map_err(|e| anyhow::anyhow!("{}", plain(&e)))?;
        return Ok((key, path.display().to_string()));
    }
    let path = config.data_dir.join(KEK_FILE);
    let (key, created) = KeyEncryptionKey::load_or_create(&path).map_err(|e| anyhow::anyhow!("{}", plain(&e)))?;
    if created {
        tracing::warn!(path = %path.display(), "created the key-encryption key that seals the catalog's secrets; back it up with the catalog (without it they cannot be read), and give every node sharing this catalog the same key (IMAGERY_KEK_FILE)");
    }
    Ok((key, path.display().to_string()))
}

fn plain(e: &imagery_identity::IdentityError) -> String {
    match e {
        imagery_identity::IdentityError::Backend(m) | imagery_identity::IdentityError::BadRequest(m) => m.clone(),
        other => other.to_string(),
    }
}

/// The file of a `sqlite://` catalog URL (none for memory or PostgreSQL).
pub(crate) fn sqlite_file(url: &str) -> Option<PathBuf> {
    let path = url.strip_prefix("sqlite://")?;
    (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
}

/// The directory of a local blob store URL (none for S3 or memory).
fn local_blob_dir(url: &str) -> Option<PathBuf> {
    match url.strip_prefix("file://") {
        Some(path) => Some(PathBuf::from(path.strip_prefix("localhost").unwrap_or(path))),
        None if url.contains("://") => None,
        None => Some(PathBuf::from(url)),
    }
}

/// `create_dir_all` with owner-only permissions on what it creates.
fn create_private_dir_all(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// What was tightened (or could not be), reported in one line each.
#[derive(Default)]
struct Tightened {
    fixed: Vec<PathBuf>,
    failed: Vec<String>,
}

impl Tightened {
    /// Tighten one file or directory, if it exists and is not a symbolic link.
    fn entry(&mut self, path: &Path) {
        if let Ok(meta) = fs::symlink_metadata(path) {
            self.tighten(path, &meta);
        }
    }

    /// Tighten a directory and everything under it.
    fn tree(&mut self, root: &Path) {
        let mut pending = vec![root.to_path_buf()];
        while let Some(path) = pending.pop() {
            let Ok(meta) = fs::symlink_metadata(&path) else {
                continue;
            };
            self.tighten(&path, &meta);
            if meta.is_dir() {
                match fs::read_dir(&path) {
                    Ok(entries) => pending.extend(entries.filter_map(|e| e.ok()).map(|e| e.path())),
                    Err(e) => self.failed.push(format!("{}: {e}", path.display())),
                }
            }
        }
    }

    #[cfg(unix)]
    fn tighten(&mut self, path: &Path, meta: &fs::Metadata) {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode();
        if meta.file_type().is_symlink() || mode & 0o077 == 0 || self.fixed.iter().any(|p| p == path) {
            return;
        }
        match fs::set_permissions(path, fs::Permissions::from_mode(mode & 0o7700)) {
            Ok(()) => self.fixed.push(path.to_path_buf()),
            Err(e) => self.failed.push(format!("{}: {e}", path.display())),
        }
    }

    #[cfg(not(unix))]
    fn tighten(&mut self, _path: &Path, _meta: &fs::Metadata) {}

    fn report(self) {
        const NAMED: usize = 10;
        if !self.fixed.is_empty() {
            let mut named: Vec<String> = self.fixed.iter().take(NAMED).map(|p| p.display().to_string()).collect();
            if self.fixed.len() > NAMED {
                named.push(format!("and {} more", self.fixed.len() - NAMED));
            }
            tracing::warn!(
                count = self.fixed.len(),
                paths = %named.join(", "),
                "group or others could access the data dir, catalog or blobs; removed their permissions"
            );
        }
        if !self.failed.is_empty() {
            tracing::warn!(paths = %self.failed.join(", "), "could not remove group and other permissions");
        }
    }
}

#[cfg(all(test, unix))]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(p: &Path) -> u32 {
        fs::symlink_metadata(p).expect("stat").permissions().mode() & 0o7777
    }

    #[test]
    fn lax_modes_are_tightened_and_links_not_followed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        let outside = dir.path().join("outside");
        fs::write(&outside, "x").expect("write");
        fs::set_permissions(&outside, fs::Permissions::from_mode(0o644)).expect("chmod");
        fs::create_dir_all(data.join("blobs/blobs/ab")).expect("mkdir");
        for (path, m) in [(&data, 0o755), (&data.join("blobs"), 0o755), (&data.join("blobs/blobs/ab"), 0o775)] {
            fs::set_permissions(path, fs::Permissions::from_mode(m)).expect("chmod");
        }
        for file in ["catalog.db", "catalog.db-wal", "blobs/blobs/ab/abcd"] {
            fs::write(data.join(file), "x").expect("write");
            fs::set_permissions(data.join(file), fs::Permissions::from_mode(0o644)).expect("chmod");
        }
        std::os::unix::fs::symlink(&outside, data.join("blobs/blobs/ab/link")).expect("symlink");
        let config = Config { data_dir: data.clone(), ..Config::default() };
        prepare(&config).expect("prepare");
        assert_eq!(mode(&data), 0o700);
        assert_eq!(mode(&data.join("blobs/blobs/ab")), 0o700);
        assert_eq!(mode(&data.join("catalog.db")), 0o600);
        assert_eq!(mode(&data.join("catalog.db-wal")), 0o600);
        assert_eq!(mode(&data.join("blobs/blobs/ab/abcd")), 0o600);
        assert_eq!(mode(&outside), 0o644, "a link's target is not ours to change");
    }

    #[test]
    fn urls_name_local_files() {
        assert_eq!(sqlite_file("sqlite:///a/c.db"), Some(PathBuf::from("/a/c.db")));
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(sqlite_file("postgres://u@h/d"), None);
        assert_eq!(local_blob_dir("file:///srv/blobs"), Some(PathBuf::from("/srv/blobs")));
        assert_eq!(local_blob_dir("/srv/blobs"), Some(PathBuf::from("/srv/blobs")));
        assert_eq!(local_blob_dir("s3://bucket/p"), None);
    }
}
