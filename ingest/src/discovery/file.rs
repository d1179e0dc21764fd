//! `file_sd_configs`: target groups from JSON or YAML files, re-read when they change.
//!
//! A file holds a list of `{targets: [...], labels: {...}}`. Every group gets
//! `__meta_filepath`, and its source is `<path>:<index>`. File patterns may use `*`, `?` and
//! `[...]` in the last path element. The files are checked every second (by modification time
//! and size) and fully re-read every `refresh_interval`; a file that fails to parse keeps the
//! groups it had, and the error is logged naming the file.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use serde::Deserialize;

use super::{GroupSender, LabelSet, TargetGroup};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileGroup {
    #[serde(default)]
    targets: Vec<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
}

/// Reading a file failed.
#[derive(Debug, thiserror::Error)]
#[error("error reading file {path:?}: {cause}")]
pub struct FileSdError {
    /// The file.
    pub path: PathBuf,
    /// Why.
    pub cause: String,
}

/// Parses one file's content into target groups; the format comes from the extension
/// (`.json`, `.yml`, `.yaml`).
pub fn parse_file(path: &Path, content: &[u8]) -> Result<Vec<TargetGroup>, FileSdError> {
    let err = |cause: String| FileSdError {
        path: path.to_owned(),
        cause,
    };
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    let groups: Vec<FileGroup> = match ext {
        "json" => serde_json::from_slice(content).map_err(|e| err(e.to_string()))?,
        "yml" | "yaml" => {
            if content.iter().all(|b| b.is_ascii_whitespace()) {
                Vec::new()
            } else {
                serde_yaml::from_slice(content).map_err(|e| err(e.to_string()))?
            }
        }
        other => return Err(err(format!("unknown file extension {other:?}"))),
    };
    let display = path.to_string_lossy();
    let mut out = Vec::with_capacity(groups.len());
    for (i, g) in groups.into_iter().enumerate() {
        let mut labels = g.labels;
        for name in labels.keys() {
            if !is_valid_label_name(name) {
                return Err(err(format!("{name:?} is not a valid label name")));
            }
        }
        labels.insert("__meta_filepath".to_owned(), display.clone().into_owned());
        let mut targets = Vec::with_capacity(g.targets.len());
        for t in g.targets {
            if t.contains('/') {
                return Err(err(format!("{t:?} is not a valid hostname")));
            }
            targets.push(LabelSet::from([("__address__".to_owned(), t)]));
        }
        out.push(TargetGroup {
            source: format!("{display}:{i}"),
            targets,
            labels,
        });
    }
    Ok(out)
}

/// 3.x validates label names as UTF-8: any non-empty name.
fn is_valid_label_name(name: &str) -> bool {
    !name.is_empty()
}

/// Files matching `patterns` (a pattern may use `*`, `?`, `[...]`).
fn list_files(patterns: &[String]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for p in patterns {
        match glob::glob(p) {
            Ok(paths) => out.extend(paths.flatten()),
            Err(e) => {
                tracing::error!(target: "discovery", pattern = %p, error = %e, "invalid file_sd pattern")
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// A file's modification time and size.
type Stamp = (SystemTime, u64);

/// Watches `patterns` and sends groups on `tx` until the receiver is gone.
pub async fn run(patterns: Vec<String>, refresh_interval: Duration, tx: GroupSender) {
    // What each file last contributed: its stamp and its groups' sources.
    let mut known: HashMap<PathBuf, (Option<Stamp>, Vec<String>)> = HashMap::new();
    let mut last_full = Instant::now();
    let mut first = true;
    loop {
        let full = first || last_full.elapsed() >= refresh_interval;
        if full {
            last_full = Instant::now();
        }
        let files = list_files(&patterns);
        let mut update = Vec::new();
        // Files that disappeared: remove their groups.
        known.retain(|path, (_, sources)| {
            if files.contains(path) {
                return true;
            }
            update.extend(sources.iter().map(|s| TargetGroup {
                source: s.clone(),
                ..Default::default()
            }));
            false
        });
        for path in files {
            let stamp = std::fs::metadata(&path)
                .ok()
                .map(|m| (m.modified().unwrap_or(SystemTime::UNIX_EPOCH), m.len()));
            let entry = known.entry(path.clone()).or_insert((None, Vec::new()));
            if !full && entry.0 == stamp && stamp.is_some() {
                continue;
            }
            let content = match std::fs::read(&path) {
                Ok(c) => c,
                Err(e) => {
                    tracing::error!(target: "discovery", file = %path.display(), error = %e, "error reading file_sd file");
                    continue;
                }
            };
            match parse_file(&path, &content) {
                Ok(groups) => {
                    entry.0 = stamp;
                    let sources: Vec<String> = groups.iter().map(|g| g.source.clone()).collect();
                    // Groups the file no longer has are emptied.
                    for old in &entry.1 {
                        if !sources.contains(old) {
                            update.push(TargetGroup {
                                source: old.clone(),
                                ..Default::default()
                            });
                        }
                    }
                    entry.1 = sources;
                    update.extend(groups);
                }
                Err(e) => {
                    entry.0 = stamp;
                    tracing::error!(target: "discovery", error = %e, "file_sd file ignored; its previous targets are kept");
                }
            }
        }
        if (first || !update.is_empty()) && tx.send(update).is_err() {
            return;
        }
        first = false;
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_and_yaml_files_give_groups_with_filepath() {
        let groups = parse_file(
            Path::new("/sd/a.json"),
            br#"[{"targets": ["h1:9100", "h2:9100"], "labels": {"env": "prod"}}, {"targets": []}]"#,
        )
        .unwrap();
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[0].source, "/sd/a.json:0");
        assert_eq!(groups[0].targets[1]["__address__"], "h2:9100");
        assert_eq!(groups[0].labels["env"], "prod");
        assert_eq!(groups[0].labels["__meta_filepath"], "/sd/a.json");
        let groups = parse_file(
            Path::new("/sd/b.yml"),
            b"- targets: ['x:1']\n  labels:\n    team: a\n",
        )
        .unwrap();
        assert_eq!(groups[0].targets[0]["__address__"], "x:1");
    }

    #[test]
    fn bad_files_name_the_file() {
        let e = parse_file(Path::new("/sd/bad.json"), b"[{\"targets\": [1]}]").unwrap_err();
        assert!(e.to_string().contains("/sd/bad.json"), "{e}");
        let e = parse_file(Path::new("/sd/c.json"), br#"[{"targets": ["http://x"]}]"#).unwrap_err();
        assert!(e.to_string().contains("not a valid hostname"), "{e}");
        let e = parse_file(Path::new("/sd/c.txt"), b"").unwrap_err();
        assert!(e.to_string().contains("extension"), "{e}");
    }

    #[tokio::test]
    async fn changes_are_picked_up_and_removed_files_empty_their_groups() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("t.json");
        std::fs::write(&file, br#"[{"targets": ["a:1"]}]"#).unwrap();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let pattern = dir.path().join("*.json").to_string_lossy().into_owned();
        let task = tokio::spawn(run(vec![pattern], Duration::from_secs(300), tx));
        let first = rx.recv().await.unwrap();
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].targets.len(), 1);
        // Make the modification visible even on coarse mtime clocks: change the size.
        std::fs::write(&file, br#"[{"targets": ["a:1", "b:2"]}]"#).unwrap();
        let second = tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(second[0].targets.len(), 2);
        std::fs::remove_file(&file).unwrap();
        let third = tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .unwrap()
            .unwrap();
        assert!(third[0].targets.is_empty());
        task.abort();
    }
}
