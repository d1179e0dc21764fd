//! Block metadata: the `meta.json` file of a block directory.
//!
//! The JSON mirrors Prometheus's `meta.json` (camelCase keys, `maxTime` exclusive), so that
//! tools that read Prometheus blocks can read Tidemark's, and so that Prometheus blocks can be
//! read here: unknown keys are ignored and keys Prometheus omits when zero or empty default
//! to zero or empty. The format is specified in `engine/docs/format/meta.md`.
//!
//! Invariants that must stay true:
//! - [`BlockMeta::write`] replaces the file atomically; [`BlockMeta::read`] never returns a
//!   meta with a version other than [`META_VERSION`] or with `maxTime < minTime`: those, like
//!   malformed JSON, are [`Error::Corruption`] naming the file and the byte offset.

use std::path::Path;

use serde::{Deserialize, Serialize};
use ulid::Ulid;

use crate::error::{Corruption, Error, Result};
use crate::fs;

/// File name of the metadata file inside a block directory.
pub const META_FILE: &str = "meta.json";
/// The `version` this code writes and accepts (Prometheus's block format version 1).
pub const META_VERSION: u32 = 1;

/// The contents of a block's `meta.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockMeta {
    /// The block's id; also the name of its directory.
    #[serde(with = "ulid_str")]
    pub ulid: Ulid,
    /// Smallest sample timestamp the block may hold (ms, inclusive).
    pub min_time: i64,
    /// End of the block's time range (ms, exclusive): every sample is `< max_time`.
    pub max_time: i64,
    /// Counts of what the block holds.
    #[serde(default)]
    pub stats: BlockStats,
    /// How the block came to be.
    #[serde(default)]
    pub compaction: BlockCompaction,
    /// Format version of the block; always [`META_VERSION`].
    pub version: u32,
}

/// Counts of what a block holds (`stats` in `meta.json`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockStats {
    /// Number of samples.
    #[serde(default)]
    pub num_samples: u64,
    /// Number of series.
    #[serde(default)]
    pub num_series: u64,
    /// Number of chunks.
    #[serde(default)]
    pub num_chunks: u64,
    /// Number of tombstone intervals.
    #[serde(default)]
    pub num_tombstones: u64,
}

/// Compaction history of a block (`compaction` in `meta.json`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockCompaction {
    /// 1 for a block cut from the head; one more than the highest parent level after a merge.
    #[serde(default)]
    pub level: u32,
    /// The level-1 blocks whose data this block holds (for a level-1 block, itself).
    #[serde(default, with = "ulid_vec")]
    pub sources: Vec<Ulid>,
    /// True if the block is marked for deletion (its data lives on in another block).
    #[serde(default, skip_serializing_if = "is_false")]
    pub deletable: bool,
    /// The blocks merged into this one; omitted when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parents: Vec<BlockDesc>,
    /// True if compacting this block failed and it must not be compacted again.
    #[serde(default, skip_serializing_if = "is_false")]
    pub failed: bool,
    /// Free-form compaction hints; omitted when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hints: Vec<String>,
}

