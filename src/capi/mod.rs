//! The C API of `include/lwm2m_carrier.h` (generated from this module by cbindgen).
//!
//! Every function validates its arguments (NULL, ranges, lengths) before it
//! touches state and returns the codes of spec c-api.md §2.7. Setters may be
//! called from any thread: they take the library's one lock (`lwm2m_os_lock`)
//! and never call the application while holding it.
//!
//! The `unsafe` functions take C pointers; their contract (NULL allowed or
//! not, strings NUL-terminated, array lengths) is stated in C terms in each
//! function's comment, which cbindgen copies into the header: no separate
//! `# Safety` section.
#![allow(clippy::missing_safety_doc)]

mod defaults;

use core::ffi::{c_char, c_int};

use crate::errno::{E2BIG, EINVAL};
use crate::limits::STRING_MAX_LEN;
use crate::shared;
pub use crate::api::*;
pub use crate::hooks::*;


/// Initialize the LwM2M carrier library.
///
/// Brings the modem library up (LWM2M_CARRIER_EVENT_BSDLIB_INIT), connects
/// to the LTE network (CONNECTING, CONNECTED) and reads the modem's identity.
/// The first call after a modem firmware update may take several seconds.
///
/// @param config Configuration, or NULL for the defaults. The library keeps
///               the string pointers: they must stay valid.
/// @return 0 on success, -1 if the modem library or AT interface failed, -EIO
///         if the IMEI could not be read, or the LTE connect error.
#[no_mangle]
pub unsafe extern "C" fn lwm2m_carrier_init(config: *const lwm2m_carrier_config_t) -> c_int {
    let cfg = if config.is_null() { None } else { Some(&*config) };
    crate::driver::init(cfg)
}

/// Run the LwM2M carrier library. Call it from the carrier thread after
/// lwm2m_carrier_init() returned 0.
///
/// Does not return, except after a fatal LWM2M_CARRIER_EVENT_ERROR (LTE
/// connect/disconnect or bootstrap failure) or when the application vetoed
/// a LWM2M_CARRIER_EVENT_REBOOT.
#[no_mangle]
pub extern "C" fn lwm2m_carrier_run() {
    crate::driver::run()
}

/// Set the available power sources (Device resource 6).
///
/// Also sets the voltage and current lists to the same length (all 0), the
/// battery status to UNKNOWN and the battery level to 0.
///
/// @param power_sources      Array of LWM2M_CARRIER_POWER_SOURCE_* values.
/// @param power_source_count Number of entries (at most 8; 0 is accepted).
/// @return 0, -E2BIG if the count is over 8, -EINVAL for an unsupported type
///         or a NULL array with a non-zero count.
#[no_mangle]
pub unsafe extern "C" fn lwm2m_carrier_avail_power_sources_set(
    power_sources: *const u8,
    power_source_count: u8,
) -> c_int {
    let list: &[u8] = if power_source_count == 0 {
        &[]
    } else if power_sources.is_null() {
        return -EINVAL;
    } else {
        core::slice::from_raw_parts(power_sources, power_source_count as usize)
    };
    shared::device(|d| d.set_power_sources(list))
}

/// Set the voltage of a power source in mV (Device resource 7).
/// @return 0, -EINVAL for an unsupported type, -ENODEV if the power source
///         is not in the available list.
#[no_mangle]
pub extern "C" fn lwm2m_carrier_power_source_voltage_set(power_source: u8, value: i32) -> c_int {
    shared::device(|d| d.set_voltage(power_source, value))
}

/// Set the current of a power source in mA (Device resource 8).
/// @return 0, -EINVAL for an unsupported type, -ENODEV if the power source
///         is not in the available list.
#[no_mangle]
pub extern "C" fn lwm2m_carrier_power_source_current_set(power_source: u8, value: i32) -> c_int {
    shared::device(|d| d.set_current(power_source, value))
}

/// Set the battery level in percent (Device resource 9).
/// @return 0, -EINVAL above 100, -ENODEV without an internal battery.
#[no_mangle]
pub extern "C" fn lwm2m_carrier_battery_level_set(battery_level: u8) -> c_int {
    shared::device(|d| d.set_battery_level(battery_level))
}

/// Set the battery status, one of LWM2M_CARRIER_BATTERY_STATUS_* (Device
/// resource 20).
/// @return 0, -EINVAL for an unknown status, -ENODEV without an internal
///         battery (the status then reads NOT_INSTALLED).
#[no_mangle]
pub extern "C" fn lwm2m_carrier_battery_status_set(battery_status: i32) -> c_int {
    shared::device(|d| d.set_battery_status(battery_status))
}

/// Read a string argument of a setter, scanning at most
/// `STRING_MAX_LEN + 1` bytes for its NUL (an unterminated or huge buffer
/// is never read past that): -EINVAL for NULL, -E2BIG over 200 bytes
/// (whatever the bytes are, as the original), -EINVAL for "" or for bytes
/// that are not UTF-8 (the Device object's strings are UTF-8 text).
unsafe fn c_str<'a>(s: *const c_char) -> Result<&'a str, c_int> {
    if s.is_null() {
        return Err(-EINVAL);
    }
    let p = s.cast::<u8>();
    let mut len = 0;
    // SAFETY: the caller passes a NUL-terminated string; we read up to and
    // including its NUL, and never more than STRING_MAX_LEN + 1 bytes.
    while *p.add(len) != 0 {
        len += 1;
        if len > STRING_MAX_LEN {
            return Err(-E2BIG);
        }
    }
    let bytes = core::slice::from_raw_parts(p, len);
    match core::str::from_utf8(bytes) {
        Ok("") | Err(_) => Err(-EINVAL),
        Ok(s) => Ok(s),
    }
}

