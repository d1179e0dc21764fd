//! Test helper for the crash tests: opens a database and commits batches forever, printing
//! `committed <batch>` after each successful commit, until it is killed.
//!
//! Usage: `crash-writer DATA_DIR FIRST_BATCH SERIES [fsync]`. Batch `b` holds one sample per
//! series `i` at `t = b * 1000` with value `b * 1_000_000 + i`, so a reader can tell exactly
//! which batches are present.

use std::io::Write;

use tidemark_engine::wal::SyncPolicy;
use tidemark_engine::{labels, Db, DbOptions};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        eprintln!("usage: crash-writer DATA_DIR FIRST_BATCH SERIES [fsync]");
        std::process::exit(2);
    }
    let first: u64 = args[2].parse().expect("FIRST_BATCH");
    let n: u64 = args[3].parse().expect("SERIES");
    let sync = if args.get(4).map(String::as_str) == Some("fsync") {
        SyncPolicy::Always
    } else {
        SyncPolicy::Never
    };
    let opts = DbOptions {
        retention_time: None,
        wal_segment_size: 256 << 10,
        wal_sync: sync,
        ..DbOptions::default()
    };
    let db = Db::open(&args[1], opts).expect("open");
    let names: Vec<_> = (0..n)
        .map(|i| labels!("__name__" => "crash", "i" => i.to_string()))
        .collect();
    let out = std::io::stdout();
    for b in first.. {
        let mut app = db.appender();
        for (i, l) in names.iter().enumerate() {
            app.append(l, b as i64 * 1000, (b * 1_000_000 + i as u64) as f64)
                .expect("append");
        }
        app.commit().expect("commit");
        let mut o = out.lock();
        writeln!(o, "committed {b}").expect("stdout");
        o.flush().expect("flush");
    }
}
