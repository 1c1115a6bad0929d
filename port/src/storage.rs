//! Non-volatile records as files: `<dir>/ca12.rec` holds record 0xCA12.
//!
//! - `<dir>` is `LWM2M_HOST_STORAGE_DIR` (default `./lwm2m_host_storage`),
//!   created on init and on the first write.
//! - A write goes to `<name>.tmp`, which is fsynced and renamed over the
//!   record, and then the directory is fsynced: after a crash the record has
//!   its old or its new content, never a mix. A leftover `.tmp` file is never
//!   read and is overwritten by the next write.
//! - Writing the bytes already stored changes nothing and returns 0, like NVS.
//! - Files are created with mode 0600 and new directories with 0700: the
//!   Security record holds the server PSKs.
//! - Power-cut test hooks (`LWM2M_HOST_KILL_AT_COMMIT`, …) sit at the commit
//!   points of every write and delete; see [`crate::power_cut`].
//! - Ids outside `0xCA00..=0xCAFF` are refused with `-EINVAL`; a record that
//!   does not exist reads and deletes as `-ENOENT`.

use core::ffi::{c_int, c_void};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::err;
use crate::power_cut::{self, Kind, Stage};

/// First and last record id (`LWM2M_OS_STORAGE_BASE` / `_END`).
pub const STORAGE_BASE: u16 = 0xCA00;
pub const STORAGE_END: u16 = 0xCAFF;

/// The records in one directory.
#[derive(Debug, Clone)]
pub struct RecordStore {
    dir: PathBuf,
}

/// Map an I/O error to a negative lwm2m_os code.
pub(crate) fn io_code(e: &io::Error) -> c_int {
    match e.raw_os_error() {
        Some(libc::ENOSPC) | Some(libc::EDQUOT) => -err::ENOSPC,
        _ if e.kind() == io::ErrorKind::NotFound => -err::ENOENT,
        _ => -err::EIO,
    }
}

