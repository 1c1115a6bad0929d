//! Notification attributes and Write-Attributes
//! (OMA-TS-LightweightM2M-V1_0_2 §5.1.1, §5.1.2 "`<NOTIFICATION>` Class
//! Attributes", §5.4.4; CoAP mapping: PUT with one Uri-Query option per
//! attribute and no payload).
//!
//! Writable attributes, and where they may be assigned (§5.1.2 table):
//! - `pmin`, `pmax`: unsigned integer seconds; Object, Object Instance or
//!   Resource level. `pmax=0` means no periodic notification.
//! - `gt`, `lt`, `st`: decimal numbers (see [`crate::lwm2m::float`]; a
//!   leading `-` is accepted, thresholds such as RSRP are negative); Resource
//!   level only. `st` must not be negative.
//!
//! A name without a value (`pmin`, or `pmin=`) unsets the attribute at that
//! level (§5.4.4 Write-Attributes parameters), after which the upper levels
//! and then the server's defaults apply again (§5.1.1 rules 3 to 5).
//!
//! Refused, so the whole request is answered 4.00 Bad Request and nothing
//! changes ([`AttrError`]): no attribute at all, any other name (the
//! read-only `dim` and `ver`, 1.1's `epmin`/`epmax`, the pre-1.0 `cancel`,
//! any other case than lower case), the same name twice, a value that is not
//! a number of the attribute's type, `gt`/`lt`/`st` above the Resource level,
//! the root or a Resource Instance as target (LwM2M 1.0 assigns attributes
//! at three levels only), and a result that breaks a §5.1.2 rule at that
//! level: `pmin ≤ pmax` (unless `pmax` is 0), `lt < gt`, `lt + 2·st < gt`.
//! A full store answers 5.00 ([`AttrError::Full`]).
//!
//! Rules across levels (an object-level `pmin` above a resource-level `pmax`)
//! are not refused: the notifier never sends before `pmin` and treats a
//! smaller `pmax` as `pmin`.

use alloc::vec::Vec;

use super::{swap_take, MAX_ATTRIBUTE_ENTRIES};
use crate::coap::msg::Code;
use crate::lwm2m::float::parse_f64;
use crate::lwm2m::soft_f64;
use crate::lwm2m::link::LinkWriter;
use crate::lwm2m::text::parse_u64;
use crate::lwm2m::Path;

/// The notification attributes of one level, or the effective ones of a
/// path (§5.1.2). `None` is "not set".
#[derive(Copy, Clone, Debug, Default, PartialEq)]
pub struct Attributes {
    /// Minimum Period, seconds: no notification sooner after the previous one.
    pub pmin: Option<u32>,
    /// Maximum Period, seconds: a notification at the latest this long after
    /// the previous one; 0 is none.
    pub pmax: Option<u32>,
    /// Greater Than: notify when the value crosses this threshold.
    pub gt: Option<f64>,
    /// Less Than: notify when the value crosses this threshold.
    pub lt: Option<f64>,
    /// Step: notify when the value moved at least this much since the last
    /// notification.
    pub st: Option<f64>,
}

impl Attributes {
    /// No attribute set.
    pub fn is_empty(&self) -> bool {
        *self == Attributes::default()
    }

    /// Any of the change value conditions `gt`, `lt`, `st` set.
    pub fn has_value_conditions(&self) -> bool {
        self.gt.is_some() || self.lt.is_some() || self.st.is_some()
    }

    /// The §5.1.2 rules for the attributes of one level: `pmin ≤ pmax`
    /// ("the maximum period parameter MUST be not smaller than the minimum
    /// period"; a `pmax` of 0 means none and is exempt), `lt < gt` and
    /// `lt + 2·st < gt` when the operands are set.
    pub fn check(&self) -> Result<(), AttrError> {
        if let (Some(pmin), Some(pmax)) = (self.pmin, self.pmax) {
            if pmax != 0 && pmin > pmax {
                return Err(AttrError::Inconsistent);
            }
        }
        if let (Some(lt), Some(gt)) = (self.lt, self.gt) {
            // Anything but a plain "less" refuses, NaN included. (f64
            // arithmetic through `soft_f64`: the FPU has no double precision.)
            if !soft_f64::lt(lt, gt) {
                return Err(AttrError::Inconsistent);
            }
            if let Some(st) = self.st {
                // 2·st as st + st: the same, exact or infinite
                if !soft_f64::lt(soft_f64::add(lt, soft_f64::add(st, st)), gt) {
                    return Err(AttrError::Inconsistent);
                }
            }
        }
        Ok(())
    }

