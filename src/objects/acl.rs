//! Access Control object (id 2), OMA-TS-LightweightM2M-V1_0_2 Appendix E.3,
//! and the access rules of TS §7.3 "Access Control" that the engine applies
//! to every operation of an LwM2M Server ([`AclObject::allows`]).
//!
//! An instance names its target with 0 Object ID and 1 Object Instance ID
//! (65535 = the object itself, for Create), holds 2 ACL (resource instance
//! id = Short Server ID, 0 = the default entry; value bits R 1, W 2, E 4,
//! D 8, C 16, other bits reserved and ignored) and 3 Access Control Owner.
//!
//! Rules of [`AclObject::allows`], in order:
//! 1. The Security object is never accessible to a server (TS §5.4 / E.1).
//! 2. The bootstrap account (ssid 65535) is not subject to access control.
//! 3. The Access Control object itself: any server may read it (Read,
//!    Observe, Discover, Write-Attributes); only the instance's Access
//!    Control Owner may write it (E.3 resource 3: "only such an LwM2M
//!    Server can manage the Resources of this Object Instance"), or any
//!    server when there is only one; a server never creates, deletes or
//!    executes Access Control instances (the client and the bootstrap
//!    server manage them, TS §7.3.1).
//! 4. With a single LwM2M Server account, that server has full access
//!    right on all Object Instances (TS §7.3).
//! 5. Create uses the instance that targets (object, 65535).
//!    Other operations use the instance that targets the object instance;
//!    an object instance without one is not accessible to anybody.
//!    On an object path (no instance) an operation is allowed when it is
//!    allowed on at least one instance: the engine then filters instances.
//! 6. Within the instance (TS §7.3.1): the ACL resource instance of the
//!    server's ssid if there is one; else full rights for the Access Control
//!    Owner ("the Access Control Owner … which doesn't have ACL Resource
//!    Instance, have full access right"); else the default instance 0; else
//!    nothing.
//!
//! Operation → right (E.3 resource 2): Read, Observe, Discover and
//! Write-Attributes need R; Write W; Execute E; Delete D; Create C.
//!
//! Writes refused with 4.00: Object ID outside 1..=65534, Object Instance
//! ID or Owner outside 0..=65535, an ACL value outside 16 bits, more than
//! [`MAX_ACL_ENTRIES`] ACL entries. Instances: at most
//! [`MAX_ACL_INSTANCES`] (behaviour.md §7.11), more → 5.00.

use alloc::vec::Vec;

use crate::objects::model::Error;
use crate::lwm2m::path::Path;
use crate::lwm2m::value::{ResourceType, Value};
use crate::objects::model::{int_of, single, Effect, Env, Object, OwnedValue, ResourceDef, Sink, WriteMode, WriteValue, MAX_INSTANCES, R, RW};
use crate::objects::{security, BOOTSTRAP_SSID};

pub const OBJECT_ID: u16 = 2;

/// Resource ids of an Access Control instance.
pub mod res {
    pub const OBJECT_ID: u16 = 0;
    pub const OBJECT_INSTANCE_ID: u16 = 1;
    pub const ACL: u16 = 2;
    pub const ACCESS_CONTROL_OWNER: u16 = 3;
}

/// Access right bits of an ACL value (E.3 resource 2).
pub mod rights {
    pub const READ: u16 = 1;
    pub const WRITE: u16 = 2;
    pub const EXECUTE: u16 = 4;
    pub const DELETE: u16 = 8;
    pub const CREATE: u16 = 16;
    pub const ALL: u16 = READ | WRITE | EXECUTE | DELETE | CREATE;
}

/// Access Control instances kept (behaviour.md §7.11: up to 14).
pub const MAX_ACL_INSTANCES: usize = 14;
/// ACL entries per instance: the default one and a few servers.
pub const MAX_ACL_ENTRIES: usize = 8;
/// Resource instance id of the default ACL entry.
pub const DEFAULT_ACL_ENTRY: u16 = 0;
/// Object Instance ID of the instance that grants Create on its object.
pub const OBJECT_LEVEL_INSTANCE: u16 = 65535;

