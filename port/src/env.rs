//! Reading the port's configuration from environment variables.
//!
//! A variable that is unset, empty or does not parse gives the default; a
//! value that does not parse is also reported on stderr, so a typo in a test
//! script is visible instead of silently ignored.

use std::path::PathBuf;
use std::str::FromStr;

/// Storage directory: `LWM2M_HOST_STORAGE_DIR`, default `./lwm2m_host_storage`.
pub const STORAGE_DIR: &str = "LWM2M_HOST_STORAGE_DIR";
pub const DEFAULT_STORAGE_DIR: &str = "./lwm2m_host_storage";

/// The value of `name`, or `default` when unset or empty.
pub fn string(name: &str, default: &str) -> String {
    match std::env::var(name) {
        Ok(v) if !v.is_empty() => v,
        _ => default.to_string(),
    }
}

/// The value of `name` parsed as a number, or `default`.
pub fn number<T: FromStr + Copy>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => match v.trim().parse() {
            Ok(n) => n,
            Err(_) => {
                eprintln!("lwm2m_carrier_host: {name}={v:?} is not a number; using the default");
                default
            }
        },
        _ => default,
    }
}

/// True when `name` is `1`, `y`, `yes` or `true`.
pub fn flag(name: &str) -> bool {
    matches!(
        std::env::var(name).as_deref().map(str::trim),
        Ok("1") | Ok("y") | Ok("yes") | Ok("true")
    )
}

/// The storage directory (not created here).
pub fn storage_dir() -> PathBuf {
    PathBuf::from(string(STORAGE_DIR, DEFAULT_STORAGE_DIR))
}