    /// Appends the set attributes as link parameters, for Discover (TS
    /// §5.4.2: `</3/0/7>;pmin=10;gt=50`).
    pub fn write_link(&self, w: &mut LinkWriter) {
        if let Some(v) = self.pmin {
            w.attr_uint("pmin", v as u64);
        }
        if let Some(v) = self.pmax {
            w.attr_uint("pmax", v as u64);
        }
        if let Some(v) = self.gt {
            w.attr_num("gt", v);
        }
        if let Some(v) = self.lt {
            w.attr_num("lt", v);
        }
        if let Some(v) = self.st {
            w.attr_num("st", v);
        }
    }

    /// Takes every attribute `self` lacks from `upper` (the next level up).
    fn inherit(&mut self, upper: &Attributes) {
        self.pmin = self.pmin.or(upper.pmin);
        self.pmax = self.pmax.or(upper.pmax);
        self.gt = self.gt.or(upper.gt);
        self.lt = self.lt.or(upper.lt);
        self.st = self.st.or(upper.st);
    }
}

/// What a Write-Attributes request does to one attribute.
#[derive(Copy, Clone, Debug, Default, PartialEq)]
pub enum Update<T> {
    /// Not named in the request: unchanged.
    #[default]
    Keep,
    /// `name=value`.
    Set(T),
    /// `name` alone: unset at this level.
    Unset,
}

impl<T: Copy> Update<T> {
    fn apply(self, slot: &mut Option<T>) {
        match self {
            Update::Keep => {}
            Update::Set(v) => *slot = Some(v),
            Update::Unset => *slot = None,
        }
    }

    fn is_set(self) -> bool {
        matches!(self, Update::Set(_))
    }
}

/// A parsed Write-Attributes request, to be applied with
/// [`AttributeStore::apply`].
#[derive(Copy, Clone, Debug, Default, PartialEq)]
pub struct AttrChange {
    pub pmin: Update<u32>,
    pub pmax: Update<u32>,
    pub gt: Update<f64>,
    pub lt: Update<f64>,
    pub st: Update<f64>,
}

impl AttrChange {
    fn apply_to(&self, attrs: &mut Attributes) {
        self.pmin.apply(&mut attrs.pmin);
        self.pmax.apply(&mut attrs.pmax);
        self.gt.apply(&mut attrs.gt);
        self.lt.apply(&mut attrs.lt);
        self.st.apply(&mut attrs.st);
    }

    fn sets_value_conditions(&self) -> bool {
        self.gt.is_set() || self.lt.is_set() || self.st.is_set()
    }
}

/// Why a Write-Attributes request is refused; nothing was changed.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum AttrError {
    /// No attribute in the request (§5.4.4: at least one is required).
    NoAttributes,
    /// A name other than `pmin`, `pmax`, `gt`, `lt`, `st`.
    UnknownName,
    /// The same attribute twice in one request.
    Duplicate,
    /// Not a number of the attribute's type, or a negative `st`.
    BadValue,
    /// `gt`/`lt`/`st` above the Resource level, or a target that takes no
    /// attributes (the root, a Resource Instance).
    WrongLevel,
    /// The result breaks a §5.1.2 rule (`pmin ≤ pmax`, `lt < gt`, `lt + 2·st < gt`).
    Inconsistent,
    /// [`MAX_ATTRIBUTE_ENTRIES`] levels already carry attributes.
    Full,
}

impl AttrError {
    /// The response code: 4.00 Bad Request for a bad request (the TS's
    /// Write-Attributes response codes: "the format of attribute to be
    /// written is different"), 5.00 when the client is out of room (none of
    /// the 4.xx codes the TS lists fits).
    pub fn code(self) -> Code {
        match self {
            AttrError::Full => Code::INTERNAL_SERVER_ERROR,
            _ => Code::BAD_REQUEST,
        }
    }
}