/// An operation as access control sees it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum AclOp {
    /// Read, Observe, Discover, Write-Attributes.
    Read,
    /// Write (replace or partial update).
    Write,
    Execute,
    Delete,
    Create,
}

impl AclOp {
    /// The right this operation needs.
    pub fn right(self) -> u16 {
        match self {
            AclOp::Read => rights::READ,
            AclOp::Write => rights::WRITE,
            AclOp::Execute => rights::EXECUTE,
            AclOp::Delete => rights::DELETE,
            AclOp::Create => rights::CREATE,
        }
    }
}

/// One Access Control instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclInstance {
    pub id: u16,
    /// Target object (resource 0).
    pub object_id: u16,
    /// Target object instance (resource 1); 65535: the object (Create).
    pub instance_id: u16,
    /// (ssid, rights), ascending by ssid, at most [`MAX_ACL_ENTRIES`].
    pub acl: Vec<(u16, u16)>,
    /// Access Control Owner (resource 3).
    pub owner: u16,
}

impl AclInstance {
    /// An instance with no target yet (object 0 is never a valid target),
    /// an empty ACL and the bootstrap account as owner.
    pub fn new(id: u16) -> Self {
        AclInstance { id, object_id: 0, instance_id: 0, acl: Vec::new(), owner: BOOTSTRAP_SSID }
    }

    /// The rights of `ssid` on the target (rule 6 of the module doc).
    pub fn rights_of(&self, ssid: u16) -> u16 {
        let entry = |id: u16| self.acl.iter().find(|(s, _)| *s == id).map(|&(_, r)| r & rights::ALL);
        if let Some(r) = entry(ssid) {
            return r;
        }
        if ssid == self.owner {
            return rights::ALL;
        }
        entry(DEFAULT_ACL_ENTRY).unwrap_or(0)
    }

    fn set_entry(&mut self, ssid: u16, value: u16) -> Result<(), Error> {
        match self.acl.binary_search_by_key(&ssid, |&(s, _)| s) {
            Ok(i) => {
                if let Some(e) = self.acl.get_mut(i) {
                    e.1 = value;
                }
            }
            Err(i) if self.acl.len() < MAX_ACL_ENTRIES => {
                // Sorted insert by push and swap down (no memmove pulled in).
                self.acl.push((ssid, value));
                let mut j = self.acl.len() - 1;
                while j > i {
                    self.acl.swap(j - 1, j);
                    j -= 1;
                }
            }
            Err(_) => return Err(Error::BadRequest),
        }
        Ok(())
    }
}

/// The Access Control object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AclObject {
    pub instances: Vec<AclInstance>,
}

/// An integer write within `range`, else 4.00.
fn int_in(v: &WriteValue, range: core::ops::RangeInclusive<i64>) -> Result<u16, Error> {
    let i = int_of(v)?;
    if !range.contains(&i) {
        return Err(Error::BadRequest);
    }
    Ok(i as u16)
}

impl AclObject {
    pub fn get(&self, inst: u16) -> Option<&AclInstance> {
        self.instances.iter().find(|a| a.id == inst)
    }

    /// The instance that targets `object`/`instance` (65535: the object).
    pub fn for_target(&self, object: u16, instance: u16) -> Option<&AclInstance> {
        self.instances.iter().find(|a| a.object_id == object && a.instance_id == instance)
    }

