//! WAL checkpoints: compacting old segments into a directory holding only what is still needed.
//!
//! This module owns checkpoint directory naming, writing a checkpoint ([`checkpoint`]) and
//! finding the newest one. A checkpoint `checkpoint.<N>` (N = 8 digits) holds, in ordinary
//! segment files (`00000001`, ...), the records of the previous checkpoint and of WAL segments
//! `..= N`, filtered; replay reads it in place of those segments.
//!
//! What must stay true (crash safety):
//! - A directory named `checkpoint.<N>` is always complete: it is written as
//!   `checkpoint.<N>.tmp`, fsynced, and renamed ([`crate::fs::publish_dir`]).
//! - The previous checkpoint and the segments it replaces are deleted only after the new
//!   checkpoint is published. So at every instant, "newest published checkpoint + the WAL
//!   segments numbered after it" replays to the same data.
//! - Records keep their order, so a series record still precedes the samples of that series.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::record::{self, RecordType, RefSample, RefSeries, RefTombstone};
use super::segment::{
    check_contiguous, list_segments, missing_segment, segment_file_name, SegmentReader, SegmentRef,
    SegmentWriter, WalOptions,
};
use crate::error::{DecodeError, Error, Result};
use crate::fs as efs;

/// Prefix of checkpoint directory names.
pub const CHECKPOINT_PREFIX: &str = "checkpoint.";
/// Suffix of a checkpoint directory that is still being written.
const TMP_SUFFIX: &str = ".tmp";

/// Directory name of the checkpoint covering segments `..= n`.
pub fn checkpoint_dir_name(n: u32) -> String {
    format!("{CHECKPOINT_PREFIX}{n:08}")
}

/// The segment number of a published checkpoint directory name (`checkpoint.` + 8 digits).
pub fn parse_checkpoint_name(name: &str) -> Option<u32> {
    name.strip_prefix(CHECKPOINT_PREFIX)
        .and_then(super::segment::parse_segment_name)
}

/// Published checkpoints in `dir`, ascending, and the names of unfinished (`.tmp`) ones.
fn scan_checkpoints(dir: &Path) -> Result<(Vec<u32>, Vec<PathBuf>)> {
    let rd = match fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((Vec::new(), Vec::new())),
        Err(e) => return Err(Error::io("read directory", dir, e)),
    };
    let (mut done, mut tmp) = (Vec::new(), Vec::new());
    for entry in rd {
        let entry = entry.map_err(|e| Error::io("read directory", dir, e))?;
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        if let Some(n) = parse_checkpoint_name(&name) {
            done.push(n);
        } else if name
            .strip_suffix(TMP_SUFFIX)
            .and_then(parse_checkpoint_name)
            .is_some()
        {
            tmp.push(entry.path());
        }
    }
    done.sort_unstable();
    Ok((done, tmp))
}

/// The newest published checkpoint in `dir`, if any.
pub fn last_checkpoint(dir: &Path) -> Result<Option<u32>> {
    Ok(scan_checkpoints(dir)?.0.last().copied())
}

/// Removes unfinished `checkpoint.<N>.tmp` directories left by a crash. Must not run while a
/// [`checkpoint`] is being written into the same directory.
pub fn remove_stray_checkpoints(dir: &Path) -> Result<usize> {
    let (_, tmp) = scan_checkpoints(dir)?;
    for p in &tmp {
        tracing::warn!(dir = %p.display(), "WAL: removing unfinished checkpoint");
        efs::remove_dir_all(p)?;
    }
    Ok(tmp.len())
}

/// The segments of checkpoint `n` in `dir`, checked for gaps.
pub(crate) fn checkpoint_segments(dir: &Path, n: u32) -> Result<Vec<SegmentRef>> {
    let cdir = dir.join(checkpoint_dir_name(n));
    let segs = list_segments(&cdir)?;
    check_contiguous(&cdir, &segs)?;
    Ok(segs
        .into_iter()
        .map(|s| SegmentRef::new(&cdir, s, Some(n)))
        .collect())
}