/// Whether attributes may be assigned at `path` in LwM2M 1.0 (§5.1.2
/// "Assignation Level": Object, Object Instance, Resource).
fn assignable(path: &Path) -> bool {
    matches!(
        path,
        Path::Object(_) | Path::Instance(..) | Path::Resource(..)
    )
}

/// Records one attribute of a request; a second mention is an error.
fn note<T>(slot: &mut Update<T>, value: Option<T>) -> Result<(), AttrError> {
    if !matches!(slot, Update::Keep) {
        return Err(AttrError::Duplicate);
    }
    *slot = match value {
        Some(v) => Update::Set(v),
        None => Update::Unset,
    };
    Ok(())
}

fn parse_period(value: &[u8]) -> Result<u32, AttrError> {
    parse_u64(value, u32::MAX as u64)
        .map(|v| v as u32)
        .ok_or(AttrError::BadValue)
}

fn parse_threshold(value: &[u8]) -> Result<f64, AttrError> {
    parse_f64(value).ok_or(AttrError::BadValue)
}

/// Parses the Uri-Query options of a Write-Attributes request on `level`
/// (TS §5.4.4; see the module doc for what is refused). Each item is one
/// option value, `name=value` or `name`.
pub fn parse_write_attributes<'a>(
    queries: impl Iterator<Item = &'a [u8]>,
    level: &Path,
) -> Result<AttrChange, AttrError> {
    if !assignable(level) {
        return Err(AttrError::WrongLevel);
    }
    let resource_level = matches!(level, Path::Resource(..));
    let mut change = AttrChange::default();
    let mut any = false;
    for item in queries {
        let (name, value) = match item.iter().position(|&b| b == b'=') {
            Some(i) => (item.get(..i).unwrap_or_default(), item.get(i + 1..).filter(|v| !v.is_empty())),
            None => (item, None),
        };
        match name {
            b"pmin" => note(&mut change.pmin, value.map(parse_period).transpose()?)?,
            b"pmax" => note(&mut change.pmax, value.map(parse_period).transpose()?)?,
            b"gt" | b"lt" | b"st" if !resource_level => return Err(AttrError::WrongLevel),
            b"gt" => note(&mut change.gt, value.map(parse_threshold).transpose()?)?,
            b"lt" => note(&mut change.lt, value.map(parse_threshold).transpose()?)?,
            b"st" => {
                let step = value.map(parse_threshold).transpose()?;
                if step.is_some_and(|st| soft_f64::lt(st, 0.0)) {
                    return Err(AttrError::BadValue);
                }
                note(&mut change.st, step)?
            }
            _ => return Err(AttrError::UnknownName),
        }
        any = true;
    }
    if !any {
        return Err(AttrError::NoAttributes);
    }
    Ok(change)
}

/// The attributes one server has written, by level (§5.4.4: a client keeps
/// them per server). At most [`MAX_ATTRIBUTE_ENTRIES`] levels; a level whose
/// attributes are all unset takes no room.
#[derive(Clone, Debug, Default)]
pub struct AttributeStore {
    entries: Vec<(Path, Attributes)>,
}

impl AttributeStore {
    pub const fn new() -> Self {
        AttributeStore {
            entries: Vec::new(),
        }
    }

    /// Applies a parsed Write-Attributes request to the level `path`,
    /// whole or not at all: the level's resulting attributes must satisfy
    /// [`Attributes::check`].
    pub fn apply(&mut self, path: &Path, change: &AttrChange) -> Result<(), AttrError> {
        if !assignable(path)
            || (change.sets_value_conditions() && !matches!(path, Path::Resource(..)))
        {
            return Err(AttrError::WrongLevel);
        }
        let index = self.entries.iter().position(|(p, _)| p == path);
        let mut attrs = index
            .and_then(|i| self.entries.get(i))
            .map(|e| e.1)
            .unwrap_or_default();
        change.apply_to(&mut attrs);
        attrs.check()?;
        match index {
            Some(i) if attrs.is_empty() => {
                swap_take(&mut self.entries, i);
            }
            Some(i) => {
                if let Some(entry) = self.entries.get_mut(i) {
                    entry.1 = attrs;
                }
            }
            None if attrs.is_empty() => {}
            None if self.entries.len() >= MAX_ATTRIBUTE_ENTRIES => return Err(AttrError::Full),
            None => self.entries.push((*path, attrs)),
        }
        Ok(())
    }