    /// May the server `ssid` perform `op` on `path`? `servers` is the number
    /// of LwM2M Server accounts (bootstrap account excluded). See the module
    /// doc for the rules.
    pub fn allows(&self, ssid: u16, path: &Path, op: AclOp, servers: usize) -> bool {
        let Some(object) = path.object() else { return servers <= 1 };
        if object == security::OBJECT_ID {
            return false;
        }
        if ssid == BOOTSTRAP_SSID {
            return true;
        }
        if object == OBJECT_ID {
            return match op {
                AclOp::Read => true,
                AclOp::Write => servers <= 1 || path.instance().and_then(|i| self.get(i)).is_some_and(|a| a.owner == ssid),
                AclOp::Execute | AclOp::Delete | AclOp::Create => false,
            };
        }
        // Nothing to enforce with one server, or when no Access Control
        // instance was provisioned at all: many bootstrap configurations
        // (Leshan's, most carriers') give several servers no ACLs, and
        // refusing them everything would make the device unmanageable.
        if servers <= 1 || self.instances.is_empty() {
            return true;
        }
        let grants = |a: &AclInstance| a.rights_of(ssid) & op.right() != 0;
        match (op, path.instance()) {
            (AclOp::Create, _) => self.for_target(object, OBJECT_LEVEL_INSTANCE).is_some_and(grants),
            (_, Some(i)) => self.for_target(object, i).is_some_and(grants),
            (_, None) => self
                .instances
                .iter()
                .filter(|a| a.object_id == object && a.instance_id != OBJECT_LEVEL_INSTANCE)
                .any(grants),
        }
    }

    /// A server created `object`/`instance`: the client creates the Access
    /// Control instance for it, owned by that server, with an empty ACL (so
    /// the owner has full rights, TS §7.3.1). An existing instance for the
    /// same target (left from a deleted one) is taken over. Returns the
    /// Access Control instance id; 5.00 when [`MAX_ACL_INSTANCES`] are in use.
    pub fn on_create(&mut self, object: u16, instance: u16, owner_ssid: u16) -> Result<u16, Error> {
        if let Some(a) = self.instances.iter_mut().find(|a| a.object_id == object && a.instance_id == instance) {
            a.owner = owner_ssid;
            a.acl.clear();
            return Ok(a.id);
        }
        let id = (0..=MAX_ACL_INSTANCES as u16).find(|i| self.get(*i).is_none()).ok_or(Error::Internal)?;
        self.create(id)?;
        if let Some(a) = self.instances.iter_mut().find(|a| a.id == id) {
            a.object_id = object;
            a.instance_id = instance;
            a.owner = owner_ssid;
        }
        Ok(id)
    }

    /// `object`/`instance` was deleted: its Access Control instance goes too.
    pub fn on_delete(&mut self, object: u16, instance: u16) {
        self.instances.retain(|a| !(a.object_id == object && a.instance_id == instance));
    }
}

/// Resource table (Appendix E.3).
const DEFS: &[ResourceDef] = &[
    ResourceDef::single(res::OBJECT_ID, ResourceType::Int, R),
    ResourceDef::single(res::OBJECT_INSTANCE_ID, ResourceType::Int, R),
    ResourceDef::multi(res::ACL, ResourceType::Int, RW),
    ResourceDef::single(res::ACCESS_CONTROL_OWNER, ResourceType::Int, RW),
];

impl Object for AclObject {
    fn id(&self) -> u16 {
        OBJECT_ID
    }
    fn defs(&self) -> &'static [ResourceDef] {
        DEFS
    }
    fn instances(&self) -> heapless::Vec<u16, MAX_INSTANCES> {
        crate::objects::model::ids_of(&self.instances)
    }
    fn read(&self, _env: &mut dyn Env, inst: u16, r: u16, out: &mut dyn Sink) -> Result<(), Error> {
        let a = self.get(inst).ok_or(Error::NotFound)?;
        match r {
            res::OBJECT_ID => single(out, Value::Int(a.object_id as i64)),
            res::OBJECT_INSTANCE_ID => single(out, Value::Int(a.instance_id as i64)),
            res::ACL => {
                for &(ssid, value) in &a.acl {
                    out.value(Some(ssid), &Value::Int(value as i64));
                }
                Ok(())
            }
            res::ACCESS_CONTROL_OWNER => single(out, Value::Int(a.owner as i64)),
            _ => Err(Error::NotFound),
        }
    }
    fn write(&mut self, _env: &mut dyn Env, inst: u16, r: u16, v: &WriteValue, mode: WriteMode) -> Result<Effect, Error> {
        let a = self.instances.iter_mut().find(|a| a.id == inst).ok_or(Error::NotFound)?;
        match r {
            res::OBJECT_ID => a.object_id = int_in(v, 1..=65534)?,
            res::OBJECT_INSTANCE_ID => a.instance_id = int_in(v, 0..=65535)?,
            res::ACCESS_CONTROL_OWNER => a.owner = int_in(v, 0..=65535)?,
            res::ACL => {
                let WriteValue::Multi(list) = v else { return Err(Error::BadRequest) };
                let mut next = AclInstance { acl: Vec::new(), ..a.clone() };
                if mode == WriteMode::Update {
                    next.acl = a.acl.clone();
                }
                for (ssid, value) in list.iter() {
                    let value = match value {
                        OwnedValue::Int(i) if (0..=0xFFFF).contains(i) => *i as u16,
                        _ => return Err(Error::BadRequest),
                    };
                    next.set_entry(*ssid, value)?;
                }
                a.acl = next.acl;
            }
            _ => return Err(Error::NotFound),
        }
        Ok(Effect::None)
    }
    fn create(&mut self, inst: u16) -> Result<(), Error> {
        crate::objects::model::create_in(&mut self.instances, MAX_ACL_INSTANCES, AclInstance::new(inst))
    }
    fn delete(&mut self, inst: u16) -> Result<(), Error> {
        crate::objects::model::delete_in(&mut self.instances, inst)
    }
}

