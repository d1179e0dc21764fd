//! When a target is scraped: each target gets a fixed phase within its interval, derived from
//! its identity and the server's, so scrapes spread evenly over the interval and keep their
//! phase across restarts and reloads (Prometheus's `scrapeLoop.run` offset).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// 64-bit FNV-1a.
pub fn fnv64a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The per-server seed: hostname and external labels, so two replicas of an HA pair scrape
/// the same target at different phases.
pub fn server_seed(hostname: &str, external_labels: &str) -> u64 {
    let mut s = String::with_capacity(hostname.len() + external_labels.len());
    s.push_str(hostname);
    s.push_str(external_labels);
    fnv64a(s.as_bytes())
}

/// The target's phase: scrapes happen at Unix times `t` with `t mod interval == offset`.
pub fn offset(target_hash: u64, seed: u64, interval: Duration) -> Duration {
    let interval_ns = interval.as_nanos().max(1) as u64;
    Duration::from_nanos((target_hash ^ seed) % interval_ns)
}

/// How long to wait from `now` until the target's first scrape: at most one interval.
pub fn first_wait(now: SystemTime, offset: Duration, interval: Duration) -> Duration {
    let interval_ns = interval.as_nanos().max(1);
    let now_ns = now
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let base = interval_ns - now_ns % interval_ns;
    let mut next = base + offset.as_nanos();
    if next > interval_ns {
        next -= interval_ns;
    }
    Duration::from_nanos(next as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv64a_matches_reference_vectors() {
        assert_eq!(fnv64a(b""), 0xcbf29ce484222325);
        assert_eq!(fnv64a(b"a"), 0xaf63dc4c8601ec8c);
        assert_eq!(fnv64a(b"foobar"), 0x85944171f73967e8);
    }

    #[test]
    fn first_scrape_lands_on_the_targets_phase() {
        let interval = Duration::from_secs(15);
        for hash in [0u64, 1, 12345, u64::MAX, 0xdead_beef_cafe] {
            let off = offset(hash, 42, interval);
            assert!(off < interval);
            for now_ms in [0u64, 1, 14_999, 15_000, 1_700_000_123_456] {
                let now = UNIX_EPOCH + Duration::from_millis(now_ms);
                let wait = first_wait(now, off, interval);
                assert!(wait <= interval, "{wait:?}");
                let at = (now + wait).duration_since(UNIX_EPOCH).unwrap();
                assert_eq!(at.as_nanos() % interval.as_nanos(), off.as_nanos());
            }
        }
    }
}
