//! Little-endian bit packing of residues: value `i` of width `w` occupies bits `i·w .. (i+1)·w` of the buffer.

/// Writes values of up to 64 bits into a byte buffer, lowest bits first.
pub struct BitWriter<'a> {
    out: &'a mut [u8],
    position: usize,
    accumulator: u128,
    pending: u32,
}

impl<'a> BitWriter<'a> {
    /// A writer over `out`; bytes not written stay as they are, so the caller passes a zeroed or exact buffer.
    pub fn new(out: &'a mut [u8]) -> Self {
        Self { out, position: 0, accumulator: 0, pending: 0 }
    }

    /// Appends the low `bits` bits of `value`.
    pub fn write(&mut self, value: u64, bits: u32) {
        self.accumulator |= ((value as u128) & ((1u128 << bits) - 1)) << self.pending;
        self.pending += bits;
        while self.pending >= 8 {
            self.out[self.position] = self.accumulator as u8;
            self.position += 1;
            self.accumulator >>= 8;
            self.pending -= 8;
        }
    }
}

impl Drop for BitWriter<'_> {
    /// Flushes the last partial byte.
    fn drop(&mut self) {
        if self.pending > 0 {
            self.out[self.position] = self.accumulator as u8;
        }
    }
}

/// Reads values written by [`BitWriter`]; reading past the end yields zero bits.
pub struct BitReader<'a> {
    bytes: &'a [u8],
    position: usize,
    accumulator: u128,
    available: u32,
}

impl<'a> BitReader<'a> {
    /// A reader over `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, position: 0, accumulator: 0, available: 0 }
    }

    /// The next `bits` bits (`bits ≤ 64`).
    pub fn read(&mut self, bits: u32) -> u64 {
        while self.available < bits {
            let byte = self.bytes.get(self.position).copied().unwrap_or(0);
            self.accumulator |= (byte as u128) << self.available;
            self.position += 1;
            self.available += 8;
        }
        let value = (self.accumulator & ((1u128 << bits) - 1)) as u64;
        self.accumulator >>= bits;
        self.available -= bits;
        value
    }
}

#[cfg(test)]
mod tests {
    extern crate alloc;
    use super::*;
    use alloc::vec;
    use alloc::vec::Vec;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn round_trip(bits in 1u32..=64, values in prop::collection::vec(any::<u64>(), 0..200)) {
            let masked: Vec<u64> = values.iter().map(|v| if bits == 64 { *v } else { v & ((1 << bits) - 1) }).collect();
            let mut buffer = vec![0u8; (masked.len() * bits as usize).div_ceil(8)];
            {
                let mut w = BitWriter::new(&mut buffer);
                masked.iter().for_each(|&v| w.write(v, bits));
            }
            let mut r = BitReader::new(&buffer);
            let back: Vec<u64> = masked.iter().map(|_| r.read(bits)).collect();
            prop_assert_eq!(back, masked);
        }
    }
}
