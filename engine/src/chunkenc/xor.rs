//! The XOR chunk: encoder ([`XorChunk`]) and decoder ([`XorIter`]).
//!
//! The byte format is specified in `engine/docs/format/chunk-xor.md`; the comments here say
//! why the code is shaped the way it is, the spec says what the bits mean.
//!
//! Invariants the encoder keeps after every [`XorChunk::append`]:
//! - `buf` is a complete encoding of every sample appended so far (the header count is
//!   current, unused bits of the last byte are zero, an open run's length field is final for
//!   the samples so far), so [`XorChunk::bytes`] never has to finish anything.
//! - The encoder's adaptive state (`m_t`, `m_v`, value mode, XOR window, reference delta) is
//!   exactly the state the decoder holds after decoding the same samples.
//! - In integer mode the last value is exactly representable at the current scale.
//! - Encoder-only heuristics (shift evidence, scale-search back-off) depend only on the
//!   appended samples, so re-encoding decoded samples reproduces the same bytes.

use super::bstream::{BitReader, BitWriter, MAX_READ};
use crate::error::DecodeError;
use crate::iter::SampleIterator;

/// Most samples one chunk can hold (the header count is a `u16`).
pub const MAX_SAMPLES: usize = u16::MAX as usize;

/// Rice quotients at or above this are not coded in unary; the `QLIM` zero bits are an
/// escape prefix instead.
const QLIM: u32 = 12;
/// Fractional bits of the adaptive means `m_t`/`m_v`.
const EMA_FRAC: u32 = 4;
/// Largest value folded into an adaptive mean (keeps `m` in a `u32` and `k <= 27`).
const Z_CAP: u64 = (1 << 28) - 1;
/// An escaped value moves the value mean at most as if it were `4 * (QLIM << k)`, so that a
/// counter reset does not inflate `k` for many samples while a series whose deltas are large
/// from the start still adapts within a few samples.
const VALUE_ESC_CLAMP: u64 = 4;
/// Longest zero prefix of a run-length field (runs hold fewer than 2^16 samples).
const RUN_MAX_ZEROS: u32 = 15;
/// `lead` value meaning "no XOR window set yet".
const NO_WINDOW: u8 = 0xff;
/// `cand` value meaning "the last value has no known exact scale".
const NO_SCALE: u8 = 0xff;
/// A new allocation leaves at least this many spare bytes, enough for any one sample but the
/// rare worst cases (which then fall back to `Vec`'s own growth).
const MIN_SPARE: usize = 32;

const FLAG_FLOAT: u8 = 1;
const FLAG_MONO: u8 = 2;
const FLAG_TS_ESC: u8 = 4;
const FLAG_RUN_OPEN: u8 = 8;

/// Multiplier of each scale code: 0 = integers, 1..=6 = 2^σ, 7..=15 = 10^(σ-6).
const SCALE_MUL: [f64; 16] = [
    1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9,
];
/// Exact reciprocals of the binary scales (multiplying by them is exact).
const SCALE_INV2: [f64; 7] = [1.0, 0.5, 0.25, 0.125, 0.0625, 0.03125, 0.015625];
/// Integers up to this magnitude are exact in an f64.
const EXACT_INT: f64 = 9_007_199_254_740_992.0; // 2^53
/// Decimal scales only take values with at most 15 significant digits: those are the short
/// decimals that parse to a unique double, while at 16-17 digits most doubles of large
/// magnitude happen to be "exact" at some scale and the integer path would not pay off.
const DECIMAL_LIMIT: f64 = 1e15;

static EMPTY: [u8; 2] = [0, 0];

#[inline]
fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

#[inline]
fn unzigzag(z: u64) -> i64 {
    ((z >> 1) as i64) ^ -((z & 1) as i64)
}

/// Bit length of `z`, at least 1 (the width of a "wide" field).
#[inline]
fn wide_len(z: u64) -> u32 {
    (64 - z.leading_zeros()).max(1)
}

/// The Rice parameter for adaptive mean `m`: floor(log2(mean)), 0 when the mean is below 1.
#[inline]
fn rice_k(m: u32) -> u32 {
    31 - ((m >> EMA_FRAC) | 1).leading_zeros()
}

/// Folds `z` into the adaptive mean with weight 1/4.
#[inline]
fn ema(m: u32, z: u64) -> u32 {
    let z = z.min(Z_CAP) as u32;
    (m - (m >> 2)).saturating_add(z << (EMA_FRAC - 2))
}

/// An adaptive mean initialised to `z`.
#[inline]
fn ema_init(z: u64) -> u32 {
    (z.min(Z_CAP) as u32) << EMA_FRAC
}

/// The value of integer `n` at scale `sigma`. Binary scales multiply by an exact power of
/// two; decimal scales divide (IEEE division is correctly rounded, so the result is the
/// double nearest to n / 10^k, which is what parsing the decimal text gives).
#[inline]
fn to_value(n: i64, sigma: u8) -> f64 {
    let x = n as f64;
    let s = usize::from(sigma & 15);
    if s == 0 {
        x
    } else if s <= 6 {
        x * SCALE_INV2[s]
    } else {
        x / SCALE_MUL[s]
    }
}

