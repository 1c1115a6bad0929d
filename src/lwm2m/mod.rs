//! LwM2M 1.0 wire level: paths, content formats (OMA-TS-LightweightM2M-V1_0_2 §6.4, §7.4).
pub mod text;
