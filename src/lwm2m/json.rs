//! OMA LwM2M JSON (OMA-TS-LightweightM2M-V1_0_2 §6.4.4, Content-Format
//! 11543), the SenML-like `{"bn":"/3/0/","e":[{"n":"0","sv":"…"}, …]}`.
//!
//! Entries carry one value each: `v` (Integer, Float, Time as a JSON number),
//! `bv` (Boolean), `sv` (String; Opaque as base64, RFC 4648 §4), `ov` (Objlnk
//! `"3:0"`). The full path of an entry is `bn` + `n`.
//!
//! Writer: [`JsonWriter`] appends entries relative to a base path; no
//! `core::fmt`. Non-finite floats have no JSON spelling and are written as
//! `null`.
//!
//! Reader: [`decode`] is a bounded hand-written parser (no serde, no
//! recursion). Refused: anything but one top-level object; unknown members
//! whose value is an object or array; entries with no value or more than one;
//! entries whose `bn`+`n` is not an LwM2M path; more than
//! [`MAX_JSON_ENTRIES`] entries; invalid string escapes or UTF-8; trailing
//! bytes. Time stamps (`bt`, `t`) are accepted and ignored (a Write carries
//! current values only).

use super::float;
use super::path::Path;
use super::text;
use super::value::{ResourceType, Value};
use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;

/// Most entries one payload may carry (a Write to an Object Instance of the
/// largest carrier object has fewer than 40 resources).
pub const MAX_JSON_ENTRIES: usize = 64;

/// Longest `bn` + `n` accepted ("/65534/65534/65534/65534" is 24).
const MAX_NAME_LEN: usize = 32;

/// Appends an LwM2M JSON document: `new` opens it, `entry` adds one value,
/// `finish` closes it.
pub struct JsonWriter<'a> {
    out: &'a mut Vec<u8>,
    entries: usize,
}

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn write_base64(data: &[u8], out: &mut Vec<u8>) {
    for chunk in data.chunks(3) {
        let n = chunk.iter().chain(&[0, 0]).take(3).fold(0u32, |n, &b| n << 8 | b as u32);
        for i in 0..4 {
            // 6-bit index into a 64-entry table: `get` never misses.
            out.push(match BASE64.get((n >> (18 - 6 * i) & 0x3f) as usize) {
                Some(&c) if i <= chunk.len() => c,
                _ => b'=',
            });
        }
    }
}

/// Decodes padded or unpadded standard base64; `None` on any other byte.
fn read_base64(text: &[u8], out: &mut Vec<u8>) -> Option<()> {
    let text = text.strip_suffix(b"==").or_else(|| text.strip_suffix(b"=")).unwrap_or(text);
    if text.len() % 4 == 1 {
        return None;
    }
    let mut acc = 0u32;
    let mut bits = 0;
    for &c in text {
        let v = BASE64.iter().position(|&a| a == c)? as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    // leftover bits must be zero padding
    if acc & ((1 << bits) - 1) != 0 {
        return None;
    }
    Some(())
}

fn write_json_string(s: &str, out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    for &c in s.as_bytes() {
        match c {
            b'"' | b'\\' => {
                out.push(b'\\');
                out.push(c);
            }
            0..=0x1f => {
                out.extend_from_slice(b"\\u00");
                // `c` < 0x20: the high digit is 0 or 1.
                out.push(b'0' + (c >> 4));
                if let Some(&h) = HEX.get((c & 0xf) as usize) {
                    out.push(h);
                }
            }
            _ => out.push(c),
        }
    }
    out.push(b'"');
}

impl<'a> JsonWriter<'a> {
    /// Opens the document with base name `base` + `/` (`/` for the root).
    pub fn new(out: &'a mut Vec<u8>, base: &Path) -> Self {
        out.extend_from_slice(b"{\"bn\":\"");
        base.write(out);
        if base.depth() > 0 {
            out.push(b'/');
        }
        out.extend_from_slice(b"\",\"e\":[");
        JsonWriter { out, entries: 0 }
    }

    /// One entry: `name` is the path below the base (`[6, 0]` → `"6/0"`;
    /// empty: no `n`, the base itself).
    pub fn entry(&mut self, name: &[u16], value: &Value) -> &mut Self {
        if self.entries > 0 {
            self.out.push(b',');
        }
        self.entries += 1;
        self.out.push(b'{');
        if !name.is_empty() {
            self.out.extend_from_slice(b"\"n\":\"");
            for (i, id) in name.iter().enumerate() {
                if i > 0 {
                    self.out.push(b'/');
                }
                text::write_u64(*id as u64, self.out);
            }
            self.out.extend_from_slice(b"\",");
        }
        let out = &mut *self.out;
        match *value {
            Value::Int(v) | Value::Time(v) => {
                out.extend_from_slice(b"\"v\":");
                text::write_i64(v, out);
            }
            Value::Float(f) => {
                out.extend_from_slice(b"\"v\":");
                if f.is_finite() {
                    float::write_f64(f, out);
                } else {
                    out.extend_from_slice(b"null");
                }
            }
            Value::Bool(b) => {
                out.extend_from_slice(if b { b"\"bv\":true" } else { b"\"bv\":false" });
            }
            Value::Str(s) => {
                out.extend_from_slice(b"\"sv\":");
                write_json_string(s, out);
            }
            Value::Opaque(data) => {
                out.extend_from_slice(b"\"sv\":\"");
                write_base64(data, out);
                out.push(b'"');
            }
            Value::ObjLnk(..) => {
                out.extend_from_slice(b"\"ov\":\"");
                text::encode(value, out);
                out.push(b'"');
            }
        }
        self.out.push(b'}');
        self
    }

    /// Closes the document.
    pub fn finish(self) {
        self.out.extend_from_slice(b"]}");
    }
}

/// The payload is not LwM2M JSON this client accepts (4.00 Bad Request).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct JsonError;

/// One value as it appeared in the document.
#[derive(Clone, Debug, PartialEq)]
pub enum JsonValue<'a> {
    /// `v`: the JSON number's text, read per the resource type later.
    Num(&'a [u8]),
    /// `bv`
    Bool(bool),
    /// `sv`
    Str(Cow<'a, str>),
    /// `ov`
    ObjLnk(u16, u16),
}

/// One decoded entry: the full path and its value.
#[derive(Clone, Debug, PartialEq)]
pub struct JsonEntry<'a> {
    pub path: Path,
    pub value: JsonValue<'a>,
}

impl JsonEntry<'_> {
    /// The value as a resource of type `ty`, or `None` if it does not fit:
    /// `v` → Integer/Time (integral text only) or Float; `bv` → Boolean;
    /// `sv` → String, or Opaque (base64, decoded into `scratch`); `ov` →
    /// Objlnk.
    pub fn value<'b>(&'b self, ty: ResourceType, scratch: &'b mut Vec<u8>) -> Option<Value<'b>> {
        match (&self.value, ty) {
            (JsonValue::Num(t), ResourceType::Int) => text::parse_i64(t).map(Value::Int),
            (JsonValue::Num(t), ResourceType::Time) => text::parse_i64(t).map(Value::Time),
            (JsonValue::Num(t), ResourceType::Float) => float::parse_f64(t).map(Value::Float),
            (JsonValue::Bool(b), ResourceType::Bool) => Some(Value::Bool(*b)),
            (JsonValue::Str(s), ResourceType::Str) => Some(Value::Str(s)),
            (JsonValue::Str(s), ResourceType::Opaque) => {
                scratch.clear();
                read_base64(s.as_bytes(), scratch)?;
                Some(Value::Opaque(scratch))
            }
            (JsonValue::ObjLnk(o, i), ResourceType::ObjLnk) => Some(Value::ObjLnk(*o, *i)),
            _ => None,
        }
    }
}

struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

type Res<T> = Result<T, JsonError>;

impl<'a> Cursor<'a> {
    /// The bytes from `start` to the cursor (`get`, not indexing: no panic path).
    fn span(&self, start: usize) -> &'a [u8] {
        self.b.get(start..self.i).unwrap_or_default()
    }

    /// Next byte, consumed.
    fn next(&mut self) -> Res<u8> {
        let c = *self.b.get(self.i).ok_or(JsonError)?;
        self.i += 1;
        Ok(c)
    }

    /// Next non-white-space byte, not consumed.
    fn peek(&mut self) -> Option<u8> {
        while let Some(&c) = self.b.get(self.i) {
            if !matches!(c, b' ' | b'\t' | b'\n' | b'\r') {
                return Some(c);
            }
            self.i += 1;
        }
        None
    }

    fn eat(&mut self, c: u8) -> Res<()> {
        if self.peek() == Some(c) {
            self.i += 1;
            Ok(())
        } else {
            Err(JsonError)
        }
    }

    /// The elements of an object (`{` … `}`, `member` reads one value after
    /// its key and `:`) or of an array (`[` … `]`, `member` reads one
    /// element, the key is empty). Empty ones are fine.
    fn elements(&mut self, object: bool, member: &mut dyn FnMut(&mut Self, &str) -> Res<()>) -> Res<()> {
        let (open, close) = if object { (b'{', b'}') } else { (b'[', b']') };
        self.eat(open)?;
        if self.peek() == Some(close) {
            self.i += 1;
            return Ok(());
        }
        loop {
            if object {
                let key = self.string()?;
                self.eat(b':')?;
                member(self, &key)?;
            } else {
                member(self, "")?;
            }
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(c) if c == close => {
                    self.i += 1;
                    return Ok(());
                }
                _ => return Err(JsonError),
            }
        }
    }

    fn hex4(&mut self) -> Res<u32> {
        let mut v = 0;
        for _ in 0..4 {
            v = v * 16 + (self.next()? as char).to_digit(16).ok_or(JsonError)?;
        }
        Ok(v)
    }

    /// A JSON string (RFC 8259 §7), borrowed unless it has escapes. The
    /// bytes are checked as UTF-8 once, at the end: runs of raw bytes end
    /// only at ASCII bytes and escapes add whole characters, so that is the
    /// same as checking each run.
    fn string(&mut self) -> Res<Cow<'a, str>> {
        self.eat(b'"')?;
        let start = self.i;
        let mut owned: Option<Vec<u8>> = None;
        loop {
            let c = self.next()?;
            match c {
                b'"' => break,
                0..=0x1f => return Err(JsonError),
                b'\\' => {
                    let buf = match owned.as_mut() {
                        Some(buf) => buf,
                        None => owned.insert(self.b.get(start..self.i - 1).unwrap_or_default().to_vec()),
                    };
                    let code = match self.next()? {
                        b'"' => '"' as u32,
                        b'\\' => '\\' as u32,
                        b'/' => '/' as u32,
                        b'b' => 0x8,
                        b'f' => 0xc,
                        b'n' => b'\n' as u32,
                        b'r' => b'\r' as u32,
                        b't' => b'\t' as u32,
                        b'u' => {
                            let hi = self.hex4()?;
                            if (0xd800..0xdc00).contains(&hi) {
                                if self.next()? != b'\\' || self.next()? != b'u' {
                                    return Err(JsonError);
                                }
                                let lo = self.hex4()?;
                                if !(0xdc00..0xe000).contains(&lo) {
                                    return Err(JsonError);
                                }
                                0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00)
                            } else {
                                hi
                            }
                        }
                        _ => return Err(JsonError),
                    };
                    let ch = char::from_u32(code).ok_or(JsonError)?;
                    buf.extend_from_slice(ch.encode_utf8(&mut [0; 4]).as_bytes());
                }
                _ => {
                    if let Some(buf) = owned.as_mut() {
                        buf.push(c);
                    }
                }
            }
        }
        match owned {
            Some(buf) => String::from_utf8(buf).map(Cow::Owned).map_err(|_| JsonError),
            None => core::str::from_utf8(self.b.get(start..self.i - 1).unwrap_or_default())
                .map(Cow::Borrowed)
                .map_err(|_| JsonError),
        }
    }

    /// A JSON number (RFC 8259 §6), returned as its text.
    fn number(&mut self) -> Res<&'a [u8]> {
        self.peek();
        let start = self.i;
        if self.b.get(self.i) == Some(&b'-') {
            self.i += 1;
        }
        let int_start = self.i;
        let int_digits = self.digits()?;
        if int_digits > 1 && self.b.get(int_start) == Some(&b'0') {
            return Err(JsonError);
        }
        if self.b.get(self.i) == Some(&b'.') {
            self.i += 1;
            self.digits()?;
        }
        if matches!(self.b.get(self.i), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.b.get(self.i), Some(b'+' | b'-')) {
                self.i += 1;
            }
            self.digits()?;
        }
        Ok(self.span(start))
    }

    /// One or more ASCII digits; how many.
    fn digits(&mut self) -> Res<usize> {
        let start = self.i;
        while self.b.get(self.i).is_some_and(u8::is_ascii_digit) {
            self.i += 1;
        }
        match self.i - start {
            0 => Err(JsonError),
            n => Ok(n),
        }
    }

    fn literal(&mut self, word: &[u8]) -> bool {
        if self.b.get(self.i..).is_some_and(|rest| rest.starts_with(word)) {
            self.i += word.len();
            true
        } else {
            false
        }
    }

    fn boolean(&mut self) -> Res<bool> {
        self.peek();
        if self.literal(b"true") {
            Ok(true)
        } else if self.literal(b"false") {
            Ok(false)
        } else {
            Err(JsonError)
        }
    }

    /// Skips a string, number, `true`, `false` or `null`.
    fn skip_scalar(&mut self) -> Res<()> {
        match self.peek() {
            Some(b'"') => self.string().map(drop),
            Some(b't' | b'f') => self.boolean().map(drop),
            Some(b'n') if self.literal(b"null") => Ok(()),
            _ => self.number().map(drop),
        }
    }
}