#[cfg(test)]
mod tests {
    use alloc::vec;

    use super::*;
    use crate::lwm2m::format::ContentFormat;
    use crate::objects::model::NoEnv;
    use crate::objects::ops::{self, Writer};

    fn inst(id: u16, target: (u16, u16), owner: u16, acl: &[(u16, u16)]) -> AclInstance {
        AclInstance { id, object_id: target.0, instance_id: target.1, acl: acl.to_vec(), owner }
    }

    /// Two servers, 101 and 102 (103 is not one of them: it has no rights).
    fn table() -> AclObject {
        use rights::*;
        AclObject {
            instances: vec![
                // /3/0: 101 may only read; 102 owns it.
                inst(0, (3, 0), 102, &[(101, READ)]),
                // /1/0: owned by 101, everybody else reads (default entry).
                inst(1, (1, 0), 101, &[(0, READ)]),
                // Create on /5: 102 only.
                inst(2, (5, 65535), BOOTSTRAP_SSID, &[(102, CREATE)]),
                // /4/0: the owner 101 has its own entry, which wins.
                inst(3, (4, 0), 101, &[(101, READ)]),
                // /7/0: reserved bits give nothing.
                inst(4, (7, 0), BOOTSTRAP_SSID, &[(0, 0xFFE0)]),
            ],
        }
    }

    fn p(s: &str) -> Path {
        Path::parse(s.trim_start_matches('/').split('/').map(str::as_bytes)).unwrap()
    }

    #[test]
    fn rule_table_with_two_servers() {
        use AclOp::*;
        let acl = table();
        let cases: &[(u16, &str, AclOp, bool)] = &[
            // Explicit entry.
            (101, "/3/0/0", Read, true),
            (101, "/3/0", Read, true),
            (101, "/3/0/13", Write, false),
            (101, "/3/0/4", Execute, false),
            (101, "/3/0", Delete, false),
            // Owner without an entry: everything.
            (102, "/3/0/4", Execute, true),
            (102, "/3/0/13", Write, true),
            (102, "/3/0", Delete, true),
            // Neither entry, owner nor default.
            (103, "/3/0/0", Read, false),
            // Default entry.
            (102, "/1/0/1", Read, true),
            (102, "/1/0/1", Write, false),
            (103, "/1/0", Read, true),
            (101, "/1/0/1", Write, true),
            // Owner with its own entry: the entry wins.
            (101, "/4/0/2", Read, true),
            (101, "/4/0/2", Write, false),
            // Create uses (object, 65535).
            (102, "/5", Create, true),
            (101, "/5", Create, false),
            (102, "/3", Create, false),
            (102, "/5/0", Read, false),
            // Reserved bits.
            (101, "/7/0/0", Read, false),
            // No Access Control instance: nobody.
            (101, "/6/0", Read, false),
            (102, "/6/0", Delete, false),
            // Object paths: allowed if some instance is.
            (102, "/3", Read, true),
            (103, "/3", Read, false),
            (103, "/1", Read, true),
            (102, "/5", Read, false),
        ];
        for &(ssid, path, op, want) in cases {
            assert_eq!(acl.allows(ssid, &p(path), op, 2), want, "{ssid} {op:?} {path}");
        }
    }