    /// Would [`apply`](Self::apply) add a level (rather than change or
    /// remove one)? What the all-servers limit counts.
    pub fn would_add(&self, path: &Path, change: &AttrChange) -> bool {
        let mut attrs = Attributes::default();
        change.apply_to(&mut attrs);
        self.find(path).is_none() && !attrs.is_empty()
    }

    /// The attributes in force for `path` (§5.1.1 rules 3 to 5): each one
    /// from the deepest of Resource, Object Instance, Object level that sets
    /// it (a Resource Instance path uses its Resource's), else `pmin` is
    /// `default_pmin` and `pmax` is `default_pmax` (the Server object's
    /// Default Minimum / Maximum Period, §E.2; a `default_pmax` of 0 leaves
    /// `pmax` unset).
    pub fn effective(&self, path: &Path, default_pmin: u32, default_pmax: u32) -> Attributes {
        let mut attrs = Attributes::default();
        // Deepest level first; a level "applies" when it is `path` or above
        // it (a Resource Instance takes its Resource's). Levels are Object,
        // Object Instance or Resource paths, one entry each.
        for depth in (1..=3).rev() {
            for (p, upper) in &self.entries {
                if p.depth() == depth && p.contains(path) {
                    attrs.inherit(upper);
                }
            }
        }
        attrs.pmin = attrs.pmin.or(Some(default_pmin));
        if default_pmax != 0 {
            attrs.pmax = attrs.pmax.or(Some(default_pmax));
        }
        attrs
    }

    /// Only the attributes set at exactly `path`, for Discover (TS §5.4.2).
    pub fn discover_attrs(&self, path: &Path) -> Attributes {
        self.find(path).copied().unwrap_or_default()
    }

    /// Forgets the attributes of `path` and every level below it (its
    /// instance or object was deleted).
    pub fn remove_within(&mut self, path: &Path) {
        self.entries.retain(|(p, _)| !path.contains(p));
    }

