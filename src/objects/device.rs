//! Device object (id 3), OMA-TS-LightweightM2M-V1_0_2 Appendix E.4, with the
//! setter rules of the original library (spec c-api.md §2.7).
//!
//! The application keeps these values current through the
//! `lwm2m_carrier_*_set()` functions; the modem-derived ones (manufacturer,
//! model, serial number, firmware and hardware version) are filled in at init.

use alloc::string::String;
use heapless::Vec as HVec;

use crate::capi::types::*;
use crate::errno::{E2BIG, EINVAL, ENODEV, ENOENT};
use crate::limits::STRING_MAX_LEN;
use crate::lwm2m::value::Value;

pub const OBJECT_ID: u16 = 3;

/// `LWM2M_DEVICE_MAX_POWER_SOURCES` and `LWM2M_DEVICE_MAX_ERROR_CODES`.
pub const MAX_POWER_SOURCES: usize = 8;
pub const MAX_ERROR_CODES: usize = 8;

/// Resource ids of /3/0.
pub mod res {
    pub const MANUFACTURER: u16 = 0;
    pub const MODEL_NUMBER: u16 = 1;
    pub const SERIAL_NUMBER: u16 = 2;
    pub const FIRMWARE_VERSION: u16 = 3;
    pub const REBOOT: u16 = 4;
    pub const FACTORY_RESET: u16 = 5;
    pub const AVAILABLE_POWER_SOURCES: u16 = 6;
    pub const POWER_SOURCE_VOLTAGE: u16 = 7;
    pub const POWER_SOURCE_CURRENT: u16 = 8;
    pub const BATTERY_LEVEL: u16 = 9;
    pub const MEMORY_FREE: u16 = 10;
    pub const ERROR_CODE: u16 = 11;
    pub const RESET_ERROR_CODE: u16 = 12;
    pub const CURRENT_TIME: u16 = 13;
    pub const UTC_OFFSET: u16 = 14;
    pub const TIMEZONE: u16 = 15;
    pub const SUPPORTED_BINDING: u16 = 16;
    pub const DEVICE_TYPE: u16 = 17;
    pub const HARDWARE_VERSION: u16 = 18;
    pub const SOFTWARE_VERSION: u16 = 19;
    pub const BATTERY_STATUS: u16 = 20;
    pub const MEMORY_TOTAL: u16 = 21;
}

/// Resources a Read of /3/0 returns, in order.
pub const READABLE: &[u16] = &[
    res::MANUFACTURER,
    res::MODEL_NUMBER,
    res::SERIAL_NUMBER,
    res::FIRMWARE_VERSION,
    res::AVAILABLE_POWER_SOURCES,
    res::POWER_SOURCE_VOLTAGE,
    res::POWER_SOURCE_CURRENT,
    res::BATTERY_LEVEL,
    res::MEMORY_FREE,
    res::ERROR_CODE,
    res::SUPPORTED_BINDING,
    res::DEVICE_TYPE,
    res::HARDWARE_VERSION,
    res::SOFTWARE_VERSION,
    res::BATTERY_STATUS,
    res::MEMORY_TOTAL,
];

/// The single instance /3/0.
#[derive(Debug, Clone)]
pub struct Device {
    pub manufacturer: String,
    pub model: String,
    pub serial: String,
    pub firmware_version: String,
    power_sources: HVec<u8, MAX_POWER_SOURCES>,
    voltages: HVec<i32, MAX_POWER_SOURCES>,
    currents: HVec<i32, MAX_POWER_SOURCES>,
    battery_level: u8,
    battery_status: i32,
    error_codes: HVec<i32, MAX_ERROR_CODES>,
    memory_total: u32,
    device_type: String,
    hardware_version: String,
    software_version: String,
}

/// What one resource reads as.
pub enum ResourceValue<'a> {
    Single(Value<'a>),
    /// A multiple-instance resource: instance ids 0..n with integer values.
    MultiInt(HVec<i64, 8>),
}

impl Default for Device {
    fn default() -> Self {
        Self::new()
    }
}

