//! `LWM2M_HOST_KILL_AT_COMMIT=N` really kills the process with SIGKILL at
//! the N-th commit point, and whatever N is, each record and credential is
//! left with its old or its new content (a temp file is never read).
//!
//! The parent test runs this same test binary again as a child (the ignored
//! test `child_writes_and_deletes`) once per commit point.

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use lwm2m_carrier::os::SEC_PSK;
use lwm2m_carrier_host::modem_sim::{lwm2m_os_sec_exists, lwm2m_os_sec_write, CredentialStore};
use lwm2m_carrier_host::storage::{lwm2m_os_storage_delete, lwm2m_os_storage_write, RecordStore};

const CHILD_DIR_VAR: &str = "POWER_CUT_TEST_CHILD_DIR";
const ID: u16 = 0xCA10;
const TAG: u32 = 30;

fn write(data: &[u8]) -> i32 {
    lwm2m_os_storage_write(ID, data.as_ptr().cast(), data.len())
}

/// The child's work: 11 commit points (3 + 3 + 0 + 2 + 3).
#[test]
#[ignore = "run by power_cut_at_every_commit_point as its child process"]
fn child_writes_and_deletes() {
    if std::env::var_os(CHILD_DIR_VAR).is_none() {
        return;
    }
    assert_eq!(write(b"v1"), 2); // 1 before, 2 temp, 3 renamed
    assert_eq!(write(b"v2"), 2); // 4, 5, 6
    assert_eq!(write(b"v2"), 0, "unchanged: no commit point");
    assert_eq!(lwm2m_os_storage_delete(ID), 0); // 7 before, 8 removed
    let psk = b"a1b2c3d4";
    assert_eq!(
        lwm2m_os_sec_write(TAG, SEC_PSK, psk.as_ptr().cast(), psk.len()),
        0
    ); // 9, 10, 11
    assert_eq!(lwm2m_os_sec_exists(TAG, SEC_PSK), 1);
    println!("CHILD DONE");
}

struct Run {
    killed: bool,
    stderr: String,
    stdout: String,
}

fn run_child(dir: &Path, kill_at: u32) -> Run {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_writes_and_deletes",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_DIR_VAR, dir)
        .env("LWM2M_HOST_STORAGE_DIR", dir)
        .env("LWM2M_HOST_KILL_AT_COMMIT", kill_at.to_string())
        .env("LWM2M_HOST_COMMIT_TRACE", "1")
        .env("LWM2M_HOST_LOG_LEVEL", "none")
        .output()
        .unwrap();
    Run {
        killed: out.status.signal() == Some(libc::SIGKILL),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
    }
}

fn fresh_dir(n: u32) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lwm2m_power_cut_{}_{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn power_cut_at_every_commit_point() {
    // (record content, credential present, what the trace says at the cut)
    let expected: [(Option<&[u8]>, bool, &str); 11] = [
        (None, false, "record ca10.rec before"),
        (None, false, "record ca10.rec temp"),
        (Some(b"v1"), false, "record ca10.rec renamed"),
        (Some(b"v1"), false, "record ca10.rec before"),
        (Some(b"v1"), false, "record ca10.rec temp"),
        (Some(b"v2"), false, "record ca10.rec renamed"),
        (Some(b"v2"), false, "record ca10.rec before"),
        (None, false, "record ca10.rec removed"),
        (None, false, "credential 30.3 before"),
        (None, false, "credential 30.3 temp"),
        (None, true, "credential 30.3 renamed"),
    ];
    for (i, (record, cred, what)) in expected.iter().enumerate() {
        let n = i as u32 + 1;
        let dir = fresh_dir(n);
        let run = run_child(&dir, n);
        assert!(
            run.killed,
            "N={n}: not killed by SIGKILL\n{}\n{}",
            run.stdout, run.stderr
        );
        assert!(!run.stdout.contains("CHILD DONE"), "N={n}");
        let cut = format!("lwm2m_carrier_host: power cut at commit point {n}: {what}");
        assert!(
            run.stderr.contains(&cut),
            "N={n}: want {cut:?} in\n{}",
            run.stderr
        );
        assert_eq!(
            run.stderr
                .matches("lwm2m_carrier_host: commit point ")
                .count(),
            n as usize,
            "N={n}: one trace line per point up to the cut\n{}",
            run.stderr
        );
        let store = RecordStore::new(&dir);
        assert_eq!(store.read(ID).ok().as_deref(), *record, "N={n} ({what})");
        let creds = CredentialStore::new(dir.join("sec"));
        assert_eq!(creds.exists(TAG, SEC_PSK), Ok(*cred), "N={n} ({what})");
        if *cred {
            assert_eq!(creds.read(TAG, SEC_PSK).unwrap(), b"a1b2c3d4");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
    // Past the last point nothing is killed and all the work is done.
    let dir = fresh_dir(99);
    let run = run_child(&dir, 12);
    assert!(
        !run.killed && run.stdout.contains("CHILD DONE"),
        "{}\n{}",
        run.stdout,
        run.stderr
    );
    assert_eq!(
        run.stderr
            .matches("lwm2m_carrier_host: commit point ")
            .count(),
        11
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn power_cut_after_a_time() {
    let dir = fresh_dir(1000);
    let started = std::time::Instant::now();
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_sleeps", "--ignored", "--nocapture"])
        .env(CHILD_DIR_VAR, &dir)
        .env("LWM2M_HOST_STORAGE_DIR", &dir)
        .env("LWM2M_HOST_KILL_AFTER_MS", "300")
        .output()
        .unwrap();
    let took = started.elapsed();
    assert_eq!(out.status.signal(), Some(libc::SIGKILL), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("power cut after 300 ms"),
        "{out:?}"
    );
    assert!(took.as_millis() >= 300 && took.as_secs() < 10, "{took:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
#[ignore = "run by power_cut_after_a_time as its child process"]
fn child_sleeps() {
    if std::env::var_os(CHILD_DIR_VAR).is_none() {
        return;
    }
    assert_eq!(lwm2m_carrier_host::system::lwm2m_os_init(), 0);
    std::thread::sleep(std::time::Duration::from_secs(20));
    println!("CHILD DONE");
}
