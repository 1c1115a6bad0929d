//! Types and constants of `lwm2m_carrier.h` 0.10.x (spec c-api.md §2.1–§2.5):
//! event types, deferred reasons, error codes, power sources, the config and
//! event structs. Names, values and field order are the contract: do not
//! change them. A neutral module: every layer that reports an event or an
//! error takes its codes from here, and [`crate::capi`] re-exports them, so
//! nothing below the C API imports it.
#![allow(non_camel_case_types)]

use core::ffi::{c_char, c_void};

// §2.1 Event types (`lwm2m_carrier_event_t.type`).
/// bsdlib (modem library) initialized; the application may use it.
pub const LWM2M_CARRIER_EVENT_BSDLIB_INIT: u32 = 1;
/// About to bring the LTE link up.
pub const LWM2M_CARRIER_EVENT_CONNECTING: u32 = 2;
/// LTE link up.
pub const LWM2M_CARRIER_EVENT_CONNECTED: u32 = 3;
/// About to take the LTE link down.
pub const LWM2M_CARRIER_EVENT_DISCONNECTING: u32 = 4;
/// LTE link down.
pub const LWM2M_CARRIER_EVENT_DISCONNECTED: u32 = 5;
/// Bootstrap sequence complete.
pub const LWM2M_CARRIER_EVENT_BOOTSTRAPPED: u32 = 6;
/// Registered to the device-management server(s).
pub const LWM2M_CARRIER_EVENT_REGISTERED: u32 = 7;
/// Operation deferred; `data` points to an `lwm2m_carrier_event_deferred_t`.
pub const LWM2M_CARRIER_EVENT_DEFERRED: u32 = 8;
/// Modem firmware update started; `data` is NULL or the package URL.
pub const LWM2M_CARRIER_EVENT_FOTA_START: u32 = 9;
/// The library is about to reboot; return non-zero from the handler to veto.
pub const LWM2M_CARRIER_EVENT_REBOOT: u32 = 10;
/// The LTE link may be used by the application.
pub const LWM2M_CARRIER_EVENT_LTE_READY: u32 = 11;
/// Error; `data` points to an `lwm2m_carrier_event_error_t`.
pub const LWM2M_CARRIER_EVENT_ERROR: u32 = 20;

// §2.3 Deferred reasons.
pub const LWM2M_CARRIER_DEFERRED_NO_REASON: u32 = 0;
pub const LWM2M_CARRIER_DEFERRED_PDN_ACTIVATE: u32 = 1;
pub const LWM2M_CARRIER_DEFERRED_BOOTSTRAP_NO_ROUTE: u32 = 2;
pub const LWM2M_CARRIER_DEFERRED_BOOTSTRAP_CONNECT: u32 = 3;
pub const LWM2M_CARRIER_DEFERRED_BOOTSTRAP_SEQUENCE: u32 = 4;
pub const LWM2M_CARRIER_DEFERRED_SERVER_NO_ROUTE: u32 = 5;
pub const LWM2M_CARRIER_DEFERRED_SERVER_CONNECT: u32 = 6;
pub const LWM2M_CARRIER_DEFERRED_SERVER_REGISTRATION: u32 = 7;

// §2.4 Error event codes.
pub const LWM2M_CARRIER_ERROR_NO_ERROR: u32 = 0;
pub const LWM2M_CARRIER_ERROR_CONNECT_FAIL: u32 = 1;
pub const LWM2M_CARRIER_ERROR_DISCONNECT_FAIL: u32 = 2;
pub const LWM2M_CARRIER_ERROR_BOOTSTRAP: u32 = 3;
pub const LWM2M_CARRIER_ERROR_FOTA_PKG: u32 = 4;
pub const LWM2M_CARRIER_ERROR_FOTA_PROTO: u32 = 5;
pub const LWM2M_CARRIER_ERROR_FOTA_CONN: u32 = 6;
pub const LWM2M_CARRIER_ERROR_FOTA_CONN_LOST: u32 = 7;
pub const LWM2M_CARRIER_ERROR_FOTA_FAIL: u32 = 8;

