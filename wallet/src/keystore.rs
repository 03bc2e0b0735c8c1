//! The wallet's encrypted store: every record sealed on disk, keys never in the clear.
//!
//! ```text
//! password ──Argon2id──▶ KEK ──SM4-GCM──▶ password slot ─┐
//! recovery phrase ──Argon2id──▶ KEK' ──SM4-GCM──▶ recovery slot ─┴─▶ data key (random, 128 bit)
//! data key ──SM4-GCM (AAD = record name)──▶ every record
//! ```
//!
//! The data key is random and never changes: a password change re-seals only the password slot
//! (one atomic write), and the recovery phrase (BIP-39, 24 words over 256 bits of entropy) opens
//! the recovery slot of a backup file on another machine.
//!
//! Invariants:
//! - nothing secret is stored or returned unsealed except through `Zeroizing` buffers; the data
//!   key is zeroized when the store is dropped (locking = dropping the `Keystore`);
//! - a record is bound to its name (the AAD): a record moved under another name does not open;
//! - every write is one sled batch followed by a flush, and the backup file is written to a
//!   temporary file, synced and renamed: a crash leaves the old state or the new one;
//! - a wrong password, a wrong phrase and a modified file are errors that destroy nothing.

use rand_core::CryptoRngCore;
use schemas::seal::{self, Cost, DATA_KEY_LEN, SealError, SealedBox};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::Path;
use zeroize::Zeroizing;

const PASSWORD_SLOT: &[u8] = b"slot/password";
const RECOVERY_SLOT: &[u8] = b"slot/recovery";
const RECORD_PREFIX: &[u8] = b"record/";
const SLOT_CONTEXT: &[u8] = b"credence/wallet-data-key/v1";
const RECORD_CONTEXT: &str = "credence/wallet-record/v1/";
/// The backup file format's version.
pub const BACKUP_VERSION: u32 = 1;
/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 8;

/// Keystore failures.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeystoreError {
    /// No wallet in the folder.
    #[error("no wallet in {0}; create one first")]
    NotFound(String),
    /// A wallet already exists.
    #[error("a wallet already exists in {0}; open it, or choose another folder")]
    Exists(String),
    /// The password (or phrase) does not open the wallet, or the file was modified.
    #[error("the password does not open this wallet (or its key slot was modified); nothing was changed")]
    WrongPassword,
    /// The recovery phrase is not a valid phrase.
    #[error("the recovery phrase is not valid: {0}; check each word and their order")]
    BadPhrase(String),
    /// The new password is too weak.
    #[error("a password needs at least {MIN_PASSWORD_CHARS} characters")]
    WeakPassword,
    /// A record or file does not decode or authenticate.
    #[error("the wallet data is damaged: {0}")]
    Corrupt(String),
    /// The disk failed.
    #[error("storage: {0}")]
    Io(String),
}

impl From<sled::Error> for KeystoreError {
    fn from(e: sled::Error) -> Self {
        KeystoreError::Io(e.to_string())
    }
}

impl From<std::io::Error> for KeystoreError {
    fn from(e: std::io::Error) -> Self {
        KeystoreError::Io(e.to_string())
    }
}

/// The 24-word recovery phrase, shown to the holder once.
pub struct RecoveryPhrase(Zeroizing<String>);

impl RecoveryPhrase {
    /// The words, space-separated. Show them once; never log them.
    pub fn words(&self) -> &str {
        &self.0
    }

    /// Parses a phrase the holder typed (BIP-39 English, checksum checked).
    pub fn parse(text: &str) -> Result<Self, KeystoreError> {
        let m = bip39::Mnemonic::parse_normalized(&text.split_whitespace().collect::<Vec<_>>().join(" "))
            .map_err(|e| KeystoreError::BadPhrase(e.to_string()))?;
        Ok(RecoveryPhrase(Zeroizing::new(m.to_string())))
    }

    fn generate(rng: &mut impl CryptoRngCore) -> Self {
        let mut entropy = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(entropy.as_mut());
        let m = bip39::Mnemonic::from_entropy(entropy.as_ref())
            .expect("32 bytes is a valid BIP-39 entropy length");
        RecoveryPhrase(Zeroizing::new(m.to_string()))
    }
}

impl fmt::Debug for RecoveryPhrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecoveryPhrase").finish_non_exhaustive()
    }
}

/// An open wallet store.
pub struct Keystore {
    db: sled::Db,
    data_key: Zeroizing<[u8; DATA_KEY_LEN]>,
    cost: Cost,
}