/// `x` rounded to the nearest integer, ties away from zero, saturated to the i64 range
/// (NaN gives 0). Written out because `f64::round` is a library call on baseline x86-64.
#[inline]
fn round_i64(x: f64) -> i64 {
    let t = x as i64;
    // Exact: |x - trunc(x)| < 1 is representable whenever |x| < 2^63, and beyond that t
    // saturates and the fraction only pushes further in the saturated direction.
    let frac = x - t as f64;
    if frac >= 0.5 {
        t.saturating_add(1)
    } else if frac <= -0.5 {
        t.saturating_sub(1)
    } else {
        t
    }
}

/// The integer for `v` at scale `sigma` (saturating for values that have none).
#[inline]
fn from_value(v: f64, sigma: u8) -> i64 {
    round_i64(v * SCALE_MUL[usize::from(sigma & 15)])
}

/// `Some(n)` if `v` is exactly `to_value(n, sigma)` with |n| <= 2^53 (10^15 for decimal
/// scales); then also `n == from_value(v, sigma)`.
#[inline]
fn representable(v: f64, sigma: u8) -> Option<i64> {
    let x = v * SCALE_MUL[usize::from(sigma & 15)];
    let limit = if sigma > 6 { DECIMAL_LIMIT } else { EXACT_INT };
    if x.is_nan() || x.abs() > limit {
        return None;
    }
    let n = round_i64(x);
    // Cheap rejection for decimal scales: a value that is a short decimal lands within a
    // few ulps of an integer, anything else is rejected without the division.
    if sigma > 6 && (x - n as f64).abs() > x.abs() * (1.0 / (1u64 << 48) as f64) {
        return None;
    }
    (to_value(n, sigma).to_bits() == v.to_bits()).then_some(n)
}

/// The smallest scale at which `v` is exact: integers, then binary fractions, then decimals.
fn min_scale(v: f64) -> Option<u8> {
    let b = v.to_bits();
    if b == 0 {
        return Some(0);
    }
    let exp = ((b >> 52) & 0x7ff) as i32;
    if exp == 0 || exp == 0x7ff {
        // -0.0, subnormals, infinities and NaNs have no exact scaled integer.
        return None;
    }
    let mant = (b & ((1u64 << 52) - 1)) | (1u64 << 52);
    // Binary exponent of the lowest set bit.
    let low = exp - 1075 + mant.trailing_zeros() as i32;
    if low >= 0 {
        return representable(v, 0).map(|_| 0);
    }
    if low >= -6 {
        let s = (-low) as u8;
        if representable(v, s).is_some() {
            return Some(s);
        }
    }
    (7..=15).find(|&s| representable(v, s).is_some())
}

/// The smallest scale that holds everything scales `a` and `b` hold (binary 2^-s values are
/// also s-digit decimals), if there is one.
fn join_scales(a: u8, b: u8) -> Option<u8> {
    if a == 0 {
        return Some(b);
    }
    if b == 0 {
        return Some(a);
    }
    let (da, db) = (a > 6, b > 6);
    let la = if da { a - 6 } else { a };
    let lb = if db { b - 6 } else { b };
    let l = la.max(lb);
    if !da && !db {
        Some(l)
    } else if l <= 9 {
        Some(l + 6)
    } else {
        None
    }
}

/// Picks the reference delta from the first delta: scrape intervals are round numbers, and
/// rounding away the first sample pair's jitter centres all later residuals on zero.
fn choose_ref_delta(delta: u64) -> u64 {
    if delta >= 1 << 62 {
        // Too large for the reference field; residuals are taken modulo 2^64 anyway.
        return 0;
    }
    for unit in [1000u64, 100, 10] {
        if delta >= unit && delta <= 1 << 50 {
            let r = (delta + unit / 2) / unit * unit;
            if delta.abs_diff(r) <= unit / 50 {
                return r;
            }
        }
    }
    delta
}

/// The reference delta field: `m << 2 | e` for `d_ref = m * 10^e`, `e` as large as possible
/// (up to 3), so round intervals such as 15 000 ms take one byte. `d_ref < 2^62`.
fn encode_ref_delta(d_ref: u64) -> u64 {
    let mut m = d_ref;
    let mut e = 0;
    while e < 3 && m != 0 && m.is_multiple_of(10) {
        m /= 10;
        e += 1;
    }
    (m << 2) | e
}

/// Inverse of [`encode_ref_delta`]; `None` if the result overflows.
fn decode_ref_delta(f: u64) -> Option<u64> {
    (f >> 2).checked_mul([1, 10, 100, 1000][(f & 3) as usize])
}

/// The delta shift implied by the first value's integer `n0`: a first value with at least 8
/// trailing zero bits (4 KiB pages, KiB/MiB multiples) suggests its deltas share them, so
/// they are shifted out from the start (rounded down to a multiple of 4, so that 4096 * odd
/// and 4096 * even pages agree).
fn initial_shift(n0: i64) -> u8 {
    let tz = n0.trailing_zeros();
    if n0 != 0 && tz >= 8 {
        (tz & !3) as u8
    } else {
        0
    }
}