/// Builds the path `bn` + `n`: must start with `/`; one trailing `/` is
/// dropped.
fn full_path(bn: &str, n: &str) -> Res<Path> {
    let mut buf = [0u8; MAX_NAME_LEN];
    let len = bn.len() + n.len();
    if len > MAX_NAME_LEN {
        return Err(JsonError);
    }
    for (slot, &c) in buf.iter_mut().zip(bn.as_bytes().iter().chain(n.as_bytes())) {
        *slot = c;
    }
    let mut name = buf.get(..len).and_then(|b| b.strip_prefix(b"/")).ok_or(JsonError)?;
    if let Some(stripped) = name.strip_suffix(b"/") {
        name = stripped;
    }
    if name.is_empty() {
        return Ok(Path::Root);
    }
    Path::parse(name.split(|&c| c == b'/')).map_err(|_| JsonError)
}

/// Reads one entry object `{"n":…, "v"|"bv"|"sv"|"ov":…}`.
fn entry<'a>(c: &mut Cursor<'a>) -> Res<(Cow<'a, str>, JsonValue<'a>)> {
    let mut name = Cow::Borrowed("");
    let mut value = None;
    c.elements(true, &mut |c, key| {
        let v = match key {
            "n" => {
                name = c.string()?;
                return Ok(());
            }
            "v" => JsonValue::Num(c.number()?),
            "bv" => JsonValue::Bool(c.boolean()?),
            "sv" => JsonValue::Str(c.string()?),
            "ov" => match text::decode(c.string()?.as_bytes(), ResourceType::ObjLnk) {
                Some(Value::ObjLnk(o, i)) => JsonValue::ObjLnk(o, i),
                _ => return Err(JsonError),
            },
            _ => return c.skip_scalar(), // "t" and anything unknown
        };
        if value.replace(v).is_some() {
            return Err(JsonError);
        }
        Ok(())
    })?;
    Ok((name, value.ok_or(JsonError)?))
}

