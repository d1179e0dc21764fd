//! The database: a data directory with a lock file, the head (and its WAL and head chunk
//! files), and the persisted blocks; compaction, retention and deletes.
//!
//! Directory layout (compatible in spirit with Prometheus's):
//! ```text
//! <dir>/lock             exclusive lock held while open
//! <dir>/wal/             write-ahead log segments and checkpoint
//! <dir>/chunks_head/     full head chunks, memory-mapped (rebuilt from the WAL at open)
//! <dir>/<ULID>/          immutable blocks
//! <dir>/<ULID>.tmp/      a block being written (removed at open)
//! <dir>/corrupted/       blocks set aside because they failed to open
//! ```
//!
//! The database is synchronous and thread-safe: many appenders and queriers may run at once;
//! [`Db::compact`] is called by the owner (e.g. every minute from a background thread).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use parking_lot::{Mutex, RwLock};

use crate::block::Block;
use crate::compact::{self, PlanBlock};
use crate::error::{Error, Result};
use crate::fs::DirLock;
use crate::head::{Appender, Head, HeadOptions, ReplayStats};
use crate::matcher::Matcher;
use crate::postings::postings_for_matchers;
use crate::querier::Querier;
use crate::wal::{SyncPolicy, Wal, WalOptions};

const DAY_MS: i64 = 24 * 3_600_000;

/// Settings of a database. Defaults are Prometheus's.
#[derive(Debug, Clone)]
pub struct DbOptions {
    /// Block range in ms (`2h`).
    pub block_range: i64,
    /// Keep blocks whose data is newer than this, measured back from the newest sample
    /// (`15d`); `None` keeps everything.
    pub retention_time: Option<i64>,
    /// Delete the oldest blocks while blocks + WAL + head chunks exceed this many bytes.
    pub retention_size: Option<u64>,
    /// Largest compacted block range; `None` = 10% of the time retention, at most 31 days.
    pub max_block_range: Option<i64>,
    /// WAL segment size in bytes.
    pub wal_segment_size: u64,
    /// Whether each commit is fsync'd.
    pub wal_sync: SyncPolicy,
    /// Size at which a head chunk file is finished.
    pub head_chunk_file_size: u64,
}

impl Default for DbOptions {
    fn default() -> Self {
        Self {
            block_range: 2 * 3_600_000,
            retention_time: Some(15 * DAY_MS),
            retention_size: None,
            max_block_range: None,
            wal_segment_size: 128 << 20,
            wal_sync: SyncPolicy::Never,
            head_chunk_file_size: 128 << 20,
        }
    }
}

impl DbOptions {
    fn compaction_ranges(&self) -> Vec<i64> {
        let cap = self.max_block_range.unwrap_or_else(|| {
            let ten_pct = self.retention_time.map_or(31 * DAY_MS, |r| r / 10);
            ten_pct.min(31 * DAY_MS)
        });
        compact::compaction_ranges(self.block_range, cap.max(self.block_range))
    }
}

/// Counters of compaction and retention.
#[derive(Debug, Default)]
pub struct DbCounters {
    /// Blocks written from the head.
    pub head_compactions: AtomicU64,
    /// Block merges done.
    pub block_compactions: AtomicU64,
    /// Compactions that failed.
    pub compaction_failures: AtomicU64,
    /// Total time spent compacting, in microseconds.
    pub compaction_micros: AtomicU64,
    /// Blocks deleted by retention.
    pub retention_deletions: AtomicU64,
}

/// A block set aside because it could not be opened or read.
#[derive(Debug, Clone)]
pub struct CorruptBlock {
    /// Where it was moved.
    pub dir: PathBuf,
    /// Why (names the file and offset).
    pub error: String,
}

/// What one [`Db::compact`] call did.
#[derive(Debug, Clone, Default)]
pub struct CompactionReport {
    /// Blocks written from the head.
    pub head_blocks: Vec<String>,
    /// Blocks written by merging.
    pub merged_blocks: Vec<String>,
    /// Blocks deleted (merged away or by retention).
    pub deleted_blocks: Vec<String>,
}

/// An open database. See the module docs.
pub struct Db {
    dir: PathBuf,
    opts: DbOptions,
    head: Arc<Head>,
    blocks: RwLock<Vec<Arc<Block>>>,
    compact_lock: Mutex<()>,
    counters: DbCounters,
    replay: ReplayStats,
    corrupt: Mutex<Vec<CorruptBlock>>,
    _lock: DirLock,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("dir", &self.dir)
            .field("blocks", &self.blocks.read().len())
            .finish()
    }
}

