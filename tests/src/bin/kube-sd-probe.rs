//! Runs one Kubernetes discoverer in its own process and reports its memory, for the
//! "5,000-pod cluster under 100 MiB" check in `tests/tests/kubernetes_sd.rs`.
//!
//! Environment: `PROBE_API_SERVER`, `PROBE_CA_FILE`, `PROBE_TOKEN_FILE`, `PROBE_ROLE`,
//! `PROBE_EXPECT` (groups with targets to wait for). Prints one line:
//! `groups=N targets=T vm_hwm_kib=H vm_rss_kib=R heap_live_kib=L seconds=S` and exits.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use tidemark_ingest::discovery::kubernetes::{run, KubernetesSdConfig};

/// Counts heap bytes, to tell live data from allocator overhead.
#[global_allocator]
static GLOBAL: &stats_alloc::StatsAlloc<std::alloc::System> = &stats_alloc::INSTRUMENTED_SYSTEM;

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set"))
}

fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn main() {
    let yaml = format!(
        "role: {}\napi_server: {}\nbearer_token_file: {}\ntls_config: {{ca_file: {}}}\n",
        env("PROBE_ROLE"),
        env("PROBE_API_SERVER"),
        env("PROBE_TOKEN_FILE"),
        env("PROBE_CA_FILE")
    );
    let expect: usize = env("PROBE_EXPECT")
        .parse()
        .expect("PROBE_EXPECT is a number");
    let cfg: KubernetesSdConfig = serde_yaml::from_str(&yaml).expect("probe config");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let start = Instant::now();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            if let Err(e) = run(cfg, tx).await {
                eprintln!("discoverer failed: {e}");
                std::process::exit(2);
            }
        });
        // Hold the groups as a scrape manager would.
        let mut state = HashMap::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
        while state
            .values()
            .filter(|g: &&tidemark_ingest::discovery::TargetGroup| !g.targets.is_empty())
            .count()
            < expect
        {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(groups)) => {
                    for g in groups {
                        state.insert(g.source.clone(), g);
                    }
                }
                _ => {
                    eprintln!("timed out with {} groups", state.len());
                    std::process::exit(3);
                }
            }
        }
        // Let the watch settle, then measure.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let targets: usize = state.values().map(|g| g.targets.len()).sum();
        println!(
            "groups={} targets={} vm_hwm_kib={} vm_rss_kib={} heap_live_kib={} seconds={:.2}",
            state.len(),
            targets,
            status_kib("VmHWM:"),
            status_kib("VmRSS:"),
            {
                let st = GLOBAL.stats();
                (st.bytes_allocated + st.bytes_reallocated.max(0) as usize)
                    .saturating_sub(st.bytes_deallocated)
                    / 1024
            },
            start.elapsed().as_secs_f64()
        );
        std::process::exit(0);
    });
}