impl fmt::Debug for Keystore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keystore").finish_non_exhaustive()
    }
}

/// A backup: the recovery slot and every sealed record (nothing in the clear).
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Backup {
    version: u32,
    recovery_slot: SealedBox,
    records: Vec<BackupRecord>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct BackupRecord {
    name: String,
    #[serde(with = "hex_bytes")]
    sealed: Vec<u8>,
}

mod hex_bytes {
    pub(super) fn serialize<S: serde::Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(v))
    }
    pub(super) fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s: String = serde::Deserialize::deserialize(d)?;
        hex::decode(s).map_err(serde::de::Error::custom)
    }
}

fn check_password(p: &str) -> Result<(), KeystoreError> {
    if p.chars().count() < MIN_PASSWORD_CHARS {
        return Err(KeystoreError::WeakPassword);
    }
    Ok(())
}

fn record_context(name: &str) -> Vec<u8> {
    [RECORD_CONTEXT.as_bytes(), name.as_bytes()].concat()
}

fn open_slot(slot: &SealedBox, secret: &[u8]) -> Result<Zeroizing<[u8; DATA_KEY_LEN]>, KeystoreError> {
    let bytes = slot.open(secret, SLOT_CONTEXT).map_err(|e| match e {
        SealError::Open => KeystoreError::WrongPassword,
        other => KeystoreError::Corrupt(other.to_string()),
    })?;
    let mut key = Zeroizing::new([0u8; DATA_KEY_LEN]);
    if bytes.len() != DATA_KEY_LEN {
        return Err(KeystoreError::Corrupt("the key slot holds no data key".into()));
    }
    key.copy_from_slice(&bytes);
    Ok(key)
}

fn db_path(dir: &Path) -> std::path::PathBuf {
    dir.join("wallet.sled")
}

