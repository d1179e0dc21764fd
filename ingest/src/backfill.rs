//! Backfill: import a text-format or OpenMetrics file whose samples carry timestamps into
//! blocks in a data directory, like `promtool tsdb create-blocks-from openmetrics`.
//!
//! The file's time span is cut at 2h block boundaries (aligned to the Unix epoch). Each range
//! is appended to an ephemeral head (no WAL) by one pass over the file, then written as one
//! block, so memory holds one block's samples at a time. A running server loads the new
//! blocks when it next opens its storage.

use std::path::Path;
use std::sync::Arc;

use tidemark_engine::compact::write_head_block;
use tidemark_engine::head::{wall_clock_ms, Head, HeadOptions, MAX_AHEAD_MS};

use crate::exposition::{Entry, Format, Parser, ParserOptions};

/// The block range backfilled blocks are cut at.
pub const BLOCK_RANGE_MS: i64 = 2 * 3_600_000;

/// What a backfill did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BackfillSummary {
    /// Samples read from the file.
    pub samples: u64,
    /// Samples written into blocks.
    pub appended: u64,
    /// Samples rejected (out of order or duplicate within a series).
    pub rejected: u64,
    /// The blocks written: directory name, min time, max time.
    pub blocks: Vec<(String, i64, i64)>,
}

impl std::fmt::Display for BackfillSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "read {} samples, wrote {} into {} blocks, rejected {}",
            self.samples,
            self.appended,
            self.blocks.len(),
            self.rejected
        )?;
        for (name, mint, maxt) in &self.blocks {
            writeln!(f, "  {name}  mint={mint} maxt={maxt}")?;
        }
        Ok(())
    }
}

/// Backfilling failed; nothing partial is left behind except complete blocks already
/// written (each block is written atomically).
#[derive(Debug, thiserror::Error)]
pub enum BackfillError {
    /// The input could not be read.
    #[error("reading {path}: {cause}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        cause: std::io::Error,
    },
    /// The input does not parse.
    #[error("{path}: {cause}")]
    Parse {
        /// The file.
        path: String,
        /// Where and what.
        cause: String,
    },
    /// The storage could not be written.
    #[error("writing blocks: {0}")]
    Storage(#[from] tidemark_engine::Error),
}

/// The format of a backfill file: OpenMetrics when it ends with `# EOF`, text otherwise.
pub fn detect_format(body: &[u8]) -> Format {
    let trimmed = body
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(&body[..0], |i| &body[..=i]);
    if trimmed.ends_with(b"# EOF") {
        Format::OpenMetrics
    } else {
        Format::Text
    }
}

/// Imports `input` into blocks under `data_dir`.
pub fn backfill(input: &Path, data_dir: &Path) -> Result<BackfillSummary, BackfillError> {
    let path = input.display().to_string();
    let body = std::fs::read(input).map_err(|cause| BackfillError::Read {
        path: path.clone(),
        cause,
    })?;
    std::fs::create_dir_all(data_dir).map_err(|cause| BackfillError::Read {
        path: data_dir.display().to_string(),
        cause,
    })?;
    let format = detect_format(&body);
    let parse_err = |cause: String| BackfillError::Parse {
        path: path.clone(),
        cause,
    };

    // Pass 1: validate everything and find the time span.
    let mut summary = BackfillSummary::default();
    let (mut mint, mut maxt) = (i64::MAX, i64::MIN);
    let limit = wall_clock_ms().saturating_add(MAX_AHEAD_MS);
    let mut parser = Parser::new(&body, format, ParserOptions::default());
    while let Some(entry) = parser.next_entry().map_err(|e| parse_err(e.to_string()))? {
        let Entry::Sample(s) = entry else { continue };
        let t = s.timestamp_ms().ok_or_else(|| {
            parse_err(format!(
                "line {}: sample without a timestamp ({}): backfill needs explicit timestamps",
                s.line(),
                String::from_utf8_lossy(s.series())
            ))
        })?;
        s.to_labels().map_err(|e| parse_err(e.to_string()))?;
        // The live head refuses samples more than 10 minutes ahead of the clock (as
        // Prometheus 3.5 does); a block holding them would close the database to every
        // ordinary sample, so the import refuses them too (typically seconds or
        // microseconds where milliseconds belong).
        if t > limit {
            return Err(parse_err(format!(
                "line {}: timestamp {t} of {} is more than 10 minutes in the future (now is {}); timestamps are milliseconds",
                s.line(),
                String::from_utf8_lossy(s.series()),
                limit - MAX_AHEAD_MS
            )));
        }
        summary.samples += 1;
        mint = mint.min(t);
        maxt = maxt.max(t);
    }
    if summary.samples == 0 {
        return Ok(summary);
    }

    // Pass 2..n: one block per 2h range.
    let tmp = tempdir_in(data_dir)?;
    let mut start = mint.div_euclid(BLOCK_RANGE_MS) * BLOCK_RANGE_MS;
    while start <= maxt {
        let end = start.saturating_add(BLOCK_RANGE_MS);
        let chunks_dir = tmp.join(format!("chunks-{start}"));
        let head = Arc::new(Head::new(
            HeadOptions {
                chunk_range: BLOCK_RANGE_MS,
                ..Default::default()
            },
            &chunks_dir,
            None,
        )?);
        let mut app = head.appender();
        let mut parser = Parser::new(&body, format, ParserOptions::default());
        let mut pending = 0u64;
        while let Some(entry) = parser.next_entry().map_err(|e| parse_err(e.to_string()))? {
            let Entry::Sample(s) = entry else { continue };
            let Some(t) = s.timestamp_ms() else { continue };
            if t < start || t >= end {
                continue;
            }
            let labels = s.to_labels().map_err(|e| parse_err(e.to_string()))?;
            match app.append(&labels, t, s.value()) {
                Ok(_) => pending += 1,
                Err(_) => summary.rejected += 1,
            }
            if pending >= 100_000 {
                let stats = app.commit()?;
                summary.appended += stats.appended;
                summary.rejected += stats.rejected.iter().map(|r| r.1).sum::<u64>();
                app = head.appender();
                pending = 0;
            }
        }
        let stats = app.commit()?;
        summary.appended += stats.appended;
        summary.rejected += stats.rejected.iter().map(|r| r.1).sum::<u64>();
        if let Some(block) = write_head_block(&head, data_dir, start, end)? {
            let name = block
                .dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            summary
                .blocks
                .push((name, block.meta.min_time, block.meta.max_time));
        }
        drop(head);
        let _ = std::fs::remove_dir_all(&chunks_dir);
        start = end;
    }
    let _ = std::fs::remove_dir_all(&tmp);
    Ok(summary)
}

