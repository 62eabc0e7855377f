//! Secrets at rest: the token signing keys and access-key secrets the catalog
//! holds are sealed with a key-encryption key (KEK) kept outside the catalog, so
//! a copy of the catalog (a backup, a stolen `catalog.db`, a PostgreSQL dump)
//! does not let anyone forge tokens or sign requests.
//!
//! A sealed value is `enc:v1:` followed by unpadded URL-safe base64 of a random
//! 24-byte nonce and the XChaCha20-Poly1305 ciphertext. The associated data names
//! the row (`access_key:<id>`, `signing_key:<kind>:<id>`), so a sealed value
//! copied into another row does not open. Values without the prefix are plaintext
//! from before sealing existed: they are read as they are and sealed on start.

use std::fmt;
use std::io::{Read, Write};
use std::path::Path;

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use imagery_core::identity::{AccessKey, SigningKey};

use crate::error::{IdentityError, IdentityResult};
use crate::identity::Identity;
use crate::secret::random_bytes;
use crate::TOKEN_KEY_KIND;

/// Marks a sealed value; a later format would be `enc:v2:`.
const SEALED_PREFIX: &str = "enc:v1:";
const KEY_LEN: usize = 32;
const NONCE_LEN: usize = 24;

/// The 256-bit key that seals the catalog's secrets. Every process sharing a
/// catalog must use the same one. Its `Debug` never shows the key.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyEncryptionKey([u8; KEY_LEN]);

impl fmt::Debug for KeyEncryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyEncryptionKey(<redacted>)")
    }
}

impl KeyEncryptionKey {
    /// A fresh random key.
    pub fn generate() -> Self {
        KeyEncryptionKey(random_bytes::<KEY_LEN>())
    }

    pub fn from_bytes(bytes: &[u8]) -> IdentityResult<Self> {
        let key: [u8; KEY_LEN] = bytes
            .try_into()
            .map_err(|_| IdentityError::BadRequest(format!("a key-encryption key must be {KEY_LEN} bytes, not {}", bytes.len())))?;
        Ok(KeyEncryptionKey(key))
    }

    /// Base64 (standard or URL-safe, padded or not) of 32 bytes, as in
    /// `IMAGERY_KEK=$(openssl rand -base64 32)`.
    pub fn from_base64(text: &str) -> IdentityResult<Self> {
        let text = text.trim();
        let decoded = [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
            .iter()
            .find_map(|engine| engine.decode(text).ok())
            .ok_or_else(|| IdentityError::BadRequest("the key-encryption key is not valid base64".into()))?;
        Self::from_bytes(&decoded)
    }

    /// The key in `path`: 32 raw bytes, or base64 text of 32 bytes.
    pub fn read_file(path: &Path) -> IdentityResult<Self> {
        let mut bytes = Vec::with_capacity(64);
        std::fs::File::open(path)
            .and_then(|f| f.take(4096).read_to_end(&mut bytes))
            .map_err(|e| IdentityError::Backend(format!("cannot read the key-encryption key {}: {e}", path.display())))?;
        let key = if bytes.len() == KEY_LEN {
            Self::from_bytes(&bytes)
        } else {
            std::str::from_utf8(&bytes)
                .map_err(|_| IdentityError::BadRequest("not 32 raw bytes nor base64 text".into()))
                .and_then(Self::from_base64)
        };
        key.map_err(|e| IdentityError::Backend(format!("{} is not a usable key-encryption key: {}", path.display(), detail(&e))))
    }

    /// The key in `path`, created (32 random bytes, owner-only) if the file does
    /// not exist. Returns whether it was created.
    pub fn load_or_create(path: &Path) -> IdentityResult<(Self, bool)> {
        let key = KeyEncryptionKey::generate();
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        match options.open(path) {
            Ok(mut file) => {
                let written = file.write_all(&key.0).and_then(|()| file.sync_all());
                if let Err(e) = written {
                    // Never leave a short key behind for the next start to trip on.
                    let _ = std::fs::remove_file(path);
                    return Err(IdentityError::Backend(format!("cannot write the key-encryption key {}: {e}", path.display())));
                }
                Ok((key, true))
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok((Self::read_file(path)?, false)),
            Err(e) => Err(IdentityError::Backend(format!("cannot create the key-encryption key {}: {e}", path.display()))),
        }
    }
}

fn detail(e: &IdentityError) -> String {
    match e {
        IdentityError::BadRequest(m) | IdentityError::Backend(m) => m.clone(),
        other => other.to_string(),
    }
}

/// Seals and opens catalog secrets. Without a key (tests, embedded use that
/// asked for none) values are stored as they are, and sealed ones cannot be read.
#[derive(Debug, Clone)]
pub(crate) struct Sealer {
    kek: Option<KeyEncryptionKey>,
}

/// Which row a secret belongs to: the associated data of its seal, and how an
/// error names it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum SecretOf<'a> {
    AccessKey { id: &'a str },
    SigningKey { kind: &'a str, id: &'a str },
}

impl SecretOf<'_> {
    fn associated_data(&self) -> String {
        match self {
            SecretOf::AccessKey { id } => format!("access_key:{id}"),
            SecretOf::SigningKey { kind, id } => format!("signing_key:{kind}:{id}"),
        }
    }
}

impl fmt::Display for SecretOf<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretOf::AccessKey { id } => write!(f, "the secret of access key {id}"),
            SecretOf::SigningKey { kind, id } => write!(f, "{kind} signing key {id}"),
        }
    }
}

