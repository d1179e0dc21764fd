//! Block metadata (`meta.json`) (work in progress).
