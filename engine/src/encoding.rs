//! Byte-level encoding helpers shared by every on-disk format.
//!
//! All Tidemark formats are **little-endian**. Variable-length integers are unsigned LEB128
//! (`uvarint`, at most 10 bytes) and zig-zag + LEB128 for signed values (`varint`), the same
//! forms Go's `encoding/binary` uses. [`Decbuf`] never panics: every read is bounds-checked and
//! a failure is a [`DecodeError`] carrying the offset.

use crate::error::DecodeError;

/// An append-only encoding buffer.
#[derive(Debug, Default, Clone)]
pub struct Encbuf {
    /// The encoded bytes.
    pub buf: Vec<u8>,
}

impl Encbuf {
    /// An empty buffer.
    pub fn new() -> Self {
        Self::default()
    }
    /// An empty buffer with room for `n` bytes.
    pub fn with_capacity(n: usize) -> Self {
        Self {
            buf: Vec::with_capacity(n),
        }
    }
    /// Number of bytes written so far.
    pub fn len(&self) -> usize {
        self.buf.len()
    }
    /// True if nothing was written.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
    /// Appends one byte.
    pub fn put_u8(&mut self, v: u8) {
        self.buf.push(v);
    }
    /// Appends a little-endian u16.
    pub fn put_u16(&mut self, v: u16) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    /// Appends a little-endian u32.
    pub fn put_u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    /// Appends a little-endian u64.
    pub fn put_u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    /// Appends a little-endian i64.
    pub fn put_i64(&mut self, v: i64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    /// Appends the raw bits of an f64, little-endian.
    pub fn put_f64(&mut self, v: f64) {
        self.put_u64(v.to_bits());
    }
    /// Appends an unsigned LEB128 varint.
    pub fn put_uvarint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.buf.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.buf.push(v as u8);
    }
    /// Appends a zig-zag signed varint.
    pub fn put_varint(&mut self, v: i64) {
        self.put_uvarint(((v << 1) ^ (v >> 63)) as u64);
    }
    /// Appends a uvarint length followed by the bytes.
    pub fn put_uvarint_bytes(&mut self, b: &[u8]) {
        self.put_uvarint(b.len() as u64);
        self.buf.extend_from_slice(b);
    }
    /// Appends a uvarint length followed by the UTF-8 bytes.
    pub fn put_uvarint_str(&mut self, s: &str) {
        self.put_uvarint_bytes(s.as_bytes());
    }
    /// Appends raw bytes.
    pub fn put_bytes(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(b);
    }
    /// Appends the CRC32 (IEEE, as `crc32fast` computes it) of `self.buf[from..]`.
    pub fn put_crc32_of(&mut self, from: usize) {
        let crc = crc32fast::hash(&self.buf[from..]);
        self.put_u32(crc);
    }
}

