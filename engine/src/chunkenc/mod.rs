//! The Gorilla/XOR chunk codec (owned by the chunk-codec work in progress).
