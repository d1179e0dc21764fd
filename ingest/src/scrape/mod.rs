//! The scrape manager and scrape loops.