/// Reads an LwM2M JSON document into its entries, in document order.
pub fn decode(payload: &[u8]) -> Result<Vec<JsonEntry<'_>>, JsonError> {
    let mut c = Cursor { b: payload, i: 0 };
    let mut bn: Cow<str> = Cow::Borrowed("");
    let mut raw = Vec::new();
    let mut seen_e = false;
    c.elements(true, &mut |c, key| {
        match key {
            "bn" => bn = c.string()?,
            "e" if !seen_e => {
                seen_e = true;
                c.elements(false, &mut |c, _| {
                    if raw.len() == MAX_JSON_ENTRIES {
                        return Err(JsonError);
                    }
                    raw.push(entry(c)?);
                    Ok(())
                })?
            }
            "e" => return Err(JsonError),
            _ => c.skip_scalar()?, // "bt" and anything unknown
        }
        Ok(())
    })?;
    if c.peek().is_some() {
        return Err(JsonError);
    }
    let mut entries = Vec::with_capacity(raw.len());
    for (n, value) in raw {
        entries.push(JsonEntry { path: full_path(&bn, &n)?, value });
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    /// The reader as it was before it was made smaller, kept to check that
    /// the smaller one answers the same on every input (`differential`).
    mod reference {
        use super::super::*;

        pub struct Cursor<'a> {
            b: &'a [u8],
            i: usize,
        }

        type Res<T> = Result<T, JsonError>;

        impl<'a> Cursor<'a> {
            /// The bytes from `start` to the cursor (`get`, not indexing: no panic path).
            fn span(&self, start: usize) -> &'a [u8] {
                self.b.get(start..self.i).unwrap_or_default()
            }

            /// Next non-white-space byte, not consumed.
            fn peek(&mut self) -> Option<u8> {
                while let Some(&c) = self.b.get(self.i) {
                    if !matches!(c, b' ' | b'\t' | b'\n' | b'\r') {
                        return Some(c);
                    }
                    self.i += 1;
                }
                None
            }

            fn eat(&mut self, c: u8) -> Res<()> {
                if self.peek() == Some(c) {
                    self.i += 1;
                    Ok(())
                } else {
                    Err(JsonError)
                }
            }

            /// After an element of an object or array: true if another follows
            /// (`,`), false at the closing `close`.
            fn more(&mut self, close: u8) -> Res<bool> {
                match self.peek() {
                    Some(b',') => {
                        self.i += 1;
                        Ok(true)
                    }
                    Some(c) if c == close => {
                        self.i += 1;
                        Ok(false)
                    }
                    _ => Err(JsonError),
                }
            }

            fn hex4(&mut self) -> Res<u32> {
                let digits = self.b.get(self.i..self.i + 4).ok_or(JsonError)?;
                self.i += 4;
                let mut v = 0;
                for &c in digits {
                    v = v * 16 + (c as char).to_digit(16).ok_or(JsonError)?;
                }
                Ok(v)
            }

            /// A JSON string (RFC 8259 §7), borrowed unless it has escapes.
            fn string(&mut self) -> Res<Cow<'a, str>> {
                self.eat(b'"')?;
                let start = self.i;
                let mut owned: Option<String> = None;
                loop {
                    let c = *self.b.get(self.i).ok_or(JsonError)?;
                    match c {
                        b'"' => {
                            let raw = self.span(start);
                            self.i += 1;
                            return match owned {
                                Some(s) => Ok(Cow::Owned(s)),
                                None => core::str::from_utf8(raw).map(Cow::Borrowed).map_err(|_| JsonError),
                            };
                        }
                        0..=0x1f => return Err(JsonError),
                        b'\\' => {
                            let s = match owned.as_mut() {
                                Some(s) => s,
                                None => {
                                    let prefix = core::str::from_utf8(self.span(start)).map_err(|_| JsonError)?;
                                    owned.insert(String::from(prefix))
                                }
                            };
                            self.i += 1;
                            let e = *self.b.get(self.i).ok_or(JsonError)?;
                            self.i += 1;
                            let ch = match e {
                                b'"' => '"',
                                b'\\' => '\\',
                                b'/' => '/',
                                b'b' => '\u{8}',
                                b'f' => '\u{c}',
                                b'n' => '\n',
                                b'r' => '\r',
                                b't' => '\t',
                                b'u' => {
                                    let hi = self.hex4()?;
                                    let code = if (0xd800..0xdc00).contains(&hi) {
                                        if self.b.get(self.i..self.i + 2) != Some(b"\\u") {
                                            return Err(JsonError);
                                        }
                                        self.i += 2;
                                        let lo = self.hex4()?;
                                        if !(0xdc00..0xe000).contains(&lo) {
                                            return Err(JsonError);
                                        }
                                        0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00)
                                    } else {
                                        hi
                                    };
                                    char::from_u32(code).ok_or(JsonError)?
                                }
                                _ => return Err(JsonError),
                            };
                            s.push(ch);
                        }
                        _ => {
                            // copy a run of plain bytes (validated as UTF-8 as a whole)
                            let run_start = self.i;
                            while let Some(&c) = self.b.get(self.i) {
                                if c == b'"' || c == b'\\' || c < 0x20 {
                                    break;
                                }
                                self.i += 1;
                            }
                            if let Some(s) = owned.as_mut() {
                                s.push_str(core::str::from_utf8(self.span(run_start)).map_err(|_| JsonError)?);
                            }
                        }
                    }
                }
            }

            /// A JSON number (RFC 8259 §6), returned as its text.
            fn number(&mut self) -> Res<&'a [u8]> {
                self.peek();
                let start = self.i;
                let digits = |c: &mut Cursor| {
                    let s = c.i;
                    while c.b.get(c.i).is_some_and(u8::is_ascii_digit) {
                        c.i += 1;
                    }
                    c.i - s
                };
                if self.b.get(self.i) == Some(&b'-') {
                    self.i += 1;
                }
                let int_digits = digits(self);
                if int_digits == 0 || (int_digits > 1 && self.b.get(self.i - int_digits) == Some(&b'0')) {
                    return Err(JsonError);
                }
                if self.b.get(self.i) == Some(&b'.') {
                    self.i += 1;
                    if digits(self) == 0 {
                        return Err(JsonError);
                    }
                }
                if matches!(self.b.get(self.i), Some(b'e' | b'E')) {
                    self.i += 1;
                    if matches!(self.b.get(self.i), Some(b'+' | b'-')) {
                        self.i += 1;
                    }
                    if digits(self) == 0 {
                        return Err(JsonError);
                    }
                }
                Ok(self.span(start))
            }

            fn literal(&mut self, word: &[u8]) -> bool {
                if self.b.get(self.i..).is_some_and(|rest| rest.starts_with(word)) {
                    self.i += word.len();
                    true
                } else {
                    false
                }
            }

            fn boolean(&mut self) -> Res<bool> {
                self.peek();
                if self.literal(b"true") {
                    Ok(true)
                } else if self.literal(b"false") {
                    Ok(false)
                } else {
                    Err(JsonError)
                }
            }

            /// Skips a string, number, `true`, `false` or `null`.
            fn skip_scalar(&mut self) -> Res<()> {
                match self.peek() {
                    Some(b'"') => self.string().map(drop),
                    Some(b't' | b'f') => self.boolean().map(drop),
                    Some(b'n') if self.literal(b"null") => Ok(()),
                    _ => self.number().map(drop),
                }
            }
        }

        /// Builds the path `bn` + `n`: must start with `/`; one trailing `/` is
        /// dropped.
        pub fn full_path(bn: &str, n: &str) -> Res<Path> {
            let mut buf = [0u8; MAX_NAME_LEN];
            let len = bn.len() + n.len();
            if len > MAX_NAME_LEN {
                return Err(JsonError);
            }
            for (slot, &c) in buf.iter_mut().zip(bn.as_bytes().iter().chain(n.as_bytes())) {
                *slot = c;
            }
            let mut name = buf.get(..len).and_then(|b| b.strip_prefix(b"/")).ok_or(JsonError)?;
            if let Some(stripped) = name.strip_suffix(b"/") {
                name = stripped;
            }
            if name.is_empty() {
                return Ok(Path::Root);
            }
            Path::parse(name.split(|&c| c == b'/')).map_err(|_| JsonError)
        }

        /// Reads one entry object `{"n":…, "v"|"bv"|"sv"|"ov":…}`.
        pub fn entry<'a>(c: &mut Cursor<'a>) -> Res<(Cow<'a, str>, JsonValue<'a>)> {
            c.eat(b'{')?;
            let mut name = Cow::Borrowed("");
            let mut value = None;
            if c.peek() == Some(b'}') {
                return Err(JsonError);
            }
            loop {
                let key = c.string()?;
                c.eat(b':')?;
                let v = match &*key {
                    "n" => {
                        name = c.string()?;
                        None
                    }
                    "v" => Some(JsonValue::Num(c.number()?)),
                    "bv" => Some(JsonValue::Bool(c.boolean()?)),
                    "sv" => Some(JsonValue::Str(c.string()?)),
                    "ov" => match text::decode(c.string()?.as_bytes(), ResourceType::ObjLnk) {
                        Some(Value::ObjLnk(o, i)) => Some(JsonValue::ObjLnk(o, i)),
                        _ => return Err(JsonError),
                    },
                    _ => {
                        c.skip_scalar()?;
                        None
                    }
                };
                if v.is_some() {
                    if value.is_some() {
                        return Err(JsonError);
                    }
                    value = v;
                }
                if !c.more(b'}')? {
                    break;
                }
            }
            Ok((name, value.ok_or(JsonError)?))
        }

        /// Reads an LwM2M JSON document into its entries, in document order.
        pub fn decode(payload: &[u8]) -> Result<Vec<JsonEntry<'_>>, JsonError> {
            let mut c = Cursor { b: payload, i: 0 };
            let mut bn: Cow<str> = Cow::Borrowed("");
            let mut raw = Vec::new();
            let mut seen_e = false;
            c.eat(b'{')?;
            if c.peek() != Some(b'}') {
                loop {
                    let key = c.string()?;
                    c.eat(b':')?;
                    match &*key {
                        "bn" => bn = c.string()?,
                        "e" if !seen_e => {
                            seen_e = true;
                            c.eat(b'[')?;
                            if c.peek() == Some(b']') {
                                c.i += 1;
                            } else {
                                loop {
                                    if raw.len() == MAX_JSON_ENTRIES {
                                        return Err(JsonError);
                                    }
                                    raw.push(entry(&mut c)?);
                                    if !c.more(b']')? {
                                        break;
                                    }
                                }
                            }
                        }
                        "e" => return Err(JsonError),
                        _ => c.skip_scalar()?, // "bt" and anything unknown
                    }
                    if !c.more(b'}')? {
                        break;
                    }
                }
            } else {
                c.i += 1;
            }
            if c.peek().is_some() {
                return Err(JsonError);
            }
            raw.into_iter()
                .map(|(n, value)| Ok(JsonEntry { path: full_path(&bn, &n)?, value }))
                .collect()
        }

    }

    fn written(base: Path, entries: &[(&[u16], Value)]) -> String {
        let mut out = Vec::new();
        let mut w = JsonWriter::new(&mut out, &base);
        for (name, v) in entries {
            w.entry(name, v);
        }
        w.finish();
        String::from_utf8(out).unwrap()
    }

    /// §6.4.4 example: Read /3/0 in JSON (the same Device instance as the TLV
    /// example of §6.4.3.1).
    const DEVICE_3_0: &str = concat!(
        r#"{"bn":"/3/0/","e":["#,
        r#"{"n":"0","sv":"Open Mobile Alliance"},"#,
        r#"{"n":"1","sv":"Lightweight M2M Client"},"#,
        r#"{"n":"2","sv":"345000123"},"#,
        r#"{"n":"3","sv":"1.0"},"#,
        r#"{"n":"6/0","v":1},"#,
        r#"{"n":"6/1","v":5},"#,
        r#"{"n":"7/0","v":3800},"#,
        r#"{"n":"7/1","v":5000},"#,
        r#"{"n":"8/0","v":125},"#,
        r#"{"n":"8/1","v":900},"#,
        r#"{"n":"9","v":100},"#,
        r#"{"n":"10","v":15},"#,
        r#"{"n":"11/0","v":0},"#,
        r#"{"n":"13","v":1367491215},"#,
        r#"{"n":"14","sv":"+02:00"},"#,
        r#"{"n":"16","sv":"U"}]}"#
    );

    #[test]
    fn writes_spec_device_instance() {
        let s = written(
            Path::Instance(3, 0),
            &[
                (&[0], Value::Str("Open Mobile Alliance")),
                (&[1], Value::Str("Lightweight M2M Client")),
                (&[2], Value::Str("345000123")),
                (&[3], Value::Str("1.0")),
                (&[6, 0], Value::Int(1)),
                (&[6, 1], Value::Int(5)),
                (&[7, 0], Value::Int(3800)),
                (&[7, 1], Value::Int(5000)),
                (&[8, 0], Value::Int(125)),
                (&[8, 1], Value::Int(900)),
                (&[9], Value::Int(100)),
                (&[10], Value::Int(15)),
                (&[11, 0], Value::Int(0)),
                (&[13], Value::Time(1367491215)),
                (&[14], Value::Str("+02:00")),
                (&[16], Value::Str("U")),
            ],
        );
        assert_eq!(s, DEVICE_3_0);
    }

    #[test]
    fn reads_spec_device_instance() {
        let entries = decode(DEVICE_3_0.as_bytes()).unwrap();
        assert_eq!(entries.len(), 16);
        let mut scratch = Vec::new();
        assert_eq!(entries[0].path, Path::Resource(3, 0, 0));
        assert_eq!(entries[0].value(ResourceType::Str, &mut scratch), Some(Value::Str("Open Mobile Alliance")));
        assert_eq!(entries[5].path, Path::ResourceInstance(3, 0, 6, 1));
        assert_eq!(entries[5].value(ResourceType::Int, &mut scratch), Some(Value::Int(5)));
        assert_eq!(entries[13].value(ResourceType::Time, &mut scratch), Some(Value::Time(1367491215)));
        assert_eq!(entries[15].path, Path::Resource(3, 0, 16));
        // wrong type for the value kind
        assert_eq!(entries[0].value(ResourceType::Int, &mut scratch), None);
        assert_eq!(entries[5].value(ResourceType::Str, &mut scratch), None);
    }

    #[test]
    fn other_value_kinds_round_trip() {
        let data = [0u8, 1, 2, 0xfe, 0xff];
        let s = written(
            Path::Instance(1, 0),
            &[
                (&[6], Value::Bool(true)),
                (&[7], Value::Str("a\"b\\c\n\u{1}é")),
                (&[8], Value::Opaque(&data)),
                (&[9], Value::ObjLnk(3, 0)),
                (&[10], Value::Float(-12.5)),
                (&[11], Value::Float(f64::NAN)),
            ],
        );
        assert_eq!(
            s,
            r#"{"bn":"/1/0/","e":[{"n":"6","bv":true},{"n":"7","sv":"a\"b\\c\u000a\u0001é"},{"n":"8","sv":"AAEC/v8="},{"n":"9","ov":"3:0"},{"n":"10","v":-12.5},{"n":"11","v":null}]}"#
        );
        let entries = decode(s.as_bytes()).unwrap_err();
        assert_eq!(entries, JsonError); // null is no value
        let s = s.replace(r#",{"n":"11","v":null}"#, "");
        let entries = decode(s.as_bytes()).unwrap();
        let mut scratch = Vec::new();
        assert_eq!(entries[0].value(ResourceType::Bool, &mut scratch), Some(Value::Bool(true)));
        assert_eq!(entries[1].value(ResourceType::Str, &mut scratch), Some(Value::Str("a\"b\\c\n\u{1}é")));
        assert_eq!(entries[2].value(ResourceType::Opaque, &mut scratch), Some(Value::Opaque(&data)));
        assert_eq!(entries[3].value(ResourceType::ObjLnk, &mut scratch), Some(Value::ObjLnk(3, 0)));
        assert_eq!(entries[4].value(ResourceType::Float, &mut scratch), Some(Value::Float(-12.5)));
    }

    #[test]
    fn base64_lengths() {
        for (data, b64) in [(&b""[..], ""), (b"f", "Zg=="), (b"fo", "Zm8="), (b"foo", "Zm9v"), (b"foob", "Zm9vYg==")] {
            let mut out = Vec::new();
            write_base64(data, &mut out);
            assert_eq!(out, b64.as_bytes());
            let mut back = Vec::new();
            assert_eq!(read_base64(b64.as_bytes(), &mut back), Some(()));
            assert_eq!(back, data);
        }
        let mut back = Vec::new();
        assert_eq!(read_base64(b"Zm8", &mut back), Some(())); // unpadded
        assert_eq!(read_base64(b"Z", &mut Vec::new()), None);
        assert_eq!(read_base64(b"Zm9=", &mut Vec::new()), None); // non-zero pad bits
        assert_eq!(read_base64(b"Zm*v", &mut Vec::new()), None);
    }

    #[test]
    fn reads_member_order_whitespace_and_escapes() {
        let doc = br#" { "e" : [ { "sv" : "x\u00e9\ud83d\ude00\/" , "n" : "14" , "t" : 5 } ] , "bt" : 1.5e3 , "bn" : "/3/0/" } "#;
        let entries = decode(doc).unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].path, Path::Resource(3, 0, 14));
        assert_eq!(entries[0].value, JsonValue::Str(Cow::Owned(String::from("xé😀/"))));
        // no bn: names are absolute; single-resource write with bn only
        let entries = decode(br#"{"e":[{"n":"/1/0/3","v":60}]}"#).unwrap();
        assert_eq!(entries[0].path, Path::Resource(1, 0, 3));
        let entries = decode(br#"{"bn":"/1/0/3","e":[{"v":60}]}"#).unwrap();
        assert_eq!(entries[0].path, Path::Resource(1, 0, 3));
        assert_eq!(decode(br#"{"bn":"/","e":[]}"#).unwrap(), vec![]);
    }

    #[test]
    fn integers_need_integral_text() {
        let entries = decode(br#"{"bn":"/1/0/","e":[{"n":"1","v":86400},{"n":"2","v":1.5},{"n":"3","v":1e3},{"n":"4","v":-0}]}"#).unwrap();
        let mut s = Vec::new();
        assert_eq!(entries[0].value(ResourceType::Int, &mut s), Some(Value::Int(86400)));
        assert_eq!(entries[1].value(ResourceType::Int, &mut s), None);
        assert_eq!(entries[1].value(ResourceType::Float, &mut s), Some(Value::Float(1.5)));
        assert_eq!(entries[2].value(ResourceType::Int, &mut s), None);
        assert_eq!(entries[3].value(ResourceType::Int, &mut s), Some(Value::Int(0)));
    }

    #[test]
    fn refuses_malformed_documents() {
        for bad in [
            &b""[..],
            b"[]",
            b"{",
            br#"{"bn":"/3/0/","e":[{"n":"1"}]}"#,                  // no value
            br#"{"bn":"/3/0/","e":[{"n":"1","v":1,"sv":"x"}]}"#,   // two values
            br#"{"bn":"/3/0/","e":[{}]}"#,
            br#"{"bn":"/3/0/","e":[{"n":"x","v":1}]}"#,            // not a path
            br#"{"bn":"3/0/","e":[{"n":"1","v":1}]}"#,             // no leading /
            br#"{"bn":"/3/0/","e":[{"n":"1/2/3","v":1}]}"#,        // 5 levels
            br#"{"bn":"/3/0/","e":[{"n":"1","v":01}]}"#,           // JSON number grammar
            br#"{"bn":"/3/0/","e":[{"n":"1","v":1.}]}"#,
            br#"{"bn":"/3/0/","e":[{"n":"1","v":+1}]}"#,
            br#"{"bn":"/3/0/","e":[{"n":"1","bv":1}]}"#,
            br#"{"bn":"/3/0/","e":[{"n":"1","ov":"3"}]}"#,
            br#"{"bn":"/3/0/","e":[{"n":"1","sv":"\x"}]}"#,        // bad escape
            br#"{"bn":"/3/0/","e":[{"n":"1","sv":"\ud800"}]}"#,    // lone surrogate
            br#"{"bn":"/3/0/","e":[{"n":"1","sv":"a"}],}"#,        // trailing comma
            br#"{"bn":"/3/0/","e":[{"n":"1","sv":"a"}]} x"#,       // trailing bytes
            br#"{"bn":"/3/0/","e":[],"e":[]}"#,                    // two entry lists
            br#"{"bn":"/3/0/","x":{"y":1},"e":[]}"#,               // nested unknown
            b"{\"bn\":\"/3/0/\",\"e\":[{\"n\":\"1\",\"sv\":\"\xff\"}]}", // not UTF-8
            b"{\"bn\":\"/3/0/\",\"e\":[{\"n\":\"1\",\"sv\":\"a\nb\"}]}",  // raw control char
        ] {
            assert_eq!(decode(bad), Err(JsonError), "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn entry_count_is_bounded() {
        let mut doc = String::from(r#"{"bn":"/3/0/","e":["#);
        for i in 0..=MAX_JSON_ENTRIES {
            if i > 0 {
                doc.push(',');
            }
            doc.push_str(r#"{"n":"1","v":1}"#);
        }
        doc.push_str("]}");
        assert_eq!(decode(doc.as_bytes()), Err(JsonError));
    }

    /// The reader answers exactly as the reference (the larger one it
    /// replaced) on mutated documents: escapes in keys and values,
    /// surrogates, numbers, nesting, truncation, stray bytes.
    #[test]
    fn differential_against_the_reference_reader() {
        let mut state = 0x51ed_270b_27d4_eb2d_u64;
        let mut rng = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let seeds: [&[u8]; 5] = [
            DEVICE_3_0.as_bytes(),
            br#" { "e" : [ { "sv" : "x\u00e9\ud83d\ude00\/" , "n" : "14" , "t" : 5 } ] , "bt" : 1.5e3 , "bn" : "/3/0/" } "#,
            r#"{"bn":"/1/0/","e":[{"n":"6","bv":true},{"n":"7","sv":"a\"b\\c\u000a\u0001é"},{"n":"8","sv":"AAEC/v8="},{"n":"9","ov":"3:0"},{"n":"10","v":-12.5e-3}]}"#.as_bytes(),
            br#"{"\u0062n":"/3/0/","\u0065":[{"\u006e":"1","\u0073v":"\u0041"},{"n":"2\/","v":0}]}"#,
            br#"{"bn":"/","e":[{"n":"3/0/1","v":1},{"n":"/","v":-0.0E+1}],"x":null,"y":false}"#,
        ];
        const ALPHABET: &[u8] = b"{}[]\":,\\/ \t0123456789.-+eEnvbsotrufalu\x00\x1f\x7f\xc3\xa9\xed\xa0\x80\xff";
        let mut accepted = 0;
        for round in 0..60_000 {
            let mut b = seeds[round % seeds.len()].to_vec();
            for _ in 0..1 + rng() % 4 {
                let at = (rng() % (b.len() as u64 + 1)) as usize;
                let c = ALPHABET[(rng() % ALPHABET.len() as u64) as usize];
                match rng() % 3 {
                    0 if at < b.len() => b[at] = c,
                    1 => b.insert(at, c),
                    _ if at < b.len() => {
                        b.remove(at);
                    }
                    _ => {}
                }
            }
            if rng() % 8 == 0 {
                b.truncate((rng() % (b.len() as u64 + 1)) as usize);
            }
            let ours = decode(&b);
            assert_eq!(ours, reference::decode(&b), "{}", String::from_utf8_lossy(&b));
            accepted += ours.is_ok() as u32;
        }
        assert!(accepted > 1000, "mutations too destructive to test much: {accepted}");
    }

    #[test]
    fn random_input_never_panics() {
        let mut state = 0x0abc_def1_2345_6789_u64;
        let mut rng = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        const ALPHABET: &[u8] = b"{}[]\":,\\/ 0123456789.-+eEnvbsotrufalbn\xc3\xa9";
        for round in 0..4000 {
            let input: Vec<u8> = if round % 2 == 0 {
                let len = (rng() % 60) as usize;
                (0..len).map(|_| ALPHABET[(rng() % ALPHABET.len() as u64) as usize]).collect()
            } else {
                let mut b = DEVICE_3_0.as_bytes().to_vec();
                for _ in 0..1 + rng() % 3 {
                    let at = (rng() % b.len() as u64) as usize;
                    b[at] = ALPHABET[(rng() % ALPHABET.len() as u64) as usize];
                }
                b.truncate((rng() % (b.len() as u64 + 1)) as usize);
                b
            };
            if let Ok(entries) = decode(&input) {
                let mut scratch = Vec::new();
                for e in &entries {
                    for ty in [ResourceType::Int, ResourceType::Float, ResourceType::Opaque, ResourceType::Str] {
                        let _ = e.value(ty, &mut scratch);
                    }
                }
            }
        }
    }
}
