//! The sample iterator contract, shared by chunk decoders, the head, blocks and the querier.
//!
//! Contract (Prometheus's `chunkenc.Iterator`, minus histograms):
//! - A new iterator is positioned *before* the first sample.
//! - [`SampleIterator::next`] advances by one sample and returns `true` if there is one.
//! - [`SampleIterator::seek`] advances to the first sample with timestamp `>= t` and returns
//!   `true` if there is one. It never moves backwards: if the current sample is already at or
//!   after `t`, it stays. Seeking on a fresh iterator starts from the first sample.
//! - [`SampleIterator::at`] returns the current sample; it is only meaningful after `next` or
//!   `seek` returned `true`.
//! - After `next`/`seek` returned `false`, [`SampleIterator::err`] tells whether the iterator
//!   ended normally (`None`) or because its data was corrupt. Once exhausted, it stays
//!   exhausted.
//! - Timestamps are strictly increasing along an iterator.

use crate::error::DecodeError;

/// A forward iterator over `(timestamp_ms, value)` samples. See the module docs for the
/// contract every implementation follows.
pub trait SampleIterator {
    /// Advances to the next sample.
    fn next(&mut self) -> bool;
    /// Advances to the first sample at or after `t`.
    fn seek(&mut self, t: i64) -> bool;
    /// The current sample.
    fn at(&self) -> (i64, f64);
    /// Why iteration stopped early, if it did.
    fn err(&self) -> Option<DecodeError>;
}

impl<I: SampleIterator + ?Sized> SampleIterator for Box<I> {
    fn next(&mut self) -> bool {
        (**self).next()
    }
    fn seek(&mut self, t: i64) -> bool {
        (**self).seek(t)
    }
    fn at(&self) -> (i64, f64) {
        (**self).at()
    }
    fn err(&self) -> Option<DecodeError> {
        (**self).err()
    }
}

/// Iterates a slice of samples; used by tests and as the model for the contract.
#[derive(Debug, Clone)]
pub struct VecIterator {
    samples: Vec<(i64, f64)>,
    // Index of the current sample + 1; 0 = before the first.
    pos: usize,
}

impl VecIterator {
    /// An iterator over `samples`, which must have strictly increasing timestamps.
    pub fn new(samples: Vec<(i64, f64)>) -> Self {
        Self { samples, pos: 0 }
    }
}

impl SampleIterator for VecIterator {
    fn next(&mut self) -> bool {
        if self.pos <= self.samples.len() {
            self.pos += 1;
        }
        self.pos <= self.samples.len()
    }
    fn seek(&mut self, t: i64) -> bool {
        if self.pos == 0 {
            self.pos = 1;
        }
        while self.pos <= self.samples.len() && self.samples[self.pos - 1].0 < t {
            self.pos += 1;
        }
        self.pos <= self.samples.len()
    }
    fn at(&self) -> (i64, f64) {
        self.samples[self.pos - 1]
    }
    fn err(&self) -> Option<DecodeError> {
        None
    }
}

/// Drains an iterator into a vector, returning the error if it stopped early.
pub fn collect_samples<I: SampleIterator + ?Sized>(
    it: &mut I,
) -> Result<Vec<(i64, f64)>, DecodeError> {
    let mut out = Vec::new();
    while it.next() {
        out.push(it.at());
    }
    match it.err() {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

/// Checks an implementation against the contract with the given strictly increasing samples.
/// Every [`SampleIterator`] implementation runs this in its tests (one conformance suite).
/// `make` must build a fresh iterator over exactly `samples`.
pub fn check_iterator_contract<I: SampleIterator>(
    samples: &[(i64, f64)],
    mut make: impl FnMut() -> I,
) {
    let same = |a: (i64, f64), b: (i64, f64)| a.0 == b.0 && a.1.to_bits() == b.1.to_bits();
    // Plain iteration.
    let mut it = make();
    for &s in samples {
        assert!(it.next(), "next() ended early");
        assert!(same(it.at(), s), "at() = {:?}, want {:?}", it.at(), s);
    }
    assert!(!it.next(), "next() past the end");
    assert!(!it.next(), "exhausted iterator revived");
    assert!(it.err().is_none());
    // Seek to every timestamp, and between timestamps, from fresh iterators.
    for (i, &s) in samples.iter().enumerate() {
        let mut it = make();
        assert!(it.seek(s.0));
        assert!(same(it.at(), s));
        // Seeking backwards or to the current time stays.
        assert!(it.seek(i64::MIN));
        assert!(same(it.at(), s));
        if s.0 > i64::MIN {
            let mut it = make();
            assert!(it.seek(s.0 - 1));
            let want = if i > 0 && samples[i - 1].0 == s.0 - 1 {
                samples[i - 1]
            } else {
                s
            };
            assert!(same(it.at(), want));
        }
        // Continue with next after a seek.
        let mut it = make();
        it.seek(s.0);
        for &rest in &samples[i + 1..] {
            assert!(it.next());
            assert!(same(it.at(), rest));
        }
        assert!(!it.next());
    }
    if let Some(&last) = samples.last() {
        if last.0 < i64::MAX {
            let mut it = make();
            assert!(!it.seek(last.0 + 1), "seek past the end found a sample");
            assert!(!it.next());
        }
    } else {
        assert!(!make().seek(i64::MIN));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vec_iterator_follows_contract() {
        let s = vec![
            (-5, 1.0),
            (0, f64::NAN),
            (1, 2.0),
            (10, -0.0),
            (i64::MAX, 3.0),
        ];
        check_iterator_contract(&s, || VecIterator::new(s.clone()));
        check_iterator_contract(&[], || VecIterator::new(vec![]));
    }
}