/// An appendable XOR chunk of float samples.
///
/// Holds the encoded bytes plus the encoder's state; `size_of::<XorChunk>()` is 72 bytes on
/// 64-bit targets. See the module docs for the invariants.
#[derive(Clone)]
pub struct XorChunk {
    buf: Vec<u8>,
    /// Last timestamp.
    t: i64,
    /// Reference delta that timestamp residuals are relative to.
    d_ref: u64,
    /// Last value's bits.
    vbits: u64,
    /// Adaptive means of timestamp and value Rice codes.
    m_t: u32,
    m_v: u32,
    /// Bit position of the open run's length field.
    run_pos: u32,
    /// Extra samples in the open run.
    run_len: u16,
    /// Unused low bits of the last byte.
    free: u8,
    /// FLAG_* bits.
    flags: u8,
    /// Integer mode: scale code and delta shift.
    sigma: u8,
    shift: u8,
    /// Float mode: XOR window.
    lead: u8,
    trail: u8,
    /// Encoder heuristic: smallest trailing-zero count of the non-zero deltas since the last
    /// mode change, and how many there were.
    tz_min: u8,
    tz_n: u8,
    /// Encoder heuristic (float mode): smallest exact scale of the last value, and how many
    /// samples have been coded in float mode since entering it (saturating).
    cand: u8,
    miss: u8,
}

impl Default for XorChunk {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for XorChunk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("XorChunk")
            .field("samples", &self.num_samples())
            .field("bytes", &self.buf.len())
            .field("capacity", &self.buf.capacity())
            .finish()
    }
}

impl XorChunk {
    /// An empty chunk. Allocates nothing until the first append.
    pub fn new() -> Self {
        Self {
            buf: Vec::new(),
            t: 0,
            d_ref: 0,
            vbits: 0,
            m_t: 0,
            m_v: 0,
            run_pos: 0,
            run_len: 0,
            free: 0,
            flags: 0,
            sigma: 0,
            shift: 0,
            lead: NO_WINDOW,
            trail: 0,
            tz_min: u8::MAX,
            tz_n: 0,
            cand: NO_SCALE,
            miss: 0,
        }
    }

    /// An empty chunk with room for `bytes` encoded bytes.
    pub fn with_capacity(bytes: usize) -> Self {
        let mut c = Self::new();
        c.buf.reserve_exact(bytes);
        c
    }

    /// Number of samples in the chunk.
    #[inline]
    pub fn num_samples(&self) -> usize {
        match self.buf.get(0..2) {
            Some(b) => usize::from(u16::from_le_bytes([b[0], b[1]])),
            None => 0,
        }
    }

    /// True when the chunk holds [`MAX_SAMPLES`] samples and cannot take another.
    pub fn is_full(&self) -> bool {
        self.num_samples() >= MAX_SAMPLES
    }

    /// The complete encoding of the samples appended so far, decodable by [`XorIter::new`].
    #[inline]
    pub fn bytes(&self) -> &[u8] {
        if self.buf.is_empty() {
            &EMPTY
        } else {
            &self.buf
        }
    }

    /// Heap bytes held by the chunk (its buffer's capacity), for memory accounting.
    pub fn capacity_bytes(&self) -> usize {
        self.buf.capacity()
    }