impl Device {
    /// Factory defaults of the original (behaviour.md §7.11).
    pub fn new() -> Self {
        let mut d = Device {
            manufacturer: String::new(),
            model: String::new(),
            serial: String::new(),
            firmware_version: String::new(),
            power_sources: HVec::new(),
            voltages: HVec::new(),
            currents: HVec::new(),
            battery_level: 0,
            battery_status: LWM2M_CARRIER_BATTERY_STATUS_NOT_INSTALLED,
            error_codes: HVec::new(),
            memory_total: 0,
            device_type: String::from("Smart Device"),
            hardware_version: String::from("1.0"),
            software_version: String::from("LwM2M 0.10"),
        };
        let _ = d.power_sources.push(LWM2M_CARRIER_POWER_SOURCE_DC);
        let _ = d.voltages.push(0);
        let _ = d.currents.push(0);
        let _ = d.error_codes.push(LWM2M_CARRIER_ERROR_CODE_NO_ERROR);
        d
    }

    fn valid_power_source(t: u8) -> bool {
        matches!(t, 0 | 1 | 2 | 4 | 5 | 6 | 7)
    }

    fn source_index(&self, t: u8) -> Result<usize, i32> {
        if !Self::valid_power_source(t) {
            return Err(-EINVAL);
        }
        self.power_sources.iter().position(|&s| s == t).ok_or(-ENODEV)
    }

    fn has_internal_battery(&self) -> bool {
        self.power_sources.contains(&LWM2M_CARRIER_POWER_SOURCE_INTERNAL_BATTERY)
    }

    /// `lwm2m_carrier_avail_power_sources_set`: -E2BIG over 8, -EINVAL for an
    /// unsupported type; resets voltages/currents to 0, battery status to
    /// UNKNOWN and battery level to 0. An empty list is accepted.
    pub fn set_power_sources(&mut self, sources: &[u8]) -> Result<(), i32> {
        if sources.len() > MAX_POWER_SOURCES {
            return Err(-E2BIG);
        }
        if !sources.iter().all(|&s| Self::valid_power_source(s)) {
            return Err(-EINVAL);
        }
        self.power_sources.clear();
        self.voltages.clear();
        self.currents.clear();
        for &s in sources {
            let _ = self.power_sources.push(s);
            let _ = self.voltages.push(0);
            let _ = self.currents.push(0);
        }
        self.battery_status = LWM2M_CARRIER_BATTERY_STATUS_UNKNOWN;
        self.battery_level = 0;
        Ok(())
    }

    /// `lwm2m_carrier_power_source_voltage_set` (mV).
    pub fn set_voltage(&mut self, source: u8, mv: i32) -> Result<(), i32> {
        let i = self.source_index(source)?;
        self.voltages[i] = mv;
        Ok(())
    }

    /// `lwm2m_carrier_power_source_current_set` (mA).
    pub fn set_current(&mut self, source: u8, ma: i32) -> Result<(), i32> {
        let i = self.source_index(source)?;
        self.currents[i] = ma;
        Ok(())
    }

    /// `lwm2m_carrier_battery_level_set` (0–100 %).
    pub fn set_battery_level(&mut self, level: u8) -> Result<(), i32> {
        if level > 100 {
            return Err(-EINVAL);
        }
        if !self.has_internal_battery() {
            return Err(-ENODEV);
        }
        self.battery_level = level;
        Ok(())
    }

    /// `lwm2m_carrier_battery_status_set`: on -ENODEV the status is forced to
    /// NOT_INSTALLED, as the original does.
    pub fn set_battery_status(&mut self, status: i32) -> Result<(), i32> {
        if !(LWM2M_CARRIER_BATTERY_STATUS_NORMAL..=LWM2M_CARRIER_BATTERY_STATUS_UNKNOWN).contains(&status) {
            return Err(-EINVAL);
        }
        if !self.has_internal_battery() {
            self.battery_status = LWM2M_CARRIER_BATTERY_STATUS_NOT_INSTALLED;
            return Err(-ENODEV);
        }
        self.battery_status = status;
        Ok(())
    }

    fn valid_string(s: Option<&str>) -> Result<&str, i32> {
        match s {
            None | Some("") => Err(-EINVAL),
            Some(s) if s.len() > STRING_MAX_LEN => Err(-E2BIG),
            Some(s) => Ok(s),
        }
    }

