//! Differential check of the text-format parser against `promtool check metrics` (3.5, found
//! through `tidemark_tests::peers`; `$TIDEMARK_PROMTOOL_BIN` overrides it). promtool exits 0 (clean) or 3 (lint findings only) when the body parses, and 1 with
//! "error while linting" when it does not. Requirement: every body promtool parses, Tidemark
//! parses too, labels materialised. Bodies promtool rejects may still be accepted (Prometheus's
//! own scrape parser is more lenient, e.g. about label-value escapes), so those only count.
//!
//! Bodies: hand-written edge cases plus deterministic random mutations of real fixtures.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use tidemark_ingest::exposition::{Entry, Format, LabelBuf, Parser, ParserOptions};

fn promtool() -> PathBuf {
    tidemark_tests::peers::require(tidemark_tests::peers::Peer::Promtool)
}

/// `Some(true)` if promtool parses the body, `Some(false)` if it reports a parse error.
fn promtool_parses(bin: &PathBuf, body: &[u8]) -> bool {
    let mut child = Command::new(bin)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool starts");
    let mut stdin = child.stdin.take().expect("stdin is piped");
    let data = body.to_vec();
    let writer = std::thread::spawn(move || {
        // promtool may exit before reading everything; a broken pipe is fine.
        let _ = stdin.write_all(&data);
    });
    let out = child.wait_with_output().expect("promtool runs");
    let _ = writer.join();
    let stderr = String::from_utf8_lossy(&out.stderr);
    match out.status.code() {
        Some(0) | Some(3) => true,
        Some(1) if stderr.contains("error while linting") => false,
        other => panic!(
            "unexpected promtool result {other:?} for {:?}: {stderr}",
            String::from_utf8_lossy(body)
        ),
    }
}

/// Bodies `promtool check metrics` (3.5, client_golang's `expfmt` parser) accepts but
/// Prometheus 3.5's scrape parser refuses, and Tidemark with it. Checked against the real
/// 3.5.3 binary scraping the body from a loopback target: `lastError` was
/// `invalid metric type "gaugehistogram"`.
const SCRAPE_REFUSES: &[&[u8]] = &[b"# TYPE x gaugehistogram\nx 1\n"];

/// Parses the whole body as Tidemark's scrape loop would, labels included.
fn tidemark_parses(body: &[u8]) -> Result<usize, String> {
    let mut p = Parser::new(body, Format::Text, ParserOptions::default());
    let mut buf = LabelBuf::new();
    let mut n = 0;
    while let Some(e) = p.next_entry().map_err(|e| e.to_string())? {
        if let Entry::Sample(s) = e {
            s.labels_into(&mut buf).map_err(|e| e.to_string())?;
            n += 1;
        }
    }
    Ok(n)
}

