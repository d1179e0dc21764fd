//! Postings selection over an index (work in progress).
