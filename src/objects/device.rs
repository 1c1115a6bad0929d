//! Device object (id 3), OMA-TS-LightweightM2M-V1_0_2 Appendix E.4, with the
//! setter rules of the original library (spec c-api.md §2.7).
//!
//! The application keeps these values current through the
//! `lwm2m_carrier_*_set()` functions; the modem-derived ones (manufacturer,
//! model, serial number, firmware and hardware version) are filled in at init.

use alloc::string::String;
use heapless::Vec as HVec;

use crate::api::*;
use crate::errno::{E2BIG, EINVAL, ENODEV, ENOENT};
use crate::limits::STRING_MAX_LEN;
use crate::objects::model::Error;
use crate::lwm2m::value::{ResourceType, Value};
use crate::objects::model::{single, str_of, Effect, Env, Object, OwnedValue, ResourceDef, Sink, WriteMode, WriteValue, MAX_INSTANCES, R, RW};

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
    pub(crate) battery_level: u8,
    pub(crate) battery_status: i32,
    error_codes: HVec<i32, MAX_ERROR_CODES>,
    pub(crate) memory_total: u32,
    pub(crate) device_type: String,
    pub(crate) hardware_version: String,
    pub(crate) software_version: String,
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
        *self.voltages.get_mut(i).ok_or(-ENODEV)? = mv;
        Ok(())
    }

    /// `lwm2m_carrier_power_source_current_set` (mA).
    pub fn set_current(&mut self, source: u8, ma: i32) -> Result<(), i32> {
        let i = self.source_index(source)?;
        *self.currents.get_mut(i).ok_or(-ENODEV)? = ma;
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
    /// What the modem says about itself: Manufacturer, Model Number, Serial
    /// Number (the IMEI), Firmware Version and, when the modem gives one,
    /// Hardware Version (resources 0, 1, 2, 3, 18).
    pub fn set_modem_identity(&mut self, idn: crate::modem::ModemIdentity) {
        self.manufacturer = idn.manufacturer;
        self.model = idn.model;
        self.serial = idn.imei;
        self.firmware_version = idn.firmware_version;
        if let Some(hw) = idn.hardware_version {
            let _ = self.set_hardware_version(Some(&hw));
        }
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
        if !self.error_codes.contains(&e) {
            return Err(-ENOENT);
        }
        // Order kept (`retain`, not `remove`: no memmove pulled in).
        self.error_codes.retain(|&c| c != e);
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

    /// Multiple-instance integer resources, for the Device object.
    fn multi(&self, id: u16) -> Option<heapless::Vec<i64, 8>> {
        Some(match id {
            res::AVAILABLE_POWER_SOURCES => self.power_sources.iter().map(|&x| x as i64).collect(),
            res::POWER_SOURCE_VOLTAGE => self.voltages.iter().map(|&x| x as i64).collect(),
            res::POWER_SOURCE_CURRENT => self.currents.iter().map(|&x| x as i64).collect(),
            res::ERROR_CODE => self.error_codes.iter().map(|&x| x as i64).collect(),
            _ => return None,
        })
    }
}

/// Resource table of /3/0 (Appendix E.4).
const DEFS: &[ResourceDef] = &[
    ResourceDef::single(res::MANUFACTURER, ResourceType::Str, R),
    ResourceDef::single(res::MODEL_NUMBER, ResourceType::Str, R),
    ResourceDef::single(res::SERIAL_NUMBER, ResourceType::Str, R),
    ResourceDef::single(res::FIRMWARE_VERSION, ResourceType::Str, R),
    ResourceDef::exec(res::REBOOT),
    ResourceDef::exec(res::FACTORY_RESET),
    ResourceDef::multi(res::AVAILABLE_POWER_SOURCES, ResourceType::Int, R),
    ResourceDef::multi(res::POWER_SOURCE_VOLTAGE, ResourceType::Int, R),
    ResourceDef::multi(res::POWER_SOURCE_CURRENT, ResourceType::Int, R),
    ResourceDef::single(res::BATTERY_LEVEL, ResourceType::Int, R),
    ResourceDef::single(res::MEMORY_FREE, ResourceType::Int, R),
    ResourceDef::multi(res::ERROR_CODE, ResourceType::Int, R),
    ResourceDef::exec(res::RESET_ERROR_CODE),
    ResourceDef::single(res::CURRENT_TIME, ResourceType::Time, RW),
    ResourceDef::single(res::UTC_OFFSET, ResourceType::Str, RW),
    ResourceDef::single(res::TIMEZONE, ResourceType::Str, RW),
    ResourceDef::single(res::SUPPORTED_BINDING, ResourceType::Str, R),
    ResourceDef::single(res::DEVICE_TYPE, ResourceType::Str, R),
    ResourceDef::single(res::HARDWARE_VERSION, ResourceType::Str, R),
    ResourceDef::single(res::SOFTWARE_VERSION, ResourceType::Str, R),
    ResourceDef::single(res::BATTERY_STATUS, ResourceType::Int, R),
    ResourceDef::single(res::MEMORY_TOTAL, ResourceType::Int, R),
];

/// The Device object over the values the setters keep and the
/// application's time and memory hooks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeviceObject;

/// "UTC+hh:mm" for an offset in minutes (behaviour.md §2.8).
pub fn format_utc_offset(minutes: i32, out: &mut String) {
    out.push_str("UTC");
    out.push(if minutes < 0 { '-' } else { '+' });
    let m = minutes.unsigned_abs();
    for d in [(m / 60) / 10, (m / 60) % 10] {
        out.push((b'0' + d.min(9) as u8) as char);
    }
    out.push(':');
    for d in [(m % 60) / 10, (m % 60) % 10] {
        out.push((b'0' + d as u8) as char);
    }
}

/// Parse a UTC offset written by a server: "±hh", "±hhmm", "±hh:mm", with an
/// optional "UTC" prefix; -720..=840 minutes. Returns minutes.
pub fn parse_utc_offset(s: &str) -> Option<i32> {
    let s = s.strip_prefix("UTC").unwrap_or(s).as_bytes();
    // Only the shapes ±HH, ±HHMM and ±HH:MM (LwM2M 1.0 TS Appendix E.4,
    // ISO 8601): matched as whole byte patterns, so no input can index out
    // of bounds.
    let (sign, h1, h0, m1, m0) = match *s {
        [sign, h1, h0] => (sign, h1, h0, b'0', b'0'),
        [sign, h1, h0, m1, m0] | [sign, h1, h0, b':', m1, m0] => (sign, h1, h0, m1, m0),
        _ => return None,
    };
    let sign = match sign {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let digit = |c: u8| c.is_ascii_digit().then(|| (c - b'0') as i32);
    let h = digit(h1)? * 10 + digit(h0)?;
    let m = digit(m1)? * 10 + digit(m0)?;
    if m >= 60 {
        return None;
    }
    let total = sign * (h * 60 + m);
    (-720..=840).contains(&total).then_some(total)
}

impl Object for DeviceObject {
    fn id(&self) -> u16 {
        OBJECT_ID
    }
    fn defs(&self) -> &'static [ResourceDef] {
        DEFS
    }
    fn instances(&self) -> heapless::Vec<u16, MAX_INSTANCES> {
        crate::objects::model::instance_zero()
    }
    fn read(&self, env: &mut dyn Env, _inst: u16, r: u16, out: &mut dyn Sink) -> Result<(), Error> {
        match r {
            res::MEMORY_FREE => single(out, Value::Int(env.memory_free() as i64)),
            res::CURRENT_TIME => single(out, Value::Time(env.utc_time() as i64)),
            res::UTC_OFFSET => {
                let mut s = String::new();
                format_utc_offset(env.utc_offset(), &mut s);
                single(out, Value::Str(&s))
            }
            res::TIMEZONE => {
                let tz = env.timezone();
                single(out, Value::Str(&tz))
            }
            _ => {
                let mut result = Ok(());
                env.with_device(&mut |d: &mut Device| {
                    if let Some(list) = d.multi(r) {
                        for (i, v) in list.iter().enumerate() {
                            out.value(Some(i as u16), &Value::Int(*v));
                        }
                        return;
                    }
                    let v = match r {
                        res::MANUFACTURER => Value::Str(&d.manufacturer),
                        res::MODEL_NUMBER => Value::Str(&d.model),
                        res::SERIAL_NUMBER => Value::Str(&d.serial),
                        res::FIRMWARE_VERSION => Value::Str(&d.firmware_version),
                        res::BATTERY_LEVEL => Value::Int(d.battery_level as i64),
                        res::SUPPORTED_BINDING => Value::Str("UQS"),
                        res::DEVICE_TYPE => Value::Str(&d.device_type),
                        res::HARDWARE_VERSION => Value::Str(&d.hardware_version),
                        res::SOFTWARE_VERSION => Value::Str(&d.software_version),
                        res::BATTERY_STATUS => Value::Int(d.battery_status as i64),
                        res::MEMORY_TOTAL => Value::Int(d.memory_total as i64),
                        _ => {
                            result = Err(Error::NotAllowed);
                            return;
                        }
                    };
                    out.value(None, &v);
                });
                result
            }
        }
    }
    fn write(&mut self, env: &mut dyn Env, _inst: u16, r: u16, v: &WriteValue, _mode: WriteMode) -> Result<Effect, Error> {
        let rc = match (r, v) {
            (res::CURRENT_TIME, WriteValue::Single(OwnedValue::Time(t) | OwnedValue::Int(t))) => {
                let t = i32::try_from(*t).map_err(|_| Error::BadRequest)?;
                env.set_utc_time(t)
            }
            (res::UTC_OFFSET, _) => {
                let m = parse_utc_offset(str_of(v)?).ok_or(Error::BadRequest)?;
                env.set_utc_offset(m)
            }
            (res::TIMEZONE, _) => {
                let tz = str_of(v)?;
                if tz.is_empty() || tz.len() > 64 {
                    return Err(Error::BadRequest);
                }
                env.set_timezone(tz)
            }
            _ => return Err(Error::BadRequest),
        };
        if rc < 0 {
            return Err(Error::BadRequest);
        }
        Ok(Effect::None)
    }
    fn execute(&mut self, env: &mut dyn Env, _inst: u16, r: u16, _args: &[u8]) -> Result<Effect, Error> {
        match r {
            res::REBOOT => Ok(Effect::Reboot),
            res::FACTORY_RESET => Ok(Effect::FactoryReset),
            res::RESET_ERROR_CODE => {
                env.device_mut(&mut |d: &mut Device| d.reset_error_codes());
                Ok(Effect::None)
            }
            _ => Err(Error::NotAllowed),
        }
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

#[cfg(test)]
mod offset_tests {
    use super::*;

    #[test]
    fn utc_offset_text() {
        let mut s = String::new();
        format_utc_offset(-330, &mut s);
        assert_eq!(s, "UTC-05:30");
        s.clear();
        format_utc_offset(60, &mut s);
        assert_eq!(s, "UTC+01:00");
        assert_eq!(parse_utc_offset("+01"), Some(60));
        assert_eq!(parse_utc_offset("UTC-0530"), Some(-330));
        assert_eq!(parse_utc_offset("+14:00"), Some(840));
        for bad in ["", "01", "+1", "+14:01", "-12:30", "+01:60", "UTC", "+0a"] {
            assert_eq!(parse_utc_offset(bad), None, "{bad}");
        }
    }

    /// Regression: `+:::::` indexed out of bounds (a server could reboot the
    /// device with one plain-text write to /3/0/14). Every short string over
    /// a hostile alphabet now parses or is refused.
    #[test]
    fn utc_offset_never_panics() {
        for bad in ["+:::::", "+1::::", "+::", "-:", "+1:", "+12:3", "+123:4", "+12345", "UTC+:::::"] {
            assert_eq!(parse_utc_offset(bad), None, "{bad}");
        }
        let alphabet = b"+-:09U";
        for len in 0..=7u32 {
            for mut n in 0..alphabet.len().pow(len) {
                let mut s = String::new();
                for _ in 0..len {
                    s.push(alphabet[n % alphabet.len()] as char);
                    n /= alphabet.len();
                }
                let _ = parse_utc_offset(&s);
            }
        }
        assert_eq!(parse_utc_offset("+12:30"), Some(750));
        assert_eq!(parse_utc_offset("-0000"), Some(0));
    }
}