/// What [`checkpoint`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckpointStats {
    /// The new checkpoint's number (the last segment it covers).
    pub checkpoint: u32,
    /// The new checkpoint directory.
    pub dir: PathBuf,
    /// The previous checkpoint that was folded in, if any.
    pub previous: Option<u32>,
    /// WAL segments read.
    pub segments_read: usize,
    /// Records read (from the previous checkpoint and the segments).
    pub records_read: u64,
    /// Series entries kept / dropped.
    pub series_kept: u64,
    /// Series entries whose ref `keep_series` rejected.
    pub series_dropped: u64,
    /// Samples kept.
    pub samples_kept: u64,
    /// Samples dropped (series not kept, or older than `mint`).
    pub samples_dropped: u64,
    /// Tombstones kept.
    pub tombstones_kept: u64,
    /// Tombstones dropped (series not kept, or ending before `mint`).
    pub tombstones_dropped: u64,
    /// Size of the new checkpoint directory in bytes.
    pub size_bytes: u64,
    /// WAL segment files deleted afterwards.
    pub segments_deleted: usize,
    /// Older checkpoint directories deleted afterwards.
    pub checkpoints_deleted: usize,
}

/// Folds the newest checkpoint and WAL segments `..= upto_segment` of the WAL in `dir` into a
/// new checkpoint `checkpoint.<upto_segment>`, then deletes those segments and older
/// checkpoints.
///
/// The checkpoint keeps, in their original order:
/// - series entries whose ref satisfies `keep_series`;
/// - samples of kept series with `t >= mint`;
/// - tombstones of kept series with `maxt >= mint`.
///
/// `upto_segment` must be older than the newest segment (the one being written; call
/// [`super::Wal::cut_segment`] first to include everything) and newer than the previous
/// checkpoint. Corrupt records (including a segment gap or an unknown record type) abort the
/// checkpoint with an error and change nothing; repair the WAL first (see
/// [`super::WalReplay`]). Crash-safe at every step (see the module docs). Must not run
/// concurrently with another `checkpoint`, [`super::WalReplay::open`] or
/// [`super::Wal::open`] on the same directory.
pub fn checkpoint(
    dir: &Path,
    upto_segment: u32,
    keep_series: &dyn Fn(u64) -> bool,
    mint: i64,
) -> Result<CheckpointStats> {
    let segs = list_segments(dir)?;
    let (checkpoints, _) = scan_checkpoints(dir)?;
    let previous = checkpoints.last().copied();
    let Some(&last) = segs.last() else {
        return Err(Error::InvalidArgument(format!(
            "cannot checkpoint WAL {}: it has no segments",
            dir.display()
        )));
    };
    if upto_segment >= last {
        return Err(Error::InvalidArgument(format!(
            "cannot checkpoint up to WAL segment {upto_segment}: segment {last} is the newest \
             (being written); cut a new segment first"
        )));
    }
    if let Some(p) = previous {
        if p >= upto_segment {
            return Err(Error::InvalidArgument(format!(
                "WAL checkpoint {p} already covers segment {upto_segment}"
            )));
        }
    }
    // The segments to fold in: after the previous checkpoint, up to `upto_segment`, no gaps.
    let to_read: Vec<u32> = segs
        .iter()
        .copied()
        .filter(|&s| previous.is_none_or(|p| s > p) && s <= upto_segment)
        .collect();
    let first = match (previous, to_read.first()) {
        (Some(p), _) => p + 1,
        (None, Some(&f)) => f,
        (None, None) => {
            return Err(Error::InvalidArgument(format!(
                "cannot checkpoint up to WAL segment {upto_segment}: no such segment"
            )))
        }
    };
    if to_read.first() != Some(&first) {
        return Err(missing_segment(dir, first));
    }
    check_contiguous(dir, &to_read)?;
    if to_read.last() != Some(&upto_segment) {
        return Err(missing_segment(dir, upto_segment));
    }

    let mut sources = match previous {
        Some(p) => checkpoint_segments(dir, p)?,
        None => Vec::new(),
    };
    sources.extend(to_read.iter().map(|&s| SegmentRef::new(dir, s, None)));

    let name = checkpoint_dir_name(upto_segment);
    let tmp = dir.join(format!("{name}{TMP_SUFFIX}"));
    let dst = dir.join(&name);
    efs::remove_dir_all(&tmp)?;
    efs::create_dir_all(&tmp)?;
    let mut stats = CheckpointStats {
        checkpoint: upto_segment,
        dir: dst.clone(),
        previous,
        segments_read: to_read.len(),
        ..Default::default()
    };
    if let Err(e) = write_filtered(&tmp, sources, keep_series, mint, &mut stats) {
        let _ = efs::remove_dir_all(&tmp);
        return Err(e);
    }
    efs::publish_dir(&tmp, &dst)?;
    stats.size_bytes = efs::dir_size(&dst);

    // The new checkpoint is durable: what it replaces can go. A crash from here on leaves
    // extra files that replay ignores and the next checkpoint deletes.
    for &s in segs.iter().filter(|&&s| s <= upto_segment) {
        let p = dir.join(segment_file_name(s));
        match fs::remove_file(&p) {
            Ok(()) => stats.segments_deleted += 1,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io("remove", &p, e)),
        }
    }
    for &c in checkpoints.iter().filter(|&&c| c < upto_segment) {
        efs::remove_dir_all(&dir.join(checkpoint_dir_name(c)))?;
        stats.checkpoints_deleted += 1;
    }
    efs::sync_dir(dir)?;
    tracing::info!(
        dir = %dst.display(),
        series = stats.series_kept,
        samples = stats.samples_kept,
        tombstones = stats.tombstones_kept,
        segments_deleted = stats.segments_deleted,
        "WAL checkpoint written"
    );
    Ok(stats)
}

