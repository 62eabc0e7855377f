//! Who this process is among the nodes sharing a catalog: its node id (configured,
//! or generated on first start and kept in the data directory), this run's
//! incarnation, and the locks that refuse what must not share — two processes on
//! one data directory, or two nodes on one SQLite catalog (SQLite serves one node;
//! several need PostgreSQL).

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::config::Config;

/// The file holding the generated node id.
const NODE_ID_FILE: &str = "node-id";
/// The file recording `<node id> <incarnation>` of the last run.
const INCARNATION_FILE: &str = "incarnation";
const DATA_DIR_LOCK: &str = "imagery.lock";

/// Held for the life of the process; dropping it releases the locks.
pub struct Node {
    pub id: String,
    pub incarnation: String,
    /// The last run's incarnation of this node id in this data directory: that
    /// run is dead (we hold the data directory's lock), so its lease may be taken.
    pub previous: Option<String>,
    data_dir: PathBuf,
    _locks: Vec<File>,
}

impl Node {
    /// Take the locks and settle the node id. Fails, with a message saying what
    /// to do, when another process holds the data directory or the SQLite file.
    pub fn claim(config: &Config) -> anyhow::Result<Node> {
        let mut locks = vec![lock(&config.data_dir.join(DATA_DIR_LOCK)).map_err(|e| match e {
            Held => anyhow::anyhow!(
                "the data directory {} is in use by another imagery process; each node needs its own data directory",
                config.data_dir.display()
            ),
            Io(e) => anyhow::anyhow!("cannot lock the data directory {}: {e}", config.data_dir.display()),
        })?];
        if let Some(file) = crate::data_dir::sqlite_file(&config.database_url()) {
            let mut name = file.clone().into_os_string();
            name.push(".lock");
            locks.push(lock(Path::new(&name)).map_err(|e| match e {
                Held => anyhow::anyhow!(
                    "the SQLite catalog {} is in use by another imagery node; SQLite serves one node only — run several nodes on PostgreSQL (database_url = \"postgres://…\")",
                    file.display()
                ),
                Io(e) => anyhow::anyhow!("cannot lock the SQLite catalog {}: {e}", file.display()),
            })?);
        }
        let id = match &config.node_id {
            Some(id) => valid_node_id(id)?,
            None => stored_or_new_id(&config.data_dir)?,
        };
        let previous = fs::read_to_string(config.data_dir.join(INCARNATION_FILE)).ok().and_then(|text| {
            let (node, incarnation) = text.trim().split_once(' ')?;
            (node == id).then(|| incarnation.to_string())
        });
        Ok(Node { id, incarnation: uuid::Uuid::new_v4().simple().to_string(), previous, data_dir: config.data_dir.clone(), _locks: locks })
    }

    /// Record this run's incarnation (after it joined), for the next run.
    pub fn record_incarnation(&self) {
        let text = format!("{} {}\n", self.id, self.incarnation);
        if let Err(e) = write_private(&self.data_dir.join(INCARNATION_FILE), text.as_bytes()) {
            tracing::warn!(error = %e, "could not record this run's incarnation; a crash restart will wait for the old heartbeat lease");
        }
    }
}

enum LockError {
    Held,
    Io(io::Error),
}
use LockError::{Held, Io};

fn lock(path: &Path) -> Result<File, LockError> {
    let mut options = OpenOptions::new();
    options.create(true).truncate(false).read(true).write(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let file = options.open(path).map_err(Io)?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(Held),
        Err(TryLockError::Error(e)) => Err(Io(e)),
    }
}

/// Node ids name leases and mark uploads: short, printable, no spaces.
fn valid_node_id(id: &str) -> anyhow::Result<String> {
    let ok = !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(id.to_string())
    } else {
        Err(anyhow::anyhow!("node_id {id:?} is not valid: use 1 to 64 letters, digits, '-', '_' or '.'"))
    }
}

fn stored_or_new_id(data_dir: &Path) -> anyhow::Result<String> {
    let path = data_dir.join(NODE_ID_FILE);
    match fs::read_to_string(&path) {
        Ok(text) => return valid_node_id(text.trim()).map_err(|e| anyhow::anyhow!("{}: {e}", path.display())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(anyhow::anyhow!("cannot read {}: {e}", path.display())),
    }
    let host = fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').take(40).collect::<String>())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "node".into());
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let id = format!("{host}-{}", &suffix[..8]);
    write_private(&path, format!("{id}\n").as_bytes()).map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    tracing::info!(node = %id, "generated this node's id (kept in {})", path.display());
    Ok(id)
}

fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let temp = path.with_extension("tmp");
    let mut options = OpenOptions::new();
    options.create(true).truncate(true).write(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&temp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    fs::rename(&temp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_ids() {
        assert!(valid_node_id("web-1.eu_west").is_ok());
        for bad in ["", "a b", "x/y", &"n".repeat(65), "ü"] {
            assert!(valid_node_id(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn one_process_per_data_dir_and_sqlite_file() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config { data_dir: dir.path().to_path_buf(), ..Config::default() };
        let first = Node::claim(&config).unwrap();
        let again = Node::claim(&config).err().unwrap().to_string();
        assert!(again.contains("in use by another imagery process"), "{again}");
        // Another data dir on the same SQLite file: refused, naming PostgreSQL.
        let other = tempfile::tempdir().unwrap();
        let second = Config { data_dir: other.path().to_path_buf(), database_url: Some(config.database_url()), ..Config::default() };
        let refused = Node::claim(&second).err().unwrap().to_string();
        assert!(refused.contains("SQLite serves one node only") && refused.contains("postgres://"), "{refused}");
        // The id is generated once and kept; the incarnation is new each run.
        let id = first.id.clone();
        first.record_incarnation();
        let incarnation = first.incarnation.clone();
        drop(first);
        let next = Node::claim(&config).unwrap();
        assert_eq!((next.id.as_str(), next.previous.as_deref()), (id.as_str(), Some(incarnation.as_str())));
        assert_ne!(next.incarnation, incarnation);
    }
}