    #[test]
    fn a_single_server_may_do_everything() {
        let empty = AclObject::default();
        for acl in [&empty, &table()] {
            for op in [AclOp::Read, AclOp::Write, AclOp::Execute, AclOp::Delete, AclOp::Create] {
                assert!(acl.allows(103, &p("/3/0/4"), op, 1), "{op:?}");
                assert!(acl.allows(103, &p("/6"), op, 1), "{op:?}");
            }
            assert!(acl.allows(103, &Path::Root, AclOp::Read, 1));
            assert!(!acl.allows(103, &Path::Root, AclOp::Read, 2));
        }
    }

    #[test]
    fn security_is_never_accessible_and_bootstrap_always_is() {
        let acl = table();
        assert!(!acl.allows(101, &p("/0/1"), AclOp::Read, 1));
        assert!(!acl.allows(BOOTSTRAP_SSID, &p("/0"), AclOp::Read, 2));
        assert!(acl.allows(BOOTSTRAP_SSID, &p("/6/0"), AclOp::Delete, 2));
    }

    #[test]
    fn the_access_control_object_itself() {
        let acl = table();
        for ssid in [101, 102, 103] {
            assert!(acl.allows(ssid, &p("/2/0"), AclOp::Read, 2));
            assert!(acl.allows(ssid, &p("/2"), AclOp::Read, 2));
            for op in [AclOp::Create, AclOp::Delete, AclOp::Execute] {
                assert!(!acl.allows(ssid, &p("/2/0"), op, 2), "{ssid} {op:?}");
                assert!(!acl.allows(ssid, &p("/2"), op, 1), "{ssid} {op:?} single server");
            }
        }
        assert!(acl.allows(102, &p("/2/0/2"), AclOp::Write, 2), "owner of /2/0");
        assert!(!acl.allows(101, &p("/2/0/2"), AclOp::Write, 2));
        assert!(!acl.allows(102, &p("/2/9/2"), AclOp::Write, 2), "no such instance");
        assert!(acl.allows(101, &p("/2/0/2"), AclOp::Write, 1));
    }

    #[test]
    fn creating_and_deleting_targets() {
        let mut acl = AclObject::default();
        assert_eq!(acl.on_create(3303, 0, 101), Ok(0));
        assert_eq!(acl.on_create(3303, 1, 102), Ok(1));
        assert!(acl.allows(101, &p("/3303/0"), AclOp::Delete, 2));
        assert!(!acl.allows(102, &p("/3303/0"), AclOp::Read, 2));
        // Taken over by a new creator, with a fresh ACL.
        acl.instances[0].acl.push((102, rights::READ));
        assert_eq!(acl.on_create(3303, 0, 102), Ok(0));
        assert_eq!(acl.get(0).unwrap().acl, []);
        assert!(!acl.allows(101, &p("/3303/0"), AclOp::Read, 2));
        acl.on_delete(3303, 0);
        assert_eq!(acl.instances(), [1]);
        assert!(!acl.allows(102, &p("/3303/0"), AclOp::Read, 2));
        for i in 2..MAX_ACL_INSTANCES as u16 + 1 {
            assert!(acl.on_create(1, i, 101).is_ok(), "{i}");
        }
        assert_eq!(acl.instances.len(), MAX_ACL_INSTANCES);
        assert_eq!(acl.on_create(1, 99, 101), Err(Error::Internal));
    }

    /// TLV of an Access Control instance: /3/0, ACL {101: R}, owner 102.
    const INSTANCE_TLV: [u8; 14] = [
        0xC1, 0x00, 0x03, // 0 Object ID 3
        0xC1, 0x01, 0x00, // 1 Object Instance ID 0
        0x83, 0x02, 0x41, 0x65, 0x01, // 2 ACL [101: 1]
        0xC1, 0x03, 0x66, // 3 Owner 102
    ];

