//! Small helpers several layers share, below all of them.

pub mod crc;
pub mod decimal;
