//! Bit-level I/O for the XOR chunk body.
//!
//! Bits are packed **most significant bit first**: the first bit of the stream is bit 7 of its
//! first byte. Unused bits of the last byte are zero.
//!
//! Invariants:
//! - [`BitWriter`] keeps `free` equal to the number of unused low bits of the buffer's last
//!   byte (0 when the stream ends on a byte boundary), and those bits are always zero, so the
//!   buffer is a complete, decodable stream after every write.
//! - [`BitReader`] never reads outside its slice: bits past the end read as zero, and callers
//!   detect truncation by comparing [`BitReader::pos`] with [`BitReader::end`].

/// Appends bits to a byte vector that may already hold a partial last byte.
pub(crate) struct BitWriter<'a> {
    buf: &'a mut Vec<u8>,
    free: &'a mut u8,
}

impl<'a> BitWriter<'a> {
    /// A writer continuing `buf`, whose last byte has `free` unused low bits.
    #[inline]
    pub(crate) fn new(buf: &'a mut Vec<u8>, free: &'a mut u8) -> Self {
        Self { buf, free }
    }

    /// Bit position (from the start of the buffer) where the next bit goes.
    #[inline]
    pub(crate) fn bit_pos(&self) -> usize {
        self.buf.len() * 8 - usize::from(*self.free)
    }

    /// Writes the low `n` bits of `v` (`n <= 64`), most significant first.
    #[inline]
    pub(crate) fn write(&mut self, v: u64, n: u32) {
        debug_assert!(n <= 64);
        if n == 0 {
            return;
        }
        let v = if n == 64 { v } else { v & ((1u64 << n) - 1) };
        let mut n = n;
        let free = u32::from(*self.free);
        if free > 0 {
            // A partial last byte exists because `free > 0`.
            if let Some(last) = self.buf.last_mut() {
                if n <= free {
                    *last |= (v << (free - n)) as u8;
                    *self.free = (free - n) as u8;
                    return;
                }
                *last |= (v >> (n - free)) as u8;
                n -= free;
            }
        }
        // Byte aligned from here: store 8 bytes (a fixed-size copy) and keep the used ones.
        // The shift drops the bits already written into the partial byte.
        let bytes = (v << (64 - n)).to_be_bytes();
        let len = self.buf.len();
        self.buf.extend_from_slice(&bytes);
        let used = n.div_ceil(8);
        self.buf.truncate(len + used as usize);
        *self.free = (used * 8 - n) as u8;
    }

    /// Writes a single bit.
    #[inline]
    pub(crate) fn bit(&mut self, b: bool) {
        self.write(u64::from(b), 1);
    }

    /// Cuts the stream back to `pos` bits, zeroing the unused bits of the new last byte.
    pub(crate) fn truncate(&mut self, pos: usize) {
        let len = pos.div_ceil(8);
        debug_assert!(len <= self.buf.len());
        self.buf.truncate(len);
        let free = (len * 8 - pos) as u8;
        if free > 0 {
            if let Some(last) = self.buf.last_mut() {
                *last &= 0xffu8 << free;
            }
        }
        *self.free = free;
    }
}

/// Reads bits from a byte slice, starting at an arbitrary bit position.
#[derive(Debug, Clone)]
pub(crate) struct BitReader<'a> {
    data: &'a [u8],
    pos: usize,
}

/// Most bits a single [`BitReader::read`] may return (the guaranteed valid width of a peek).
pub(crate) const MAX_READ: u32 = 57;

impl<'a> BitReader<'a> {
    /// A reader over `data` positioned at bit `pos`.
    pub(crate) fn new(data: &'a [u8], pos: usize) -> Self {
        Self { data, pos }
    }