impl Sealer {
    pub(crate) fn new(kek: Option<KeyEncryptionKey>) -> Self {
        Sealer { kek }
    }

    pub(crate) fn has_key(&self) -> bool {
        self.kek.is_some()
    }

    pub(crate) fn is_sealed(stored: &str) -> bool {
        stored.starts_with(SEALED_PREFIX)
    }

    /// What to store for `plaintext`.
    pub(crate) fn seal(&self, of: SecretOf<'_>, plaintext: &str) -> IdentityResult<String> {
        let Some(kek) = &self.kek else {
            return Ok(plaintext.to_string());
        };
        let nonce = random_bytes::<NONCE_LEN>();
        let aad = of.associated_data();
        let ciphertext = XChaCha20Poly1305::new((&kek.0).into())
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: plaintext.as_bytes(), aad: aad.as_bytes() })
            .map_err(|_| IdentityError::Backend(format!("cannot encrypt {of}")))?;
        let mut sealed = Vec::with_capacity(NONCE_LEN + ciphertext.len());
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        Ok(format!("{SEALED_PREFIX}{}", URL_SAFE_NO_PAD.encode(sealed)))
    }

    /// The plaintext of a stored value (plaintext rows are returned as they are).
    pub(crate) fn open(&self, of: SecretOf<'_>, stored: &str) -> IdentityResult<String> {
        let Some(body) = stored.strip_prefix(SEALED_PREFIX) else {
            return Ok(stored.to_string());
        };
        let Some(kek) = &self.kek else {
            return Err(IdentityError::Backend(format!("cannot decrypt {of}: no key-encryption key is configured")));
        };
        let mismatch = || {
            IdentityError::Backend(format!(
                "cannot decrypt {of}: the key-encryption key does not match the one the catalog was written with"
            ))
        };
        let sealed = URL_SAFE_NO_PAD.decode(body).map_err(|_| mismatch())?;
        if sealed.len() < NONCE_LEN {
            return Err(mismatch());
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        let aad = of.associated_data();
        let plaintext = XChaCha20Poly1305::new((&kek.0).into())
            .decrypt(XNonce::from_slice(nonce), Payload { msg: ciphertext, aad: aad.as_bytes() })
            .map_err(|_| mismatch())?;
        String::from_utf8(plaintext).map_err(|_| mismatch())
    }
}

/// The catalog side: every secret the identity core stores or reads goes
/// through these, so what the catalog holds is always the sealed form.
impl Identity {
    pub(crate) fn seal_signing_key(&self, key: SigningKey) -> IdentityResult<SigningKey> {
        let material = self.sealer.seal(SecretOf::SigningKey { kind: &key.kind, id: &key.id }, &key.material)?;
        Ok(SigningKey { material, ..key })
    }

    pub(crate) fn open_signing_key(&self, key: SigningKey) -> IdentityResult<SigningKey> {
        let material = self.sealer.open(SecretOf::SigningKey { kind: &key.kind, id: &key.id }, &key.material)?;
        Ok(SigningKey { material, ..key })
    }

    pub(crate) fn seal_access_key(&self, key: &AccessKey) -> IdentityResult<AccessKey> {
        let secret = self.sealer.seal(SecretOf::AccessKey { id: &key.id }, &key.secret)?;
        Ok(AccessKey { secret, ..key.clone() })
    }

    pub(crate) fn open_access_key(&self, key: AccessKey) -> IdentityResult<AccessKey> {
        let secret = self.sealer.open(SecretOf::AccessKey { id: &key.id }, &key.secret)?;
        Ok(AccessKey { secret, ..key })
    }

