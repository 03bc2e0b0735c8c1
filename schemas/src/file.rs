//! Writing files that may hold secrets (sealed keys, backups, wallet state, pinned trust).
//!
//! Invariants: a file is replaced atomically (temporary file, sync, rename, sync of the
//! folder), is readable by its owner only (mode 0600 on Unix), and the temporary file has an
//! unpredictable name and is created new, so a link planted beside it is never followed.

use std::io::Write as _;
use std::path::Path;

/// Writes `contents` to `path` atomically, readable by the owner only.
pub fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tag = [0u8; 12];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut tag);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", hex::encode(tag)));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = (|| {
        let mut f = options.open(&tmp)?;
        f.write_all(contents)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        std::fs::File::open(dir)?.sync_all()
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// Creates `dir` (and its parents) and makes it reachable by its owner only (0700 on Unix):
/// for folders of sealed keys and wallet databases.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    #[cfg(unix)]
    std::fs::set_permissions(dir, std::os::unix::fs::PermissionsExt::from_mode(0o700))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_private_file_is_the_owners_alone_and_replaces_the_old_one() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("key.json");
        write_private(&path, b"one").expect("written");
        write_private(&path, b"two").expect("rewritten");
        assert_eq!(std::fs::read(&path).expect("read"), b"two");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).expect("metadata").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let names: Vec<_> = std::fs::read_dir(dir.path()).expect("list").collect();
        assert_eq!(names.len(), 1, "no temporary file is left behind");
    }
}