    /// An iterator over the samples appended so far.
    pub fn iter(&self) -> XorIter<'_> {
        XorIter::new(self.bytes())
    }

    /// Timestamp of the first sample.
    pub fn first_time(&self) -> Option<i64> {
        if self.num_samples() == 0 {
            return None;
        }
        crate::encoding::Decbuf::new(&self.buf[2..])
            .get_varint()
            .ok()
    }

    /// Timestamp of the last sample.
    pub fn last_time(&self) -> Option<i64> {
        (self.num_samples() > 0).then_some(self.t)
    }

    /// Value of the last sample (bit-exact).
    pub fn last_value(&self) -> Option<f64> {
        (self.num_samples() > 0).then_some(f64::from_bits(self.vbits))
    }

    /// Releases spare buffer capacity; call when the chunk is finished (appending afterwards
    /// still works, it just reallocates).
    pub fn shrink_to_fit(&mut self) {
        self.buf.shrink_to_fit();
    }

    /// Rebuilds an appendable chunk from encoded bytes, validating them fully.
    ///
    /// The samples are decoded and appended again, so the result's encoder state is exactly
    /// what appending them one by one gives; for bytes produced by this encoder,
    /// `bytes()` of the result equals `b`.
    pub fn from_bytes(b: &[u8]) -> Result<Self, DecodeError> {
        let n = super::num_samples_in(b)?;
        let mut it = XorIter::new(b);
        let mut c = XorChunk::with_capacity(b.len());
        for _ in 0..n {
            if !it.next() {
                break;
            }
            let (t, v) = it.at();
            c.append(t, v);
        }
        if it.next() {
            return Err(DecodeError::new(
                0,
                "chunk holds more samples than its header states",
            ));
        }
        if let Some(e) = it.err() {
            return Err(e);
        }
        if c.num_samples() != n {
            return Err(DecodeError::new(
                0,
                "chunk holds fewer samples than its header states",
            ));
        }
        Ok(c)
    }

    /// Appends a sample. `t` must be greater than the last appended timestamp (the caller
    /// checks; debug builds assert it).
    ///
    /// # Panics
    /// If the chunk already holds [`MAX_SAMPLES`] samples (check [`XorChunk::is_full`]).
    pub fn append(&mut self, t: i64, v: f64) {
        let count = self.num_samples();
        assert!(
            count < MAX_SAMPLES,
            "XorChunk::append on a full chunk ({MAX_SAMPLES} samples)"
        );
        debug_assert!(
            count == 0 || t > self.t,
            "timestamps must increase: {} after {}",
            t,
            self.t
        );
        let spare = self.buf.capacity() - self.buf.len();
        if spare < MIN_SPARE {
            self.buf.reserve_exact(MIN_SPARE + self.buf.len() / 4);
        }
        if count == 0 {
            self.append_first(t, v);
        } else {
            self.append_next(count, t, v);
        }
        self.t = t;
        self.vbits = v.to_bits();
        let n = (count + 1) as u16;
        self.buf[0..2].copy_from_slice(&n.to_le_bytes());
    }

    fn append_first(&mut self, t: i64, v: f64) {
        let mut e = crate::encoding::Encbuf {
            buf: std::mem::take(&mut self.buf),
        };
        e.put_u16(0);
        e.put_varint(t);
        match min_scale(v).and_then(|s| Some((s, representable(v, s)?))) {
            Some((s, n)) => {
                e.put_uvarint(((zigzag(n) << 4) | u64::from(s)) << 1);
                self.sigma = s;
                self.shift = initial_shift(n);
                self.flags = FLAG_MONO;
            }
            None => {
                e.put_uvarint(1);
                e.put_f64(v);
                self.flags = FLAG_FLOAT;
                self.cand = NO_SCALE;
            }
        }
        self.buf = e.buf;
        self.free = 0;
    }

    fn append_next(&mut self, count: usize, t: i64, v: f64) {
        let delta = (t as u64).wrapping_sub(self.t as u64);
        if count == 1 {
            self.d_ref = choose_ref_delta(delta);
            let mut e = crate::encoding::Encbuf {
                buf: std::mem::take(&mut self.buf),
            };
            e.put_uvarint(encode_ref_delta(self.d_ref));
            self.buf = e.buf;
        }
        let res = delta.wrapping_sub(self.d_ref) as i64;
        let vb = v.to_bits();
        if res == 0 && vb == self.vbits && self.flags & FLAG_RUN_OPEN != 0 {
            // Extend the open run by rewriting its length field at the tail.
            self.run_len += 1;
            let (pos, len) = (self.run_pos as usize, self.run_len);
            let mut w = BitWriter::new(&mut self.buf, &mut self.free);
            w.truncate(pos);
            put_run(&mut w, len);
            return;
        }
        self.flags &= !FLAG_RUN_OPEN;
        let ts_zero = self.put_ts(res, delta);
        let same = if self.flags & FLAG_FLOAT != 0 {
            self.put_value_float(count, v)
        } else {
            self.put_value_int(v)
        };
        if ts_zero && same {
            let mut w = BitWriter::new(&mut self.buf, &mut self.free);
            self.run_pos = w.bit_pos() as u32;
            self.run_len = 0;
            put_run(&mut w, 0);
            self.flags |= FLAG_RUN_OPEN;
        }
    }

    /// Writes the timestamp code; returns true for a non-escaped zero residual.
    fn put_ts(&mut self, res: i64, delta: u64) -> bool {
        let z = zigzag(res);
        let k = rice_k(self.m_t);
        let mut w = BitWriter::new(&mut self.buf, &mut self.free);
        if (z >> k) < u64::from(QLIM) {
            put_rice(&mut w, z, k);
            self.m_t = ema(self.m_t, z);
            self.flags &= !FLAG_TS_ESC;
            z == 0
        } else {
            // Two escapes in a row mean the interval changed: make this delta the reference.
            let reset = self.flags & FLAG_TS_ESC != 0;
            w.write(0, QLIM);
            w.bit(reset);
            put_wide(&mut w, z);
            if reset {
                self.d_ref = delta;
            }
            self.m_t = ema(self.m_t, z.min(u64::from(QLIM) << k));
            self.flags |= FLAG_TS_ESC;
            false
        }
    }

    /// Integer mode value code; returns true if the value is unchanged.
    fn put_value_int(&mut self, v: f64) -> bool {
        let k = rice_k(self.m_v);
        if v.to_bits() == self.vbits {
            put_rice(&mut BitWriter::new(&mut self.buf, &mut self.free), 0, k);
            self.m_v = ema(self.m_v, 0);
            return true;
        }
        let prev = f64::from_bits(self.vbits);
        let s = self.sigma;
        if let Some(n) = representable(v, s) {
            // Both are exact at scale s with |n| <= 2^53, so this cannot overflow, and the
            // bits differ, so d != 0.
            let d = n - from_value(prev, s);
            let tz = d.trailing_zeros() as u8;
            if tz < self.shift {
                self.switch_int(s, tz, d);
                return false;
            }
            self.tz_min = self.tz_min.min(tz);
            self.tz_n = self.tz_n.saturating_add(1);
            if self.tz_n >= 4 && self.tz_min >= self.shift + 3 {
                // Every recent delta is a multiple of a larger power of two (page sizes,
                // byte multiples): shift it out of every later delta.
                self.switch_int(s, self.tz_min, d);
                return false;
            }
            let dp = d >> self.shift;
            let mut w = BitWriter::new(&mut self.buf, &mut self.free);
            let mono = self.flags & FLAG_MONO != 0;
            let z = if mono { dp as u64 } else { zigzag(dp) };
            if (!mono || dp >= 0) && (z >> k) < u64::from(QLIM) {
                put_rice(&mut w, z, k);
                self.m_v = ema(self.m_v, z);
            } else {
                w.write(0, QLIM);
                w.bit(false);
                put_wide(&mut w, zigzag(dp));
                if dp < 0 {
                    self.flags &= !FLAG_MONO;
                }
                let z_eq = if self.flags & FLAG_MONO != 0 {
                    dp as u64
                } else {
                    zigzag(dp)
                };
                self.m_v = ema(self.m_v, z_eq.min((u64::from(QLIM) << k) * VALUE_ESC_CLAMP));
            }
            return false;
        }
        // Not exact at the current scale: find a common one, else fall back to XOR.
        let cv = min_scale(v);
        if let Some((s2, d)) = cv
            .and_then(|cv| {
                common_delta(prev, v, join_scales(s, cv)?)
                    .or_else(|| common_delta(prev, v, join_scales(min_scale(prev)?, cv)?))
            })
            .filter(|&(_, d)| int_pays_off(d, self.vbits ^ v.to_bits()))
        {
            self.switch_int(s2, 0, d);
        } else {
            let mut w = BitWriter::new(&mut self.buf, &mut self.free);
            w.write(0, QLIM);
            w.bit(true);
            w.bit(false);
            let (lead, trail) = put_window(&mut w, self.vbits ^ v.to_bits());
            self.lead = lead;
            self.trail = trail;
            self.flags |= FLAG_FLOAT;
            self.miss = 0;
            self.cand = cv.unwrap_or(NO_SCALE);
        }
        false
    }

    /// Switches to integer mode at scale `s`, delta shift `shift`; `d` is the current delta
    /// at scale `s` and must be a multiple of 2^shift.
    fn switch_int(&mut self, s: u8, shift: u8, d: i64) {
        let mut w = BitWriter::new(&mut self.buf, &mut self.free);
        if self.flags & FLAG_FLOAT != 0 {
            w.write(0b111, 3);
        } else {
            w.write(0, QLIM);
            w.write(0b11, 2);
        }
        w.write(u64::from(s), 4);
        w.write(u64::from(shift), 6);
        let dp = d >> shift;
        put_wide(&mut w, zigzag(dp));
        let mono = dp >= 0;
        self.m_v = ema_init(if mono { dp as u64 } else { zigzag(dp) });
        self.flags = (self.flags & !(FLAG_FLOAT | FLAG_MONO)) | if mono { FLAG_MONO } else { 0 };
        self.sigma = s;
        self.shift = shift;
        self.tz_min = u8::MAX;
        self.tz_n = 0;
    }

    /// Float mode value code; returns true if the value is unchanged.
    fn put_value_float(&mut self, count: usize, v: f64) -> bool {
        let vb = v.to_bits();
        let x = self.vbits ^ vb;
        if x == 0 {
            BitWriter::new(&mut self.buf, &mut self.free).bit(false);
            return true;
        }
        let prev = f64::from_bits(self.vbits);
        // The scale search is the expensive part of float mode: after 8 samples without a
        // switch, only search pairs of samples at every 8th position.
        let cv = if self.miss < 8 || count % 8 <= 1 {
            min_scale(v)
        } else {
            None
        };
        if self.cand != NO_SCALE {
            if let Some((s2, d)) = cv
                .and_then(|cv| common_delta(prev, v, join_scales(self.cand, cv)?))
                .filter(|&(_, d)| int_pays_off(d, x))
            {
                self.switch_int(s2, 0, d);
                return false;
            }
        }
        let mut w = BitWriter::new(&mut self.buf, &mut self.free);
        let lz = x.leading_zeros().min(31) as u8;
        let tz = x.trailing_zeros() as u8;
        let reuse = self.lead != NO_WINDOW && lz >= self.lead && tz >= self.trail && {
            // Keep the window unless a fresh one saves more than its 12 extra bits.
            let sig = 64 - u32::from(self.lead) - u32::from(self.trail);
            let fresh = 64 - u32::from(lz) - u32::from(tz);
            2 + sig <= 3 + 11 + fresh
        };
        if reuse {
            let sig = 64 - u32::from(self.lead) - u32::from(self.trail);
            w.write(0b10, 2);
            w.write(x >> self.trail, sig);
        } else {
            w.write(0b110, 3);
            let (lead, trail) = put_window(&mut w, x);
            self.lead = lead;
            self.trail = trail;
        }
        self.miss = self.miss.saturating_add(1);
        self.cand = cv.unwrap_or(NO_SCALE);
        false
    }
}

