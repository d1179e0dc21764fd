//! The Prometheus Operator corpus: `../shared/fixtures/operator-configs/*.yml` (516
//! `prometheus.yml` files the operator generates for its golden tests) checked by
//! `promtool check config --syntax-only` (3.5) and by Tidemark's syntax-only check
//! ([`Config::check_syntax`], what `tidemark check config --syntax-only` runs). Every config
//! 3.5 accepts must be accepted (jobs using discovery Tidemark does not implement are accepted
//! with a warning naming the job and the mechanism), every one it refuses must be refused.
//!
//! promtool's verdicts are computed in this run only (nothing from the fixtures is stored). If
//! the fixtures folder is absent the test says it skips.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Mutex;

use tidemark_ingest::config::Config;
use tidemark_tests::peers::{self, Peer};

/// Configs where Tidemark's verdict still differs from 3.5's, each with the reason. An entry
/// that no longer differs fails the test.
const KNOWN_DIFFERENCES: &[(&str, &str)] = &[];

fn corpus_dir() -> PathBuf {
    peers::workspace_root()
        .parent()
        .map(|p| p.join("shared").join("fixtures").join("operator-configs"))
        .unwrap_or_default()
}

struct Verdict {
    file: String,
    prom_ok: bool,
    prom_msg: String,
    ours: Result<Vec<String>, String>,
}

#[test]
fn operator_corpus_agrees_with_promtool_3_5() {
    let dir = corpus_dir();
    if !dir.is_dir() {
        eprintln!(
            "SKIP: {} is absent (the shared fixtures are not checked out)",
            dir.display()
        );
        return;
    }
    let promtool = peers::require(Peer::Promtool);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("read corpus dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yml" || e == "yaml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no configs in {}", dir.display());

    // promtool takes ~30 ms per file; two workers keep the shared machine usable.
    let queue = Mutex::new(files.clone());
    let verdicts = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| loop {
                let Some(path) = queue.lock().unwrap().pop() else {
                    return;
                };
                let out = Command::new(&promtool)
                    .args(["check", "config", "--syntax-only"])
                    .arg(&path)
                    .output()
                    .expect("run promtool");
                let prom_msg = String::from_utf8_lossy(&out.stderr).into_owned()
                    + &String::from_utf8_lossy(&out.stdout);
                let ours = Config::check_syntax(&path)
                    .map(|c| c.warnings().into_iter().map(|w| w.to_string()).collect())
                    .map_err(|e| e.to_string());
                verdicts.lock().unwrap().push(Verdict {
                    file: path.file_name().unwrap().to_string_lossy().into_owned(),
                    prom_ok: out.status.success(),
                    prom_msg,
                    ours,
                });
            });
        }
    });
    let mut verdicts = verdicts.into_inner().unwrap();
    verdicts.sort_by(|a, b| a.file.cmp(&b.file));

    let prom_accepts = verdicts.iter().filter(|v| v.prom_ok).count();
    let both_accept = verdicts
        .iter()
        .filter(|v| v.prom_ok && v.ours.is_ok())
        .count();
    let both_refuse = verdicts
        .iter()
        .filter(|v| !v.prom_ok && v.ours.is_err())
        .count();
    let warned = verdicts
        .iter()
        .filter(|v| v.ours.as_ref().is_ok_and(|w| !w.is_empty()))
        .count();
    let mut unexpected = Vec::new();
    let mut excused = 0;
    for v in &verdicts {
        let differs = v.prom_ok != v.ours.is_ok();
        let known = KNOWN_DIFFERENCES.iter().find(|(f, _)| *f == v.file);
        match (differs, known) {
            (true, Some(_)) => excused += 1,
            (true, None) => unexpected.push(format!(
                "{}: promtool {} ({}), Tidemark {}",
                v.file,
                if v.prom_ok { "accepts" } else { "refuses" },
                v.prom_msg.trim().replace('\n', " | "),
                match &v.ours {
                    Ok(_) => "accepts".to_owned(),
                    Err(e) => format!("refuses: {e}"),
                }
            )),
            (false, Some((f, _))) => {
                unexpected.push(format!("{f}: listed as a known difference but agrees now"))
            }
            (false, None) => {}
        }
    }
    println!(
        "operator corpus: {} configs; promtool 3.5 accepts {prom_accepts}, refuses {}; \
         Tidemark accepts {both_accept} of the {prom_accepts} and refuses {both_refuse} of the {}; \
         {warned} accepted with not-implemented warnings; agreement {}/{}; {excused} known \
         difference(s) excused",
        verdicts.len(),
        verdicts.len() - prom_accepts,
        verdicts.len() - prom_accepts,
        both_accept + both_refuse,
        verdicts.len()
    );
    assert!(
        unexpected.is_empty(),
        "{} disagreement(s):\n{}",
        unexpected.len(),
        unexpected.join("\n")
    );
}

