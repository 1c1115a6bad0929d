//! The LwM2M objects this client exposes (behaviour.md §7.11) and the
//! registry that routes an object id to them. Objects are data plus a
//! resource table ([`model`]); generic operations live in [`ops`].

// A panic on the device is a reboot: no unchecked index, `unwrap` or `expect`
// outside tests (plain `cargo clippy --lib` fails on one).
#![cfg_attr(not(test), deny(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used))]

pub mod acl;
pub mod conn_mon;
pub mod conn_stats;
pub mod device;
pub mod firmware;
pub mod model;
pub mod ops;
pub mod security;
pub mod server;

use alloc::string::String;
use alloc::vec::Vec;

use crate::objects::model::Error;
use crate::lwm2m::format::ContentFormat;
use crate::lwm2m::link::LinkWriter;
use crate::lwm2m::path::Path;
use acl::AclObject;
use conn_mon::ConnMonObject;
use conn_stats::ConnStatsObject;
use device::DeviceObject;
use firmware::FirmwareObject;
use model::{NoEnv, Object, WriteMode};
use security::{SecurityInstance, SecurityObject};
use server::{ServerInstance, ServerObject};

/// One object's state, kept while a write to it may still be refused.
pub enum Backup {
    Security(SecurityObject),
    Server(ServerObject),
    Acl(AclObject),
    Device(DeviceObject),
    ConnMon(ConnMonObject),
    Firmware(FirmwareObject),
    ConnStats(ConnStatsObject),
}

/// `LWM2M_ACL_BOOTSTRAP_SHORT_SERVER_ID`: the bootstrap account's ssid.
pub const BOOTSTRAP_SSID: u16 = 65535;

/// Every object of the client.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Objects {
    pub security: SecurityObject,
    pub server: ServerObject,
    pub acl: AclObject,
    pub device: DeviceObject,
    pub conn_mon: ConnMonObject,
    pub firmware: FirmwareObject,
    pub conn_stats: ConnStatsObject,
}