/// Whether switching to integer mode for delta `d` is worth it: small deltas always are (the
/// switch pays for itself over the next samples); a huge one only if it also beats the XOR
/// code of `x`. Keeps noisy floats that happen to be exact at a fine scale in float mode.
fn int_pays_off(d: i64, x: u64) -> bool {
    let bits = wide_len(zigzag(d));
    bits <= 40 || bits + 24 < 14 + 64 - x.leading_zeros().min(31) - x.trailing_zeros()
}

/// The delta between `prev` and `v` at scale `s`, if both are exact there.
fn common_delta(prev: f64, v: f64, s: u8) -> Option<(u8, i64)> {
    let a = representable(prev, s)?;
    let b = representable(v, s)?;
    Some((s, b - a))
}

/// Rice code of `z` with parameter `k`: `z >> k` zero bits, a one bit, the low `k` bits.
#[inline]
fn put_rice(w: &mut BitWriter<'_>, z: u64, k: u32) {
    let q = (z >> k) as u32;
    debug_assert!(q < QLIM);
    let low = z & ((1u64 << k) - 1);
    w.write((1u64 << k) | low, q + 1 + k);
}

/// A "wide" field: 6 bits `L`, then `z` in `L + 1` bits.
#[inline]
fn put_wide(w: &mut BitWriter<'_>, z: u64) {
    let len = wide_len(z);
    w.write(u64::from(len - 1), 6);
    w.write(z, len);
}