/// Identity and time range of a parent block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockDesc {
    /// The parent's id.
    #[serde(with = "ulid_str")]
    pub ulid: Ulid,
    /// The parent's `minTime`.
    pub min_time: i64,
    /// The parent's `maxTime` (exclusive).
    pub max_time: i64,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl BlockMeta {
    /// A level-1 meta (a block cut from the head): its only source is itself.
    pub fn new_level1(ulid: Ulid, min_time: i64, max_time: i64, stats: BlockStats) -> Self {
        BlockMeta {
            ulid,
            min_time,
            max_time,
            stats,
            compaction: BlockCompaction {
                level: 1,
                sources: vec![ulid],
                ..Default::default()
            },
            version: META_VERSION,
        }
    }

    /// This block as a parent entry for a merged block's `compaction.parents`.
    pub fn desc(&self) -> BlockDesc {
        BlockDesc {
            ulid: self.ulid,
            min_time: self.min_time,
            max_time: self.max_time,
        }
    }

    /// Reads and validates `dir/meta.json`. A missing or unreadable file is [`Error::Io`];
    /// malformed JSON, a wrong `version` or `maxTime < minTime` is [`Error::Corruption`] with
    /// the byte offset of the problem.
    pub fn read(dir: &Path) -> Result<BlockMeta> {
        let path = dir.join(META_FILE);
        let data = std::fs::read(&path).map_err(|e| Error::io("read", &path, e))?;
        Self::decode(&data).map_err(|(offset, cause)| {
            Error::Corruption(Corruption {
                file: path.clone(),
                offset,
                cause,
            })
        })
    }

    /// Parses and validates `meta.json` bytes; the error is (byte offset, cause).
    pub fn decode(data: &[u8]) -> std::result::Result<BlockMeta, (u64, String)> {
        let meta: BlockMeta = serde_json::from_slice(data)
            .map_err(|e| (json_error_offset(data, &e), format!("bad meta.json: {e}")))?;
        let at = |key: &str| {
            let pat = format!("\"{key}\"");
            data.windows(pat.len())
                .position(|w| w == pat.as_bytes())
                .unwrap_or(0) as u64
        };
        if meta.version != META_VERSION {
            return Err((
                at("version"),
                format!("unsupported block version {}", meta.version),
            ));
        }
        if meta.max_time < meta.min_time {
            return Err((
                at("maxTime"),
                format!(
                    "maxTime {} is before minTime {}",
                    meta.max_time, meta.min_time
                ),
            ));
        }
        Ok(meta)
    }

    /// The JSON text, tab-indented like Prometheus writes it.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(512);
        let fmt = serde_json::ser::PrettyFormatter::with_indent(b"\t");
        let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
        // Serializing plain structs of numbers and strings into a Vec cannot fail.
        if self.serialize(&mut ser).is_err() {
            tracing::error!("serializing block meta failed");
        }
        out
    }

    /// Writes `dir/meta.json`, atomically replacing any previous file.
    pub fn write(&self, dir: &Path) -> Result<()> {
        fs::replace_file_atomic(&dir.join(META_FILE), &self.encode())
    }
}

/// Byte offset of a serde_json error: serde_json reports a 1-based line and a column that
/// counts bytes from the start of that line, at the point where it detected the error (just
/// past the offending byte, or the end of the input for a truncated file).
fn json_error_offset(data: &[u8], e: &serde_json::Error) -> u64 {
    if e.line() == 0 {
        return 0;
    }
    let line_start = if e.line() == 1 {
        0
    } else {
        data.iter()
            .enumerate()
            .filter(|&(_, &b)| b == b'\n')
            .nth(e.line() - 2)
            .map_or(data.len(), |(i, _)| i + 1)
    };
    (line_start + e.column()).min(data.len()) as u64
}

/// Serde for a [`Ulid`] as its 26-character string.
mod ulid_str {
    use serde::{Deserialize, Deserializer, Serializer};
    use ulid::Ulid;

    pub fn serialize<S: Serializer>(u: &Ulid, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&u.to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Ulid, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Ulid::from_string(&s).map_err(|e| serde::de::Error::custom(format!("bad ULID {s:?}: {e}")))
    }
}

/// Serde for a list of [`Ulid`]s as strings (`null` reads as empty, as Go writes nil slices).
mod ulid_vec {
    use serde::ser::SerializeSeq;
    use serde::{Deserialize, Deserializer, Serializer};
    use ulid::Ulid;

    pub fn serialize<S: Serializer>(v: &[Ulid], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(v.len()))?;
        for u in v {
            seq.serialize_element(&u.to_string())?;
        }
        seq.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Ulid>, D::Error> {
        let v = <Option<Vec<std::borrow::Cow<'de, str>>>>::deserialize(d)?.unwrap_or_default();
        v.iter()
            .map(|s| {
                Ulid::from_string(s)
                    .map_err(|e| serde::de::Error::custom(format!("bad ULID {s:?}: {e}")))
            })
            .collect()
    }
}

