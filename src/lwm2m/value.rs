//! Resource values, typed as in the object definitions
//! (OMA-TS-LightweightM2M-V1_0_2 Appendix C, "Data Types").
//!
//! A `Value` borrows its string and opaque bytes (from the request payload or
//! from the object's storage); nothing here allocates.

/// One resource value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value<'a> {
    /// Integer: signed, up to 64 bits.
    Int(i64),
    Bool(bool),
    /// String: UTF-8.
    Str(&'a str),
    Opaque(&'a [u8]),
    /// Time: Unix time in seconds, signed.
    Time(i64),
    /// Objlnk: Object id, Object Instance id (65535:65535 is the null link).
    ObjLnk(u16, u16),
    Float(f64),
}

/// The data type of a resource in an object definition; `None` for
/// executable resources, which have no value.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ResourceType {
    Int,
    Bool,
    Str,
    Opaque,
    Time,
    ObjLnk,
    Float,
    None,
}

impl Value<'_> {
    /// The data type this value has.
    pub fn resource_type(&self) -> ResourceType {
        match self {
            Value::Int(_) => ResourceType::Int,
            Value::Bool(_) => ResourceType::Bool,
            Value::Str(_) => ResourceType::Str,
            Value::Opaque(_) => ResourceType::Opaque,
            Value::Time(_) => ResourceType::Time,
            Value::ObjLnk(..) => ResourceType::ObjLnk,
            Value::Float(_) => ResourceType::Float,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_its_type() {
        assert_eq!(Value::Int(1).resource_type(), ResourceType::Int);
        assert_eq!(Value::Str("x").resource_type(), ResourceType::Str);
        assert_eq!(Value::ObjLnk(3, 0).resource_type(), ResourceType::ObjLnk);
        assert_eq!(Value::Float(1.5).resource_type(), ResourceType::Float);
    }
}
