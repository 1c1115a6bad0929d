//! CoRE link format writer (RFC 6690 §2, Content-Format 40) for the
//! Register/Update payload (OMA-TS-LightweightM2M-V1_0_2 §5.3.1:
//! `</1/0>,</3/0>`) and the Discover response (§5.4.2:
//! `</3/0>;pmin=10,</3/0/1>`).
//!
//! Links are separated by `,`; attributes follow their link as
//! `;name=value`. String values are written as an RFC 6690 quoted-string
//! (`"` and `\` escaped with `\`). Attribute names are the caller's
//! constants and are written unchecked. An attribute before any link is
//! dropped (there is no link for it to belong to).

use super::float;
use super::path::Path;
use super::text;
use alloc::vec::Vec;

/// Appends links to a buffer, inserting `,` between them.
pub struct LinkWriter<'a> {
    out: &'a mut Vec<u8>,
    has_link: bool,
}

impl<'a> LinkWriter<'a> {
    /// Writes after whatever `out` already holds; the first link written by
    /// this writer gets no leading `,`.
    pub fn new(out: &'a mut Vec<u8>) -> Self {
        LinkWriter { out, has_link: false }
    }

    /// Starts a link: `</3/0>` (`</>` for the root).
    pub fn link(&mut self, path: &Path) -> &mut Self {
        if self.has_link {
            self.out.push(b',');
        }
        self.has_link = true;
        self.out.push(b'<');
        path.write(self.out);
        self.out.push(b'>');
        self
    }

    /// Starts an attribute of the current link; false if there is none.
    fn attr_name(&mut self, name: &str) -> bool {
        if !self.has_link {
            return false;
        }
        self.out.push(b';');
        self.out.extend_from_slice(name.as_bytes());
        true
    }

    /// A name-only attribute: `;obs`.
    pub fn attr_flag(&mut self, name: &str) -> &mut Self {
        self.attr_name(name);
        self
    }

    /// `;pmin=10`
    pub fn attr_uint(&mut self, name: &str, v: u64) -> &mut Self {
        if self.attr_name(name) {
            self.out.push(b'=');
            text::write_u64(v, self.out);
        }
        self
    }

    /// `;rt="oma.lwm2m"`
    pub fn attr_str(&mut self, name: &str, v: &str) -> &mut Self {
        if self.attr_name(name) {
            self.out.extend_from_slice(b"=\"");
            for &c in v.as_bytes() {
                if c == b'"' || c == b'\\' {
                    self.out.push(b'\\');
                }
                self.out.push(c);
            }
            self.out.push(b'"');
        }
        self
    }

    /// `;gt=20.5` (shortest round-trip decimal, see [`float::write_f64`]).
    pub fn attr_num(&mut self, name: &str, v: f64) -> &mut Self {
        if self.attr_name(name) {
            self.out.push(b'=');
            float::write_f64(v, self.out);
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(f: impl FnOnce(&mut LinkWriter)) -> alloc::string::String {
        let mut out = Vec::new();
        f(&mut LinkWriter::new(&mut out));
        alloc::string::String::from_utf8(out).unwrap()
    }

    /// §5.3.1: the Register payload lists the Object Instances.
    #[test]
    fn registration_payload() {
        let s = written(|w| {
            w.link(&Path::Instance(1, 0)).link(&Path::Instance(3, 0));
        });
        assert_eq!(s, "</1/0>,</3/0>");
    }

    /// §5.3.1 example with the root link carrying the LwM2M resource type
    /// and the supported content format.
    #[test]
    fn registration_with_root_attributes() {
        let s = written(|w| {
            w.link(&Path::Root).attr_str("rt", "oma.lwm2m").attr_uint("ct", 11542);
            w.link(&Path::Instance(1, 0)).link(&Path::Object(2)).link(&Path::Instance(3, 0));
        });
        assert_eq!(s, "</>;rt=\"oma.lwm2m\";ct=11542,</1/0>,</2>,</3/0>");
    }

    /// §5.4.2 Discover on an Object Instance with attributes.
    #[test]
    fn discover_line_with_attributes() {
        let s = written(|w| {
            w.link(&Path::Instance(3, 0)).attr_uint("pmin", 10).attr_uint("pmax", 60);
            w.link(&Path::Resource(3, 0, 1));
            w.link(&Path::Resource(3, 0, 6)).attr_uint("dim", 2);
            w.link(&Path::Resource(3, 0, 7)).attr_num("gt", 50.5).attr_num("lt", -3.0).attr_num("st", 0.1);
        });
        assert_eq!(s, "</3/0>;pmin=10;pmax=60,</3/0/1>,</3/0/6>;dim=2,</3/0/7>;gt=50.5;lt=-3;st=0.1");
    }

    #[test]
    fn quoted_strings_are_escaped_and_orphan_attributes_dropped() {
        let s = written(|w| {
            w.attr_uint("pmin", 1).attr_str("rt", "x").attr_flag("obs");
            w.link(&Path::Object(3)).attr_str("title", "a\"b\\c").attr_flag("obs");
        });
        assert_eq!(s, "</3>;title=\"a\\\"b\\\\c\";obs");
    }

    #[test]
    fn appends_after_existing_content() {
        let mut out = b"x".to_vec();
        LinkWriter::new(&mut out).link(&Path::Object(1)).link(&Path::Object(2));
        assert_eq!(out, b"x</1>,</2>");
    }
}