/// Run length field: Exp-Golomb order 0 of `extra + 1`.
#[inline]
fn put_run(w: &mut BitWriter<'_>, extra: u16) {
    let x = u64::from(extra) + 1;
    let nb = 64 - x.leading_zeros();
    w.write(x, 2 * nb - 1);
}

/// A fresh XOR window for non-zero `x`: 5 bits leading zeros, 6 bits significant length
/// (0 = 64), the significant bits. Returns the new (lead, trail).
fn put_window(w: &mut BitWriter<'_>, x: u64) -> (u8, u8) {
    let lz = x.leading_zeros().min(31);
    let tz = x.trailing_zeros();
    let sig = 64 - lz - tz;
    w.write(u64::from(lz), 5);
    w.write(u64::from(sig & 63), 6);
    w.write(x >> tz, sig);
    (lz as u8, tz as u8)
}

const ST_INIT: u8 = 0;
const ST_ACTIVE: u8 = 1;
const ST_DONE: u8 = 2;

/// Decodes an XOR chunk. Never panics: corrupt bytes end the iteration with
/// [`SampleIterator::err`] set (byte offsets are relative to the chunk's first byte).
#[derive(Debug, Clone)]
pub struct XorIter<'a> {
    r: BitReader<'a>,
    /// Samples not yet yielded (including `run_left`).
    left: u32,
    /// Repeats of the current sample still to yield.
    run_left: u32,
    t: i64,
    d_ref: u64,
    /// Integer mode: current scaled integer.
    n: i64,
    /// Float mode: current value bits.
    vbits: u64,
    m_t: u32,
    m_v: u32,
    sigma: u8,
    shift: u8,
    mono: bool,
    float: bool,
    lead: u8,
    trail: u8,
    state: u8,
    err: Option<DecodeError>,
}

impl<'a> XorIter<'a> {
    /// An iterator over the chunk encoded in `bytes`, positioned before the first sample.
    /// Nothing is decoded until the first [`SampleIterator::next`] or
    /// [`SampleIterator::seek`].
    pub fn new(bytes: &'a [u8]) -> Self {
        Self {
            r: BitReader::new(bytes, 0),
            left: 0,
            run_left: 0,
            t: 0,
            d_ref: 0,
            n: 0,
            vbits: 0,
            m_t: 0,
            m_v: 0,
            sigma: 0,
            shift: 0,
            mono: true,
            float: false,
            lead: NO_WINDOW,
            trail: 0,
            state: ST_INIT,
            err: None,
        }
    }

    #[cold]
    fn fail(&mut self, offset: usize, what: &str) -> bool {
        self.err = Some(DecodeError::new(offset as u64, what));
        self.state = ST_DONE;
        false
    }

    #[cold]
    fn fail_at_bit(&mut self, what: &str) -> bool {
        let off = self.r.pos() / 8;
        self.fail(off, what)
    }

    /// Current value's bits.
    #[inline]
    fn value(&self) -> f64 {
        if self.float {
            f64::from_bits(self.vbits)
        } else {
            to_value(self.n, self.sigma)
        }
    }

    fn start(&mut self) -> bool {
        let data = self.r.data();
        let Some(hdr) = data.get(0..2) else {
            return self.fail(0, "chunk shorter than its 2-byte header");
        };
        let count = u32::from(u16::from_le_bytes([hdr[0], hdr[1]]));
        if count == 0 {
            if data.len() != 2 {
                return self.fail(2, "bytes after the header of an empty chunk");
            }
            self.state = ST_DONE;
            return false;
        }
        let mut d = crate::encoding::Decbuf::new(&data[2..]);
        let res = (|| -> Result<(), DecodeError> {
            self.t = d.get_varint()?;
            let at = d.offset();
            let h = d.get_uvarint()?;
            if h == 1 {
                self.vbits = d.get_u64()?;
                self.float = true;
            } else if h & 1 == 0 {
                self.sigma = ((h >> 1) & 15) as u8;
                self.n = unzigzag(h >> 5);
                self.shift = initial_shift(self.n);
                self.float = false;
                self.mono = true;
            } else {
                return Err(DecodeError::new(at as u64, "invalid first-value header"));
            }
            if count >= 2 {
                let at = d.offset();
                self.d_ref = decode_ref_delta(d.get_uvarint()?)
                    .ok_or_else(|| DecodeError::new(at as u64, "reference delta overflows"))?;
            }
            Ok(())
        })();
        if let Err(e) = res {
            return self.fail(e.offset as usize + 2, &e.what);
        }
        self.r = BitReader::new(data, (2 + d.offset()) * 8);
        self.left = count - 1;
        self.state = ST_ACTIVE;
        true
    }

