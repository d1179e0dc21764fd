//! PromQL's functions for float samples, as pure functions over points and values (work in
//! progress in a helper's worktree; this placeholder keeps the crate compiling).