    /// `lwm2m_carrier_device_type_set`: -EINVAL for NULL/"" (or not UTF-8), -E2BIG over 200.
    pub fn set_device_type(&mut self, s: Option<&str>) -> Result<(), i32> {
        self.device_type = String::from(Self::valid_string(s)?);
        Ok(())
    }
    /// `lwm2m_carrier_hardware_version_set`.
    pub fn set_hardware_version(&mut self, s: Option<&str>) -> Result<(), i32> {
        self.hardware_version = String::from(Self::valid_string(s)?);
        Ok(())
    }
    /// `lwm2m_carrier_software_version_set`.
    pub fn set_software_version(&mut self, s: Option<&str>) -> Result<(), i32> {
        self.software_version = String::from(Self::valid_string(s)?);
        Ok(())
    }

    fn valid_error_code(e: i32) -> bool {
        (LWM2M_CARRIER_ERROR_CODE_NO_ERROR..=LWM2M_CARRIER_ERROR_CODE_PERIPHERAL_MALFUNCTION).contains(&e)
    }

    /// `lwm2m_carrier_error_code_add`: NO_ERROR resets the list to [0]; a list
    /// of [0] is replaced by the new code; duplicates are ignored.
    pub fn add_error_code(&mut self, e: i32) -> Result<(), i32> {
        if !Self::valid_error_code(e) {
            return Err(-EINVAL);
        }
        if e == LWM2M_CARRIER_ERROR_CODE_NO_ERROR {
            self.error_codes.clear();
        } else if self.error_codes.contains(&e) {
            return Ok(());
        } else if self.error_codes.as_slice() == [LWM2M_CARRIER_ERROR_CODE_NO_ERROR] {
            self.error_codes.clear();
        }
        // At most 8 distinct non-zero codes exist, so this cannot overflow.
        let _ = self.error_codes.push(e);
        Ok(())
    }

    /// `lwm2m_carrier_error_code_remove`: removing the last code leaves [0].
    pub fn remove_error_code(&mut self, e: i32) -> Result<(), i32> {
        if !Self::valid_error_code(e) {
            return Err(-EINVAL);
        }
        let i = self.error_codes.iter().position(|&c| c == e).ok_or(-ENOENT)?;
        self.error_codes.remove(i);
        if self.error_codes.is_empty() {
            let _ = self.error_codes.push(LWM2M_CARRIER_ERROR_CODE_NO_ERROR);
        }
        Ok(())
    }

    /// Execute /3/0/12 Reset Error Code.
    pub fn reset_error_codes(&mut self) {
        self.error_codes.clear();
        let _ = self.error_codes.push(LWM2M_CARRIER_ERROR_CODE_NO_ERROR);
    }

    /// `lwm2m_carrier_memory_total_set` (kB): -EINVAL above INT32_MAX.
    pub fn set_memory_total(&mut self, kb: u32) -> Result<(), i32> {
        if kb > i32::MAX as u32 {
            return Err(-EINVAL);
        }
        self.memory_total = kb;
        Ok(())
    }

