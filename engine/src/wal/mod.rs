//! The write-ahead log (work in progress).
