//! `tidemark backfill FILE [DATA_DIR]`.

use std::path::Path;

use tidemark_ingest::backfill::{backfill, BackfillSummary};

/// Imports `file` into blocks under `output`.
pub fn run(file: &str, output: &str) -> anyhow::Result<BackfillSummary> {
    Ok(backfill(Path::new(file), Path::new(output))?)
}