const EDGE_CASES: &[&[u8]] = &[
    b"",
    b"\n",
    b"x 1\n",
    b"x 1",
    b"# TYPE x COUNTER\nx 1\n",
    b"# TYPE x Gauge\nx 1\n",
    b"# TYPE x  counter\nx 1\n",
    b"# TYPE x\tcounter\nx 1\n",
    b"# TYPE x UNTYPED\nx 1\n",
    b"# TYPE x\nx 1\n",
    b"# TYPE x gaugehistogram\nx 1\n",
    b"# TYPE x counter extra\nx 1\n",
    b"# TYPE x counter \nx 1\n",
    b"# HELP \nx 1\n",
    b"# HELP x\nx 1\n",
    b"# HELP\nx 1\n",
    b"# HELP x \xff\nx 1\n",
    b"# HELP x \\\\ and \\n\nx 1\n",
    b"# HELP x a \\q b\nx 1\n",
    b"#HELP x a\nx 1\n",
    b"#\tHELP x a\nx 1\n",
    b"#TYPE x bogus\nx 1\n",
    b"# HELP x-y text\nx 1\n",
    b"# foo\n#\n# \n",
    b"x 1 -5\n",
    b"x 1 +5\n",
    b"x 1 0\n",
    b"x 1 1.5\n",
    b"x 1 9223372036854775807\n",
    b"x 1 -9223372036854775808\n",
    b"x 1 99999999999999999999\n",
    b"x 1\r\n",
    b"x{a=\"1\",a=\"2\"} 1\n",
    b"x{a=\"1\" b=\"2\"} 1\n",
    b"x{a=\"1\",} 1\n",
    b"x{,} 1\n",
    b"x{} 1\n",
    b"x {a=\"1\"} 1\n",
    b"x{a=\"1\"}1\n",
    b"x{ a = \"1\" , } 1\n",
    b"x{a=\"1\"}\t1\n",
    b"  x 1  \n",
    b"x  1\n",
    b"x\t1\t5\t\n",
    b"\nx 1\n\n",
    b"x 1\n  \n\t\ny 2\n",
    b"x{a=\"\\q\"} 1\n",
    b"x{a=\"\\\\\"} 1\n",
    b"x{a=\"\xff\"} 1\n",
    b"x{a=\"\x00\"} 1\n",
    b"x{a=\"\"} 1\n",
    b"x{a=\"b\nc\"} 1\n",
    b"x{a=\"1\"}{b=\"2\"} 1\n",
    b"x{__name__=\"y\"} 1\n",
    b"{__name__=\"y\"} 1\n",
    b"x +Inf\n",
    b"x -Inf\n",
    b"x inf\n",
    b"x INF\n",
    b"x Infinity\n",
    b"x -Infinity\n",
    b"x infinit\n",
    b"x +nan\n",
    b"x nAn\n",
    b"x 1e400\n",
    b"x 1e-400\n",
    b"x 0x10\n",
    b"x 1_0\n",
    b"x .5\n",
    b"x 5.\n",
    b"x -0\n",
    b"x 00001\n",
    b"x 1E5\n",
    b"x 1e+5\n",
    b"x 1 2 3\n",
    b"x 1\nx 2\n",
    b"x 1\n# TYPE x counter\n",
    b"# TYPE x counter\nx 1\ny 2\nx 3\n",
    b"# TYPE x histogram\nx_bucket{le=\"1\"} 1\nx_bucket{le=\"+Inf\"} 1\nx_sum 1\nx_count 1\n",
    b"# TYPE x histogram\nx_bucket 1\n",
    b"# TYPE x summary\nx{quantile=\"0.5\"} 1\nx_sum 1\nx_count 1\n",
    b"# TYPE x summary\nx{quantile=\"a\"} 1\n",
    b"x 1\n\x00junk\n",
    b"x{a=\"1\"\n} 1\n",
    b"x{a\n=\"1\"} 1\n",
    b"x:y:z_w 1\n",
    b"_x 1\n",
    b"9x 1\n",
    b"x{9a=\"1\"} 1\n",
    b"x{a:b=\"1\"} 1\n",
    b"# EOF\n",
    b"x_total 1 # {a=\"b\"} 1\n",
    // Prometheus 3's quoted names: promtool 3.5 validates names with the legacy charset, so
    // it parses the quoted forms of legacy names only (the UTF-8 ones are compared with the
    // 3.5 scraper in `server/tests/e2e_scrape.rs`).
    b"{\"x\"} 1\n",
    b"{\"x\" , } 1\n",
    b"{\"x\", a=\"1\"} 1\n",
    b"{a=\"1\", \"x\"} 1\n",
    b"x{\"a\"=\"1\"} 1\n",
    b"x{\"a\" = \"1\",\"b\"=\"2\"} 1\n",
    b"# HELP \"x\" help\n# TYPE \"x\" counter\n{\"x\"} 1\n",
    b"# TYPE \"x\" histogram\n{\"x_bucket\",\"le\"=\"1\"} 1\n{\"x_bucket\",le=\"+Inf\"} 1\nx_sum 1\nx_count 1\n",
    b"{\"my.metric\"} 1\n",
    b"x{\"a.b\"=\"1\"} 1\n",
    b"{\"x\",\"y\"} 1\n",
    b"x{\"y\"} 1\n",
    b"{a=\"1\"} 1\n",
    b"{\"\"} 1\n",
    b"{\"x\" a=\"1\"} 1\n",
    b"{\"x\"=\"1\"} 1\n",
    b"{\"x\\\"y\"} 1\n",
    b"# HELP \"x\"h\nx 1\n",
    b"# TYPE \"x counter\nx 1\n",
];