impl Db {
    /// Opens (creating if needed) the database in `dir`: takes the lock, removes unfinished
    /// `.tmp` blocks, opens the blocks (setting corrupt ones aside), and replays the WAL.
    pub fn open(dir: impl AsRef<Path>, opts: DbOptions) -> Result<Db> {
        let dir = dir.as_ref().to_path_buf();
        if opts.block_range <= 0 {
            return Err(Error::InvalidArgument(
                "block range must be positive".into(),
            ));
        }
        crate::fs::create_dir_all(&dir)?;
        let lock = DirLock::acquire(&dir)?;
        let mut corrupt = Vec::new();
        let blocks = open_blocks(&dir, &mut corrupt)?;
        let head_opts = HeadOptions {
            chunk_range: opts.block_range,
            chunk_file_size: opts.head_chunk_file_size,
        };
        let mut head = Head::new(head_opts, &dir.join("chunks_head"), None)?;
        if let Some(maxt) = blocks.iter().map(|b| b.max_time()).max() {
            // A block reaching past the append limit (written before the limit existed) must
            // not close the head to every ordinary sample.
            head.set_min_valid_time(maxt.min(head.appendable_max_time()));
        }
        let wal_dir = dir.join("wal");
        let replay = head.replay_wal(&wal_dir)?;
        for c in &replay.corruptions {
            tracing::warn!(wal = %wal_dir.display(), "WAL repaired: {c}");
        }
        tracing::info!(
            samples = replay.samples,
            series = replay.series,
            duration_ms = replay.duration.as_millis() as u64,
            "WAL replay done"
        );
        let wal = Wal::open(
            &wal_dir,
            WalOptions {
                segment_size: opts.wal_segment_size,
                sync: opts.wal_sync,
            },
        )?;
        head.attach_wal(wal);
        Ok(Db {
            dir,
            opts,
            head: Arc::new(head),
            blocks: RwLock::new(blocks),
            compact_lock: Mutex::new(()),
            counters: DbCounters::default(),
            replay,
            corrupt: Mutex::new(corrupt),
            _lock: lock,
        })
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The options the database was opened with.
    pub fn options(&self) -> &DbOptions {
        &self.opts
    }

    /// The head.
    pub fn head(&self) -> &Arc<Head> {
        &self.head
    }

    /// The open blocks, oldest first.
    pub fn blocks(&self) -> Vec<Arc<Block>> {
        self.blocks.read().clone()
    }

    /// What the WAL replay at open did.
    pub fn replay_stats(&self) -> &ReplayStats {
        &self.replay
    }

    /// Blocks set aside as corrupt since open.
    pub fn corrupt_blocks(&self) -> Vec<CorruptBlock> {
        self.corrupt.lock().clone()
    }

    /// Compaction and retention counters.
    pub fn counters(&self) -> &DbCounters {
        &self.counters
    }

    /// A new appender (one per scrape or write request); see [`Appender`].
    pub fn appender(&self) -> Appender<'_> {
        self.head.appender()
    }

    /// A querier over `[mint, maxt]` (inclusive, ms).
    pub fn querier(&self, mint: i64, maxt: i64) -> Querier {
        let blocks: Vec<Arc<Block>> = self
            .blocks
            .read()
            .iter()
            .filter(|b| b.overlaps(mint, maxt))
            .cloned()
            .collect();
        Querier::new(Some(self.head.clone()), blocks, mint, maxt)
    }

    /// Newest sample time in the database (head or blocks), `None` if empty.
    pub fn max_time(&self) -> Option<i64> {
        let head = (!self.head.is_empty()).then(|| self.head.max_time());
        let blocks = self.blocks.read().iter().map(|b| b.max_time() - 1).max();
        head.into_iter().chain(blocks).max()
    }

    /// Oldest sample time in the database, `None` if empty.
    pub fn min_time(&self) -> Option<i64> {
        let head = (!self.head.is_empty()).then(|| self.head.min_time());
        let blocks = self.blocks.read().iter().map(|b| b.min_time()).min();
        head.into_iter().chain(blocks).min()
    }

