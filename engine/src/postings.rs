//! Postings: sets of series ids, and selecting them with label matchers.
//!
//! Series ids inside one index (the head, or one block) are `u32`, and a postings list is a
//! [`RoaringBitmap`]: intersection, union and difference are roaring's set operations.
//! [`IndexLookup`] is the narrow read interface that both the head and a block index
//! implement; matcher evaluation (`postings_for_matchers`) is written once against it.

use roaring::RoaringBitmap;

use crate::error::Result;

/// Read access to an inverted label index, implemented by the head and by block index readers.
pub trait IndexLookup {
    /// All series ids in the index.
    fn all_postings(&self) -> Result<RoaringBitmap>;

    /// Union of the postings of `name="v"` for each `v` in `values`; values that do not occur
    /// are skipped.
    fn postings_for_values(&self, name: &str, values: &[&str]) -> Result<RoaringBitmap>;

    /// Union of the postings of `name="v"` for every value `v` that starts with `prefix` and
    /// for which `pred(v)` is true. Implementations visit only the values with that prefix
    /// (values are kept sorted), so a prefix narrows the scan.
    fn postings_matching(
        &self,
        name: &str,
        prefix: &str,
        pred: &mut dyn FnMut(&str) -> bool,
    ) -> Result<RoaringBitmap>;

    /// The distinct values of label `name`, sorted; empty if the name does not occur.
    fn label_values(&self, name: &str) -> Result<Vec<String>>;

    /// The label names that occur, sorted.
    fn label_names(&self) -> Result<Vec<String>>;
}