const TOKENS: &[&[u8]] = &[
    b" ",
    b"\t",
    b"\n",
    b"{",
    b"}",
    b"=",
    b"\"",
    b"\\",
    b",",
    b"#",
    b"# HELP ",
    b"# TYPE ",
    b"counter",
    b"x",
    b"_",
    b":",
    b"1",
    b"-",
    b"+",
    b".",
    b"e",
    b"NaN",
    b"Inf",
    b"\r",
    b"\0",
    b"\xc3\xa9",
    b"\xff",
    b"a=\"b\"",
    b"le",
    b"{\"x\"",
    b"\"a\"=",
    b"\"a.b\"",
];

/// Deterministic xorshift64*.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// A few lines of a fixture with one to three random edits.
fn mutant(rng: &mut Rng, lines: &[&[u8]]) -> Vec<u8> {
    let start = rng.below(lines.len());
    let n = 1 + rng.below(4);
    let mut body: Vec<u8> = Vec::new();
    for l in lines.iter().cycle().skip(start).take(n) {
        body.extend_from_slice(l);
        body.push(b'\n');
    }
    for _ in 0..1 + rng.below(3) {
        let at = rng.below(body.len() + 1);
        match rng.below(3) {
            0 => {
                let t = TOKENS[rng.below(TOKENS.len())];
                body.splice(at..at, t.iter().copied());
            }
            1 if at < body.len() => {
                let end = (at + 1 + rng.below(3)).min(body.len());
                body.drain(at..end);
            }
            _ if at < body.len() => {
                body[at] = TOKENS[rng.below(TOKENS.len())][0];
            }
            _ => {}
        }
    }
    body
}

#[test]
fn tidemark_parses_every_body_promtool_parses() {
    let bin = promtool();
    // The fixtures stay with the parser, in the ingest crate.
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../ingest/tests/fixtures/exposition/"
    );
    let mut fixtures = Vec::new();
    for f in ["node_exporter.prom", "python_client.prom"] {
        fixtures.push(std::fs::read(format!("{dir}{f}")).expect("fixture"));
    }
    let mut bodies: Vec<Vec<u8>> = EDGE_CASES.iter().map(|b| b.to_vec()).collect();
    bodies.extend(fixtures.iter().cloned());
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for f in &fixtures {
        let lines: Vec<&[u8]> = f.split(|&c| c == b'\n').filter(|l| !l.is_empty()).collect();
        for _ in 0..120 {
            bodies.push(mutant(&mut rng, &lines));
        }
    }

    // Two workers: promtool startup dominates.
    let chunks: Vec<Vec<Vec<u8>>> = {
        let mut c = vec![Vec::new(), Vec::new()];
        for (i, b) in bodies.into_iter().enumerate() {
            c[i % 2].push(b);
        }
        c
    };
    let results: Vec<(Vec<u8>, bool, Result<usize, String>)> = std::thread::scope(|s| {
        let handles: Vec<_> = chunks
            .iter()
            .map(|chunk| {
                let bin = &bin;
                s.spawn(move || {
                    chunk
                        .iter()
                        .map(|b| (b.clone(), promtool_parses(bin, b), tidemark_parses(b)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("worker"))
            .collect()
    });

    let mut both = 0;
    let mut only_tidemark = 0;
    let mut neither = 0;
    let mut missed = Vec::new();
    let mut excused = Vec::new();
    for (body, promtool_ok, ours) in &results {
        match (promtool_ok, ours) {
            (true, Ok(_)) => both += 1,
            (true, Err(e)) if SCRAPE_REFUSES.contains(&body.as_slice()) => {
                excused.push(format!("{:?}: {e}", String::from_utf8_lossy(body)))
            }
            (true, Err(e)) => missed.push(format!("{:?}: {e}", String::from_utf8_lossy(body))),
            (false, Ok(_)) => only_tidemark += 1,
            (false, Err(_)) => neither += 1,
        }
    }
    eprintln!(
        "{} bodies: both parse {both}, only Tidemark {only_tidemark}, neither {neither}",
        results.len()
    );
    assert!(
        missed.is_empty(),
        "bodies promtool parses but Tidemark rejects:\n{}",
        missed.join("\n")
    );
    // Every excused body must still be one promtool parses and Tidemark refuses.
    assert_eq!(
        excused.len(),
        SCRAPE_REFUSES.len(),
        "an excused body no longer differs: {excused:?}"
    );
    eprintln!("{} known differences excused: {excused:?}", excused.len());
    // The corpus must exercise both sides, or the check proves nothing.
    assert!(both > 50 && neither > 50, "both {both}, neither {neither}");
}