/// A string setter: argument checks, then the Device object's own rules.
unsafe fn set_string(arg: *const c_char, set: fn(&mut crate::objects::device::Device, Option<&str>) -> Result<(), i32>) -> c_int {
    match c_str(arg) {
        Ok(s) => shared::device(|d| set(d, Some(s))),
        Err(e) => e,
    }
}

/// Set the device type (Device resource 17). The string is copied.
/// @return 0, -EINVAL for NULL, "" or bytes that are not UTF-8, -E2BIG over
///         200 bytes. (The original's -ENOMEM is not returned: the copy lives
///         in the library's own heap, see README "Footprint and memory".)
#[no_mangle]
pub unsafe extern "C" fn lwm2m_carrier_device_type_set(device_type: *const c_char) -> c_int {
    set_string(device_type, crate::objects::device::Device::set_device_type)
}

/// Set the hardware version (Device resource 18). The string is copied.
/// @return 0, -EINVAL for NULL, "" or bytes that are not UTF-8, -E2BIG over
///         200 bytes. (The original's -ENOMEM is not returned: the copy lives
///         in the library's own heap, see README "Footprint and memory".)
#[no_mangle]
pub unsafe extern "C" fn lwm2m_carrier_hardware_version_set(hardware_version: *const c_char) -> c_int {
    set_string(hardware_version, crate::objects::device::Device::set_hardware_version)
}

/// Set the software version (Device resource 19). The string is copied.
/// @return 0, -EINVAL for NULL, "" or bytes that are not UTF-8, -E2BIG over
///         200 bytes. (The original's -ENOMEM is not returned: the copy lives
///         in the library's own heap, see README "Footprint and memory".)
#[no_mangle]
pub unsafe extern "C" fn lwm2m_carrier_software_version_set(software_version: *const c_char) -> c_int {
    set_string(software_version, crate::objects::device::Device::set_software_version)
}

/// Add an error code, one of LWM2M_CARRIER_ERROR_CODE_* (Device resource 11).
/// NO_ERROR clears the list; duplicates are ignored.
/// @return 0, -EINVAL for an unsupported code.
#[no_mangle]
pub extern "C" fn lwm2m_carrier_error_code_add(error: i32) -> c_int {
    shared::device(|d| d.add_error_code(error))
}

/// Remove an error code (Device resource 11). Removing the last one leaves
/// NO_ERROR.
/// @return 0, -EINVAL for an unsupported code, -ENOENT if it is not set.
#[no_mangle]
pub extern "C" fn lwm2m_carrier_error_code_remove(error: i32) -> c_int {
    shared::device(|d| d.remove_error_code(error))
}


/// Set the total memory in kB (Device resource 21).
/// @return 0, -EINVAL above INT32_MAX.
#[no_mangle]
pub extern "C" fn lwm2m_carrier_memory_total_set(memory_total: u32) -> c_int {
    shared::device(|d| d.set_memory_total(memory_total))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn arg(bytes: &[u8]) -> Vec<u8> {
        let mut v = bytes.to_vec();
        v.push(0);
        v
    }

    #[test]
    fn string_arguments_are_checked_in_the_originals_order() {
        unsafe {
            assert_eq!(c_str(core::ptr::null()), Err(-EINVAL));
            assert_eq!(c_str(arg(b"").as_ptr() as *const c_char), Err(-EINVAL));
            assert_eq!(c_str(arg(b"Smart Device").as_ptr() as *const c_char), Ok("Smart Device"));
            let max = arg(&[b'a'; STRING_MAX_LEN]);
            assert_eq!(c_str(max.as_ptr() as *const c_char).map(str::len), Ok(STRING_MAX_LEN));
            let long = arg(&[b'a'; STRING_MAX_LEN + 1]);
            assert_eq!(c_str(long.as_ptr() as *const c_char), Err(-E2BIG));
            // Too long is -E2BIG whatever the bytes; short non-UTF-8 is -EINVAL.
            let long_latin1 = arg(&[0xE9; 300]);
            assert_eq!(c_str(long_latin1.as_ptr() as *const c_char), Err(-E2BIG));
            assert_eq!(c_str(arg(&[b'x', 0xE9]).as_ptr() as *const c_char), Err(-EINVAL));
        }
    }

    #[test]
    fn an_unterminated_string_is_read_no_further_than_201_bytes() {
        // Exactly STRING_MAX_LEN + 1 readable bytes and no NUL: reading one
        // byte more would be out of bounds (Miri and ASan catch it).
        let buf = alloc::vec![b'a'; STRING_MAX_LEN + 1];
        assert_eq!(unsafe { c_str(buf.as_ptr() as *const c_char) }, Err(-E2BIG));
    }
}
