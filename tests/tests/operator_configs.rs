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
