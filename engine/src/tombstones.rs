//! Tombstones: deleted time ranges per series (work in progress).
