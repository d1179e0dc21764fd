//! File-system helpers: the only module that maps files, fsyncs or locks.
//!
//! What must stay true:
//! - Only complete, fsync'd, immutable files are mapped, and never written through a map.
//!   [`MappedFile`] maps read-only; callers decode the bytes with bounds and checksum checks.
//! - Directories that must appear atomically are written under a temporary name, fsync'd,
//!   renamed, and the parent directory is fsync'd ([`publish_dir`]).
#![allow(unsafe_code)]

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// A read-only memory map of a whole file.
#[derive(Debug)]
pub struct MappedFile {
    path: PathBuf,
    // `None` for an empty file: mapping zero bytes is an error on Linux.
    map: Option<memmap2::Mmap>,
}

impl MappedFile {
    /// Maps `path` read-only.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let file = File::open(&path).map_err(|e| Error::io("open", &path, e))?;
        let len = file
            .metadata()
            .map_err(|e| Error::io("stat", &path, e))?
            .len();
        if len == 0 {
            return Ok(Self { path, map: None });
        }
        // SAFETY: the engine maps only complete files it has fsync'd and never modifies again
        // (chunk segments, index files and finished head-chunk files are immutable once
        // written). Nothing in this process writes to or truncates a mapped file; another
        // process would have to ignore the data directory's lock file to do so.
        let map = unsafe { memmap2::MmapOptions::new().map(&file) }
            .map_err(|e| Error::io("mmap", &path, e))?;
        Ok(Self {
            path,
            map: Some(map),
        })
    }

    /// The mapped bytes.
    pub fn bytes(&self) -> &[u8] {
        self.map.as_deref().unwrap_or(&[])
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.bytes().len()
    }

    /// True for an empty file.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// An exclusive lock on a data directory, held until dropped.
#[derive(Debug)]
pub struct DirLock {
    _file: File,
    path: PathBuf,
}

impl DirLock {
    /// Name of the lock file inside the data directory (the same as Prometheus's).
    pub const FILE_NAME: &'static str = "lock";

    /// Takes the lock on `dir`, failing with [`Error::Locked`] if another process (or another
    /// open database in this process) holds it.
    pub fn acquire(dir: &Path) -> Result<Self> {
        let path = dir.join(Self::FILE_NAME);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| Error::io("open", &path, e))?;
        match file.try_lock() {
            Ok(()) => Ok(Self { _file: file, path }),
            Err(fs::TryLockError::WouldBlock) => Err(Error::Locked {
                dir: dir.to_path_buf(),
                lock: path,
            }),
            Err(fs::TryLockError::Error(e)) => Err(Error::io("lock", &path, e)),
        }
    }

    /// The lock file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Creates `dir` and its parents.
pub fn create_dir_all(dir: &Path) -> Result<()> {
    fs::create_dir_all(dir).map_err(|e| Error::io("create directory", dir, e))
}

/// Fsyncs a directory so that entries created or renamed in it are durable.
pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(|e| Error::io("fsync directory", dir, e))
}

/// Fsyncs a file by path.
pub fn sync_file(path: &Path) -> Result<()> {
    File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(|e| Error::io("fsync", path, e))
}

/// Writes `bytes` to `path` (created or truncated) and fsyncs it.
pub fn write_file_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut f = File::create(path).map_err(|e| Error::io("create", path, e))?;
    f.write_all(bytes)
        .map_err(|e| Error::io("write", path, e))?;
    f.sync_all().map_err(|e| Error::io("fsync", path, e))
}

/// Atomically replaces `path` with `bytes`: write `path.tmp`, fsync, rename, fsync the parent.
pub fn replace_file_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    write_file_synced(&tmp, bytes)?;
    fs::rename(&tmp, path).map_err(|e| Error::io("rename", &tmp, e))?;
    if let Some(parent) = path.parent() {
        sync_dir(parent)?;
    }
    Ok(())
}

/// Makes a fully written temporary directory visible under its final name: fsyncs every file
/// in `tmp` (recursively) and `tmp` itself, renames it to `dst`, and fsyncs the parent.
pub fn publish_dir(tmp: &Path, dst: &Path) -> Result<()> {
    sync_tree(tmp)?;
    fs::rename(tmp, dst).map_err(|e| Error::io("rename", tmp, e))?;
    if let Some(parent) = dst.parent() {
        sync_dir(parent)?;
    }
    Ok(())
}

fn sync_tree(dir: &Path) -> Result<()> {
    for entry in fs::read_dir(dir).map_err(|e| Error::io("read directory", dir, e))? {
        let entry = entry.map_err(|e| Error::io("read directory", dir, e))?;
        let p = entry.path();
        let ft = entry.file_type().map_err(|e| Error::io("stat", &p, e))?;
        if ft.is_dir() {
            sync_tree(&p)?;
        } else {
            sync_file(&p)?;
        }
    }
    sync_dir(dir)
}

/// Removes a directory tree; a missing directory is not an error.
pub fn remove_dir_all(dir: &Path) -> Result<()> {
    match fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io("remove directory", dir, e)),
    }
}

/// Total size in bytes of the regular files below `dir` (0 if it does not exist).
pub fn dir_size(dir: &Path) -> u64 {
    let Ok(rd) = fs::read_dir(dir) else { return 0 };
    rd.flatten()
        .map(|e| match e.file_type() {
            Ok(ft) if ft.is_dir() => dir_size(&e.path()),
            Ok(_) => e.metadata().map(|m| m.len()).unwrap_or(0),
            Err(_) => 0,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_files_and_empty_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        write_file_synced(&p, b"abc").unwrap();
        assert_eq!(MappedFile::open(&p).unwrap().bytes(), b"abc");
        write_file_synced(&p, b"").unwrap();
        assert!(MappedFile::open(&p).unwrap().is_empty());
        assert!(MappedFile::open(dir.path().join("missing")).is_err());
    }

    #[test]
    fn second_lock_fails_until_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let l = DirLock::acquire(dir.path()).unwrap();
        assert!(matches!(
            DirLock::acquire(dir.path()),
            Err(Error::Locked { .. })
        ));
        drop(l);
        DirLock::acquire(dir.path()).unwrap();
    }

    #[test]
    fn publish_dir_renames() {
        let dir = tempfile::tempdir().unwrap();
        let tmp = dir.path().join("x.tmp");
        create_dir_all(&tmp.join("sub")).unwrap();
        write_file_synced(&tmp.join("sub/f"), b"1").unwrap();
        publish_dir(&tmp, &dir.path().join("x")).unwrap();
        assert!(dir.path().join("x/sub/f").exists());
        assert!(!tmp.exists());
        assert_eq!(dir_size(dir.path()), 1);
    }
}
