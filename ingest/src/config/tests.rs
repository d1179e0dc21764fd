//! Unit tests of configuration parsing.
use super::*;
