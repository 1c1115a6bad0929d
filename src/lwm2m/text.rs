//! Plain text content format (LwM2M 1.0 TS §6.4.1, Content-Format 0).

/// Write `v` in decimal into `out` (at least 20 bytes); returns the length.
pub fn fmt_u64(mut v: u64, out: &mut [u8; 20]) -> usize {
    let mut tmp = [0u8; 20];
    let mut n = 0;
    loop {
        tmp[n] = b'0' + (v % 10) as u8;
        n += 1;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    for i in 0..n {
        out[i] = tmp[n - 1 - i];
    }
    n
}