    /// Deletes the samples of series matching `matchers` in `[mint, maxt]`: they are hidden
    /// from queries at once (tombstones) and removed from disk by compaction or
    /// [`Db::clean_tombstones`].
    pub fn delete(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Result<()> {
        if mint > maxt {
            return Err(Error::InvalidArgument(format!(
                "delete range start {mint} after end {maxt}"
            )));
        }
        let ids = postings_for_matchers(self.head.as_ref(), matchers)?;
        let ids: Vec<u32> = ids.iter().collect();
        self.head.add_tombstones(&ids, mint, maxt)?;
        for b in self.blocks.read().iter().filter(|b| b.overlaps(mint, maxt)) {
            let ids = postings_for_matchers(b.as_ref(), matchers)?;
            b.add_tombstones(&ids, mint, maxt)?;
        }
        Ok(())
    }

    /// Rewrites every block that has tombstones without the deleted samples.
    pub fn clean_tombstones(&self) -> Result<CompactionReport> {
        let _g = self.compact_lock.lock();
        let mut report = CompactionReport::default();
        let targets: Vec<Arc<Block>> = self
            .blocks
            .read()
            .iter()
            .filter(|b| !b.tombstones().is_empty())
            .cloned()
            .collect();
        for b in targets {
            let written = compact::merge_blocks(std::slice::from_ref(&b), &self.dir)?;
            let new = match written {
                Some(w) => Some(Block::open(&w.dir)?),
                None => None,
            };
            if let Some(n) = &new {
                report.merged_blocks.push(n.ulid());
            }
            self.replace_blocks(std::slice::from_ref(&b), new, &mut report)?;
        }
        Ok(report)
    }

    /// Writes a consistent copy of the database into `dir` (created; must not exist yet):
    /// every block hard-linked file by file (blocks are immutable and tombstones are replaced
    /// atomically, so links stay valid copies), and, unless `skip_head`, the head's samples
    /// written as one more block. The copy opens as a database of its own.
    pub fn snapshot(&self, dir: &Path, skip_head: bool) -> Result<()> {
        // Holding the compaction lock keeps the block set (and its directories) stable.
        let _g = self.compact_lock.lock();
        if dir.exists() {
            return Err(Error::InvalidArgument(format!(
                "snapshot directory {} already exists",
                dir.display()
            )));
        }
        crate::fs::create_dir_all(dir)?;
        for b in self.blocks() {
            let name = b.dir().file_name().ok_or_else(|| {
                Error::InvalidArgument(format!("block path {} has no name", b.dir().display()))
            })?;
            link_tree(b.dir(), &dir.join(name))?;
        }
        if !skip_head && !self.head.is_empty() {
            let (mint, maxt) = (self.head.min_time(), self.head.max_time());
            compact::write_head_block(&self.head, dir, mint, maxt.saturating_add(1))?;
        }
        crate::fs::sync_dir(dir)
    }

    /// Persists the head's old ranges as blocks, merges blocks, and applies retention.
    pub fn compact(&self) -> Result<CompactionReport> {
        let _g = self.compact_lock.lock();
        let start = Instant::now();
        let res = self.compact_locked();
        self.counters
            .compaction_micros
            .fetch_add(start.elapsed().as_micros() as u64, Ordering::Relaxed);
        if res.is_err() {
            self.counters
                .compaction_failures
                .fetch_add(1, Ordering::Relaxed);
        }
        res
    }

    fn compact_locked(&self) -> Result<CompactionReport> {
        let mut report = CompactionReport::default();
        let range = self.opts.block_range;
        // 1. Head → blocks while the head spans more than 1.5 block ranges.
        loop {
            // Far-future samples (stored before the append limit existed) do not count: they
            // would otherwise push the head's persisted end, and so its lower bound, past now.
            let (hmin, hmax) = (self.head.min_time(), self.head.effective_max_time());
            if self.head.is_empty() || hmax.saturating_sub(hmin) <= range / 2 * 3 {
                break;
            }
            let mint = crate::head::range_start(hmin, range);
            let maxt = mint.saturating_add(range);
            // Appends are already refused below `max - range/2`, which is past `maxt`; raising
            // the floor first makes that explicit, so nothing lands in the range being written.
            self.head.set_min_valid_time(maxt);
            if let Some(w) = compact::write_head_block(&self.head, &self.dir, mint, maxt)? {
                let b = Block::open(&w.dir)?;
                report.head_blocks.push(b.ulid());
                self.counters
                    .head_compactions
                    .fetch_add(1, Ordering::Relaxed);
                let mut blocks = self.blocks.write();
                blocks.push(b);
                blocks.sort_by_key(|b| (b.min_time(), b.max_time()));
            }
            self.head.truncate(maxt)?;
        }
        // 2. Merge blocks.
        let ranges = self.opts.compaction_ranges();
        loop {
            let blocks = self.blocks();
            let plan: Vec<PlanBlock> = blocks
                .iter()
                .map(|b| PlanBlock {
                    min_time: b.min_time(),
                    max_time: b.max_time(),
                })
                .collect();
            let Some(group) = compact::plan_compaction(&plan, &ranges) else {
                break;
            };
            let group: Vec<Arc<Block>> = group.into_iter().map(|i| blocks[i].clone()).collect();
            let written = compact::merge_blocks(&group, &self.dir)?;
            let new = match written {
                Some(w) => Some(Block::open(&w.dir)?),
                None => None,
            };
            if let Some(n) = &new {
                report.merged_blocks.push(n.ulid());
            }
            self.counters
                .block_compactions
                .fetch_add(1, Ordering::Relaxed);
            self.replace_blocks(&group, new, &mut report)?;
        }
        // 3. Retention.
        self.apply_retention(&mut report)?;
        Ok(report)
    }

    fn apply_retention(&self, report: &mut CompactionReport) -> Result<()> {
        if self.opts.retention_time.is_none() && self.opts.retention_size.is_none() {
            return Ok(());
        }
        let Some(newest) = self.max_time() else {
            return Ok(());
        };
        // A far-future sample must not make every block look expired.
        let newest = newest.min(self.head.appendable_max_time());
        let blocks = self.blocks();
        let plan: Vec<(PlanBlock, u64)> = blocks
            .iter()
            .map(|b| {
                (
                    PlanBlock {
                        min_time: b.min_time(),
                        max_time: b.max_time(),
                    },
                    b.size_bytes(),
                )
            })
            .collect();
        let other = self.head.wal_size_bytes() + self.head.chunks_size_bytes();
        let doomed = compact::plan_retention(
            &plan,
            newest,
            self.opts.retention_time,
            self.opts.retention_size,
            other,
        );
        if doomed.is_empty() {
            return Ok(());
        }
        let doomed: Vec<Arc<Block>> = doomed.into_iter().map(|i| blocks[i].clone()).collect();
        self.counters
            .retention_deletions
            .fetch_add(doomed.len() as u64, Ordering::Relaxed);
        self.replace_blocks(&doomed, None, report)
    }

    /// Swaps `old` blocks for `new` in the served set, then deletes the old directories.
    fn replace_blocks(
        &self,
        old: &[Arc<Block>],
        new: Option<Arc<Block>>,
        report: &mut CompactionReport,
    ) -> Result<()> {
        {
            let mut blocks = self.blocks.write();
            blocks.retain(|b| !old.iter().any(|o| Arc::ptr_eq(o, b)));
            if let Some(n) = new {
                blocks.push(n);
            }
            blocks.sort_by_key(|b| (b.min_time(), b.max_time()));
        }
        for b in old {
            // Queriers still holding the block keep their maps alive; on Linux the files stay
            // readable after unlinking.
            crate::fs::remove_dir_all(b.dir())?;
            report.deleted_blocks.push(b.ulid());
        }
        Ok(())
    }

    /// Flushes and fsyncs the WAL and head chunk files. Dropping the database closes it too;
    /// call this to see errors.
    pub fn close(self) -> Result<()> {
        self.head.flush_chunks()?;
        self.head.sync_wal()
    }
}

/// Recreates the directory tree `src` at `dst` with every file hard-linked.
fn link_tree(src: &Path, dst: &Path) -> Result<()> {
    crate::fs::create_dir_all(dst)?;
    let rd = std::fs::read_dir(src).map_err(|e| Error::io("read directory", src, e))?;
    for e in rd {
        let e = e.map_err(|e| Error::io("read directory", src, e))?;
        let from = e.path();
        let to = dst.join(e.file_name());
        let is_dir = e
            .file_type()
            .map_err(|err| Error::io("stat", &from, err))?
            .is_dir();
        if is_dir {
            link_tree(&from, &to)?;
        } else {
            std::fs::hard_link(&from, &to).map_err(|err| Error::io("hard link", &to, err))?;
        }
    }
    crate::fs::sync_dir(dst)
}

/// Opens every block directory in `dir`, removing `.tmp` leftovers and moving blocks that fail
/// to open into `corrupted/`.
fn open_blocks(dir: &Path, corrupt: &mut Vec<CorruptBlock>) -> Result<Vec<Arc<Block>>> {
    let mut blocks = Vec::new();
    let rd = std::fs::read_dir(dir).map_err(|e| Error::io("read directory", dir, e))?;
    let mut names: Vec<String> = Vec::new();
    for e in rd {
        let e = e.map_err(|e| Error::io("read directory", dir, e))?;
        if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            if let Some(n) = e.file_name().to_str() {
                names.push(n.to_owned());
            }
        }
    }
    names.sort();
    for name in names {
        let path = dir.join(&name);
        if let Some(stem) = name.strip_suffix(".tmp") {
            if ulid::Ulid::from_string(stem).is_ok() {
                tracing::info!(dir = %path.display(), "removing unfinished block");
                crate::fs::remove_dir_all(&path)?;
            }
            continue;
        }
        if ulid::Ulid::from_string(&name).is_err() {
            continue;
        }
        match Block::open(&path) {
            Ok(b) => blocks.push(b),
            Err(e) => {
                let aside_dir = dir.join("corrupted");
                crate::fs::create_dir_all(&aside_dir)?;
                let aside = aside_dir.join(&name);
                tracing::error!(block = %name, error = %e, moved_to = %aside.display(), "block is corrupt; set aside");
                std::fs::rename(&path, &aside).map_err(|e| Error::io("rename", &path, e))?;
                corrupt.push(CorruptBlock {
                    dir: aside,
                    error: e.to_string(),
                });
            }
        }
    }
    blocks.sort_by_key(|b| (b.min_time(), b.max_time()));
    Ok(blocks)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{labels, MatchType, SampleIterator};