/// Feeds arbitrary bytes to the `meta.json` decoder; must never panic, and whatever decodes
/// must survive an encode/decode round trip unchanged.
pub fn fuzz_meta(data: &[u8]) {
    if let Ok(m) = BlockMeta::decode(data) {
        assert_eq!(
            BlockMeta::decode(&m.encode()).as_ref(),
            Ok(&m),
            "meta round trip"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ulid() -> impl Strategy<Value = Ulid> {
        any::<u128>().prop_map(Ulid)
    }

    fn meta() -> impl Strategy<Value = BlockMeta> {
        (
            ulid(),
            any::<i64>(),
            0u64..u64::MAX,
            any::<[u64; 4]>(),
            0u32..10,
            proptest::collection::vec(ulid(), 0..3),
            proptest::collection::vec((ulid(), any::<i64>(), any::<i64>()), 0..3),
            any::<(bool, bool)>(),
            proptest::collection::vec("[a-z\"\\\\é]{0,5}", 0..2),
        )
            .prop_map(
                |(u, min, span, st, level, sources, parents, (del, failed), hints)| BlockMeta {
                    ulid: u,
                    min_time: min,
                    max_time: min.saturating_add_unsigned(span),
                    stats: BlockStats {
                        num_samples: st[0],
                        num_series: st[1],
                        num_chunks: st[2],
                        num_tombstones: st[3],
                    },
                    compaction: BlockCompaction {
                        level,
                        sources,
                        deletable: del,
                        parents: parents
                            .into_iter()
                            .map(|(ulid, min_time, max_time)| BlockDesc {
                                ulid,
                                min_time,
                                max_time,
                            })
                            .collect(),
                        failed,
                        hints,
                    },
                    version: META_VERSION,
                },
            )
    }

    proptest! {
        #[test]
        fn round_trip(m in meta()) {
            let dir = tempfile::tempdir().unwrap();
            m.write(dir.path()).unwrap();
            prop_assert_eq!(BlockMeta::read(dir.path()).unwrap(), m);
        }

        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..200)) {
            fuzz_meta(&data);
        }

        #[test]
        fn mutated_json_never_panics(m in meta(), muts in proptest::collection::vec(
            (any::<prop::sample::Index>(), any::<u8>()), 1..4)
        ) {
            let mut b = m.encode();
            for (i, v) in muts {
                let i = i.index(b.len());
                b[i] = v;
            }
            fuzz_meta(&b);
        }
    }

    #[test]
    fn json_has_prometheus_shape() {
        let id = Ulid::from_string("01H0000000000000000000000A").unwrap();
        let src = Ulid::from_string("01H0000000000000000000000B").unwrap();
        let mut m = BlockMeta::new_level1(
            id,
            0,
            7_200_000,
            BlockStats {
                num_samples: 1,
                num_series: 1,
                num_chunks: 1,
                num_tombstones: 0,
            },
        );
        let v: serde_json::Value = serde_json::from_slice(&m.encode()).unwrap();
        assert_eq!(
            v,
            serde_json::json!({
                "ulid": "01H0000000000000000000000A",
                "minTime": 0,
                "maxTime": 7200000,
                "stats": {"numSamples": 1, "numSeries": 1, "numChunks": 1, "numTombstones": 0},
                "compaction": {"level": 1, "sources": ["01H0000000000000000000000A"]},
                "version": 1
            })
        );
        m.compaction.level = 2;
        m.compaction.sources = vec![src];
        m.compaction.parents = vec![BlockDesc {
            ulid: src,
            min_time: 0,
            max_time: 1,
        }];
        let v: serde_json::Value = serde_json::from_slice(&m.encode()).unwrap();
        assert_eq!(
            v["compaction"],
            serde_json::json!({
                "level": 2,
                "sources": ["01H0000000000000000000000B"],
                "parents": [{"ulid": "01H0000000000000000000000B", "minTime": 0, "maxTime": 1}]
            })
        );
        // Key order and tab indentation, as Prometheus writes it.
        let text = String::from_utf8(m.encode()).unwrap();
        assert!(
            text.starts_with("{\n\t\"ulid\": \"01H0000000000000000000000A\",\n\t\"minTime\": 0,")
        );
    }

    #[test]
    fn reads_a_prometheus_meta_json() {
        // As Prometheus writes it, with keys it omits when zero and keys we do not know.
        let text = r#"{
	"ulid": "01BKGTZQ1SYQJTR4PB43C8PD98",
	"minTime": 1602237600000,
	"maxTime": 1602244800000,
	"stats": {
		"numSamples": 553673232,
		"numFloatSamples": 553673232,
		"numSeries": 1346066,
		"numChunks": 4440437
	},
	"compaction": {
		"level": 1,
		"sources": [
			"01BKGTZQ1SYQJTR4PB43C8PD98"
		]
	},
	"version": 1,
	"thanos": {"labels": {}}
}"#;
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(META_FILE), text).unwrap();
        let m = BlockMeta::read(dir.path()).unwrap();
        assert_eq!(m.ulid.to_string(), "01BKGTZQ1SYQJTR4PB43C8PD98");
        assert_eq!(m.stats.num_series, 1346066);
        assert_eq!(m.stats.num_tombstones, 0);
        assert_eq!(m.compaction.sources, vec![m.ulid]);
        assert!(m.compaction.parents.is_empty());
    }

    #[test]
    fn corrupt_json_names_file_and_offset() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(META_FILE);
        let corrupt = |text: &str| match BlockMeta::read(dir.path()) {
            Err(Error::Corruption(c)) => {
                assert_eq!(c.file, p, "{text}");
                (c.offset, c.cause)
            }
            other => panic!("{text}: expected corruption, got {other:?}"),
        };
        let cases: &[(&str, u64)] = &[
            // The stray `x` is byte 53; serde_json detects the error just past it.
            (
                "{\n\t\"ulid\": \"01BKGTZQ1SYQJTR4PB43C8PD98\",\n\t\"minTime\": x0}",
                54,
            ),
            ("", 0),
            (
                "{\"ulid\": \"nope\", \"minTime\": 0, \"maxTime\": 1, \"version\": 1}",
                15,
            ),
        ];
        for &(text, offset) in cases {
            std::fs::write(&p, text).unwrap();
            let (got, cause) = corrupt(text);
            assert_eq!(got, offset, "{text}: {cause}");
        }
        let good = BlockMeta::new_level1(Ulid(7), 0, 10, BlockStats::default());
        let text = String::from_utf8(good.encode()).unwrap();
        let v2 = text.replace("\"version\": 1", "\"version\": 2");
        std::fs::write(&p, &v2).unwrap();
        let (off, cause) = corrupt(&v2);
        assert!(cause.contains("version"), "{cause}");
        assert_eq!(off as usize, v2.find("\"version\"").unwrap());
        let back = text.replace("\"maxTime\": 10", "\"maxTime\": -1");
        std::fs::write(&p, &back).unwrap();
        let (_, cause) = corrupt(&back);
        assert!(cause.contains("maxTime"), "{cause}");
        let half = &text[..text.len() / 2];
        std::fs::write(&p, half).unwrap();
        let (off, _) = corrupt(half);
        assert_eq!(off as usize, half.len());
        // A missing file is an I/O error, not corruption.
        std::fs::remove_file(&p).unwrap();
        assert!(matches!(BlockMeta::read(dir.path()), Err(Error::Io { .. })));
    }

    /// Writes the seed corpus for the `meta` fuzz target (run with `--ignored`).
    #[test]
    #[ignore]
    fn write_fuzz_corpus() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/meta");
        std::fs::create_dir_all(&root).unwrap();
        let mut m = BlockMeta::new_level1(Ulid(1 << 100), 0, 7_200_000, BlockStats::default());
        std::fs::write(root.join("level1.json"), m.encode()).unwrap();
        m.compaction.level = 2;
        m.compaction.parents = vec![m.desc()];
        let good = m.encode();
        std::fs::write(root.join("level2.json"), &good).unwrap();
        std::fs::write(root.join("truncated.json"), &good[..good.len() / 2]).unwrap();
        std::fs::write(
            root.join("version2.json"),
            String::from_utf8_lossy(&good).replace("\"version\": 1", "\"version\": 2"),
        )
        .unwrap();
    }
}