    /// The slice being read.
    #[inline]
    pub(crate) fn data(&self) -> &'a [u8] {
        self.data
    }

    /// Current bit position from the start of the slice.
    #[inline]
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    /// Total number of bits in the slice.
    #[inline]
    pub(crate) fn end(&self) -> usize {
        self.data.len() * 8
    }

    /// Moves forward by `n` bits (may move past the end; see the module docs).
    #[inline]
    pub(crate) fn skip(&mut self, n: u32) {
        self.pos += n as usize;
    }

    /// The next bits, most significant first, without consuming them. At least the top
    /// [`MAX_READ`] bits are valid; bits past the end of the slice are zero.
    #[inline]
    pub(crate) fn peek(&self) -> u64 {
        let i = self.pos >> 3;
        if let Some(b) = self.data.get(i..i + 8) {
            let mut a = [0u8; 8];
            a.copy_from_slice(b);
            u64::from_be_bytes(a) << (self.pos & 7)
        } else {
            self.peek_slow()
        }
    }

    #[cold]
    fn peek_slow(&self) -> u64 {
        let i = self.pos >> 3;
        let mut a = [0u8; 8];
        if let Some(rest) = self.data.get(i..) {
            let n = rest.len().min(8);
            a[..n].copy_from_slice(&rest[..n]);
        }
        u64::from_be_bytes(a) << (self.pos & 7)
    }

    /// Reads `n <= MAX_READ` bits as an unsigned number (0 when `n == 0`).
    #[inline]
    pub(crate) fn read(&mut self, n: u32) -> u64 {
        debug_assert!(n <= MAX_READ);
        let w = self.peek();
        self.pos += n as usize;
        // Two shifts so that n == 0 yields 0 without an out-of-range shift.
        (w >> 1) >> (63 - n)
    }

    /// Reads `n <= 64` bits.
    #[inline]
    pub(crate) fn read_long(&mut self, n: u32) -> u64 {
        if n <= MAX_READ {
            self.read(n)
        } else {
            let hi = self.read(n - 32);
            (hi << 32) | self.read(32)
        }
    }

    /// Reads one bit.
    #[inline]
    pub(crate) fn bit(&mut self) -> bool {
        self.read(1) == 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn bits_round_trip(items in proptest::collection::vec((any::<u64>(), 0u32..=64), 0..100)) {
            let mut buf = Vec::new();
            let mut free = 0u8;
            let mut w = BitWriter::new(&mut buf, &mut free);
            for &(v, n) in &items {
                w.write(v, n);
            }
            let total: usize = items.iter().map(|&(_, n)| n as usize).sum();
            prop_assert_eq!(w.bit_pos(), total);
            prop_assert_eq!(buf.len(), total.div_ceil(8));
            if free > 0 {
                prop_assert_eq!(buf[buf.len() - 1] & ((1u8 << free) - 1), 0);
            }
            let mut r = BitReader::new(&buf, 0);
            for &(v, n) in &items {
                let want = if n == 64 { v } else { v & ((1u64 << n) - 1) };
                prop_assert_eq!(r.read_long(n), want);
            }
            prop_assert_eq!(r.pos(), total);
        }

        #[test]
        fn truncate_then_rewrite(items in proptest::collection::vec((any::<u64>(), 1u32..=64), 1..40), cut in any::<prop::sample::Index>()) {
            let mut buf = Vec::new();
            let mut free = 0u8;
            let mut w = BitWriter::new(&mut buf, &mut free);
            let mut positions = vec![0usize];
            for &(v, n) in &items {
                w.write(v, n);
                positions.push(w.bit_pos());
            }
            let keep = cut.index(items.len());
            w.truncate(positions[keep]);
            for &(v, n) in &items[keep..] {
                w.write(v, n);
            }
            let mut r = BitReader::new(&buf, 0);
            for &(v, n) in &items {
                let want = if n == 64 { v } else { v & ((1u64 << n) - 1) };
                prop_assert_eq!(r.read_long(n), want);
            }
        }
    }

    #[test]
    fn reads_past_end_are_zero() {
        let data = [0xffu8, 0x80];
        let mut r = BitReader::new(&data, 0);
        assert_eq!(r.read(9), 0x1ff);
        assert_eq!(r.read(40), 0);
        assert!(r.pos() > r.end());
    }
}