    #[test]
    fn bootstrap_write_creates_and_reads_back() {
        let mut acl = AclObject::default();
        let mut body = vec![0x08, 0x00, INSTANCE_TLV.len() as u8];
        body.extend_from_slice(&INSTANCE_TLV);
        let r = ops::write(&mut acl, &mut NoEnv, &Path::Object(2), ContentFormat::Tlv, &body, WriteMode::Update, Writer::BootstrapServer);
        assert_eq!(r, Ok(Effect::None));
        assert_eq!(acl.instances, [inst(0, (3, 0), 102, &[(101, 1)])]);
        let (cf, tlv) = ops::read(&acl, &mut NoEnv, &Path::Instance(2, 0), None).unwrap();
        assert_eq!((cf, tlv.as_slice()), (ContentFormat::Tlv, &INSTANCE_TLV[..]));
        let (_, json) = ops::read(&acl, &mut NoEnv, &Path::Object(2), Some(ContentFormat::Json)).unwrap();
        assert_eq!(
            core::str::from_utf8(&json).unwrap(),
            "{\"bn\":\"/2/\",\"e\":[{\"n\":\"0/0\",\"v\":3},{\"n\":\"0/1\",\"v\":0},{\"n\":\"0/2/101\",\"v\":1},{\"n\":\"0/3\",\"v\":102}]}"
        );
        let (cf, text) = ops::read(&acl, &mut NoEnv, &p("/2/0/2/101"), None).unwrap();
        assert_eq!((cf, text.as_slice()), (ContentFormat::Text, &b"1"[..]));
        assert_eq!(ops::read(&acl, &mut NoEnv, &p("/2/0/2/102"), None), Err(Error::NotFound));
    }

    #[test]
    fn server_writes_of_the_acl() {
        let mut acl = AclObject { instances: vec![inst(0, (3, 0), 102, &[(101, 1)])] };
        let w = |acl: &mut AclObject, path: &str, cf, body: &[u8], mode| ops::write(acl, &mut NoEnv, &p(path), cf, body, mode, Writer::Server);
        // Partial update of one entry adds it.
        assert_eq!(w(&mut acl, "/2/0/2/0", ContentFormat::Text, b"1", WriteMode::Update), Ok(Effect::None));
        assert_eq!(acl.instances[0].acl, [(0, 1), (101, 1)]);
        // Replace of the resource: exactly the new list.
        let tlv = [0x86, 0x02, 0x41, 0x66, 0x03, 0x41, 0x65, 0x1F];
        assert_eq!(w(&mut acl, "/2/0/2", ContentFormat::Tlv, &tlv, WriteMode::Replace), Ok(Effect::None));
        assert_eq!(acl.instances[0].acl, [(101, 31), (102, 3)]);
        // Owner is writable, target is not (by a server).
        assert_eq!(w(&mut acl, "/2/0/3", ContentFormat::Text, b"101", WriteMode::Replace), Ok(Effect::None));
        assert_eq!(acl.instances[0].owner, 101);
        assert_eq!(w(&mut acl, "/2/0/0", ContentFormat::Text, b"4", WriteMode::Replace), Err(Error::NotAllowed));
        // Out of range values change nothing.
        assert_eq!(w(&mut acl, "/2/0/2/5", ContentFormat::Text, b"65536", WriteMode::Update), Err(Error::BadRequest));
        assert_eq!(w(&mut acl, "/2/0/2/5", ContentFormat::Text, b"-1", WriteMode::Update), Err(Error::BadRequest));
        assert_eq!(w(&mut acl, "/2/0/3", ContentFormat::Text, b"65536", WriteMode::Replace), Err(Error::BadRequest));
        assert_eq!(acl.instances[0].acl, [(101, 31), (102, 3)]);
        // A write of the Object ID by the bootstrap server is range checked.
        let bs = |acl: &mut AclObject, body: &[u8]| ops::write(acl, &mut NoEnv, &Path::Resource(2, 0, 0), ContentFormat::Text, body, WriteMode::Replace, Writer::BootstrapServer);
        assert_eq!(bs(&mut acl, b"0"), Err(Error::BadRequest));
        assert_eq!(bs(&mut acl, b"65535"), Err(Error::BadRequest));
        assert_eq!(bs(&mut acl, b"3303"), Ok(Effect::None));
    }

