//! Replays every fuzz target's seed corpus (`fuzz/corpus/<target>/*`) through the same
//! function the fuzz target calls, so `cargo test` catches regressions of fuzz findings, and
//! runs the model-based engine check on random operation sequences.

use std::path::Path;

use proptest::prelude::*;

fn target_fn(name: &str) -> Option<fn(&[u8])> {
    Some(match name {
        "xor_chunk" => tidemark_engine::chunkenc::fuzz_xor_chunk,
        "wal_record" => tidemark_engine::wal::fuzz_wal_record,
        "wal_segment" => tidemark_engine::wal::fuzz_wal_segment,
        "index" => tidemark_engine::index::fuzz_index,
        "tombstones" => tidemark_engine::tombstones::fuzz_tombstones,
        "chunk_segment" => tidemark_engine::chunks::fuzz_chunk_segment,
        "meta" => tidemark_engine::meta::fuzz_meta,
        "matcher" => tidemark_engine::matcher::fuzz_matcher,
        "engine_model" => tidemark_tests::model::fuzz_engine_model,
        _ => return None,
    })
}

fn fuzz_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("fuzz")
}

#[test]
fn every_fuzz_target_has_a_replayed_corpus() {
    let targets = std::fs::read_dir(fuzz_dir().join("fuzz_targets")).unwrap();
    let mut n = 0;
    for t in targets {
        let name = t
            .unwrap()
            .path()
            .file_stem()
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            target_fn(&name).is_some(),
            "fuzz target {name} is not replayed by this test"
        );
        let corpus = fuzz_dir().join("corpus").join(&name);
        assert!(
            corpus.is_dir(),
            "fuzz target {name} has no seed corpus at {}",
            corpus.display()
        );
        n += 1;
    }
    assert!(n >= 7);
}

#[test]
fn seed_corpora_replay_without_panics() {
    let mut files = 0;
    for dir in std::fs::read_dir(fuzz_dir().join("corpus")).unwrap() {
        let dir = dir.unwrap().path();
        let name = dir.file_name().unwrap().to_str().unwrap().to_owned();
        let f = target_fn(&name).unwrap_or_else(|| panic!("corpus {name} has no target"));
        for input in std::fs::read_dir(&dir).unwrap() {
            let data = std::fs::read(input.unwrap().path()).unwrap();
            f(&data);
            files += 1;
        }
    }
    assert!(files > 0);
}

proptest! {
    // 48 cases by default; PROPTEST_CASES=N runs more when hunting.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(48),
        ..ProptestConfig::default()
    })]
    #[test]
    fn engine_matches_model(ops in proptest::collection::vec(any::<u8>(), 0..600)) {
        tidemark_tests::model::fuzz_engine_model(&ops);
    }
}