// §2.5 Power sources (3, PoE, is deliberately unsupported).
pub const LWM2M_CARRIER_POWER_SOURCE_DC: u8 = 0;
pub const LWM2M_CARRIER_POWER_SOURCE_INTERNAL_BATTERY: u8 = 1;
pub const LWM2M_CARRIER_POWER_SOURCE_EXTERNAL_BATTERY: u8 = 2;
pub const LWM2M_CARRIER_POWER_SOURCE_ETHERNET: u8 = 4;
pub const LWM2M_CARRIER_POWER_SOURCE_USB: u8 = 5;
pub const LWM2M_CARRIER_POWER_SOURCE_AC: u8 = 6;
pub const LWM2M_CARRIER_POWER_SOURCE_SOLAR: u8 = 7;

// §2.5 Device error codes.
pub const LWM2M_CARRIER_ERROR_CODE_NO_ERROR: i32 = 0;
pub const LWM2M_CARRIER_ERROR_CODE_LOW_CHARGE: i32 = 1;
pub const LWM2M_CARRIER_ERROR_CODE_EXTERNAL_SUPPLY_OFF: i32 = 2;
pub const LWM2M_CARRIER_ERROR_CODE_GPS_FAILURE: i32 = 3;
pub const LWM2M_CARRIER_ERROR_CODE_LOW_SIGNAL: i32 = 4;
pub const LWM2M_CARRIER_ERROR_CODE_OUT_OF_MEMORY: i32 = 5;
pub const LWM2M_CARRIER_ERROR_CODE_SMS_FAILURE: i32 = 6;
pub const LWM2M_CARRIER_ERROR_CODE_IP_CONNECTIVITY_FAILURE: i32 = 7;
pub const LWM2M_CARRIER_ERROR_CODE_PERIPHERAL_MALFUNCTION: i32 = 8;

// §2.5 Battery status (valid only with an internal battery).
pub const LWM2M_CARRIER_BATTERY_STATUS_NORMAL: i32 = 0;
pub const LWM2M_CARRIER_BATTERY_STATUS_CHARGING: i32 = 1;
pub const LWM2M_CARRIER_BATTERY_STATUS_CHARGE_COMPLETE: i32 = 2;
pub const LWM2M_CARRIER_BATTERY_STATUS_DAMAGED: i32 = 3;
pub const LWM2M_CARRIER_BATTERY_STATUS_LOW_BATTERY: i32 = 4;
pub const LWM2M_CARRIER_BATTERY_STATUS_NOT_INSTALLED: i32 = 5;
pub const LWM2M_CARRIER_BATTERY_STATUS_UNKNOWN: i32 = 6;

// §2.5 Portfolio identity types.
pub const LWM2M_CARRIER_IDENTITY_ID: u16 = 0;
pub const LWM2M_CARRIER_IDENTITY_MANUFACTURER: u16 = 1;
pub const LWM2M_CARRIER_IDENTITY_MODEL: u16 = 2;
pub const LWM2M_CARRIER_IDENTITY_SW_VERSION: u16 = 3;

/// An event for `lwm2m_carrier_event_handler()`.
/// cbindgen:field-names=[type, data]
#[repr(C)]
#[derive(Copy, Clone, Debug)]
pub struct lwm2m_carrier_event_t {
    /// One of LWM2M_CARRIER_EVENT_*.
    pub type_: u32,
    /// Event data, may be NULL depending on the type. Valid only during the handler call.
    pub data: *const c_void,
}

/// Data of LWM2M_CARRIER_EVENT_DEFERRED.
#[repr(C)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct lwm2m_carrier_event_deferred_t {
    /// One of LWM2M_CARRIER_DEFERRED_*.
    pub reason: u32,
    /// Seconds until the library retries.
    pub timeout: i32,
}

/// Data of LWM2M_CARRIER_EVENT_ERROR.
#[repr(C)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct lwm2m_carrier_event_error_t {
    /// One of LWM2M_CARRIER_ERROR_*.
    pub code: u32,
    /// Code-specific value.
    pub value: i32,
}

/// Configuration passed to `lwm2m_carrier_init()`. The library keeps the
/// pointers (it does not copy the strings): they must stay valid.
#[repr(C)]
#[derive(Copy, Clone, Debug)]
pub struct lwm2m_carrier_config_t {
    /// NUL-terminated URI of the bootstrap server, or NULL.
    pub bootstrap_uri: *const c_char,
    /// NUL-terminated PSK (hex string) for the bootstrap server, or NULL.
    pub psk: *const c_char,
    /// NUL-terminated custom APN, or NULL.
    pub apn: *const c_char,
    /// true: certification servers; false: production servers.
    pub certification_mode: bool,
}
