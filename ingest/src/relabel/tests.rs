//! Relabel table tests.
use super::*;
