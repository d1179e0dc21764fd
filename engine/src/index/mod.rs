//! The block index file (work in progress).
