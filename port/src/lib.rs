//! Host port of lwm2m_os.h (placeholder).