    /// Value of resource `id`, or None if /3/0/id is not readable here.
    pub fn read(&self, id: u16, memory_free_kb: i64) -> Option<ResourceValue<'_>> {
        fn multi<T: Copy + Into<i64>>(v: &[T]) -> ResourceValue<'static> {
            ResourceValue::MultiInt(v.iter().map(|&x| x.into()).collect())
        }
        Some(match id {
            res::MANUFACTURER => ResourceValue::Single(Value::Str(&self.manufacturer)),
            res::MODEL_NUMBER => ResourceValue::Single(Value::Str(&self.model)),
            res::SERIAL_NUMBER => ResourceValue::Single(Value::Str(&self.serial)),
            res::FIRMWARE_VERSION => ResourceValue::Single(Value::Str(&self.firmware_version)),
            res::AVAILABLE_POWER_SOURCES => multi(&self.power_sources),
            res::POWER_SOURCE_VOLTAGE => multi(&self.voltages),
            res::POWER_SOURCE_CURRENT => multi(&self.currents),
            res::BATTERY_LEVEL => ResourceValue::Single(Value::Int(self.battery_level as i64)),
            res::MEMORY_FREE => ResourceValue::Single(Value::Int(memory_free_kb)),
            res::ERROR_CODE => multi(&self.error_codes),
            res::SUPPORTED_BINDING => ResourceValue::Single(Value::Str("UQS")),
            res::DEVICE_TYPE => ResourceValue::Single(Value::Str(&self.device_type)),
            res::HARDWARE_VERSION => ResourceValue::Single(Value::Str(&self.hardware_version)),
            res::SOFTWARE_VERSION => ResourceValue::Single(Value::Str(&self.software_version)),
            res::BATTERY_STATUS => ResourceValue::Single(Value::Int(self.battery_status as i64)),
            res::MEMORY_TOTAL => ResourceValue::Single(Value::Int(self.memory_total as i64)),
            _ => return None,
        })
    }

    /// Is `id` a resource of the Device object at all (for 4.04 vs 4.05)?
    pub fn is_resource(id: u16) -> bool {
        id <= res::MEMORY_TOTAL
    }

    /// Is `id` executable (Reboot, Factory Reset, Reset Error Code)?
    pub fn is_executable(id: u16) -> bool {
        matches!(id, res::REBOOT | res::FACTORY_RESET | res::RESET_ERROR_CODE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_original() {
        let d = Device::new();
        assert_eq!(d.power_sources.as_slice(), &[0]);
        assert_eq!(d.error_codes.as_slice(), &[0]);
        assert_eq!(d.battery_status, 5);
        assert_eq!(d.device_type, "Smart Device");
        assert_eq!(d.software_version, "LwM2M 0.10");
    }

    #[test]
    fn power_sources_rules() {
        let mut d = Device::new();
        assert_eq!(d.set_power_sources(&[0, 1, 2, 4, 5, 6, 7, 0, 1]), Err(-E2BIG));
        assert_eq!(d.set_power_sources(&[3]), Err(-EINVAL));
        assert_eq!(d.set_power_sources(&[]), Ok(()));
        assert_eq!(d.set_power_sources(&[0, 1]), Ok(()));
        assert_eq!(d.battery_status, LWM2M_CARRIER_BATTERY_STATUS_UNKNOWN);
        assert_eq!(d.set_voltage(1, 3700), Ok(()));
        assert_eq!(d.set_voltage(3, 1), Err(-EINVAL));
        assert_eq!(d.set_current(5, 1), Err(-ENODEV));
        assert_eq!(d.voltages.as_slice(), &[0, 3700]);
    }

    #[test]
    fn battery_needs_internal_battery() {
        let mut d = Device::new();
        assert_eq!(d.set_battery_level(50), Err(-ENODEV));
        assert_eq!(d.set_battery_level(101), Err(-EINVAL));
        assert_eq!(d.set_battery_status(7), Err(-EINVAL));
        assert_eq!(d.set_battery_status(0), Err(-ENODEV));
        assert_eq!(d.battery_status, 5);
        d.set_power_sources(&[1]).unwrap();
        assert_eq!(d.set_battery_level(100), Ok(()));
        assert_eq!(d.set_battery_status(1), Ok(()));
    }

    #[test]
    fn strings_are_validated() {
        let mut d = Device::new();
        assert_eq!(d.set_device_type(None), Err(-EINVAL));
        assert_eq!(d.set_device_type(Some("")), Err(-EINVAL));
        let long = "x".repeat(201);
        assert_eq!(d.set_hardware_version(Some(&long)), Err(-E2BIG));
        assert_eq!(d.set_software_version(Some(&long[..200])), Ok(()));
    }

    #[test]
    fn error_code_list_rules() {
        let mut d = Device::new();
        assert_eq!(d.add_error_code(9), Err(-EINVAL));
        d.add_error_code(1).unwrap();
        assert_eq!(d.error_codes.as_slice(), &[1]);
        d.add_error_code(1).unwrap();
        d.add_error_code(4).unwrap();
        assert_eq!(d.error_codes.as_slice(), &[1, 4]);
        assert_eq!(d.remove_error_code(2), Err(-ENOENT));
        d.remove_error_code(1).unwrap();
        assert_eq!(d.error_codes.as_slice(), &[4]);
        d.remove_error_code(4).unwrap();
        assert_eq!(d.error_codes.as_slice(), &[0]);
        for c in 1..=8 {
            d.add_error_code(c).unwrap();
        }
        assert_eq!(d.error_codes.len(), 8);
        d.add_error_code(0).unwrap();
        assert_eq!(d.error_codes.as_slice(), &[0]);
    }

    #[test]
    fn memory_total_range() {
        let mut d = Device::new();
        assert_eq!(d.set_memory_total(u32::MAX), Err(-EINVAL));
        assert_eq!(d.set_memory_total(256), Ok(()));
    }
}