/// Replace `dir/name` atomically with `bytes` (creates `dir` if needed).
/// The file is private to the user (0600) and a new `dir` too (0700): records
/// and credentials hold keys. Commit points (see [`crate::power_cut`]):
/// before, temp, renamed.
pub(crate) fn write_atomic(dir: &Path, name: &str, bytes: &[u8], kind: Kind) -> io::Result<()> {
    create_private_dir(dir)?;
    power_cut::commit_point(kind, name, Stage::Before);
    let tmp = dir.join(format!("{name}.tmp"));
    {
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        // A leftover temp file may be older than this rule: fix its mode too.
        f.set_permissions(fs::Permissions::from_mode(0o600))?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    power_cut::commit_point(kind, name, Stage::Temp);
    fs::rename(&tmp, dir.join(name))?;
    sync_dir(dir)?;
    power_cut::commit_point(kind, name, Stage::Renamed);
    Ok(())
}

/// Remove `dir/name` and make the removal durable. Commit points: before, removed.
pub(crate) fn remove_durable(dir: &Path, name: &str, kind: Kind) -> io::Result<()> {
    power_cut::commit_point(kind, name, Stage::Before);
    fs::remove_file(dir.join(name))?;
    sync_dir(dir)?;
    power_cut::commit_point(kind, name, Stage::Removed);
    Ok(())
}

/// `create_dir_all` with mode 0700 for the directories it creates.
pub(crate) fn create_private_dir(dir: &Path) -> io::Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

impl RecordStore {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        RecordStore { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `ca12.rec` for 0xCA12; `None` outside the reserved range.
    pub fn file_name(id: u16) -> Option<String> {
        (STORAGE_BASE..=STORAGE_END)
            .contains(&id)
            .then(|| format!("{id:04x}.rec"))
    }

    /// Whole record; Err: negative lwm2m_os code.
    pub fn read(&self, id: u16) -> Result<Vec<u8>, c_int> {
        let name = Self::file_name(id).ok_or(-err::EINVAL)?;
        fs::read(self.dir.join(name)).map_err(|e| io_code(&e))
    }

    /// Store `bytes`; Ok(true) if written, Ok(false) if unchanged.
    pub fn write(&self, id: u16, bytes: &[u8]) -> Result<bool, c_int> {
        let name = Self::file_name(id).ok_or(-err::EINVAL)?;
        if let Ok(old) = fs::read(self.dir.join(&name)) {
            if old == bytes {
                return Ok(false);
            }
        }
        write_atomic(&self.dir, &name, bytes, Kind::Record).map_err(|e| io_code(&e))?;
        Ok(true)
    }

    pub fn delete(&self, id: u16) -> Result<(), c_int> {
        let name = Self::file_name(id).ok_or(-err::EINVAL)?;
        remove_durable(&self.dir, &name, Kind::Record).map_err(|e| io_code(&e))
    }
}

static GLOBAL: OnceLock<RecordStore> = OnceLock::new();

/// The store behind the C functions (directory read once from the environment).
pub fn global() -> &'static RecordStore {
    GLOBAL.get_or_init(|| RecordStore::new(crate::env::storage_dir()))
}

#[no_mangle]
pub extern "C" fn lwm2m_os_storage_read(id: u16, buf: *mut c_void, len: usize) -> c_int {
    if buf.is_null() && len > 0 {
        return -err::EINVAL;
    }
    match global().read(id) {
        Ok(data) => {
            let Ok(full_len) = c_int::try_from(data.len()) else {
                return -err::EIO;
            };
            let n = data.len().min(len);
            if n > 0 {
                // SAFETY: buf is writable for len >= n bytes.
                unsafe { core::ptr::copy_nonoverlapping(data.as_ptr(), buf as *mut u8, n) };
            }
            full_len
        }
        Err(e) => e,
    }
}

#[no_mangle]
pub extern "C" fn lwm2m_os_storage_write(id: u16, buf: *const c_void, len: usize) -> c_int {
    let Ok(ret_len) = c_int::try_from(len) else {
        return -err::EINVAL;
    };
    let bytes: &[u8] = if len == 0 {
        &[]
    } else if buf.is_null() {
        return -err::EINVAL;
    } else {
        // SAFETY: the caller passes len readable bytes.
        unsafe { core::slice::from_raw_parts(buf as *const u8, len) }
    };
    match global().write(id, bytes) {
        Ok(true) => ret_len,
        Ok(false) => 0,
        Err(e) => e,
    }
}

#[no_mangle]
pub extern "C" fn lwm2m_os_storage_delete(id: u16) -> c_int {
    match global().delete(id) {
        Ok(()) => 0,
        Err(e) => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support;

    #[test]
    fn round_trip_and_unchanged_write() {
        let store = RecordStore::new(test_support::temp_dir("rec"));
        assert_eq!(store.write(0xCA12, b"hello"), Ok(true));
        assert!(store.dir().join("ca12.rec").exists());
        assert_eq!(store.read(0xCA12).unwrap(), b"hello");
        assert_eq!(
            store.write(0xCA12, b"hello"),
            Ok(false),
            "same bytes: unchanged"
        );
        assert_eq!(store.write(0xCA12, b"hello!"), Ok(true));
        assert_eq!(store.read(0xCA12).unwrap(), b"hello!");
        assert_eq!(store.write(0xCA13, b""), Ok(true));
        assert_eq!(store.read(0xCA13).unwrap(), b"");
    }

    #[test]
    fn ids_outside_the_range_are_refused() {
        let store = RecordStore::new(test_support::temp_dir("range"));
        for id in [0, 0xC9FF, 0xCB00, 0xFFFF] {
            assert_eq!(store.write(id, b"x"), Err(-err::EINVAL));
            assert_eq!(store.read(id), Err(-err::EINVAL));
            assert_eq!(store.delete(id), Err(-err::EINVAL));
        }
        assert_eq!(store.write(STORAGE_BASE, b"x"), Ok(true));
        assert_eq!(store.write(STORAGE_END, b"x"), Ok(true));
    }

    #[test]
    fn missing_record_is_enoent() {
        let store = RecordStore::new(test_support::temp_dir("missing"));
        assert_eq!(store.read(0xCA01), Err(-err::ENOENT));
        assert_eq!(store.delete(0xCA01), Err(-err::ENOENT));
        store.write(0xCA01, b"x").unwrap();
        assert_eq!(store.delete(0xCA01), Ok(()));
        assert_eq!(store.read(0xCA01), Err(-err::ENOENT));
    }

    #[test]
    fn leftover_temp_file_from_a_crash_does_not_corrupt_the_record() {
        let store = RecordStore::new(test_support::temp_dir("crash"));
        store.write(0xCA20, b"old content").unwrap();
        // A crash between writing the temp file and the rename leaves this:
        fs::write(store.dir().join("ca20.rec.tmp"), b"half-writ").unwrap();
        assert_eq!(store.read(0xCA20).unwrap(), b"old content");
        // A crash before any rename of a new record: the record does not exist.
        fs::write(store.dir().join("ca21.rec.tmp"), b"partial").unwrap();
        assert_eq!(store.read(0xCA21), Err(-err::ENOENT));
        // The next write replaces the leftover and wins.
        assert_eq!(store.write(0xCA20, b"new"), Ok(true));
        assert_eq!(store.read(0xCA20).unwrap(), b"new");
        assert!(!store.dir().join("ca20.rec.tmp").exists());
    }

    #[test]
    fn records_are_private_to_the_user() {
        use std::os::unix::fs::PermissionsExt;
        let dir = test_support::temp_dir("rec_mode").join("new");
        let store = RecordStore::new(&dir);
        store.write(0xCAFE, b"secret key inside").unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join("cafe.rec")), 0o600);
    }

    #[test]
    fn c_functions_copy_min_len_and_return_full_length() {
        test_support::init_env();
        let data = b"0123456789";
        let w = lwm2m_os_storage_write(0xCAF0, data.as_ptr().cast(), data.len());
        assert!(w == 10 || w == 0, "{w}"); // 0 if a previous run left the same record
        assert_eq!(
            lwm2m_os_storage_write(0xCAF0, data.as_ptr().cast(), data.len()),
            0
        );
        let mut small = [0xAAu8; 4];
        assert_eq!(
            lwm2m_os_storage_read(0xCAF0, small.as_mut_ptr().cast(), small.len()),
            10
        );
        assert_eq!(&small, b"0123");
        let mut big = [0u8; 32];
        assert_eq!(
            lwm2m_os_storage_read(0xCAF0, big.as_mut_ptr().cast(), big.len()),
            10
        );
        assert_eq!(&big[..10], data);
        assert_eq!(lwm2m_os_storage_read(0xCAF0, core::ptr::null_mut(), 0), 10);
        assert_eq!(lwm2m_os_storage_delete(0xCAF0), 0);
        assert_eq!(
            lwm2m_os_storage_read(0xCAF0, big.as_mut_ptr().cast(), 32),
            -err::ENOENT
        );
        assert_eq!(
            lwm2m_os_storage_write(0x1234, data.as_ptr().cast(), 1),
            -err::EINVAL
        );
    }
}