    /// Seal the plaintext token signing keys and access-key secrets an older
    /// version left in the catalog, and check that the sealed ones open with this
    /// key (a wrong key fails here, at start). Idempotent; returns how many
    /// secrets were sealed now.
    pub(crate) async fn seal_plaintext_secrets(&self) -> IdentityResult<usize> {
        let mut sealed = 0;
        let mut stored_keys = self.catalog.list_signing_keys(TOKEN_KEY_KIND).await?;
        stored_keys.extend(self.catalog.list_signing_keys(crate::rsa_keys::RSA_KEY_KIND).await?);
        for stored in stored_keys {
            let key = self.open_signing_key(stored.clone())?;
            if self.sealer.has_key() && !Sealer::is_sealed(&stored.material) {
                let material = self.seal_signing_key(key)?.material;
                sealed += usize::from(self.catalog.replace_signing_key_material(&stored.id, &stored.material, &material).await?);
            }
        }
        for user in self.catalog.list_users().await? {
            for stored in self.catalog.list_access_keys(&user.id).await? {
                let key = self.open_access_key(stored.clone())?;
                if self.sealer.has_key() && !Sealer::is_sealed(&stored.secret) {
                    let secret = self.seal_access_key(&key)?.secret;
                    sealed += usize::from(self.catalog.replace_access_key_secret(&stored.id, &stored.secret, &secret).await?);
                }
            }
        }
        Ok(sealed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OF: SecretOf<'static> = SecretOf::AccessKey { id: "AK1" };

    #[test]
    fn sealed_values_round_trip_and_hide_the_plaintext() {
        let sealer = Sealer::new(Some(KeyEncryptionKey::generate()));
        let sealed = sealer.seal(OF, "the-secret").expect("seal");
        assert!(sealed.starts_with("enc:v1:") && !sealed.contains("the-secret"));
        assert_ne!(sealed, sealer.seal(OF, "the-secret").expect("seal"), "a fresh nonce per value");
        assert_eq!(sealer.open(OF, &sealed).expect("open"), "the-secret");
        assert_eq!(sealer.open(OF, "plain").expect("plaintext rows read as they are"), "plain");
    }

    #[test]
    fn a_wrong_key_or_another_row_does_not_open() {
        let sealed = Sealer::new(Some(KeyEncryptionKey::generate())).seal(OF, "s").expect("seal");
        let err = Sealer::new(Some(KeyEncryptionKey::generate())).open(OF, &sealed).unwrap_err();
        assert!(err.to_string().contains("the key-encryption key does not match"), "{err}");
        let sealer = Sealer::new(Some(KeyEncryptionKey::generate()));
        let sealed = sealer.seal(OF, "s").expect("seal");
        assert!(sealer.open(SecretOf::AccessKey { id: "AK2" }, &sealed).is_err());
        assert!(sealer.open(OF, "enc:v1:!!").is_err());
        assert!(sealer.open(OF, "enc:v1:").is_err());
        assert!(Sealer::new(None).open(OF, &sealed).is_err());
    }

    #[test]
    fn keys_parse_from_base64_and_files() {
        let key = KeyEncryptionKey::generate();
        assert_eq!(KeyEncryptionKey::from_base64(&STANDARD.encode(key.0)).expect("b64"), key);
        assert_eq!(KeyEncryptionKey::from_base64(&URL_SAFE_NO_PAD.encode(key.0)).expect("b64url"), key);
        assert!(KeyEncryptionKey::from_base64("c2hvcnQ=").is_err());
        assert!(KeyEncryptionKey::from_base64("not base64!").is_err());

        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("kek");
        let (created, fresh) = KeyEncryptionKey::load_or_create(&path).expect("create");
        assert!(fresh);
        let (loaded, fresh) = KeyEncryptionKey::load_or_create(&path).expect("load");
        assert!(!fresh);
        assert_eq!(created, loaded);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).expect("stat").permissions().mode() & 0o777, 0o600);
        }
        std::fs::write(&path, format!("{}\n", STANDARD.encode(key.0))).expect("write");
        assert_eq!(KeyEncryptionKey::read_file(&path).expect("text file"), key);
        std::fs::write(&path, "short").expect("write");
        assert!(KeyEncryptionKey::read_file(&path).is_err());
    }

    #[test]
    fn debug_hides_the_key() {
        let key = KeyEncryptionKey::from_bytes(&[0xab; 32]).expect("key");
        let shown = format!("{key:?} {:?}", Sealer::new(Some(key.clone())));
        assert!(!shown.contains("171") && !shown.to_lowercase().contains("ab, ab"), "{shown}");
        assert!(shown.contains("<redacted>"));
    }
}
