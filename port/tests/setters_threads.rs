//! The C API setters are safe to call from several threads at once while
//! another thread (the carrier thread) reads the Device object: every access
//! goes through the host port's real lock, and no reader ever sees a state
//! the setters' rules cannot produce.

// Links the host port: the real lock, wake and log.
extern crate lwm2m_carrier_host;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;

use lwm2m_carrier::capi::*;
use lwm2m_carrier::objects::device::Device;
use lwm2m_carrier::objects::model::{Env, NoEnv, Object, Sink};
use lwm2m_carrier::lwm2m::value::Value;

/// Reads the Device object's lists through the same path the engine uses.
struct Lens(Vec<(u16, usize)>);
impl Sink for Lens {
    fn value(&mut self, ri: Option<u16>, _v: &Value) {
        if let (Some(_), Some(last)) = (ri, self.0.last_mut()) {
            last.1 += 1;
        }
    }
}

/// An Env like the driver's: one snapshot of the shared Device object,
/// taken under the lock, per request.
struct SharedEnv(Option<Device>);
impl Env for SharedEnv {
    fn with_device(&mut self, f: &mut dyn FnMut(&mut Device)) {
        let d = self.0.get_or_insert_with(|| lwm2m_carrier::shared::with(|s| s.device.clone()));
        f(d);
    }
    fn at(&mut self, cmd: &str) -> Result<String, i32> {
        NoEnv.at(cmd)
    }
    fn memory_free(&mut self) -> i32 {
        0
    }
    fn utc_time(&mut self) -> i32 {
        0
    }
    fn utc_offset(&mut self) -> i32 {
        0
    }
    fn timezone(&mut self) -> String {
        String::new()
    }
    fn set_utc_time(&mut self, _t: i32) -> i32 {
        0
    }
    fn set_utc_offset(&mut self, _m: i32) -> i32 {
        0
    }
    fn set_timezone(&mut self, _tz: &str) -> i32 {
        0
    }
}

#[test]
fn setters_race_a_reader_without_tearing_the_device_object() {
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for t in 0..4u8 {
        writers.push(thread::spawn(move || {
            let lists: [&[u8]; 3] = [&[0, 1], &[1], &[0, 1, 2, 4, 5, 6, 7]];
            for i in 0..5_000u32 {
                let list = lists[(i as usize + t as usize) % 3];
                unsafe {
                    assert_eq!(lwm2m_carrier_avail_power_sources_set(list.as_ptr(), list.len() as u8), 0);
                }
                let _ = lwm2m_carrier_power_source_voltage_set(LWM2M_CARRIER_POWER_SOURCE_INTERNAL_BATTERY, i as i32);
                let _ = lwm2m_carrier_battery_level_set((i % 101) as u8);
                assert_eq!(lwm2m_carrier_error_code_add(1 + (i % 8) as i32), 0);
                let _ = lwm2m_carrier_error_code_remove(1 + ((i + 3) % 8) as i32);
                let name = std::ffi::CString::new(format!("type-{t}-{i}")).unwrap();
                unsafe { assert_eq!(lwm2m_carrier_device_type_set(name.as_ptr()), 0) };
            }
        }));
    }
    let reader = {
        let stop = stop.clone();
        thread::spawn(move || {
            let obj = lwm2m_carrier::objects::device::DeviceObject;
            let mut reads = 0u32;
            while !stop.load(Ordering::Relaxed) {
                let mut lens = Lens(Vec::new());
                let mut env = SharedEnv(None);
                for r in [6u16, 7, 8, 11] {
                    lens.0.push((r, 0));
                    obj.read(&mut env, 0, r, &mut lens).unwrap();
                }
                // Sources, voltages and currents always have the same length
                // (one setter call sets all three), and 1..=8 error codes.
                assert_eq!(lens.0[0].1, lens.0[1].1, "{:?}", lens.0);
                assert_eq!(lens.0[0].1, lens.0[2].1, "{:?}", lens.0);
                assert!((1..=8).contains(&lens.0[3].1), "{:?}", lens.0);
                reads += 1;
            }
            reads
        })
    };
    for w in writers {
        w.join().unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    assert!(reader.join().unwrap() > 0);
}