    /// Moves the timestamp forward by `delta`, which must be positive and not overflow.
    #[inline]
    fn advance(&mut self, delta: u64) -> bool {
        match self.t.checked_add_unsigned(delta) {
            Some(t) if delta != 0 => {
                self.t = t;
                true
            }
            _ => self.fail_at_bit("timestamps do not increase or overflow"),
        }
    }

    /// Checks that nothing but zero padding follows the last sample.
    fn finish(&mut self) -> bool {
        let (pos, end) = (self.r.pos(), self.r.end());
        if pos > end {
            return self.fail_at_bit("chunk is truncated");
        }
        if end - pos >= 8 {
            return self.fail(pos.div_ceil(8), "bytes after the last sample");
        }
        if end > pos && self.r.peek() >> (64 - (end - pos)) != 0 {
            return self.fail(pos / 8, "non-zero padding bits");
        }
        self.state = ST_DONE;
        false
    }

    /// Reads a wide field.
    #[inline]
    fn wide(&mut self) -> u64 {
        let len = self.r.read(6) as u32 + 1;
        self.r.read_long(len)
    }

    /// Decodes one sample's codes (not a run repeat). The common case (Rice-coded timestamp
    /// and integer value, both in one 57-bit peek) avoids a second load on the bit
    /// position's dependency chain.
    #[inline]
    fn decode_sample(&mut self) -> bool {
        let w = self.r.peek();
        let q = w.leading_zeros();
        if q >= QLIM {
            return self.decode_sample_general();
        }
        let kt = rice_k(self.m_t);
        let zt = (u64::from(q) << kt) | (((w << (q + 1)) >> 1) >> (63 - kt));
        let c1 = q + 1 + kt;
        self.m_t = ema(self.m_t, zt);
        if !self.advance(self.d_ref.wrapping_add(unzigzag(zt) as u64)) {
            return false;
        }
        if !self.float {
            let w2 = w << c1;
            let q2 = w2.leading_zeros();
            let kv = rice_k(self.m_v);
            let c2 = q2 + 1 + kv;
            if q2 < QLIM && c1 + c2 <= MAX_READ {
                let zv = (u64::from(q2) << kv) | (((w2 << (q2 + 1)) >> 1) >> (63 - kv));
                self.r.skip(c1 + c2);
                self.m_v = ema(self.m_v, zv);
                let dp = if self.mono { zv as i64 } else { unzigzag(zv) };
                self.n = self.n.wrapping_add(dp.wrapping_shl(u32::from(self.shift)));
                return self.finish_sample((zt | zv) == 0);
            }
        }
        self.r.skip(c1);
        self.decode_value(zt == 0)
    }

    /// Decodes a sample whose timestamp code is escaped.
    #[cold]
    fn decode_sample_general(&mut self) -> bool {
        let k = rice_k(self.m_t);
        self.r.skip(QLIM);
        let reset = self.r.bit();
        let z = self.wide();
        self.m_t = ema(self.m_t, z.min(u64::from(QLIM) << k));
        let delta = self.d_ref.wrapping_add(unzigzag(z) as u64);
        if !self.advance(delta) {
            return false;
        }
        if reset {
            self.d_ref = delta;
        }
        self.decode_value(false)
    }

    /// Decodes the value code; `ts_zero` says whether the timestamp residual was a
    /// non-escaped zero.
    #[inline]
    fn decode_value(&mut self, ts_zero: bool) -> bool {
        let same = if self.float {
            self.decode_float()
        } else {
            self.decode_int()
        };
        match same {
            Some(same) => self.finish_sample(ts_zero && same),
            None => false,
        }
    }

    /// Reads the run length field if the sample carries one, and checks for truncation.
    #[inline(always)]
    fn finish_sample(&mut self, run: bool) -> bool {
        if run {
            return self.read_run();
        }
        if self.r.pos() > self.r.end() {
            return self.fail_at_bit("chunk is truncated");
        }
        true
    }

    /// Reads a run length field.
    #[inline(never)]
    fn read_run(&mut self) -> bool {
        let p = self.r.peek().leading_zeros();
        if p > RUN_MAX_ZEROS {
            return self.fail_at_bit("run length field too long");
        }
        let extra = self.r.read(2 * p + 1) - 1;
        if extra > u64::from(self.left) {
            return self.fail_at_bit("run longer than the samples left in the chunk");
        }
        self.run_left = extra as u32;
        if self.r.pos() > self.r.end() {
            return self.fail_at_bit("chunk is truncated");
        }
        true
    }