    #[test]
    fn acl_entries_are_bounded() {
        let mut acl = AclObject { instances: vec![inst(0, (3, 0), 102, &[])] };
        let mut inner = Vec::new();
        for ssid in 1..=MAX_ACL_ENTRIES as u8 + 1 {
            inner.extend_from_slice(&[0x41, ssid, 0x01]);
        }
        let mut tlv = vec![0x88, 0x02, inner.len() as u8];
        tlv.extend_from_slice(&inner);
        let r = ops::write(&mut acl, &mut NoEnv, &Path::Resource(2, 0, 2), ContentFormat::Tlv, &tlv, WriteMode::Replace, Writer::Server);
        assert_eq!(r, Err(Error::BadRequest));
        assert_eq!(acl.instances[0].acl, [], "unchanged");
        let keep = 3 * MAX_ACL_ENTRIES;
        let mut tlv = vec![0x88, 0x02, keep as u8];
        tlv.extend_from_slice(&inner[..keep]);
        let r = ops::write(&mut acl, &mut NoEnv, &Path::Resource(2, 0, 2), ContentFormat::Tlv, &tlv, WriteMode::Replace, Writer::Server);
        assert_eq!(r, Ok(Effect::None));
        assert_eq!(acl.instances[0].acl.len(), MAX_ACL_ENTRIES);
    }

    #[test]
    fn bootstrap_write_and_delete_through_the_registry() {
        use crate::objects::Objects;
        let mut o = Objects::factory("coaps://bs.example:5784", true);
        let mut body = vec![0x08, 0x04, INSTANCE_TLV.len() as u8];
        body.extend_from_slice(&INSTANCE_TLV);
        assert_eq!(o.bootstrap_write(&Path::Object(2), ContentFormat::Tlv, &body), Ok(()));
        assert_eq!(o.bootstrap_write(&Path::Instance(2, 5), ContentFormat::Tlv, &INSTANCE_TLV), Ok(()));
        assert_eq!(o.acl.instances(), [4, 5]);
        let mut links = Vec::new();
        o.registration_links(&mut links);
        assert_eq!(core::str::from_utf8(&links).unwrap(), "</1>,</2/4>,</2/5>,</3/0>,</4/0>,</5/0>,</7/0>");
        assert_eq!(o.bootstrap_delete(&Path::Instance(2, 4)), Ok(()));
        assert_eq!(o.acl.instances(), [5]);
        assert_eq!(o.bootstrap_delete(&Path::Root), Ok(()));
        assert_eq!(o.acl.instances(), []);
        assert_eq!(o.bootstrap_write(&Path::Instance(2, 5), ContentFormat::Tlv, &INSTANCE_TLV), Ok(()));
        assert_eq!(o.bootstrap_delete(&Path::Object(2)), Ok(()));
        assert_eq!(o.acl.instances(), []);
        // A bad value is refused, not ignored.
        assert_eq!(o.bootstrap_write(&Path::Resource(2, 0, 3), ContentFormat::Text, b"x"), Err(Error::BadRequest));
    }

    #[test]
    fn instances_are_bounded_and_deletable() {
        let mut acl = AclObject::default();
        for i in 0..MAX_ACL_INSTANCES as u16 {
            assert_eq!(acl.create(i), Ok(()));
        }
        assert_eq!(acl.create(99), Err(Error::Internal));
        assert_eq!(acl.delete(3), Ok(()));
        assert_eq!(acl.delete(3), Err(Error::NotFound));
        assert_eq!(acl.create(0), Err(Error::Internal), "id in use");
        assert_eq!(acl.instances().len(), MAX_ACL_INSTANCES - 1);
    }
}

impl crate::objects::model::Instance for AclInstance {
    fn id(&self) -> u16 {
        self.id
    }
}