impl Objects {
    /// Object ids in registration order. Access Control is listed: TS
    /// §5.3.1 keeps only the Security object out of the Register payload.
    pub const IDS: &'static [u16] = &[
        security::OBJECT_ID,
        server::OBJECT_ID,
        acl::OBJECT_ID,
        device::OBJECT_ID,
        conn_mon::OBJECT_ID,
        firmware::OBJECT_ID,
        conn_stats::OBJECT_ID,
    ];

    pub fn get(&self, id: u16) -> Option<&dyn Object> {
        Some(match id {
            security::OBJECT_ID => &self.security,
            server::OBJECT_ID => &self.server,
            acl::OBJECT_ID => &self.acl,
            device::OBJECT_ID => &self.device,
            conn_mon::OBJECT_ID => &self.conn_mon,
            firmware::OBJECT_ID => &self.firmware,
            conn_stats::OBJECT_ID => &self.conn_stats,
            _ => return None,
        })
    }

    pub fn get_mut(&mut self, id: u16) -> Option<&mut dyn Object> {
        Some(match id {
            security::OBJECT_ID => &mut self.security,
            server::OBJECT_ID => &mut self.server,
            acl::OBJECT_ID => &mut self.acl,
            device::OBJECT_ID => &mut self.device,
            conn_mon::OBJECT_ID => &mut self.conn_mon,
            firmware::OBJECT_ID => &mut self.firmware,
            conn_stats::OBJECT_ID => &mut self.conn_stats,
            _ => return None,
        })
    }

    /// A copy of object `id` alone, to undo a refused write (values are
    /// applied one by one): a write copies the object it writes, not all.
    pub fn backup(&self, id: u16) -> Option<Backup> {
        Some(match id {
            security::OBJECT_ID => Backup::Security(self.security.clone()),
            server::OBJECT_ID => Backup::Server(self.server.clone()),
            acl::OBJECT_ID => Backup::Acl(self.acl.clone()),
            device::OBJECT_ID => Backup::Device(self.device),
            conn_mon::OBJECT_ID => Backup::ConnMon(self.conn_mon),
            firmware::OBJECT_ID => Backup::Firmware(self.firmware.clone()),
            conn_stats::OBJECT_ID => Backup::ConnStats(self.conn_stats),
            _ => return None,
        })
    }

    /// Put back what [`Objects::backup`] copied.
    pub fn restore(&mut self, b: Backup) {
        match b {
            Backup::Security(o) => self.security = o,
            Backup::Server(o) => self.server = o,
            Backup::Acl(o) => self.acl = o,
            Backup::Device(o) => self.device = o,
            Backup::ConnMon(o) => self.conn_mon = o,
            Backup::Firmware(o) => self.firmware = o,
            Backup::ConnStats(o) => self.conn_stats = o,
        }
    }

    /// Factory state: only the bootstrap server account (Security /0/0).
    pub fn factory(bootstrap_uri: &str, psk_set: bool) -> Objects {
        let mut bs = SecurityInstance::new(0);
        bs.uri = String::from(bootstrap_uri);
        bs.bootstrap = true;
        bs.mode = if psk_set || bootstrap_uri.starts_with("coaps://") {
            security::mode::PSK
        } else {
            security::mode::NO_SEC
        };
        bs.ssid = BOOTSTRAP_SSID;
        Objects { security: SecurityObject { instances: alloc::vec![bs] }, ..Default::default() }
    }

    /// The bootstrap server account.
    pub fn bootstrap_account(&self) -> Option<&SecurityInstance> {
        self.security.instances.iter().find(|s| s.bootstrap)
    }

    /// LwM2M server accounts: (security instance, server instance) pairs
    /// matched by Short Server ID, in security instance order.
    pub fn server_accounts(&self) -> impl Iterator<Item = (&SecurityInstance, &ServerInstance)> {
        self.security
            .instances
            .iter()
            .filter(|s| !s.bootstrap && !s.uri.is_empty())
            .filter_map(move |s| self.server.by_ssid(s.ssid).map(|v| (s, v)))
    }

    /// Is the bootstrapped configuration usable (at least one server)?
    pub fn has_server(&self) -> bool {
        self.server_accounts().next().is_some()
    }

    /// Bootstrap-Delete (TS §5.2.7.5): "/" deletes every Security, Server
    /// and Access Control instance except the bootstrap account (behaviour.md
    /// §7.7); deleting the bootstrap account itself is silently skipped so
    /// the client can always bootstrap again.
    pub fn bootstrap_delete(&mut self, path: &Path) -> Result<(), Error> {
        let sec = &mut self.security.instances;
        match *path {
            Path::Root => {
                sec.retain(|s| s.bootstrap);
                self.server.instances.clear();
                self.acl.instances.clear();
            }
            Path::Object(security::OBJECT_ID) => sec.retain(|s| s.bootstrap),
            Path::Object(server::OBJECT_ID) => self.server.instances.clear(),
            Path::Instance(security::OBJECT_ID, i) => sec.retain(|s| s.bootstrap || s.id != i),
            Path::Instance(server::OBJECT_ID, i) => self.server.instances.retain(|s| s.id != i),
            Path::Object(acl::OBJECT_ID) => self.acl.instances.clear(),
            Path::Instance(acl::OBJECT_ID, i) => self.acl.instances.retain(|a| a.id != i),
            _ => return Err(Error::BadRequest),
        }
        Ok(())
    }

    /// Bootstrap-Write (TS §5.2.7.2): creates missing instances, any resource.
    pub fn bootstrap_write(&mut self, path: &Path, cf: ContentFormat, payload: &[u8]) -> Result<(), Error> {
        match path.object() {
            Some(id @ (security::OBJECT_ID | server::OBJECT_ID | acl::OBJECT_ID)) => {
                let obj = self.get_mut(id).ok_or(Error::NotFound)?;
                ops::write(obj, &mut NoEnv, path, cf, payload, WriteMode::Update, ops::Writer::BootstrapServer).map(|_| ())
            }
            Some(_) => Err(Error::NotFound),
            None => Err(Error::NotAllowed),
        }
    }

    /// Registration payload (TS §5.3.1): every object instance the server may
    /// see, as CoRE links; the Security object is never listed.
    pub fn registration_links(&self, out: &mut Vec<u8>) {
        let mut w = LinkWriter::new(out);
        for &id in Self::IDS {
            if id == security::OBJECT_ID {
                continue;
            }
            let Some(obj) = self.get(id) else { continue };
            let inst = obj.instances();
            if inst.is_empty() {
                w.link(&Path::Object(id));
            }
            for i in inst {
                w.link(&Path::Instance(id, i));
            }
        }
    }

    /// Bootstrap-Discover on "/" (TS 1.0.2 §5.2.7.1): objects and instances,
    /// with the ssid of Security and Server instances.
    pub fn bootstrap_discover(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"lwm2m=\"1.0\",");
        let mut w = LinkWriter::new(out);
        for &id in Self::IDS {
            let Some(obj) = self.get(id) else { continue };
            let insts = obj.instances();
            if insts.is_empty() {
                w.link(&Path::Object(id));
            }
            for i in insts {
                w.link(&Path::Instance(id, i));
                let ssid = match id {
                    security::OBJECT_ID => self.security.instances.iter().find(|s| s.id == i && !s.bootstrap).map(|s| s.ssid),
                    server::OBJECT_ID => self.server.get(i).map(|s| s.ssid),
                    _ => None,
                };
                if let Some(ssid) = ssid {
                    w.attr_uint("ssid", ssid as u64);
                }
            }
        }
    }

    fn encode(obj: &dyn Object) -> Vec<u8> {
        ops::read(obj, &mut NoEnv, &Path::Object(obj.id()), Some(ContentFormat::Tlv)).map(|(_, body)| body).unwrap_or_default()
    }

    /// Persistent form of the Security instances (TLV, object level).
    pub fn encode_security(&self) -> Vec<u8> {
        Self::encode(&self.security)
    }

    /// Persistent form of the Server instances.
    pub fn encode_server(&self) -> Vec<u8> {
        Self::encode(&self.server)
    }

    /// Persistent form of the Access Control instances.
    pub fn encode_acl(&self) -> Vec<u8> {
        Self::encode(&self.acl)
    }

    /// Would this configuration read back from storage as it is? The rules
    /// the decoder applies (TS 1.0.2 Appendix E.1, E.2, E.3): a server
    /// account's Short Server ID in 1..=65534, in its Security and Server
    /// instances; an Access Control instance names an Object ID in
    /// 1..=65534. Then the round trip itself, so nothing else can slip by.
    pub fn check_storable(&self) -> Result<(), &'static str> {
        let valid_ssid = |ssid: u16| (1..=65534).contains(&ssid);
        if self.security.instances.iter().any(|s| !s.bootstrap && !valid_ssid(s.ssid)) {
            return Err("a server account's Security instance has no Short Server ID in 1..65534");
        }
        if self.server.instances.iter().any(|s| !valid_ssid(s.ssid)) {
            return Err("a Server instance has no Short Server ID in 1..65534");
        }
        if self.acl.instances.iter().any(|a| !(1..=65534).contains(&a.object_id)) {
            return Err("an Access Control instance has no Object ID in 1..65534");
        }
        // One record at a time, as `decode` reads them back: encoding all
        // three first held them side by side (about 3 KB at the limits). A
        // statement each, so each record is freed before the next is built.
        let mut back = Objects::default();
        let mut read_back = back.load_record(security::OBJECT_ID, &self.encode_security());
        read_back = read_back && back.load_record(server::OBJECT_ID, &self.encode_server());
        read_back = read_back && back.load_record(acl::OBJECT_ID, &self.encode_acl());
        if read_back && back.security == self.security && back.server == self.server && back.acl == self.acl {
            Ok(())
        } else {
            Err("the configuration would not read back from storage")
        }
    }

    /// Rebuild from the persistent forms; None if one does not decode.
    pub fn decode(security: &[u8], server: &[u8], acl: &[u8]) -> Option<Objects> {
        let mut o = Objects::default();
        let ok = o.load_record(security::OBJECT_ID, security) && o.load_record(server::OBJECT_ID, server) && o.load_record(acl::OBJECT_ID, acl);
        ok.then_some(o)
    }

    /// Object `oid` from its persistent form (TLV of the whole object); an
    /// empty Access Control record is no instances. False if it does not decode.
    fn load_record(&mut self, oid: u16, rec: &[u8]) -> bool {
        (oid == acl::OBJECT_ID && rec.is_empty()) || self.bootstrap_write(&Path::Object(oid), ContentFormat::Tlv, rec).is_ok()
    }
}