    /// Integer mode value code; `Some(true)` if the value is unchanged.
    #[inline]
    fn decode_int(&mut self) -> Option<bool> {
        let w = self.r.peek();
        let q = w.leading_zeros();
        let k = rice_k(self.m_v);
        if q < QLIM {
            let z = (u64::from(q) << k) | (((w << (q + 1)) >> 1) >> (63 - k));
            self.r.skip(q + 1 + k);
            self.m_v = ema(self.m_v, z);
            if z == 0 {
                return Some(true);
            }
            let dp = if self.mono { z as i64 } else { unzigzag(z) };
            self.n = self.n.wrapping_add(dp.wrapping_shl(u32::from(self.shift)));
            return Some(false);
        }
        self.r.skip(QLIM);
        if !self.r.bit() {
            let z = self.wide();
            let dp = unzigzag(z);
            if dp < 0 {
                self.mono = false;
            }
            let z_eq = if self.mono { dp as u64 } else { z };
            self.m_v = ema(self.m_v, z_eq.min((u64::from(QLIM) << k) * VALUE_ESC_CLAMP));
            self.n = self.n.wrapping_add(dp.wrapping_shl(u32::from(self.shift)));
            return Some(false);
        }
        let prev = to_value(self.n, self.sigma);
        if self.r.bit() {
            self.switch_int(prev);
        } else {
            let x = self.window()?;
            self.vbits = prev.to_bits() ^ x;
            self.float = true;
        }
        Some(false)
    }

    /// Reads a mode switch's scale, shift and delta; `prev` is the previous value.
    fn switch_int(&mut self, prev: f64) {
        let s = self.r.read(4) as u8;
        let shift = self.r.read(6) as u8;
        let z = self.wide();
        let dp = unzigzag(z);
        self.n = from_value(prev, s).wrapping_add(dp.wrapping_shl(u32::from(shift)));
        self.sigma = s;
        self.shift = shift;
        self.mono = dp >= 0;
        self.m_v = ema_init(if self.mono { dp as u64 } else { z });
        self.float = false;
    }

    /// Reads a fresh XOR window and its bits; returns the XOR value.
    fn window(&mut self) -> Option<u64> {
        let lead = self.r.read(5) as u32;
        let sig = match self.r.read(6) as u32 {
            0 => 64,
            s => s,
        };
        if lead + sig > 64 {
            self.fail_at_bit("XOR window wider than 64 bits");
            return None;
        }
        let trail = 64 - lead - sig;
        self.lead = lead as u8;
        self.trail = trail as u8;
        Some(self.r.read_long(sig) << trail)
    }

    /// Float mode value code; `Some(true)` if the value is unchanged.
    #[inline]
    fn decode_float(&mut self) -> Option<bool> {
        let w = self.r.peek();
        if w >> 63 == 0 {
            self.r.skip(1);
            return Some(true);
        }
        if (w >> 62) & 1 == 0 {
            self.r.skip(2);
            if self.lead == NO_WINDOW {
                self.fail_at_bit("XOR window reused before one was set");
                return None;
            }
            let sig = 64 - u32::from(self.lead) - u32::from(self.trail);
            self.vbits ^= self.r.read_long(sig) << self.trail;
            return Some(false);
        }
        self.r.skip(3);
        if (w >> 61) & 1 == 0 {
            let x = self.window()?;
            self.vbits ^= x;
        } else {
            self.switch_int(f64::from_bits(self.vbits));
        }
        Some(false)
    }
}

impl SampleIterator for XorIter<'_> {
    #[inline]
    fn next(&mut self) -> bool {
        match self.state {
            ST_ACTIVE => {}
            ST_INIT => return self.start(),
            _ => return false,
        }
        if self.left == 0 {
            return self.finish();
        }
        self.left -= 1;
        if self.run_left > 0 {
            self.run_left -= 1;
            return self.advance(self.d_ref);
        }
        self.decode_sample()
    }

    fn seek(&mut self, t: i64) -> bool {
        if self.state == ST_INIT && !self.next() {
            return false;
        }
        loop {
            if self.state != ST_ACTIVE {
                return false;
            }
            if self.t >= t {
                return true;
            }
            if self.run_left > 1 && self.d_ref > 0 {
                // Jump inside a run without stepping: all but the last step needed.
                let need = (i128::from(t) - i128::from(self.t) + i128::from(self.d_ref) - 1)
                    / i128::from(self.d_ref);
                let jump = (need - 1).clamp(0, i128::from(self.run_left) - 1);
                if jump > 0 {
                    let nt = i128::from(self.t) + jump * i128::from(self.d_ref);
                    if nt > i128::from(i64::MAX) {
                        return self.fail_at_bit("timestamps do not increase or overflow");
                    }
                    self.t = nt as i64;
                    self.run_left -= jump as u32;
                    self.left -= jump as u32;
                }
            }
            if !self.next() {
                return false;
            }
        }
    }

    #[inline]
    fn at(&self) -> (i64, f64) {
        (self.t, self.value())
    }

    fn err(&self) -> Option<DecodeError> {
        self.err.clone()
    }
}
