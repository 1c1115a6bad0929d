//! The errno values the C API returns (negated). These classic values are the
//! same in newlib (Zephyr) and glibc (host).
pub const EPERM: i32 = 1;
pub const ENOENT: i32 = 2;
pub const EIO: i32 = 5;
pub const E2BIG: i32 = 7;
pub const ENOMEM: i32 = 12;
pub const EACCES: i32 = 13;
pub const ENODEV: i32 = 19;
pub const EINVAL: i32 = 22;