/// How long opening a database waits for the lock a just-closed handle of this process still
/// holds (sled releases it from a background thread a moment after the handle is dropped).
pub const DB_LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// Opens the sled database at `path`, waiting up to [`DB_LOCK_WAIT`] for its file lock: a
/// wallet locked and unlocked again at once (or a test reopening it) would otherwise be told
/// the database is in use. A lock held longer — another process has the wallet open — is
/// reported as it is.
pub fn open_db(path: &Path) -> Result<sled::Db, sled::Error> {
    let start = std::time::Instant::now();
    loop {
        match sled::open(path) {
            // sled 0.34 reports a held lock as an `Other` I/O error with this text.
            Err(sled::Error::Io(e))
                if e.to_string().contains("could not acquire lock") && start.elapsed() < DB_LOCK_WAIT =>
            {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => return other,
        }
    }
}

impl Keystore {
    /// Creates a wallet in `dir`; returns it open and the recovery phrase to show once.
    pub fn create(
        dir: &Path,
        password: &str,
        cost: Cost,
        rng: &mut impl CryptoRngCore,
    ) -> Result<(Keystore, RecoveryPhrase), KeystoreError> {
        check_password(password)?;
        if db_path(dir).exists() {
            return Err(KeystoreError::Exists(dir.display().to_string()));
        }
        let mut data_key = Zeroizing::new([0u8; DATA_KEY_LEN]);
        rng.fill_bytes(data_key.as_mut());
        let phrase = RecoveryPhrase::generate(rng);
        // The sealed slots are guessable offline with the password's Argon2id cost: keep the
        // database to its owner.
        schemas::file::create_private_dir(dir)?;
        let db = open_db(&db_path(dir))?;
        let seal_err = |e: SealError| KeystoreError::Corrupt(e.to_string());
        let password_slot =
            seal::seal(password.as_bytes(), data_key.as_ref(), SLOT_CONTEXT, cost, rng).map_err(seal_err)?;
        let recovery_slot = seal::seal(
            phrase.words().as_bytes(),
            data_key.as_ref(),
            SLOT_CONTEXT,
            cost,
            rng,
        )
        .map_err(seal_err)?;
        let mut batch = sled::Batch::default();
        batch.insert(PASSWORD_SLOT, password_slot.to_json().as_bytes());
        batch.insert(RECOVERY_SLOT, recovery_slot.to_json().as_bytes());
        db.apply_batch(batch)?;
        db.flush()?;
        Ok((Keystore { db, data_key, cost }, phrase))
    }

    /// Opens the wallet in `dir` with its password.
    pub fn open(dir: &Path, password: &str) -> Result<Keystore, KeystoreError> {
        if !db_path(dir).exists() {
            return Err(KeystoreError::NotFound(dir.display().to_string()));
        }
        let db = open_db(&db_path(dir))?;
        let slot = Self::slot(&db, PASSWORD_SLOT)?;
        let data_key = open_slot(&slot, password.as_bytes())?;
        let cost = Cost {
            memory_kib: slot.memory_kib,
            iterations: slot.iterations,
        };
        Ok(Keystore { db, data_key, cost })
    }

    fn slot(db: &sled::Db, which: &[u8]) -> Result<SealedBox, KeystoreError> {
        let raw = db
            .get(which)?
            .ok_or_else(|| KeystoreError::Corrupt("the wallet has no key slot".into()))?;
        let text = std::str::from_utf8(&raw).map_err(|e| KeystoreError::Corrupt(e.to_string()))?;
        SealedBox::from_json(text).map_err(|e| KeystoreError::Corrupt(e.to_string()))
    }

    /// Replaces the password (the old one must open the wallet). One atomic write.
    pub fn change_password(
        &mut self,
        old: &str,
        new: &str,
        rng: &mut impl CryptoRngCore,
    ) -> Result<(), KeystoreError> {
        check_password(new)?;
        let current = open_slot(&Self::slot(&self.db, PASSWORD_SLOT)?, old.as_bytes())?;
        if current.as_ref() != self.data_key.as_ref() {
            return Err(KeystoreError::WrongPassword);
        }
        let slot = seal::seal(
            new.as_bytes(),
            self.data_key.as_ref(),
            SLOT_CONTEXT,
            self.cost,
            rng,
        )
        .map_err(|e| KeystoreError::Corrupt(e.to_string()))?;
        self.db.insert(PASSWORD_SLOT, slot.to_json().as_bytes())?;
        self.db.flush()?;
        Ok(())
    }

    /// Seals and writes records atomically (all of them or none).
    pub fn put_all(
        &self,
        records: &[(&str, &[u8])],
        rng: &mut impl CryptoRngCore,
    ) -> Result<(), KeystoreError> {
        let mut batch = sled::Batch::default();
        for (name, plaintext) in records {
            let sealed = seal::seal_with_key(&self.data_key, plaintext, &record_context(name), rng)
                .map_err(|e| KeystoreError::Corrupt(e.to_string()))?;
            batch.insert([RECORD_PREFIX, name.as_bytes()].concat(), sealed);
        }
        self.db.apply_batch(batch)?;
        self.db.flush()?;
        Ok(())
    }

    /// Seals and writes one record.
    pub fn put(
        &self,
        name: &str,
        plaintext: &[u8],
        rng: &mut impl CryptoRngCore,
    ) -> Result<(), KeystoreError> {
        self.put_all(&[(name, plaintext)], rng)
    }

    /// Opens one record.
    pub fn get(&self, name: &str) -> Result<Option<Zeroizing<Vec<u8>>>, KeystoreError> {
        let Some(sealed) = self.db.get([RECORD_PREFIX, name.as_bytes()].concat())? else {
            return Ok(None);
        };
        seal::open_with_key(&self.data_key, &sealed, &record_context(name))
            .map(Some)
            .map_err(|_| KeystoreError::Corrupt(format!("record {name:?} does not authenticate")))
    }

    /// Opens a 32-byte secret record and parses it with `parse` (a key, a holder secret); a
    /// missing, short or unparsable record is reported as damage naming `what`.
    pub fn get_secret<T>(
        &self,
        name: &str,
        what: &str,
        parse: impl FnOnce(&[u8; 32]) -> Option<T>,
    ) -> Result<T, KeystoreError> {
        self.get(name)?
            .and_then(|b| <&[u8; 32]>::try_from(b.as_slice()).ok().and_then(parse))
            .ok_or_else(|| KeystoreError::Corrupt(format!("the {what} record is unreadable")))
    }

    /// Deletes one record.
    pub fn remove(&self, name: &str) -> Result<(), KeystoreError> {
        self.db.remove([RECORD_PREFIX, name.as_bytes()].concat())?;
        self.db.flush()?;
        Ok(())
    }

    /// Names of the records starting with `prefix`, in order.
    pub fn names(&self, prefix: &str) -> Result<Vec<String>, KeystoreError> {
        self.db
            .scan_prefix([RECORD_PREFIX, prefix.as_bytes()].concat())
            .map(|item| {
                let (k, _) = item?;
                String::from_utf8(k[RECORD_PREFIX.len()..].to_vec())
                    .map_err(|e| KeystoreError::Corrupt(e.to_string()))
            })
            .collect()
    }

    /// Writes an encrypted backup (the recovery slot and every sealed record) to `path`.
    pub fn backup(&self, path: &Path) -> Result<(), KeystoreError> {
        let mut records = Vec::new();
        for item in self.db.scan_prefix(RECORD_PREFIX) {
            let (k, v) = item?;
            records.push(BackupRecord {
                name: String::from_utf8(k[RECORD_PREFIX.len()..].to_vec())
                    .map_err(|e| KeystoreError::Corrupt(e.to_string()))?,
                sealed: v.to_vec(),
            });
        }
        let backup = Backup {
            version: BACKUP_VERSION,
            recovery_slot: Self::slot(&self.db, RECOVERY_SLOT)?,
            records,
        };
        let json = serde_json::to_vec_pretty(&backup).map_err(|e| KeystoreError::Corrupt(e.to_string()))?;
        write_atomic(path, &json)
    }

    /// Restores a backup into a new wallet in `dir`, opened by `phrase`, protected by
    /// `new_password`.
    pub fn restore(
        backup: &Path,
        phrase: &RecoveryPhrase,
        dir: &Path,
        new_password: &str,
        rng: &mut impl CryptoRngCore,
    ) -> Result<Keystore, KeystoreError> {
        check_password(new_password)?;
        if db_path(dir).exists() {
            return Err(KeystoreError::Exists(dir.display().to_string()));
        }
        let text = std::fs::read_to_string(backup)?;
        let b =
            parse_backup(&text).map_err(|e| KeystoreError::Corrupt(format!("{}: {e}", backup.display())))?;
        let data_key = open_slot(&b.recovery_slot, phrase.words().as_bytes())?;
        // Every record must authenticate before anything is written.
        for r in &b.records {
            seal::open_with_key(&data_key, &r.sealed, &record_context(&r.name)).map_err(|_| {
                KeystoreError::Corrupt(format!("record {:?} in the backup does not authenticate", r.name))
            })?;
        }
        let cost = Cost {
            memory_kib: b.recovery_slot.memory_kib,
            iterations: b.recovery_slot.iterations,
        };
        let password_slot = seal::seal(
            new_password.as_bytes(),
            data_key.as_ref(),
            SLOT_CONTEXT,
            cost,
            rng,
        )
        .map_err(|e| KeystoreError::Corrupt(e.to_string()))?;
        let db = open_db(&db_path(dir))?;
        let mut batch = sled::Batch::default();
        batch.insert(PASSWORD_SLOT, password_slot.to_json().as_bytes());
        batch.insert(RECOVERY_SLOT, b.recovery_slot.to_json().as_bytes());
        for r in &b.records {
            batch.insert([RECORD_PREFIX, r.name.as_bytes()].concat(), r.sealed.as_slice());
        }
        db.apply_batch(batch)?;
        db.flush()?;
        Ok(Keystore { db, data_key, cost })
    }
}

/// Parses a backup file's text (checking its shape and version, not its contents' keys).
fn parse_backup(text: &str) -> Result<Backup, KeystoreError> {
    let b: Backup = serde_json::from_str(text)
        .map_err(|e| KeystoreError::Corrupt(format!("not a Credence wallet backup: {e}")))?;
    if b.version != BACKUP_VERSION {
        return Err(KeystoreError::Corrupt(format!(
            "backup version {} is not supported (this wallet reads version {BACKUP_VERSION})",
            b.version
        )));
    }
    Ok(b)
}

/// How many records a backup file's text holds, after checking its shape and version (for the
/// restore screen, and the fuzzer).
pub fn backup_record_count(text: &str) -> Result<usize, KeystoreError> {
    parse_backup(text).map(|b| b.records.len())
}

/// Writes a file atomically and readable by its owner only (see [`schemas::file`]).
pub fn write_atomic(path: &Path, contents: &[u8]) -> Result<(), KeystoreError> {
    Ok(schemas::file::write_private(path, contents)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHEAP: Cost = Cost {
        memory_kib: 64,
        iterations: 1,
    };

    fn rng() -> rand_chacha::ChaCha20Rng {
        rand_core::SeedableRng::seed_from_u64(7)
    }

    #[test]
    fn create_open_change_password_and_records() {
        let dir = tempfile::tempdir().unwrap();
        let mut r = rng();
        let (ks, phrase) = Keystore::create(dir.path(), "correct horse", CHEAP, &mut r).unwrap();
        assert_eq!(phrase.words().split(' ').count(), 24);
        ks.put_all(&[("key/holder", b"secret scalar"), ("cred/1", b"{}")], &mut r)
            .unwrap();
        drop(ks);
        assert!(matches!(
            Keystore::create(dir.path(), "another one", CHEAP, &mut r),
            Err(KeystoreError::Exists(_))
        ));
        assert!(matches!(
            Keystore::open(dir.path(), "wrong horse"),
            Err(KeystoreError::WrongPassword)
        ));
        let mut ks = Keystore::open(dir.path(), "correct horse").unwrap();
        assert_eq!(&ks.get("key/holder").unwrap().unwrap()[..], b"secret scalar");
        assert_eq!(ks.names("cred/").unwrap(), vec!["cred/1".to_string()]);
        assert!(matches!(
            ks.change_password("wrong horse", "new password", &mut r),
            Err(KeystoreError::WrongPassword)
        ));
        assert!(matches!(
            ks.change_password("correct horse", "short", &mut r),
            Err(KeystoreError::WeakPassword)
        ));
        ks.change_password("correct horse", "new password", &mut r)
            .unwrap();
        drop(ks);
        assert!(matches!(
            Keystore::open(dir.path(), "correct horse"),
            Err(KeystoreError::WrongPassword)
        ));
        let ks = Keystore::open(dir.path(), "new password").unwrap();
        assert_eq!(&ks.get("cred/1").unwrap().unwrap()[..], b"{}");
        // Nothing secret is on disk in the clear.
        drop(ks);
        for entry in walk(dir.path()) {
            let bytes = std::fs::read(&entry).unwrap();
            assert!(
                !bytes.windows(13).any(|w| w == b"secret scalar"),
                "{} holds a secret",
                entry.display()
            );
        }
    }

    fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
        out
    }

    #[test]
    fn a_record_moved_under_another_name_does_not_open() {
        let dir = tempfile::tempdir().unwrap();
        let mut r = rng();
        let (ks, _) = Keystore::create(dir.path(), "correct horse", CHEAP, &mut r).unwrap();
        ks.put("cred/a", b"alpha", &mut r).unwrap();
        let sealed = ks.db.get(b"record/cred/a").unwrap().unwrap();
        ks.db.insert(b"record/cred/b", sealed).unwrap();
        assert!(matches!(ks.get("cred/b"), Err(KeystoreError::Corrupt(_))));
        assert_eq!(&ks.get("cred/a").unwrap().unwrap()[..], b"alpha");
    }

    #[test]
    fn backup_restores_on_another_machine_with_the_phrase_only() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let mut r = rng();
        let (ks, phrase) = Keystore::create(a.path(), "correct horse", CHEAP, &mut r).unwrap();
        ks.put("cred/1", b"diploma", &mut r).unwrap();
        let file = a.path().join("wallet-backup.json");
        ks.backup(&file).unwrap();
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(!text.contains("diploma") && !text.contains(&hex::encode(b"diploma")));

        // A wrong phrase (valid words, other entropy) and a malformed one change nothing.
        let (_, other) = Keystore::create(&b.path().join("x"), "whatever1", CHEAP, &mut r).unwrap();
        let target = b.path().join("restored");
        assert!(matches!(
            Keystore::restore(&file, &other, &target, "new password", &mut r),
            Err(KeystoreError::WrongPassword)
        ));
        assert!(
            !target.join("wallet.sled").exists(),
            "a failed restore wrote nothing"
        );
        assert!(matches!(
            RecoveryPhrase::parse("abandon abandon zoo"),
            Err(KeystoreError::BadPhrase(_))
        ));
        // A modified backup is refused.
        let mut damaged = text.clone();
        let at = damaged.find("\"sealed\": \"").unwrap() + 12;
        let c = if &damaged[at..at + 1] == "0" { "1" } else { "0" };
        damaged.replace_range(at..at + 1, c);
        let dfile = a.path().join("damaged.json");
        std::fs::write(&dfile, damaged).unwrap();
        let typed = RecoveryPhrase::parse(&format!("  {}  ", phrase.words())).unwrap();
        assert!(matches!(
            Keystore::restore(&dfile, &typed, &target, "new password", &mut r),
            Err(KeystoreError::Corrupt(_))
        ));
        let ks2 = Keystore::restore(&file, &typed, &target, "new password", &mut r).unwrap();
        assert_eq!(&ks2.get("cred/1").unwrap().unwrap()[..], b"diploma");
        drop(ks2);
        assert!(Keystore::open(&target, "new password").is_ok());
    }
}