/// A bounds-checked reader over a byte slice.
#[derive(Debug, Clone)]
pub struct Decbuf<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Decbuf<'a> {
    /// A reader positioned at the start of `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Self { data, pos: 0 }
    }
    /// Current offset from the start of the slice.
    pub fn offset(&self) -> usize {
        self.pos
    }
    /// Bytes left to read.
    pub fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }
    /// True when everything was read.
    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }
    /// The unread rest of the slice.
    pub fn rest(&self) -> &'a [u8] {
        &self.data[self.pos..]
    }
    fn err(&self, what: &str) -> DecodeError {
        DecodeError::new(self.pos as u64, what)
    }
    /// Takes the next `n` bytes.
    pub fn get_bytes(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if n > self.remaining() {
            return Err(self.err(&format!("need {n} bytes, {} left", self.remaining())));
        }
        let b = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(b)
    }
    fn get_array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let b = self.get_bytes(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(b);
        Ok(a)
    }
    /// Reads one byte.
    pub fn get_u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.get_array::<1>()?[0])
    }
    /// Reads a little-endian u16.
    pub fn get_u16(&mut self) -> Result<u16, DecodeError> {
        Ok(u16::from_le_bytes(self.get_array()?))
    }
    /// Reads a little-endian u32.
    pub fn get_u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(self.get_array()?))
    }
    /// Reads a little-endian u64.
    pub fn get_u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_le_bytes(self.get_array()?))
    }
    /// Reads a little-endian i64.
    pub fn get_i64(&mut self) -> Result<i64, DecodeError> {
        Ok(i64::from_le_bytes(self.get_array()?))
    }
    /// Reads raw f64 bits.
    pub fn get_f64(&mut self) -> Result<f64, DecodeError> {
        Ok(f64::from_bits(self.get_u64()?))
    }
    /// Reads an unsigned LEB128 varint (at most 10 bytes, no overflow).
    pub fn get_uvarint(&mut self) -> Result<u64, DecodeError> {
        let start = self.pos;
        let mut x: u64 = 0;
        let mut shift = 0u32;
        loop {
            let Some(&b) = self.data.get(self.pos) else {
                self.pos = start;
                return Err(self.err("truncated uvarint"));
            };
            self.pos += 1;
            if shift == 63 && b > 1 {
                self.pos = start;
                return Err(self.err("uvarint overflows 64 bits"));
            }
            x |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Ok(x);
            }
            shift += 7;
            if shift > 63 {
                self.pos = start;
                return Err(self.err("uvarint longer than 10 bytes"));
            }
        }
    }
    /// Reads a zig-zag signed varint.
    pub fn get_varint(&mut self) -> Result<i64, DecodeError> {
        let u = self.get_uvarint()?;
        Ok(((u >> 1) as i64) ^ -((u & 1) as i64))
    }
    /// Reads a uvarint that must fit in `usize` and be at most `max`.
    pub fn get_uvarint_len(&mut self, max: usize) -> Result<usize, DecodeError> {
        let v = self.get_uvarint()?;
        if v > max as u64 {
            return Err(self.err(&format!("length {v} exceeds limit {max}")));
        }
        Ok(v as usize)
    }
    /// Reads a uvarint length and that many bytes.
    pub fn get_uvarint_bytes(&mut self) -> Result<&'a [u8], DecodeError> {
        let n = self.get_uvarint_len(self.remaining())?;
        self.get_bytes(n)
    }
    /// Reads a uvarint length and that many bytes, which must be UTF-8.
    pub fn get_uvarint_str(&mut self) -> Result<&'a str, DecodeError> {
        let at = self.pos;
        let b = self.get_uvarint_bytes()?;
        std::str::from_utf8(b).map_err(|_| DecodeError::new(at as u64, "string is not valid UTF-8"))
    }
}

/// Checks that the last 4 bytes of `data` are the little-endian CRC32 of the bytes before them;
/// returns those bytes.
pub fn check_trailing_crc32(data: &[u8]) -> Result<&[u8], DecodeError> {
    if data.len() < 4 {
        return Err(DecodeError::new(0, "too short to hold a CRC32"));
    }
    let (body, crc) = data.split_at(data.len() - 4);
    let want = u32::from_le_bytes([crc[0], crc[1], crc[2], crc[3]]);
    let got = crc32fast::hash(body);
    if want != got {
        return Err(DecodeError::new(
            body.len() as u64,
            format!("CRC32 mismatch: stored {want:#010x}, computed {got:#010x}"),
        ));
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn varints_round_trip(u in any::<u64>(), i in any::<i64>(), s in ".*") {
            let mut e = Encbuf::new();
            e.put_uvarint(u);
            e.put_varint(i);
            e.put_uvarint_str(&s);
            let mut d = Decbuf::new(&e.buf);
            prop_assert_eq!(d.get_uvarint().unwrap(), u);
            prop_assert_eq!(d.get_varint().unwrap(), i);
            prop_assert_eq!(d.get_uvarint_str().unwrap(), s.as_str());
            prop_assert!(d.is_empty());
        }

        #[test]
        fn decoding_never_panics(data in proptest::collection::vec(any::<u8>(), 0..32)) {
            let mut d = Decbuf::new(&data);
            while d.get_uvarint_str().is_ok() {}
            let mut d = Decbuf::new(&data);
            while d.get_varint().is_ok() {}
        }
    }

    #[test]
    fn rejects_overlong_varint() {
        let mut d = Decbuf::new(&[0xff; 11]);
        assert!(d.get_uvarint().is_err());
        assert_eq!(d.offset(), 0);
        let mut d = Decbuf::new(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02]);
        assert!(d.get_uvarint().is_err());
        let mut d = Decbuf::new(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
        assert_eq!(d.get_uvarint().unwrap(), u64::MAX);
    }

    #[test]
    fn crc_check() {
        let mut e = Encbuf::new();
        e.put_bytes(b"hello");
        e.put_crc32_of(0);
        assert_eq!(check_trailing_crc32(&e.buf).unwrap(), b"hello");
        e.buf[1] ^= 1;
        assert!(check_trailing_crc32(&e.buf).is_err());
    }
}