    fn all_samples(db: &Db) -> Vec<(String, i64, f64)> {
        let m = Matcher::new(MatchType::RegexMatch, "__name__", ".+").unwrap();
        let mut out = Vec::new();
        for s in db.querier(i64::MIN, i64::MAX).select(&[m]).unwrap() {
            let mut it = s.iter();
            while it.next() {
                let (t, v) = it.at();
                out.push((s.labels().to_string(), t, v));
            }
        }
        out
    }

    #[test]
    fn snapshot_copies_blocks_and_head() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path().join("data"), DbOptions::default()).unwrap();
        let hour = 3_600_000;
        for i in 0..8 {
            let mut app = db.appender();
            for job in ["a", "b"] {
                app.append(
                    &labels!("__name__" => "up", "job" => job),
                    i * hour / 2,
                    i as f64,
                )
                .unwrap();
            }
            app.commit().unwrap();
        }
        db.compact().unwrap();
        assert!(!db.blocks().is_empty(), "the test needs a block");
        assert!(!db.head().is_empty(), "the test needs head samples");
        let want = all_samples(&db);
        assert_eq!(want.len(), 16);

        let full = dir.path().join("snap-full");
        db.snapshot(&full, false).unwrap();
        let only_blocks = dir.path().join("snap-blocks");
        db.snapshot(&only_blocks, true).unwrap();
        assert!(
            db.snapshot(&full, false).is_err(),
            "an existing directory is refused"
        );

        // Changes after the snapshot do not reach it.
        let m = Matcher::new(MatchType::Equal, "job", "a").unwrap();
        db.delete(&[m], i64::MIN, i64::MAX).unwrap();
        db.clean_tombstones().unwrap();

        let copy = Db::open(&full, DbOptions::default()).unwrap();
        assert_eq!(all_samples(&copy), want);
        let blocks_only = Db::open(&only_blocks, DbOptions::default()).unwrap();
        let max_block = db_max_block_time(&blocks_only);
        let want_blocks: Vec<_> = want.iter().filter(|s| s.1 < max_block).cloned().collect();
        assert!(!want_blocks.is_empty() && want_blocks.len() < want.len());
        assert_eq!(all_samples(&blocks_only), want_blocks);
    }

    fn db_max_block_time(db: &Db) -> i64 {
        db.blocks().iter().map(|b| b.max_time()).max().unwrap()
    }
}
