//! Label matchers (work in progress).
