//! Parse + metric relabeling + append + commit throughput of the scrape path on one core,
//! measured in CPU time of the measuring thread (so other work on the machine does not distort
//! it; the wall-clock rate is printed too): a scrape loop's steady state
//! (`SeriesCache::append_body`, one appender commit per scrape) into a real database with the
//! WAL on.
//!
//! Usage: `cargo run --release -p tidemark-benches --bin scrape-throughput -- [SCRAPES]`
//! (default 10,000 scrapes of each body, nine runs each: thread CPU time comes in 10 ms ticks,
//! so a run must last long enough for them not to matter). Prints samples per CPU-second —
//! slowest, median and best run — for the real node-exporter capture and for generated
//! 1,000-sample bodies, each in the text format and as OpenMetrics; `--check` exits non-zero
//! when a median is below 5 M samples/s.

use std::time::{Duration, Instant};

use tidemark_benches::exporter::{append_options, exporter_body, NODE_EXPORTER};
use tidemark_engine::{labels, Db, DbOptions};
use tidemark_ingest::exposition::Format;
use tidemark_ingest::scrape::{AppendOptions, ScrapeCounts, SeriesCache};

/// CPU time of the calling thread (user + system), from `/proc/thread-self/stat`.
fn thread_cpu() -> Result<Duration, String> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").map_err(|e| e.to_string())?;
    let rest = &stat[stat.rfind(')').ok_or("bad stat")? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f[11].parse::<u64>().map_err(|e| e.to_string())?
        + f[12].parse::<u64>().map_err(|e| e.to_string())?;
    // Linux reports these in USER_HZ, 100 on every supported architecture.
    Ok(Duration::from_millis(ticks * 10))
}

/// Samples per CPU-second, and per wall-clock second, of `scrapes` steady-state scrapes of
/// `bodies` into a fresh database.
fn run_once(
    bodies: &[&[u8]],
    format: Format,
    scrapes: usize,
    opts: &AppendOptions,
) -> Result<(f64, f64), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let db = Db::open(dir.path(), DbOptions::default()).map_err(|e| e.to_string())?;
    let target = labels!("job" => "node", "instance" => "10.0.0.1:9100");
    let mut cache = SeriesCache::new();
    let mut t = 1_700_000_000_000i64;
    let mut total = 0u64;
    let mut cpu0 = Duration::ZERO;
    let mut wall0 = Instant::now();
    for i in 0..=scrapes {
        if i == 1 {
            // The first scrape creates the series; measure the steady state.
            cpu0 = thread_cpu()?;
            wall0 = Instant::now();
            total = 0;
        }
        t += 15_000;
        let mut app = db.appender();
        let mut counts = ScrapeCounts::default();
        cache.append_body(
            &mut app,
            bodies[i % bodies.len()],
            format,
            t,
            &target,
            opts,
            &mut counts,
        )?;
        app.commit().map_err(|e| e.to_string())?;
        total += counts.scraped;
    }
    let wall = wall0.elapsed().as_secs_f64();
    let cpu = (thread_cpu()? - cpu0).as_secs_f64().max(0.01);
    Ok((total as f64 / cpu, total as f64 / wall))
}

/// Repeats [`run_once`] `RUNS` times (this kind of machine varies a lot from run to run) and
/// prints the slowest, median and best CPU-time rates and the median wall-clock rate; returns
/// the median CPU-time rate.
fn run(
    name: &str,
    bodies: &[&[u8]],
    format: Format,
    scrapes: usize,
    opts: &AppendOptions,
) -> Result<f64, String> {
    const RUNS: usize = 9;
    let runs = (0..RUNS)
        .map(|_| run_once(bodies, format, scrapes, opts))
        .collect::<Result<Vec<(f64, f64)>, String>>()?;
    let mut rates: Vec<f64> = runs.iter().map(|r| r.0).collect();
    let mut wall: Vec<f64> = runs.iter().map(|r| r.1).collect();
    rates.sort_by(f64::total_cmp);
    wall.sort_by(f64::total_cmp);
    let m = |r: f64| r / 1e6;
    println!(
        "| {name} | {} | {:.2} | {:.2} | {:.2} | {:.2} |",
        scrapes,
        m(rates[0]),
        m(rates[RUNS / 2]),
        m(rates[RUNS - 1]),
        m(wall[RUNS / 2]),
    );
    Ok(rates[RUNS / 2])
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let scrapes: usize = args.iter().find_map(|a| a.parse().ok()).unwrap_or(10_000);
    let opts = append_options();
    let generated: Vec<String> = (1..=32).map(|i| exporter_body(1000, i)).collect();
    let generated: Vec<&[u8]> = generated.iter().map(|b| b.as_bytes()).collect();
    // The same bodies as OpenMetrics (what Prometheus asks for first): plus `# EOF`.
    let om_node =
        String::from_utf8_lossy(NODE_EXPORTER).replace(" untyped\n", " unknown\n") + "# EOF\n";
    let om_generated: Vec<Vec<u8>> = generated
        .iter()
        .map(|b| [b, &b"# EOF\n"[..]].concat())
        .collect();
    let om_generated: Vec<&[u8]> = om_generated.iter().map(|b| b.as_slice()).collect();
    println!(
        "| body | scrapes per run | slowest run (M samples/CPU-s) | median | best | median wall-clock (M samples/s) |"
    );
    println!("|---|---|---|---|---|---|");
    let mut worst = f64::INFINITY;
    for (name, bodies, format) in [
        (
            "node-exporter capture (507 samples)",
            vec![NODE_EXPORTER],
            Format::Text,
        ),
        ("generated, 1,000 samples", generated, Format::Text),
        (
            "node-exporter capture as OpenMetrics",
            vec![om_node.as_bytes()],
            Format::OpenMetrics,
        ),
        (
            "generated as OpenMetrics",
            om_generated,
            Format::OpenMetrics,
        ),
    ] {
        match run(name, &bodies, format, scrapes, &opts) {
            Ok(r) => worst = worst.min(r),
            Err(e) => {
                eprintln!("scrape-throughput: {name}: {e}");
                std::process::exit(1);
            }
        }
    }
    if args.iter().any(|a| a == "--check") && worst < 5e6 {
        eprintln!("scrape-throughput: a median below 5 M samples/s");
        std::process::exit(1);
    }
}
