//! Files ticketd creates beside its database — the database itself, backups, attachments and
//! token state (docs/message-handling.md "Durability"):
//!
//! - private to the service user and its group whatever the umask: files 0640 (secrets 0600),
//!   folders 0750, set exactly after creation (a umask can only take bits away, and a tight one
//!   would lock the group out);
//! - written durably: a temporary file beside the target, fsync'd, renamed into place, and the
//!   folder fsync'd, so that a crash or a power cut leaves the old file or the new one whole,
//!   and a failed write (a full disk) leaves no temporary file behind;
//! - owned like the folder they are created in when a shell command runs as root, so that the
//!   daemon's user can still write what `sudo ticketd ...` created.

use std::fs::{self, File, OpenOptions, Permissions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Files: read and write for the service user, read for its group, nothing for others.
pub const FILE_MODE: u32 = 0o640;
/// Folders: the service user's, searchable by its group.
pub const DIR_MODE: u32 = 0o750;
/// Secrets (refresh tokens): the service user's alone.
pub const SECRET_MODE: u32 = 0o600;

fn running_as_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// The folder a path is in ("." for a bare name).
fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// When running as root: gives `path` the owner and group of the folder it is in, so that a
/// shell command run as root does not leave files the daemon's user cannot write. Otherwise
/// (and when they already match) nothing happens. Symbolic links are not followed.
pub fn fix_owner(path: &Path) -> io::Result<()> {
    if !running_as_root() {
        return Ok(());
    }
    let folder = fs::metadata(parent_of(path))?;
    let have = fs::symlink_metadata(path)?;
    if (have.uid(), have.gid()) != (folder.uid(), folder.gid()) {
        std::os::unix::fs::lchown(path, Some(folder.uid()), Some(folder.gid()))?;
    }
    Ok(())
}

/// fsyncs a folder, so that the names created, renamed or removed in it survive a power cut.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Creates `dir` and every missing folder above it with mode 0750 whatever the umask, each
/// owned like its parent when running as root, and fsyncs the folder each was created in. A
/// folder that exists already is left as it is.
pub fn create_private_dir_all(dir: &Path) -> io::Result<()> {
    if dir.as_os_str().is_empty() || dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent() {
        create_private_dir_all(parent)?;
    }
    match fs::DirBuilder::new().mode(DIR_MODE).create(dir) {
        Ok(()) => {
            fs::set_permissions(dir, Permissions::from_mode(DIR_MODE))?;
            fix_owner(dir)?;
            sync_dir(parent_of(dir))
        }
        // Another process or thread made it meanwhile.
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists && dir.is_dir() => Ok(()),
        Err(e) => Err(e),
    }
}

/// Creates an empty file with mode 0640 (whatever the umask), owned like its folder when
/// running as root. Fails with `AlreadyExists` if anything is at `path` already (a symbolic
/// link included), so it never truncates or follows what someone else put there.
pub fn create_private_file(path: &Path) -> io::Result<File> {
    let file = OpenOptions::new().write(true).create_new(true).mode(FILE_MODE).open(path)?;
    let done = file.set_permissions(Permissions::from_mode(FILE_MODE)).and_then(|_| fix_owner(path));
    if let Err(e) = done {
        let _ = fs::remove_file(path);
        return Err(e);
    }
    Ok(file)
}

/// Takes read, write and search for "others" away from an existing file or folder (a database
/// created by an older ticketd, or under a loose umask). Only its owner or root may do that;
/// anything else is left alone. Returns whether the mode changed.
pub fn restrict(path: &Path) -> io::Result<bool> {
    let meta = match fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    if meta.file_type().is_symlink() || meta.mode() & 0o007 == 0 {
        return Ok(false);
    }
    fs::set_permissions(path, Permissions::from_mode(meta.mode() & 0o7770))?;
    Ok(true)
}

/// A name for a temporary file beside `path`, unique in this process.
fn temp_name(path: &Path) -> PathBuf {
    static N: AtomicU64 = AtomicU64::new(0);
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    parent_of(path).join(format!(".{name}.tmp{}.{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed)))
}

/// Writes `bytes` to `path` as a private file (0640): see [`write_file_synced`].
pub fn write_private_file_synced(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_file_synced(path, bytes, FILE_MODE)
}

/// Writes `bytes` to `path` durably and atomically with exactly `mode`: into a new temporary
/// file beside it, fsync'd, owned like the folder when running as root, renamed into place,
/// then the folder fsync'd. On any failure (a full disk) the temporary file is removed and the
/// old file, if any, is untouched. The folder must exist.
pub fn write_file_synced(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let mut attempts = 0;
    let (tmp, mut file) = loop {
        let tmp = temp_name(path);
        match OpenOptions::new().write(true).create_new(true).mode(mode).open(&tmp) {
            Ok(f) => break (tmp, f),
            // A leftover of a crashed process that had the same pid.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempts < 8 => attempts += 1,
            Err(e) => return Err(e),
        }
    };
    let written = file
        .set_permissions(Permissions::from_mode(mode))
        .and_then(|_| fix_owner(&tmp))
        .and_then(|_| file.write_all(bytes))
        .and_then(|_| file.sync_all())
        .and_then(|_| {
            drop(file);
            fs::rename(&tmp, path)
        });
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    sync_dir(parent_of(path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// The umask is the process's: tests that change it take turns and put it back.
    static UMASK: Mutex<()> = Mutex::new(());

    struct Umask(libc::mode_t, #[allow(dead_code)] std::sync::MutexGuard<'static, ()>);
    fn umask(mask: libc::mode_t) -> Umask {
        let guard = UMASK.lock().unwrap_or_else(|e| e.into_inner());
        // SAFETY: umask has no preconditions.
        Umask(unsafe { libc::umask(mask) }, guard)
    }
    impl Drop for Umask {
        fn drop(&mut self) {
            // SAFETY: as above.
            unsafe { libc::umask(self.0) };
        }
    }

    fn mode(path: &Path) -> u32 {
        fs::symlink_metadata(path).unwrap().mode() & 0o7777
    }

    #[test]
    fn folders_and_files_are_private_under_a_umask_of_0() {
        let _mask = umask(0);
        let dir = tempfile::tempdir().unwrap();
        let deep = dir.path().join("data/attachments/ab");
        create_private_dir_all(&deep).unwrap();
        for d in ["data", "data/attachments", "data/attachments/ab"] {
            assert_eq!(mode(&dir.path().join(d)), 0o750, "{d}");
        }
        let file = deep.join("abcdef");
        write_private_file_synced(&file, b"content").unwrap();
        assert_eq!(mode(&file), 0o640);
        assert_eq!(fs::read(&file).unwrap(), b"content");
        // Replaced whole, and no temporary file is left beside it.
        write_private_file_synced(&file, b"new").unwrap();
        assert_eq!(fs::read(&file).unwrap(), b"new");
        assert_eq!(fs::read_dir(&deep).unwrap().count(), 1);
        let secret = deep.join("token");
        write_file_synced(&secret, b"s", SECRET_MODE).unwrap();
        assert_eq!(mode(&secret), 0o600);
        let db = dir.path().join("tickets.db");
        create_private_file(&db).unwrap();
        assert_eq!(mode(&db), 0o640);
        assert_eq!(create_private_file(&db).unwrap_err().kind(), io::ErrorKind::AlreadyExists);
    }

    #[test]
    fn a_tight_umask_does_not_lock_the_group_out() {
        let _mask = umask(0o077);
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("a/b");
        create_private_dir_all(&sub).unwrap();
        assert_eq!(mode(&sub), 0o750);
        write_private_file_synced(&sub.join("f"), b"x").unwrap();
        assert_eq!(mode(&sub.join("f")), 0o640);
    }

    #[test]
    fn world_readable_files_are_restricted() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("old.db");
        fs::write(&f, b"x").unwrap();
        fs::set_permissions(&f, Permissions::from_mode(0o666)).unwrap();
        assert!(restrict(&f).unwrap());
        assert_eq!(mode(&f), 0o660);
        assert!(!restrict(&f).unwrap());
        assert!(!restrict(&dir.path().join("missing")).unwrap());
    }

    #[test]
    fn a_failed_write_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        // The target is a folder: the rename fails after the data was written.
        let target = dir.path().join("taken");
        fs::create_dir(&target).unwrap();
        fs::write(target.join("x"), b"x").unwrap();
        assert!(write_private_file_synced(&target, b"data").is_err());
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from("taken")]);
    }

    #[test]
    fn as_root_new_files_and_folders_take_the_owner_of_their_folder() {
        if !running_as_root() {
            eprintln!("skipped: needs root");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        fs::create_dir(&home).unwrap();
        // The service user's folder (uid and gid that no one on the test machine uses).
        std::os::unix::fs::chown(&home, Some(64_123), Some(64_124)).unwrap();
        let sub = home.join("data/attachments");
        create_private_dir_all(&sub).unwrap();
        write_private_file_synced(&sub.join("f"), b"x").unwrap();
        create_private_file(&home.join("tickets.db")).unwrap();
        for p in [home.join("data"), sub.clone(), sub.join("f"), home.join("tickets.db")] {
            let m = fs::metadata(&p).unwrap();
            assert_eq!((m.uid(), m.gid()), (64_123, 64_124), "{}", p.display());
        }
    }
}
