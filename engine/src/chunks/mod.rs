//! Chunk segment files for blocks and the head (work in progress).