/// Mutations of the corpus's discovery blocks: for every `<mechanism>_sd_configs` entry shape
/// found in the corpus, one config per field with that field removed, and one per field with
/// its value replaced by a list, a mapping and a string with a space. Both checkers must give
/// the same verdict on each (this exercises required fields and Go's strict field types of the
/// mechanisms Tidemark only validates).
#[test]
fn mutated_discovery_blocks_agree_with_promtool_3_5() {
    let dir = corpus_dir();
    if !dir.is_dir() {
        eprintln!(
            "SKIP: {} is absent (the shared fixtures are not checked out)",
            dir.display()
        );
        return;
    }
    let promtool = peers::require(Peer::Promtool);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("read corpus dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .collect();
    files.sort();
    let mut seen = std::collections::BTreeSet::new();
    let mut mutations: Vec<(String, String)> = Vec::new();
    for f in &files {
        let Ok(doc) =
            serde_yaml::from_str::<serde_yaml::Value>(&std::fs::read_to_string(f).unwrap())
        else {
            continue;
        };
        let jobs = doc
            .get("scrape_configs")
            .and_then(|j| j.as_sequence())
            .cloned()
            .unwrap_or_default();
        for job in &jobs {
            let Some(job) = job.as_mapping() else {
                continue;
            };
            for (k, v) in job {
                let key = k.as_str().unwrap_or_default();
                // Kubernetes SD is another test's subject.
                if !key.ends_with("_sd_configs") || key == "kubernetes_sd_configs" {
                    continue;
                }
                for entry in v.as_sequence().into_iter().flatten() {
                    let Some(entry) = entry.as_mapping() else {
                        continue;
                    };
                    let shape: Vec<String> = entry
                        .keys()
                        .map(|k| k.as_str().unwrap_or_default().to_owned())
                        .collect();
                    for field in &shape {
                        let mut variants: Vec<(&str, Option<serde_yaml::Value>)> =
                            vec![("removed", None)];
                        variants.push(("list", Some(serde_yaml::from_str("[a]").unwrap())));
                        variants.push(("map", Some(serde_yaml::from_str("{a: b}").unwrap())));
                        variants.push(("str", Some(serde_yaml::Value::from("x y"))));
                        for (name, value) in variants {
                            let sig = if name == "removed" {
                                format!("{key}/{field}/removed/{}", shape.join(","))
                            } else {
                                format!("{key}/{field}/{name}")
                            };
                            if !seen.insert(sig.clone()) {
                                continue;
                            }
                            let mut e = entry.clone();
                            match value {
                                None => {
                                    e.remove(field.as_str());
                                }
                                Some(v) => {
                                    e.insert(field.as_str().into(), v);
                                }
                            }
                            let mut job = serde_yaml::Mapping::new();
                            job.insert("job_name".into(), "x".into());
                            job.insert(key.into(), serde_yaml::Value::Sequence(vec![e.into()]));
                            let mut cfg = serde_yaml::Mapping::new();
                            cfg.insert(
                                "scrape_configs".into(),
                                serde_yaml::Value::Sequence(vec![job.into()]),
                            );
                            mutations.push((sig, serde_yaml::to_string(&cfg).unwrap()));
                        }
                    }
                }
            }
        }
    }
    assert!(mutations.len() > 500, "only {} mutations", mutations.len());
    let (accepted, disagreements) = compare_with_promtool(&promtool, &mutations);
    println!(
        "{} mutated discovery blocks: promtool 3.5 accepts {accepted}, {} disagreement(s)",
        mutations.len(),
        disagreements.len()
    );
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
}

/// The field mutations applied: removed, or replaced by a list, a mapping, a string with a
/// space, an integer.
fn field_variants() -> Vec<(&'static str, Option<serde_yaml::Value>)> {
    vec![
        ("removed", None),
        ("list", Some(serde_yaml::from_str("[a]").unwrap())),
        ("map", Some(serde_yaml::from_str("{a: b}").unwrap())),
        ("str", Some(serde_yaml::Value::from("x y"))),
        ("int", Some(serde_yaml::Value::from(7))),
    ]
}

/// `map` with `key` removed (`None`) or set to `value`.
fn mutated(
    map: &serde_yaml::Mapping,
    key: &serde_yaml::Value,
    value: &Option<serde_yaml::Value>,
) -> serde_yaml::Mapping {
    let mut m = map.clone();
    match value {
        None => {
            m.remove(key);
        }
        Some(v) => {
            m.insert(key.clone(), v.clone());
        }
    }
    m
}

/// Mutations of the corpus's job fields and of its `global`, `storage`, `tracing`, `otlp`,
/// `runtime`, `remote_write`, `remote_read` and `alerting.alertmanagers` fields (one config per
/// field and variant, the first time that field is seen): both checkers must agree on each.
#[test]
fn mutated_fields_agree_with_promtool_3_5() {
    let dir = corpus_dir();
    if !dir.is_dir() {
        eprintln!(
            "SKIP: {} is absent (the shared fixtures are not checked out)",
            dir.display()
        );
        return;
    }
    let promtool = peers::require(Peer::Promtool);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("read corpus dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .collect();
    files.sort();
    let mut seen = std::collections::BTreeSet::new();
    let mut mutations: Vec<(String, String)> = Vec::new();
    let mut push = |sig: String, doc: serde_yaml::Mapping| {
        if seen.insert(sig.clone()) {
            mutations.push((sig, serde_yaml::to_string(&doc).unwrap()));
        }
    };
    for f in &files {
        let Ok(serde_yaml::Value::Mapping(doc)) =
            serde_yaml::from_str::<serde_yaml::Value>(&std::fs::read_to_string(f).unwrap())
        else {
            continue;
        };
        // Job fields (discovery blocks have their own test), one job per config.
        let jobs = doc
            .get("scrape_configs")
            .and_then(|j| j.as_sequence())
            .cloned()
            .unwrap_or_default();
        for job in jobs.iter().filter_map(|j| j.as_mapping()) {
            for key in job.keys() {
                let name = key.as_str().unwrap_or_default();
                if name.ends_with("_sd_configs") {
                    continue;
                }
                for (variant, value) in field_variants() {
                    let mut d = doc.clone();
                    d.insert(
                        "scrape_configs".into(),
                        serde_yaml::Value::Sequence(vec![mutated(job, key, &value).into()]),
                    );
                    push(format!("job/{name}/{variant}"), d);
                }
            }
        }
        // Mapping sections.
        for section in ["global", "storage", "tracing", "otlp", "runtime"] {
            let Some(map) = doc.get(section).and_then(|s| s.as_mapping()) else {
                continue;
            };
            for key in map.keys() {
                for (variant, value) in field_variants() {
                    let mut d = doc.clone();
                    d.insert(section.into(), mutated(map, key, &value).into());
                    push(
                        format!("{section}/{}/{variant}", key.as_str().unwrap_or_default()),
                        d,
                    );
                }
            }
        }
        // List sections: every entry's fields.
        for section in ["remote_write", "remote_read"] {
            let entries = doc
                .get(section)
                .and_then(|s| s.as_sequence())
                .cloned()
                .unwrap_or_default();
            for (i, entry) in entries.iter().enumerate() {
                let Some(entry) = entry.as_mapping() else {
                    continue;
                };
                for key in entry.keys() {
                    for (variant, value) in field_variants() {
                        let mut list = entries.clone();
                        list[i] = mutated(entry, key, &value).into();
                        let mut d = doc.clone();
                        d.insert(section.into(), serde_yaml::Value::Sequence(list));
                        push(
                            format!("{section}/{}/{variant}", key.as_str().unwrap_or_default()),
                            d,
                        );
                    }
                }
            }
        }
        if let Some(alerting) = doc.get("alerting").and_then(|a| a.as_mapping()) {
            let ams = alerting
                .get("alertmanagers")
                .and_then(|a| a.as_sequence())
                .cloned()
                .unwrap_or_default();
            for (i, am) in ams.iter().enumerate() {
                let Some(am) = am.as_mapping() else { continue };
                for key in am.keys() {
                    for (variant, value) in field_variants() {
                        let mut list = ams.clone();
                        list[i] = mutated(am, key, &value).into();
                        let mut a = alerting.clone();
                        a.insert("alertmanagers".into(), serde_yaml::Value::Sequence(list));
                        let mut d = doc.clone();
                        d.insert("alerting".into(), a.into());
                        push(
                            format!(
                                "alertmanagers/{}/{variant}",
                                key.as_str().unwrap_or_default()
                            ),
                            d,
                        );
                    }
                }
            }
        }
    }
    assert!(mutations.len() > 400, "only {} mutations", mutations.len());
    let (accepted, disagreements) = compare_with_promtool(&promtool, &mutations);
    println!(
        "{} mutated fields: promtool 3.5 accepts {accepted}, {} disagreement(s)",
        mutations.len(),
        disagreements.len()
    );
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
}

/// Runs promtool (`--syntax-only`) and [`Config::parse`] on each `(name, yaml)`: how many
/// promtool accepts, and the cases where the verdicts differ.
fn compare_with_promtool(
    promtool: &std::path::Path,
    cases: &[(String, String)],
) -> (usize, Vec<String>) {
    let tmp = tempfile::tempdir().unwrap();
    let queue = Mutex::new(cases.iter().enumerate().collect::<Vec<_>>());
    let disagreements = Mutex::new(Vec::new());
    let accepted = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| loop {
                let Some((i, (sig, yaml))) = queue.lock().unwrap().pop() else {
                    return;
                };
                let path = tmp.path().join(format!("m{i}.yml"));
                std::fs::write(&path, yaml).unwrap();
                let out = Command::new(promtool)
                    .args(["check", "config", "--syntax-only"])
                    .arg(&path)
                    .output()
                    .expect("run promtool");
                let ours = Config::parse(yaml);
                if out.status.success() {
                    accepted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                if out.status.success() != ours.is_ok() {
                    disagreements.lock().unwrap().push(format!(
                        "{sig}: promtool {} ({}), Tidemark {:?}",
                        if out.status.success() {
                            "accepts"
                        } else {
                            "refuses"
                        },
                        String::from_utf8_lossy(&out.stdout)
                            .trim()
                            .replace('\n', " | "),
                        ours.as_ref().map(|_| ()).map_err(ToString::to_string)
                    ));
                }
            });
        }
    });
    (accepted.into_inner(), disagreements.into_inner().unwrap())
}