    /// Every level with attributes, in no particular order (for
    /// persistence).
    pub fn iter(&self) -> impl Iterator<Item = &(Path, Attributes)> {
        self.entries.iter()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn find(&self, path: &Path) -> Option<&Attributes> {
        self.entries.iter().find(|(p, _)| p == path).map(|(_, a)| a)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn parse(query: &str, level: Path) -> Result<AttrChange, AttrError> {
        // The TS writes a request as `/3/0/9?gt=45&st=10`; each `&` part is one Uri-Query option.
        let items: Vec<&[u8]> = if query.is_empty() {
            vec![]
        } else {
            query.split('&').map(str::as_bytes).collect()
        };
        parse_write_attributes(items.into_iter(), &level)
    }

    fn write(store: &mut AttributeStore, path: Path, query: &str) -> Result<(), AttrError> {
        store.apply(&path, &parse(query, path)?)
    }

    /// What the limit of all servers counts: a level that would be added,
    /// not one changed or cleared.
    #[test]
    fn would_add_counts_new_levels_only() {
        let mut store = AttributeStore::new();
        let battery = Path::Resource(3, 0, 9);
        assert!(store.would_add(&battery, &parse("pmin=5", battery).unwrap()));
        write(&mut store, battery, "pmin=5").unwrap();
        assert!(!store.would_add(&battery, &parse("pmax=50", battery).unwrap()), "a change");
        let other = Path::Instance(3, 0);
        assert!(!store.would_add(&other, &parse("pmin", other).unwrap()), "clearing an unset level adds nothing");
        assert!(store.would_add(&other, &parse("pmax=9", other).unwrap()));
    }

    const BATTERY: Path = Path::Resource(3, 0, 9);

    #[test]
    fn parses_each_attribute() {
        let c = parse("pmin=10&pmax=60&gt=45.5&lt=-20&st=0.5", BATTERY).unwrap();
        assert_eq!(
            c,
            AttrChange {
                pmin: Update::Set(10),
                pmax: Update::Set(60),
                gt: Update::Set(45.5),
                lt: Update::Set(-20.0),
                st: Update::Set(0.5),
            }
        );
        assert_eq!(parse("gt=1e2", BATTERY).unwrap().gt, Update::Set(100.0));
        assert_eq!(
            parse("pmax=0", Path::Object(3)).unwrap().pmax,
            Update::Set(0)
        );
        assert_eq!(
            parse("pmin=4294967295", Path::Instance(3, 0)).unwrap().pmin,
            Update::Set(u32::MAX)
        );
    }

    #[test]
    fn name_without_value_unsets() {
        // TS §5.4.4 / CoAP mapping example 2: `Write-Attributes /3/0/9?pmin`.
        let c = parse("pmin", BATTERY).unwrap();
        assert_eq!(
            c,
            AttrChange {
                pmin: Update::Unset,
                ..Default::default()
            }
        );
        assert_eq!(parse("pmax=", Path::Object(3)).unwrap().pmax, Update::Unset);
        assert_eq!(parse("gt&lt&st", BATTERY).unwrap().st, Update::Unset);
    }

    #[test]
    fn refuses_bad_requests() {
        use AttrError::*;
        for (query, level, err) in [
            ("", BATTERY, NoAttributes),
            ("foo=1", BATTERY, UnknownName),
            ("cancel", BATTERY, UnknownName),
            ("dim=3", BATTERY, UnknownName),
            ("ver=1.0", Path::Object(3), UnknownName),
            ("epmin=1", BATTERY, UnknownName),
            ("PMIN=1", BATTERY, UnknownName),
            ("pmin =1", BATTERY, UnknownName),
            ("=1", BATTERY, UnknownName),
            ("pmin=abc", BATTERY, BadValue),
            ("pmin=-1", BATTERY, BadValue),
            ("pmin=+1", BATTERY, BadValue),
            ("pmin=1.5", BATTERY, BadValue),
            ("pmin=1 ", BATTERY, BadValue),
            ("pmax=4294967296", BATTERY, BadValue),
            ("pmin=1=2", BATTERY, BadValue),
            ("gt=abc", BATTERY, BadValue),
            ("gt=inf", BATTERY, BadValue),
            ("lt=NaN", BATTERY, BadValue),
            ("gt=1e400", BATTERY, BadValue),
            ("st=-1", BATTERY, BadValue),
            ("pmin=1&pmin=2", BATTERY, Duplicate),
            ("pmin=1&pmin", BATTERY, Duplicate),
            ("gt=1&pmin=1&gt=2", BATTERY, Duplicate),
            ("gt=50", Path::Instance(3, 0), WrongLevel),
            ("pmin=10&st=1", Path::Object(3), WrongLevel),
            ("lt", Path::Object(3), WrongLevel),
            ("pmin=10", Path::Root, WrongLevel),
            ("pmin=10", Path::ResourceInstance(3, 0, 7, 0), WrongLevel),
        ] {
            assert_eq!(parse(query, level), Err(err), "{query} on {level:?}");
            assert_eq!(err.code(), Code::BAD_REQUEST);
        }
        assert_eq!(AttrError::Full.code(), Code::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn validity_rules() {
        let mut store = AttributeStore::new();
        // §5.1.2: lt < gt, lt + 2*st < gt; pmin ≤ pmax.
        assert_eq!(write(&mut store, BATTERY, "lt=20&gt=85&st=10"), Ok(())); // the TS's own example 5
        assert_eq!(
            write(&mut store, BATTERY, "st=32.5"),
            Err(AttrError::Inconsistent)
        ); // 20 + 65 = 85
        assert_eq!(write(&mut store, BATTERY, "st=32.4"), Ok(()));
        assert_eq!(
            write(&mut store, BATTERY, "lt=85"),
            Err(AttrError::Inconsistent)
        );
        assert_eq!(
            write(&mut store, BATTERY, "lt=90&st"),
            Err(AttrError::Inconsistent)
        );
        assert_eq!(
            write(&mut store, BATTERY, "gt=1e308&lt=-1e308&st=1e308"),
            Err(AttrError::Inconsistent)
        ); // overflow
           // A refused request changes nothing.
        assert_eq!(
            store.discover_attrs(&BATTERY),
            Attributes {
                gt: Some(85.0),
                lt: Some(20.0),
                st: Some(32.4),
                ..Default::default()
            }
        );

        assert_eq!(
            write(&mut store, Path::Instance(3, 0), "pmin=60&pmax=10"),
            Err(AttrError::Inconsistent)
        );
        assert_eq!(
            write(&mut store, Path::Instance(3, 0), "pmin=60&pmax=60"),
            Ok(())
        );
        assert_eq!(
            write(&mut store, Path::Instance(3, 0), "pmax=59"),
            Err(AttrError::Inconsistent)
        );
        assert_eq!(write(&mut store, Path::Instance(3, 0), "pmax=0"), Ok(())); // 0: no periodic notification
                                                                               // Each level is checked on its own: an object-level pmin above an instance-level pmax is kept.
        assert_eq!(write(&mut store, Path::Object(3), "pmin=100"), Ok(()));
        // Only st, gt or lt alone: nothing to compare.
        assert_eq!(write(&mut store, Path::Resource(3, 0, 7), "st=5"), Ok(()));
        assert_eq!(
            write(&mut store, Path::Resource(3, 0, 8), "lt=5&st=5"),
            Ok(())
        );
    }

    #[test]
    fn inheritance_and_unset() {
        let mut store = AttributeStore::new();
        write(&mut store, Path::Object(3), "pmin=10").unwrap();
        write(&mut store, Path::Instance(3, 0), "pmax=60").unwrap();
        write(&mut store, Path::Resource(3, 0, 7), "gt=50&lt=42.2").unwrap();
        // TS §5.4.2 Discover example: `</3/0/7>;dim=8;pmin=10;pmax=60;gt=50;lt=42.2`, "pmin assigned at the
        // Object level, and pmax assigned at the Object Instance level".
        let expected = Attributes {
            pmin: Some(10),
            pmax: Some(60),
            gt: Some(50.0),
            lt: Some(42.2),
            st: None,
        };
        assert_eq!(store.effective(&Path::Resource(3, 0, 7), 0, 0), expected);
        assert_eq!(
            store.effective(&Path::ResourceInstance(3, 0, 7, 1), 0, 0),
            expected
        );
        let mut out = Vec::new();
        let mut w = LinkWriter::new(&mut out);
        w.link(&Path::Resource(3, 0, 7));
        expected.write_link(&mut w);
        assert_eq!(out, b"</3/0/7>;pmin=10;pmax=60;gt=50;lt=42.2");
        // Discover shows each level's own.
        assert_eq!(
            store.discover_attrs(&Path::Object(3)),
            Attributes {
                pmin: Some(10),
                ..Default::default()
            }
        );
        assert_eq!(
            store.discover_attrs(&Path::Instance(3, 0)),
            Attributes {
                pmax: Some(60),
                ..Default::default()
            }
        );
        assert_eq!(
            store.discover_attrs(&Path::Instance(3, 1)),
            Attributes::default()
        );

        // Resource level wins (rule 3), then instance (rule 4), then object (rule 5), then the defaults.
        write(&mut store, Path::Resource(3, 0, 7), "pmin=1").unwrap();
        assert_eq!(
            store.effective(&Path::Resource(3, 0, 7), 300, 6000).pmin,
            Some(1)
        );
        write(&mut store, Path::Resource(3, 0, 7), "pmin").unwrap();
        assert_eq!(
            store.effective(&Path::Resource(3, 0, 7), 300, 6000).pmin,
            Some(10)
        );
        write(&mut store, Path::Object(3), "pmin").unwrap();
        assert_eq!(
            store.effective(&Path::Resource(3, 0, 7), 300, 6000).pmin,
            Some(300)
        );
        assert_eq!(
            store.effective(&Path::Resource(3, 0, 7), 300, 6000).pmax,
            Some(60)
        );
        assert_eq!(
            store.effective(&Path::Resource(3, 1, 7), 300, 6000),
            Attributes {
                pmin: Some(300),
                pmax: Some(6000),
                ..Default::default()
            }
        );
        assert_eq!(store.effective(&Path::Resource(3, 1, 7), 0, 0).pmax, None); // no default maximum period
                                                                                // gt/lt/st never flow to other resources or up.
        assert_eq!(store.effective(&Path::Instance(3, 0), 0, 0).gt, None);
        assert_eq!(store.effective(&Path::Resource(3, 0, 8), 0, 0).gt, None);
        // Unsetting everything at a level frees its entry.
        assert_eq!(store.len(), 2);
        write(&mut store, Path::Resource(3, 0, 7), "gt&lt").unwrap();
        assert_eq!(store.len(), 1);
        store.remove_within(&Path::Object(3));
        assert!(store.is_empty());
    }

    #[test]
    fn store_is_bounded() {
        let mut store = AttributeStore::new();
        for r in 0..MAX_ATTRIBUTE_ENTRIES as u16 {
            write(&mut store, Path::Resource(3, 0, r), "pmin=5").unwrap();
        }
        assert_eq!(
            write(&mut store, Path::Resource(3, 0, 100), "pmin=5"),
            Err(AttrError::Full)
        );
        // Changing or unsetting an existing level still works when full; unsetting frees room.
        assert_eq!(
            write(&mut store, Path::Resource(3, 0, 0), "pmax=50"),
            Ok(())
        );
        assert_eq!(write(&mut store, Path::Resource(3, 0, 100), "pmin"), Ok(())); // nothing to store
        write(&mut store, Path::Resource(3, 0, 1), "pmin").unwrap();
        assert_eq!(
            write(&mut store, Path::Resource(3, 0, 100), "pmin=5"),
            Ok(())
        );
        assert_eq!(store.len(), MAX_ATTRIBUTE_ENTRIES);
        // apply refuses what parse would have: value conditions above the resource level.
        let change = AttrChange {
            gt: Update::Set(1.0),
            ..Default::default()
        };
        assert_eq!(
            store.apply(&Path::Instance(3, 0), &change),
            Err(AttrError::WrongLevel)
        );
    }

    /// xorshift32 (Marsaglia 2003): deterministic pseudo-random bytes without a crate.
    fn xorshift(state: &mut u32) -> u32 {
        let mut x = *state;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        *state = x;
        x
    }

    #[test]
    fn parser_never_panics() {
        const NAMES: [&[u8]; 7] = [b"pmin", b"pmax", b"gt", b"lt", b"st", b"dim", b""];
        const PIECES: [&[u8]; 10] = [
            b"1",
            b"-",
            b".",
            b"e",
            b"9999999999",
            b"0",
            b"5",
            b"\xff",
            b"=",
            b"&",
        ];
        let levels = [
            Path::Root,
            Path::Object(3),
            Path::Instance(3, 0),
            BATTERY,
            BATTERY,
            Path::ResourceInstance(3, 0, 7, 0),
        ];
        let mut seed = 0x2545_F491u32;
        let mut store = AttributeStore::new();
        let (mut accepted, mut applied) = (0, 0);
        for _ in 0..20_000 {
            let mut items: Vec<Vec<u8>> = Vec::new();
            for _ in 0..xorshift(&mut seed) % 4 {
                let mut item = Vec::new();
                let r = xorshift(&mut seed);
                if r.is_multiple_of(4) {
                    // Any bytes at all.
                    for _ in 0..(r >> 8) % 12 {
                        item.push(xorshift(&mut seed) as u8);
                    }
                } else {
                    // A name, maybe `=`, then number-like pieces.
                    item.extend_from_slice(NAMES[(r >> 8) as usize % NAMES.len()]);
                    if !(r >> 16).is_multiple_of(4) {
                        item.push(b'=');
                        for _ in 0..(r >> 20) % 4 {
                            item.extend_from_slice(
                                PIECES[xorshift(&mut seed) as usize % PIECES.len()],
                            );
                        }
                    }
                }
                items.push(item);
            }
            let level = levels[xorshift(&mut seed) as usize % levels.len()];
            if let Ok(change) = parse_write_attributes(items.iter().map(|i| &i[..]), &level) {
                accepted += 1;
                if store.apply(&level, &change).is_ok() {
                    applied += 1;
                    assert!(store.discover_attrs(&level).check().is_ok());
                }
                let _ = store.effective(&level, 1, 2);
            }
            assert!(store.len() <= MAX_ATTRIBUTE_ENTRIES);
        }
        assert!(
            accepted > 500 && applied > 200,
            "the generator should reach the accepting paths ({accepted}, {applied})"
        );
    }
}
