//! CoAP (RFC 7252): messages, reliability, Block options (RFC 7959).
