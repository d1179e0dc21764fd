//! Data generators shared by Tidemark's benchmarks.