fn tempdir_in(dir: &Path) -> Result<std::path::PathBuf, BackfillError> {
    let p = dir.join(format!("backfill-{}.tmp", std::process::id()));
    std::fs::create_dir_all(&p).map_err(|cause| BackfillError::Read {
        path: p.display().to_string(),
        cause,
    })?;
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tidemark_engine::{Db, DbOptions, Matcher, SampleIterator};

    #[test]
    fn openmetrics_file_becomes_blocks_the_db_serves() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in.om");
        let mut body = String::from("# TYPE x counter\n");
        // 5 hours at 1 minute from a 2h boundary (OpenMetrics timestamps are seconds): three
        // 2h ranges.
        for i in 0..300 {
            body.push_str(&format!("x_total{{a=\"b\"}} {i} {}\n", 1_000_800 + i * 60));
        }
        body.push_str("# EOF\n");
        std::fs::write(&input, body).unwrap();
        let data = dir.path().join("data");
        let summary = backfill(&input, &data).unwrap();
        assert_eq!(summary.samples, 300);
        assert_eq!(summary.appended, 300);
        assert_eq!(summary.blocks.len(), 3, "{summary}");
        let db = Db::open(
            &data,
            DbOptions {
                retention_time: None,
                ..Default::default()
            },
        )
        .unwrap();
        let series = db
            .querier(i64::MIN, i64::MAX)
            .select(&[Matcher::equal("__name__", "x_total")])
            .unwrap();
        assert_eq!(series.len(), 1);
        let mut it = series[0].iter();
        let mut n = 0;
        while it.next() {
            n += 1;
        }
        assert_eq!(n, 300);
    }

    #[test]
    fn samples_without_timestamps_are_rejected_naming_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in.prom");
        std::fs::write(&input, "a 1 1000\nb 2\n").unwrap();
        let e = backfill(&input, &dir.path().join("data")).unwrap_err();
        assert!(e.to_string().contains("line 2"), "{e}");
    }

    #[test]
    fn far_future_samples_are_refused_naming_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in.prom");
        let micros = wall_clock_ms() * 1000;
        std::fs::write(&input, format!("a 1 1000\nb 2 {micros}\n")).unwrap();
        let e = backfill(&input, &dir.path().join("data")).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("line 2") && msg.contains("in the future"),
            "{msg}"
        );
        // Within ten minutes of now is fine.
        let soon = wall_clock_ms() + 5 * 60_000;
        let now = wall_clock_ms();
        std::fs::write(&input, format!("a 1 {now}\nb 2 {soon}\n")).unwrap();
        let summary = backfill(&input, &dir.path().join("data2")).unwrap();
        assert_eq!((summary.samples, summary.appended), (2, 2), "{summary}");
    }

    #[test]
    fn malformed_input_names_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("bad.prom");
        std::fs::write(&input, "a 1 1000\nb{ 2 1000\n").unwrap();
        let e = backfill(&input, &dir.path().join("data")).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("bad.prom") && msg.contains('2'), "{msg}");
    }
}