/// Reads `sources`, filters each record and writes the survivors as segments into `out_dir`.
fn write_filtered(
    out_dir: &Path,
    sources: Vec<SegmentRef>,
    keep_series: &dyn Fn(u64) -> bool,
    mint: i64,
    stats: &mut CheckpointStats,
) -> Result<()> {
    let mut w = SegmentWriter::create(out_dir, 1, WalOptions::default())?;
    let mut reader = SegmentReader::new(sources, None);
    let mut series: Vec<RefSeries> = Vec::new();
    let mut samples: Vec<RefSample> = Vec::new();
    let mut tombstones: Vec<RefTombstone> = Vec::new();
    let mut out: Vec<u8> = Vec::new();
    while let Some(rec) = reader.next_record() {
        let rec = rec?;
        stats.records_read += 1;
        let at = |e: DecodeError| -> Error {
            Error::Corruption(e.in_file(rec.file, rec.offset + super::segment::FRAME_HEADER_LEN))
        };
        out.clear();
        match record::record_type(rec.payload).map_err(at)? {
            RecordType::Series => {
                series.clear();
                record::decode_series(rec.payload, &mut series).map_err(at)?;
                let before = series.len() as u64;
                series.retain(|s| keep_series(s.r));
                stats.series_kept += series.len() as u64;
                stats.series_dropped += before - series.len() as u64;
                if !series.is_empty() {
                    record::encode_series(&series, &mut out);
                }
            }
            RecordType::Samples => {
                samples.clear();
                record::decode_samples(rec.payload, &mut samples).map_err(at)?;
                let before = samples.len() as u64;
                samples.retain(|s| s.t >= mint && keep_series(s.r));
                stats.samples_kept += samples.len() as u64;
                stats.samples_dropped += before - samples.len() as u64;
                if !samples.is_empty() {
                    record::encode_samples(&samples, &mut out);
                }
            }
            RecordType::Tombstones => {
                tombstones.clear();
                record::decode_tombstones(rec.payload, &mut tombstones).map_err(at)?;
                let before = tombstones.len() as u64;
                tombstones.retain(|t| t.maxt >= mint && keep_series(t.r));
                stats.tombstones_kept += tombstones.len() as u64;
                stats.tombstones_dropped += before - tombstones.len() as u64;
                if !tombstones.is_empty() {
                    record::encode_tombstones(&tombstones, &mut out);
                }
            }
        }
        if !out.is_empty() {
            w.log(&[&out])?;
        }
    }
    w.sync()
}
