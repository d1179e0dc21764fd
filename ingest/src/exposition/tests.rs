//! Edge cases of both formats, each checked against what Prometheus (2.42 when written; 3.5's
//! parsers differ from it in the `le`/`quantile` normalization tested here) and, for the text
//! format, promtool do with the same bytes.

use super::*;
use proptest::prelude::*;

/// One parsed entry, owned, for comparisons.
#[derive(Debug, Clone, PartialEq)]
enum E {
    S(String, Vec<(String, String)>, u64, Option<i64>),
    Ex(String, Vec<(String, String)>, u64, Option<i64>),
    Help(String, String),
    Type(String, MetricType),
    Unit(String, String),
    Comment(String),
}

fn s(series_labels: &[(&str, &str)], v: f64, t: Option<i64>) -> E {
    let mut l: Vec<(String, String)> = series_labels
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
    l.sort();
    let name = l
        .iter()
        .find(|(n, _)| n == "__name__")
        .map(|(_, v)| v.clone())
        .unwrap();
    E::S(name, l, v.to_bits(), t)
}

fn parse_with(format: Format, opts: ParserOptions, body: &[u8]) -> Result<Vec<E>, ParseError> {
    let mut p = Parser::new(body, format, opts);
    let mut out = Vec::new();
    let mut buf = LabelBuf::new();
    while let Some(e) = p.next_entry()? {
        match e {
            Entry::Sample(smp) => {
                smp.labels_into(&mut buf)?;
                let labels = buf
                    .iter()
                    .map(|(n, v)| (n.to_owned(), v.to_owned()))
                    .collect();
                out.push(E::S(
                    smp.metric_name().into_owned(),
                    labels,
                    smp.value().to_bits(),
                    smp.timestamp_ms(),
                ));
                if let Some(ex) = smp.exemplar() {
                    let labels = ex
                        .labels
                        .iter()
                        .map(|(n, v)| (n.into_owned(), v.into_owned()))
                        .collect();
                    out.push(E::Ex(
                        String::new(),
                        labels,
                        ex.value.to_bits(),
                        ex.timestamp_ms,
                    ));
                }
            }
            Entry::Help(h) => out.push(E::Help(h.metric.to_string(), h.text().into_owned())),
            Entry::Type { metric, kind } => out.push(E::Type(metric.to_string(), kind)),
            Entry::Unit { metric, unit } => out.push(E::Unit(metric.to_string(), unit.to_owned())),
            Entry::Comment(c) => out.push(E::Comment(String::from_utf8_lossy(c).into_owned())),
        }
    }
    Ok(out)
}

fn text(body: &str) -> Result<Vec<E>, ParseError> {
    parse_with(Format::Text, ParserOptions::default(), body.as_bytes())
}

fn om(body: &str) -> Result<Vec<E>, ParseError> {
    parse_with(
        Format::OpenMetrics,
        ParserOptions::default(),
        body.as_bytes(),
    )
}

fn text_err(body: &str) -> ErrorDetails {
    match text(body) {
        Ok(v) => panic!("{body:?} parsed: {v:?}"),
        Err(e) => e.details().clone(),
    }
}

fn om_err(body: &str) -> ErrorDetails {
    match om(body) {
        Ok(v) => panic!("{body:?} parsed: {v:?}"),
        Err(e) => e.details().clone(),
    }
}

#[test]
fn text_prometheus_test_body() {
    // The body of Prometheus's TestPromParse (blanks everywhere, trailing commas, comments).
    let body = "# HELP go_gc_duration_seconds A summary of the GC invocation durations.\n\
# \tTYPE go_gc_duration_seconds summary\n\
go_gc_duration_seconds{quantile=\"0\"} 4.9351e-05\n\
go_gc_duration_seconds{quantile=\"0.25\",} 7.424100000000001e-05\n\
go_gc_duration_seconds{quantile=\"0.8\", a=\"b\"} 8.3835e-05\n\
# Hrandom comment starting with prefix of HELP\n\
#\n\
wind_speed{A=\"2\",c=\"3\"} 12345\n\
# HELP nohelp1\n\
# HELP nohelp2 \n\
go_gc_duration_seconds { quantile = \"1.0\", a = \"b\" } 8.3835e-05\n\
some:aggregate:rate5m{a_b=\"c\"}\t1\n\
go_goroutines 33  \t123123\n\
_metric_starting_with_underscore 1\n\
testmetric{label=\"\\\"bar\\\"\"} 1\n\
# HELP metric foo\x00bar\n\
null_byte_metric{a=\"abc\x00\"} 1";
    let got = text(body).unwrap();
    fn name(n: &str) -> (&str, &str) {
        ("__name__", n)
    }
    let g = "go_gc_duration_seconds";
    assert_eq!(
        got,
        vec![
            E::Help(g.into(), "A summary of the GC invocation durations.".into()),
            E::Type(g.into(), MetricType::Summary),
            s(&[name(g), ("quantile", "0.0")], 4.9351e-05, None),
            s(
                &[name(g), ("quantile", "0.25")],
                7.424100000000001e-05,
                None
            ),
            s(
                &[name(g), ("quantile", "0.8"), ("a", "b")],
                8.3835e-05,
                None
            ),
            E::Comment("# Hrandom comment starting with prefix of HELP".into()),
            E::Comment("#".into()),
            s(&[name("wind_speed"), ("A", "2"), ("c", "3")], 12345.0, None),
            E::Help("nohelp1".into(), String::new()),
            E::Help("nohelp2".into(), String::new()),
            s(
                &[name(g), ("quantile", "1.0"), ("a", "b")],
                8.3835e-05,
                None
            ),
            s(&[name("some:aggregate:rate5m"), ("a_b", "c")], 1.0, None),
            s(&[name("go_goroutines")], 33.0, Some(123123)),
            s(&[name("_metric_starting_with_underscore")], 1.0, None),
            s(&[name("testmetric"), ("label", "\"bar\"")], 1.0, None),
            E::Help("metric".into(), "foo\0bar".into()),
            s(&[name("null_byte_metric"), ("a", "abc\0")], 1.0, None),
        ]
    );
}

#[test]
fn text_series_bytes_and_values() {
    let body = b"  x {a=\"1\"}  2 \ny 3\nz{}4\n";
    let mut p = Parser::new(body, Format::Text, ParserOptions::default());
    let mut series = Vec::new();
    while let Some(e) = p.next_entry().unwrap() {
        if let Entry::Sample(s) = e {
            series.push((String::from_utf8_lossy(s.series()).into_owned(), s.value()));
        }
    }
    assert_eq!(
        series,
        vec![
            ("x {a=\"1\"}".to_owned(), 2.0),
            ("y".to_owned(), 3.0),
            ("z{}".to_owned(), 4.0)
        ]
    );
}

#[test]
fn text_values_and_timestamps() {
    let v = |b: &str| match text(b).unwrap().as_slice() {
        [E::S(_, _, v, t)] => (f64::from_bits(*v), *t),
        other => panic!("{other:?}"),
    };
    assert_eq!(v("x 1e3"), (1000.0, None));
    assert_eq!(v("x +Inf"), (f64::INFINITY, None));
    assert_eq!(v("x -Inf 5"), (f64::NEG_INFINITY, Some(5)));
    assert_eq!(v("x Infinity"), (f64::INFINITY, None));
    assert_eq!(v("x 1 -5"), (1.0, Some(-5)));
    assert_eq!(v("x 1 +5\n"), (1.0, Some(5)));
    assert_eq!(v("x\t1\t5\t\n"), (1.0, Some(5)));
    for nan in ["x NaN", "x nan", "x nAN 7"] {
        assert_eq!(v(nan).0.to_bits(), NORMAL_NAN, "{nan}");
    }
    assert_eq!(v("x 1 9223372036854775807").1, Some(i64::MAX));
}

#[test]
fn text_empty_and_blank_bodies() {
    assert_eq!(text("").unwrap(), vec![]);
    assert_eq!(text("\n\n  \n\t\n").unwrap(), vec![]);
    // A NUL byte where a line starts ends the body, as in Prometheus's lexer.
    assert_eq!(
        text("x 1\n\0junk junk\n").unwrap(),
        vec![s(&[("__name__", "x")], 1.0, None)]
    );
}

#[test]
fn text_metadata() {
    let got = text(
        "# TYPE a counter\n# TYPE b  GAUGE\n# TYPE c\tHistogram\n# TYPE d summary\n\
         # TYPE e untyped\n# HELP f a \\\\ b \\n c \\\" d \\q\n#HELP g x\n# TYPE h\n# HELP \n\
         # HELP i-j text\n",
    )
    .unwrap();
    assert_eq!(
        got,
        vec![
            E::Type("a".into(), MetricType::Counter),
            E::Type("b".into(), MetricType::Gauge),
            E::Type("c".into(), MetricType::Histogram),
            E::Type("d".into(), MetricType::Summary),
            E::Type("e".into(), MetricType::Unknown),
            // Text-format help unescapes only \\ and \n.
            E::Help("f".into(), "a \\ b \n c \\\" d \\q".into()),
            E::Comment("#HELP g x".into()),
            E::Comment("# TYPE h".into()),
            E::Comment("# HELP ".into()),
            // Prometheus drops the first byte after the name, whatever it is.
            E::Help("i".into(), "j text".into()),
        ]
    );
    let e = text_err("# TYPE x gaugehistogram\n");
    assert_eq!(
        e.kind,
        ErrorKind::InvalidMetricType("gaugehistogram".into())
    );
    assert_eq!((e.line, e.column), (1, 10));
    assert_eq!(
        text_err("x 1\n# TYPE x counter extra\n").kind,
        ErrorKind::InvalidMetricType("counter extra".into())
    );
    assert_eq!(
        text_err("# TYPE x counter \n").kind,
        ErrorKind::InvalidMetricType("counter ".into())
    );
    assert_eq!(
        text_err("# HELP 0x text\n").kind,
        ErrorKind::ExpectedMetricName("HELP")
    );
}

#[test]
fn text_label_escapes_and_raw_newlines() {
    let got = text("x{a=\"b\\\\c\\nd\\\"e\\qf\",g=\"multi\nline\"} 1\n").unwrap();
    assert_eq!(
        got,
        vec![s(
            &[
                ("__name__", "x"),
                ("a", "b\\c\nd\"e\\qf"),
                ("g", "multi\nline")
            ],
            1.0,
            None
        )]
    );
    // Prometheus's lexer even takes a missing comma.
    assert_eq!(
        text("x{a=\"1\" b=\"2\"} 1").unwrap(),
        vec![s(&[("__name__", "x"), ("a", "1"), ("b", "2")], 1.0, None)]
    );
}

#[test]
fn text_errors_name_the_line() {
    let cases: &[(&str, ErrorKind, usize)] = &[
        ("a", ErrorKind::ExpectedValue, 1),
        ("ok 1\na{b='c'} 1\n", ErrorKind::ExpectedLabelValue, 2),
        ("a{b=\n", ErrorKind::ExpectedLabelValue, 1),
        ("a{\u{ff}=\"foo\"} 1\n", ErrorKind::ExpectedLabelName, 1),
        ("a{b=\"\\\nx\"} 1\n", ErrorKind::EscapedNewline, 1),
        ("a true\n", ErrorKind::InvalidValue("true".into()), 1),
        (
            "something_weird{problem=\"",
            ErrorKind::UnterminatedLabelValue,
            1,
        ),
        ("empty_label_name{=\"\"} 0", ErrorKind::ExpectedLabelName, 1),
        ("foo 1_2\n", ErrorKind::InvalidValue("1_2".into()), 1),
        ("foo 0x1p-3\n", ErrorKind::InvalidValue("0x1p-3".into()), 1),
        ("foo 1e400\n", ErrorKind::InvalidValue("1e400".into()), 1),
        ("foo +nan\n", ErrorKind::InvalidValue("+nan".into()), 1),
        ("foo 0 1_2\n", ErrorKind::InvalidTimestamp("1_2".into()), 1),
        ("foo 0 1.5\n", ErrorKind::InvalidTimestamp("1.5".into()), 1),
        ("foo 0 1 2\n", ErrorKind::TrailingData("2".into()), 1),
        ("foo 0 -\n", ErrorKind::TrailingData("-".into()), 1),
        ("a 1\nb 2\r\n", ErrorKind::CarriageReturn("2\r".into()), 2),
        ("x{a=\"1\",,b=\"2\"} 1\n", ErrorKind::ExpectedLabelName, 1),
        ("x{,} 1\n", ErrorKind::ExpectedLabelName, 1),
        ("x{a=\"1\"}{b=\"2\"} 1\n", ErrorKind::ExpectedValue, 1),
        (
            "x 1 99999999999999999999\n",
            ErrorKind::InvalidTimestamp("99999999999999999999".into()),
            1,
        ),
        ("{__name__=\"x\"} 1\n", ErrorKind::MetricNameNotSet, 1),
        ("x{a=\"\u{ff}\"} 1", ErrorKind::InvalidUtf8LabelValue, 1),
        ("\n\n  9x 1\n", ErrorKind::InvalidStart, 3),
    ];
    for (body, kind, line) in cases {
        let body = body.replace('\u{ff}', "\u{0}").into_bytes();
        // Put real 0xff bytes where the table says \u{ff}.
        let body: Vec<u8> = body
            .into_iter()
            .map(|b| if b == 0 { 0xff } else { b })
            .collect();
        let e = match parse_with(Format::Text, ParserOptions::default(), &body) {
            Ok(v) => panic!("{:?} parsed: {v:?}", String::from_utf8_lossy(&body)),
            Err(e) => e.details().clone(),
        };
        assert_eq!(&e.kind, kind, "{:?}", String::from_utf8_lossy(&body));
        assert_eq!(e.line, *line, "{:?}", String::from_utf8_lossy(&body));
    }
}

#[test]
fn duplicate_labels_fail_when_materialised() {
    for body in ["x{a=\"1\",a=\"2\"} 1\n", "x{__name__=\"y\"} 1\n"] {
        let e = text_err(body);
        assert!(
            matches!(e.kind, ErrorKind::DuplicateLabel(_)),
            "{body}: {e}"
        );
    }
    let e = om_err("a 1\nx{b=\"1\",b=\"1\"} 1\n# EOF\n");
    assert_eq!(e.kind, ErrorKind::DuplicateLabel("b".into()));
    assert_eq!(e.line, 2);
}

#[test]
fn empty_label_values_are_kept_in_the_buffer_and_dropped_from_labels() {
    let body = b"x{a=\"\",b=\"1\"} 1\n";
    let Some(Ok(Entry::Sample(smp))) =
        Parser::new(body, Format::Text, ParserOptions::default()).next()
    else {
        panic!()
    };
    let mut buf = LabelBuf::new();
    smp.labels_into(&mut buf).unwrap();
    assert_eq!(buf.get("a"), Some(""));
    let l = buf.to_labels();
    assert_eq!(l.to_string(), r#"{__name__="x", b="1"}"#);
    assert_eq!(smp.to_labels().unwrap(), l);
    let mut b = tidemark_engine::LabelsBuilder::new();
    buf.fill_builder(&mut b);
    assert_eq!(b.build().unwrap(), l);
}

#[test]
fn om_full_body() {
    let body = "# HELP go_gc_duration_seconds A summary of the GC invocation durations.\n\
# TYPE go_gc_duration_seconds summary\n\
# UNIT go_gc_duration_seconds seconds\n\
go_gc_duration_seconds{quantile=\"0\"} 4.9351e-05\n\
# HELP nohelp1 \n\
# HELP help2 escape \\ \\n \\\\ \\\" \\x chars\n\
# UNIT nounit \n\
go_goroutines 33 123.123\n\
# TYPE hh histogram\n\
hh_bucket{le=\"+Inf\"} 1 # {aa=\"bb\"} 4\n\
# TYPE ggh gaugehistogram\n\
ggh_bucket{le=\"+Inf\"} 1 # {cc=\"dd\",xx=\"yy\"} 4 123.123\n\
# TYPE ii info\n\
ii{foo=\"bar\"} 1\n\
# TYPE ss stateset\n\
ss{ss=\"foo\"} 1\n\
# TYPE un unknown\n\
_metric_starting_with_underscore 1\n\
testmetric{label=\"\\\"bar\\\"\"} 1\n\
foo_total 17.0 1520879607.789 # {id=\"counter-test\"} 5\n\
nan_ex_total 1 # {} NaN\n\
# EOF\n";
    let got = om(body).unwrap();
    fn name(n: &str) -> (&str, &str) {
        ("__name__", n)
    }
    let g = "go_gc_duration_seconds";
    let ex = |l: &[(&str, &str)], v: f64, t: Option<i64>| {
        E::Ex(
            String::new(),
            l.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
            v.to_bits(),
            t,
        )
    };
    assert_eq!(
        got,
        vec![
            E::Help(g.into(), "A summary of the GC invocation durations.".into()),
            E::Type(g.into(), MetricType::Summary),
            E::Unit(g.into(), "seconds".into()),
            s(&[name(g), ("quantile", "0.0")], 4.9351e-05, None),
            E::Help("nohelp1".into(), String::new()),
            // OpenMetrics help shares label-value escaping (\" too).
            E::Help("help2".into(), "escape \\ \n \\ \" \\x chars".into()),
            E::Unit("nounit".into(), String::new()),
            s(&[name("go_goroutines")], 33.0, Some(123123)),
            E::Type("hh".into(), MetricType::Histogram),
            s(&[name("hh_bucket"), ("le", "+Inf")], 1.0, None),
            ex(&[("aa", "bb")], 4.0, None),
            E::Type("ggh".into(), MetricType::GaugeHistogram),
            s(&[name("ggh_bucket"), ("le", "+Inf")], 1.0, None),
            ex(&[("cc", "dd"), ("xx", "yy")], 4.0, Some(123123)),
            E::Type("ii".into(), MetricType::Info),
            s(&[name("ii"), ("foo", "bar")], 1.0, None),
            E::Type("ss".into(), MetricType::StateSet),
            s(&[name("ss"), ("ss", "foo")], 1.0, None),
            E::Type("un".into(), MetricType::Unknown),
            s(&[name("_metric_starting_with_underscore")], 1.0, None),
            s(&[name("testmetric"), ("label", "\"bar\"")], 1.0, None),
            s(&[name("foo_total")], 17.0, Some(1520879607789)),
            ex(&[("id", "counter-test")], 5.0, None),
            s(&[name("nan_ex_total")], 1.0, None),
            ex(&[], f64::from_bits(NORMAL_NAN), None),
        ]
    );
}

#[test]
fn om_eof_rules() {
    assert_eq!(om("# EOF").unwrap(), vec![]);
    assert_eq!(om("# EOF\n").unwrap(), vec![]);
    assert_eq!(om_err("").kind, ErrorKind::MissingEof);
    assert_eq!(om_err("x 1\n").kind, ErrorKind::MissingEof);
    assert_eq!(om_err("x 1").kind, ErrorKind::MissingEof);
    assert_eq!(om_err("x 1 # {a=\"b\"} 1").kind, ErrorKind::MissingEof);
    let e = om_err("x 1\n# EOF\n\n");
    assert_eq!((e.kind, e.line), (ErrorKind::DataAfterEof, 3));
    assert_eq!(om_err("# EOF\nx 1\n").kind, ErrorKind::DataAfterEof);
    assert_eq!(om_err("# EOFx\n").kind, ErrorKind::DataAfterEof);
}

#[test]
fn om_is_strict_about_whitespace_and_comments() {
    let cases: &[(&str, ErrorKind)] = &[
        ("\nx 1\n# EOF\n", ErrorKind::InvalidStart),
        (" x 1\n# EOF\n", ErrorKind::InvalidStart),
        ("x  1\n# EOF\n", ErrorKind::ExpectedValue),
        ("x\t1\n# EOF\n", ErrorKind::ExpectedValue),
        ("x 1 \n# EOF\n", ErrorKind::TrailingData(" ".into())),
        ("x 1 2 3\n# EOF\n", ErrorKind::TrailingData(" 3".into())),
        ("x{a=\"1\",,} 1\n# EOF\n", ErrorKind::ExpectedLabelName),
        ("x{ a=\"1\"} 1\n# EOF\n", ErrorKind::ExpectedLabelName),
        ("x{a=\"1\" ,b=\"2\"} 1\n# EOF\n", ErrorKind::ExpectedComma),
        ("x{a=\"1\"b=\"2\"} 1\n# EOF\n", ErrorKind::ExpectedComma),
        (
            "x {a=\"1\"} 1\n# EOF\n",
            ErrorKind::InvalidValue("{a=\"1\"}".into()),
        ),
        (
            "x{a=\"b\nc\"} 1\n# EOF\n",
            ErrorKind::UnterminatedLabelValue,
        ),
        ("# comment\n# EOF\n", ErrorKind::InvalidComment),
        ("#TYPE x counter\n# EOF\n", ErrorKind::InvalidComment),
        (
            "# TYPE x untyped\n# EOF\n",
            ErrorKind::InvalidMetricType("untyped".into()),
        ),
        (
            "# TYPE x Counter\n# EOF\n",
            ErrorKind::InvalidMetricType("Counter".into()),
        ),
        (
            "# TYPE x counter \n# EOF\n",
            ErrorKind::InvalidMetricType("counter ".into()),
        ),
        ("# HELP x\n# EOF\n", ErrorKind::ExpectedMetadataText("HELP")),
        (
            "# HELP 1x y\n# EOF\n",
            ErrorKind::ExpectedMetricName("HELP"),
        ),
        (
            "# UNIT x_seconds x\n# EOF\n",
            ErrorKind::UnitNotSuffix {
                unit: "x".into(),
                metric: "x_seconds".into(),
            },
        ),
        (
            "# UNIT seconds seconds\n# EOF\n",
            ErrorKind::UnitNotSuffix {
                unit: "seconds".into(),
                metric: "seconds".into(),
            },
        ),
        (
            "# UNIT xseconds seconds\n# EOF\n",
            ErrorKind::UnitNotSuffix {
                unit: "seconds".into(),
                metric: "xseconds".into(),
            },
        ),
        (
            "x 1 NaN\n# EOF\n",
            ErrorKind::InvalidTimestamp("NaN".into()),
        ),
        (
            "x 1 +Inf\n# EOF\n",
            ErrorKind::InvalidTimestamp("+Inf".into()),
        ),
        ("x 1 # {a=\"b\"}\n# EOF\n", ErrorKind::ExpectedExemplarValue),
        (
            "x 1 # {a=\"b\"} x\n# EOF\n",
            ErrorKind::InvalidExemplarValue("x".into()),
        ),
        (
            "x 1 # {a=\"b\"} 1 Inf\n# EOF\n",
            ErrorKind::InvalidExemplarTimestamp("Inf".into()),
        ),
        (
            "x 1 # {a=\"b\"} 1 2 3\n# EOF\n",
            ErrorKind::TrailingData(" 3".into()),
        ),
        ("x 1 # x\n# EOF\n", ErrorKind::InvalidTimestamp("#".into())),
        ("x 1\r\n# EOF\n", ErrorKind::InvalidValue("1\r".into())),
    ];
    for (body, kind) in cases {
        assert_eq!(&om_err(body).kind, kind, "{body:?}");
    }
    let mut bad_help = b"# HELP x \xff\n# EOF\n".to_vec();
    assert_eq!(
        parse_with(Format::OpenMetrics, ParserOptions::default(), &bad_help)
            .unwrap_err()
            .kind(),
        &ErrorKind::InvalidHelpUtf8
    );
    // The same byte is fine in the text format (promtool accepts it).
    bad_help.truncate(11);
    assert!(parse_with(Format::Text, ParserOptions::default(), &bad_help).is_ok());
}

#[test]
fn om_timestamps_are_float_seconds() {
    let got = om("a 1 1\nb 1 -1.5\nc 1 1e3\nd 1 0.0005\n# EOF\n").unwrap();
    let ts: Vec<Option<i64>> = got
        .iter()
        .map(|e| match e {
            E::S(_, _, _, t) => *t,
            _ => panic!(),
        })
        .collect();
    assert_eq!(ts, vec![Some(1000), Some(-1500), Some(1_000_000), Some(0)]);
}

#[test]
fn om_created_and_exemplars_can_be_skipped() {
    let body = b"# TYPE c counter\nc_total 1 # {t=\"1\"} 1\nc_created 1.7e9\n\
# TYPE g gauge\ng_created 5\n# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_created 1\n\
# TYPE s summary\ns_count 1\ns_created 1\nother_created 2\n# EOF\n";
    let names = |opts: ParserOptions| -> Vec<(String, bool)> {
        let mut p = Parser::new(body, Format::OpenMetrics, opts);
        let mut out = Vec::new();
        while let Some(e) = p.next_entry().unwrap() {
            if let Entry::Sample(s) = e {
                out.push((s.metric_name().into_owned(), s.exemplar().is_some()));
            }
        }
        out
    };
    let all = names(ParserOptions::default());
    assert_eq!(all.len(), 8);
    assert!(all[0].1, "exemplar kept by default");
    let skipped = names(ParserOptions {
        skip_created: true,
        skip_exemplars: true,
    });
    let n: Vec<&str> = skipped.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        n,
        [
            "c_total",
            "g_created",
            "h_bucket",
            "s_count",
            "other_created"
        ]
    );
    assert!(skipped.iter().all(|(_, ex)| !ex));
    // A skipped sample is still validated.
    let bad = b"# TYPE c counter\nc_created x\n# EOF\n";
    let mut p = Parser::new(
        bad,
        Format::OpenMetrics,
        ParserOptions {
            skip_created: true,
            skip_exemplars: false,
        },
    );
    assert!(p.next_entry().is_ok());
    assert!(p.next_entry().is_err());
}

#[test]
fn parser_stays_failed_after_an_error() {
    let mut p = Parser::new(b"x 1\n!\ny 2\n", Format::Text, ParserOptions::default());
    assert!(matches!(p.next(), Some(Ok(Entry::Sample(_)))));
    assert!(matches!(p.next(), Some(Err(_))));
    assert!(p.next().is_none());
}

#[test]
fn fixtures_parse() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/exposition/");
    for (file, format, min_samples) in [
        ("node_exporter.prom", Format::Text, 400),
        ("node_exporter.om.txt", Format::OpenMetrics, 400),
        ("python_client.prom", Format::Text, 20),
        ("python_client.om.txt", Format::OpenMetrics, 20),
    ] {
        let body = std::fs::read(format!("{dir}{file}")).unwrap();
        let got = parse_with(format, ParserOptions::default(), &body)
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        let n = got.iter().filter(|e| matches!(e, E::S(..))).count();
        assert!(n >= min_samples, "{file}: {n} samples");
        fuzz_check(&body, format);
    }
    // Same series, same values in both renderings of the node exporter body (OpenMetrics
    // adds `_total` only where the text already had it, so names match one to one).
    let read = |f: &str, fmt| {
        let body = std::fs::read(format!("{dir}{f}")).unwrap();
        let mut v: Vec<(Vec<(String, String)>, u64)> =
            parse_with(fmt, ParserOptions::default(), &body)
                .unwrap()
                .into_iter()
                .filter_map(|e| match e {
                    E::S(_, l, v, _) => Some((l, v)),
                    _ => None,
                })
                .collect();
        v.sort();
        v
    };
    assert_eq!(
        read("node_exporter.prom", Format::Text),
        read("node_exporter.om.txt", Format::OpenMetrics)
    );
}

/// Label values drawn from characters that stress escaping and UTF-8.
fn label_value() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just('\\'),
            Just('"'),
            Just('\n'),
            Just('n'),
            Just(' '),
            Just(','),
            Just('}'),
            Just('#'),
            Just('\0'),
            Just('é'),
            Just('😀'),
            proptest::char::range('a', 'z'),
        ],
        0..8,
    )
    .prop_map(|v| v.into_iter().collect())
}

fn value() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>(),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(f64::NAN),
        Just(-0.0),
        (-1_000_000i64..1_000_000).prop_map(|i| i as f64),
        (-1_000_000i64..1_000_000).prop_map(|i| i as f64 / 1000.0),
    ]
}

type Series = (String, Vec<(String, String)>, f64, Option<i64>);

fn series() -> impl Strategy<Value = Series> {
    (
        "[a-zA-Z_:][a-zA-Z0-9_:]{0,12}",
        proptest::collection::btree_map("[a-zA-Z_][a-zA-Z0-9_]{0,8}", label_value(), 0..5),
        value(),
        proptest::option::of(any::<i64>()),
    )
        .prop_filter("__name__ is not a label", |(_, l, _, _)| {
            !l.contains_key("__name__")
        })
        .prop_map(|(n, l, v, t)| (n, l.into_iter().collect(), v, t))
}

fn expected(s: &Series) -> E {
    let mut l: Vec<(String, String)> = s.1.clone();
    l.push(("__name__".into(), s.0.clone()));
    l.sort();
    let v = if s.2.is_nan() {
        NORMAL_NAN
    } else {
        s.2.to_bits()
    };
    E::S(s.0.clone(), l, v, s.3)
}

proptest! {
    #[test]
    fn text_round_trip(all in proptest::collection::vec(series(), 0..20)) {
        let mut body = String::new();
        for (n, l, v, t) in &all {
            write_text_sample(&mut body, n, l.iter().map(|(a, b)| (a.as_str(), b.as_str())), *v, *t);
        }
        let got = text(&body).unwrap();
        let want: Vec<E> = all.iter().map(expected).collect();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn om_round_trip(all in proptest::collection::vec(series(), 0..20)) {
        // OpenMetrics: same lines but timestamps as seconds with millisecond fractions that
        // are exact in binary (multiples of 125ms), so int64(ts*1000) gives them back.
        let mut body = String::new();
        let mut want = Vec::new();
        for (n, l, v, t) in &all {
            let t = t.map(|t| (t % 1_000_000_000_000) / 125 * 125);
            let mut line = String::new();
            write_text_sample(&mut line, n, l.iter().map(|(a, b)| (a.as_str(), b.as_str())), *v, None);
            line.pop();
            body.push_str(&line);
            if let Some(t) = t {
                body.push_str(&format!(" {}", t as f64 / 1000.0));
            }
            body.push('\n');
            want.push(expected(&(n.clone(), l.clone(), *v, t)));
        }
        body.push_str("# EOF\n");
        prop_assert_eq!(om(&body).unwrap(), want);
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..200)) {
        fuzz_check(&data, Format::Text);
        fuzz_check(&data, Format::OpenMetrics);
    }

    #[test]
    fn exposition_soup_never_panics(parts in proptest::collection::vec(prop_oneof![
        Just("x"), Just("_total"), Just("{"), Just("}"), Just("a"), Just("="), Just("\""),
        Just("\\"), Just(","), Just(" "), Just("\t"), Just("\n"), Just("1"), Just("1.5e3"),
        Just("NaN"), Just("+Inf"), Just("# "), Just("HELP "), Just("TYPE "), Just("UNIT "),
        Just("counter"), Just("EOF"), Just(" # {"), Just("\0"), Just("é"), Just("\r"),
    ], 0..40)) {
        let data = parts.concat();
        fuzz_check(data.as_bytes(), Format::Text);
        fuzz_check(data.as_bytes(), Format::OpenMetrics);
    }
}

#[test]
fn entries_stay_small() {
    // One entry is produced per line; keep it to a few words (see the bench).
    assert!(std::mem::size_of::<Result<Option<Entry<'_>>, ParseError>>() <= 64);
}

/// Everything the cache reads from a sample, and errors as text.
fn outcome(r: Result<Option<Entry<'_>>, ParseError>) -> Result<Option<String>, String> {
    match r {
        Ok(Some(Entry::Sample(s))) => Ok(Some(format!(
            "{:?} {} {:x} {:?} {:?}",
            String::from_utf8_lossy(s.series()),
            s.metric_name(),
            s.value().to_bits(),
            s.timestamp_ms(),
            s.raw_labels().iter().collect::<Vec<_>>()
        ))),
        Ok(Some(e)) => Ok(Some(format!("{e:?}"))),
        Ok(None) => Ok(None),
        Err(e) => Err(e.to_string()),
    }
}

/// Parses `body` with `next_entry_expecting(expected[i])` for the i-th entry and checks
/// every entry against plain `next_entry`; returns how many samples were expected.
fn check_expecting(body: &[u8], expected: &[&[u8]]) -> usize {
    check_expecting_in(Format::Text, ParserOptions::default(), body, expected)
}

fn check_expecting_in(
    format: Format,
    opts: ParserOptions,
    body: &[u8],
    expected: &[&[u8]],
) -> usize {
    let mut plain = Parser::new(body, format, opts);
    let mut hinted = Parser::new(body, format, opts);
    let mut hits = 0;
    for i in 0.. {
        let hint = expected
            .get(i % expected.len().max(1))
            .copied()
            .unwrap_or(b"");
        let a = plain.next_entry();
        let b = hinted.next_entry_expecting(hint);
        if let Ok(Some(Entry::Sample(s))) = &b {
            // Missing the hint (e.g. after an empty line) is allowed; a false hit is not.
            assert!(!s.is_expected() || s.series() == hint, "{body:?} {hint:?}");
            hits += usize::from(s.is_expected());
        }
        let (a, b) = (outcome(a), outcome(b));
        assert_eq!(
            a,
            b,
            "body {:?}, hint {:?}",
            String::from_utf8_lossy(body),
            hint
        );
        if !matches!(a, Ok(Some(_))) {
            break;
        }
    }
    hits
}

#[test]
fn an_expected_series_parses_as_without_the_hint() {
    let cases: &[(&str, &str, usize)] = &[
        ("foo{a=\"b\"} 1\n", "foo{a=\"b\"}", 1),
        ("foo 1 123\n", "foo", 1),
        ("  foo\t1\n", "foo", 1),
        // A longer name, or the same name with labels, is another series.
        ("foo_bar 1\n", "foo", 0),
        ("foo {a=\"b\"} 1\n", "foo", 0),
        ("foo{a=\"b\"} 1\n", "foo", 0),
        ("foo {a=\"b\"} 1\n", "foo {a=\"b\"}", 1),
        // The rest of the line is still checked.
        ("foo{a=\"b\"} x\n", "foo{a=\"b\"}", 0),
        ("foo{a=\"b\"} 1 2 3\n", "foo{a=\"b\"}", 0),
        ("foo{a=\"b\"}", "foo{a=\"b\"}", 0),
        ("foo{a=\"b\"} \n", "foo{a=\"b\"}", 0),
        ("foo{a=\"b\"}1\n", "foo{a=\"b\"}", 1),
        ("# HELP foo x\nfoo 1\n", "foo", 1),
        ("\nfoo 1\n", "foo", 0),
        ("foo 1\n", "", 0),
    ];
    for (body, hint, hits) in cases {
        assert_eq!(
            check_expecting(body.as_bytes(), &[hint.as_bytes()]),
            *hits,
            "{body:?} expecting {hint:?}"
        );
    }
}

#[test]
fn an_expected_openmetrics_series_parses_as_without_the_hint() {
    let om = |body: &str, hint: &str, opts: ParserOptions| {
        check_expecting_in(
            Format::OpenMetrics,
            opts,
            body.as_bytes(),
            &[hint.as_bytes()],
        )
    };
    let keep = ParserOptions::default();
    let cases: &[(&str, &str, usize)] = &[
        ("foo{a=\"b\"} 1\n# EOF\n", "foo{a=\"b\"}", 1),
        ("foo 1 123.5\n# EOF\n", "foo", 1),
        ("foo_bar 1\n# EOF\n", "foo", 0),
        ("foo{a=\"b\"} 1\n# EOF\n", "foo", 0),
        ("foo  1\n# EOF\n", "foo", 0),
        ("foo{a=\"b\"} x\n# EOF\n", "foo{a=\"b\"}", 0),
        ("foo{a=\"b\"} 1", "foo{a=\"b\"}", 0),
        ("foo 1 # {e=\"1\"} 2\n# EOF\n", "foo", 1),
        ("foo 1 # {e=\"1\"\n# EOF\n", "foo", 0),
        ("# EOF\nfoo 1\n", "foo", 0),
        (
            "# TYPE foo counter\nfoo_total 1\nfoo_created 1\n# EOF\n",
            "foo_total",
            1,
        ),
    ];
    for (body, hint, hits) in cases {
        assert_eq!(om(body, hint, keep), *hits, "{body:?} expecting {hint:?}");
    }
    // A skipped `_created` line is skipped with the hint too.
    let skip = ParserOptions {
        skip_created: true,
        ..keep
    };
    let body = "# TYPE foo counter\nfoo_total 1\nfoo_created 1\nbar 2\n# EOF\n";
    assert_eq!(om(body, "foo_created", skip), 0);
    assert_eq!(om(body, "foo_total", skip), 1);
}

proptest! {
    #[test]
    fn expecting_never_changes_what_is_parsed_in_openmetrics(
        lines in proptest::collection::vec(
            (
                prop_oneof![Just("a"), Just("a_total"), Just("a_created"), Just("# TYPE a counter"),
                    Just("# TYPE \"a\" counter"), Just("# TYPE \"a b\" counter"),
                    Just("# HELP \"a.b\" h"), Just("{\"a.b\""), Just("{\"a_created\""),
                    Just("{\"a b_created\""), Just("{\"a\\\"\""), Just("")],
                prop_oneof![Just(""), Just("{x=\"1\"}"), Just("{x=\"1\",}"), Just("{x=\"1\""),
                    Just("}"), Just(",x=\"1\"}"), Just(",\"x.y\"=\"1\"}"), Just(",}"),
                    Just("{\"x.y\"=\"1\"}"), Just("{\"q\"}")],
                prop_oneof![Just(" 1"), Just(" NaN"), Just("1"), Just(" 1 5"), Just("  1"),
                    Just(" 1 # {e=\"1\"} 1"), Just("")],
            ),
            0..10,
        ),
        hints in proptest::collection::vec(
            prop_oneof![Just("a"), Just("a_total"), Just("a_created"), Just("a{x=\"1\"}"),
                Just("{\"a.b\"}"), Just("{\"a.b\",x=\"1\"}"), Just("{\"a_created\"}"),
                Just("{\"a b_created\"}"), Just("")],
            0..4,
        ),
        eof in any::<bool>(),
        skip_created in any::<bool>(),
    ) {
        let mut body: String = lines
            .iter()
            .map(|(n, l, v)| format!("{n}{l}{v}\n"))
            .collect();
        if eof {
            body.push_str("# EOF\n");
        }
        let hints: Vec<&[u8]> = hints.iter().map(|h| h.as_bytes()).collect();
        let opts = ParserOptions { skip_created, ..ParserOptions::default() };
        check_expecting_in(Format::OpenMetrics, opts, body.as_bytes(), &hints);
    }

    #[test]
    fn expecting_never_changes_what_is_parsed(
        lines in proptest::collection::vec(
            (
                prop_oneof![Just("a"), Just("a_b"), Just("a:b"), Just(" a"), Just("#"),
                    Just("# TYPE \"a b\" counter"), Just("# TYPE \"a counter\""),
                    Just("# HELP \"a.b\" x"), Just("{\"a.b\""), Just("{ \"a.b\" "),
                    Just("{\"a\\n\""), Just("")],
                prop_oneof![Just(""), Just(" "), Just("{x=\"1\"}"), Just(" {x=\"1\"}"),
                    Just("{x=\"1\",}"), Just("{x=\"1\""), Just("}"), Just(", x=\"1\"}"),
                    Just("{\"x.y\"=\"1\"}"), Just(",\"x.y\" = \"1\",}"), Just("{\"q\"}")],
                prop_oneof![Just(" 1"), Just(" NaN"), Just("1"), Just(" x"), Just(" 1 5"),
                    Just(" 1 5 6"), Just("")],
            ),
            0..12,
        ),
        hints in proptest::collection::vec(
            prop_oneof![Just("a"), Just("a_b"), Just("a{x=\"1\"}"), Just("a {x=\"1\"}"),
                Just("a:b{x=\"1\",}"), Just("{\"a.b\"}"), Just("{ \"a.b\" }"),
                Just("{\"a.b\", x=\"1\"}"), Just("")],
            0..4,
        ),
    ) {
        let body: String = lines
            .iter()
            .map(|(n, l, v)| format!("{n}{l}{v}\n"))
            .collect();
        let hints: Vec<&[u8]> = hints.iter().map(|h| h.as_bytes()).collect();
        check_expecting(body.as_bytes(), &hints);
    }
}

proptest! {
    #[test]
    fn a_value_is_its_whole_token(
        tok in "[0-9.eE+x-]{1,24}",
        rest in prop_oneof![Just(" 5\n"), Just("\n"), Just(""), Just("\t\n")],
    ) {
        // The value is parsed while the token is scanned; the result must be the whole
        // token's, whatever follows the digits.
        let body = format!("m {tok}{rest}");
        let mut p = Parser::new(body.as_bytes(), Format::Text, ParserOptions::default());
        let got = match p.next_entry() {
            Ok(Some(Entry::Sample(s))) => Ok(s.value().to_bits()),
            Ok(other) => panic!("{body:?}: {other:?}"),
            Err(e) => Err((e.column(), e.to_string())),
        };
        // A bad token is reported as the value, at its first byte.
        let want = super::lex::parse_float(tok.as_bytes())
            .map(f64::to_bits)
            .ok_or(3);
        prop_assert_eq!(got.as_ref().copied().map_err(|e| e.0), want, "{:?} {:?}", body, got);
        if let Ok(bits) = got {
            // And it is what Rust's correctly rounded parser gives for a decimal token.
            if let Ok(v) = tok.parse::<f64>() {
                prop_assert_eq!(bits, v.to_bits(), "{:?}", body);
            }
        }
    }
}

/// Parses `body` twice, the second time skipping the metadata lines the first parse
/// returned; both must give the same entries (a skipped line standing for its entry).
fn check_skipping(format: Format, opts: ParserOptions, body: &str) -> usize {
    let describe = |p: &Parser<'_>, r: Result<Option<Entry<'_>>, ParseError>| match r {
        Ok(Some(Entry::Help(_) | Entry::Type { .. } | Entry::Unit { .. })) => Ok(Some(format!(
            "meta {:?}",
            String::from_utf8_lossy(p.metadata_line())
        ))),
        other => outcome(other),
    };
    let mut first = Parser::new(body.as_bytes(), format, opts);
    let mut want = Vec::new();
    let mut lines: Vec<Vec<u8>> = Vec::new();
    loop {
        let r = first.next_entry();
        let is_meta = matches!(
            r,
            Ok(Some(
                Entry::Help(_) | Entry::Type { .. } | Entry::Unit { .. }
            ))
        );
        let d = describe(&first, r);
        if is_meta {
            lines.push(first.metadata_line().to_vec());
        }
        let end = !matches!(d, Ok(Some(_)));
        want.push(d);
        if end {
            break;
        }
    }
    let mut second = Parser::new(body.as_bytes(), format, opts);
    let (mut got, mut skipped, mut k) = (Vec::new(), 0, 0);
    loop {
        if let Some(line) = lines.get(k) {
            if second.skip_metadata_line(line) {
                assert_eq!(second.metadata_line(), &line[..]);
                got.push(Ok(Some(format!(
                    "meta {:?}",
                    String::from_utf8_lossy(line)
                ))));
                (k, skipped) = (k + 1, skipped + 1);
                continue;
            }
        }
        let r = second.next_entry();
        if matches!(
            r,
            Ok(Some(
                Entry::Help(_) | Entry::Type { .. } | Entry::Unit { .. }
            ))
        ) {
            k += 1;
        }
        let d = describe(&second, r);
        let end = !matches!(d, Ok(Some(_)));
        got.push(d);
        if end {
            break;
        }
    }
    assert_eq!(got, want, "{body:?}");
    skipped
}

#[test]
fn skipped_metadata_lines_change_nothing_else() {
    let text = "# HELP a A \\\\ b.\n  # TYPE a counter\n# just a comment\na 1\n\n# HELP b\n# TYPE b untyped\nb{x=\"1\"} 2\n# UNIT b c\n";
    // Four metadata lines; the one after an empty line is parsed (skipping starts at a line).
    assert_eq!(
        check_skipping(Format::Text, ParserOptions::default(), text),
        3
    );
    // Quoted names, one holding blanks and a type word; `# TYPE name` alone is a comment
    // and leaves the type (here histogram, which normalizes `le`) as it was.
    let text = "# TYPE \"h.x\" histogram\n# TYPE \"a counter\"\n{\"h.x\",le=\"1\"} 1\n# HELP \"a b\" x y\n# TYPE \"a b\" gauge\n{\"a b\"} 2\n";
    assert_eq!(
        check_skipping(Format::Text, ParserOptions::default(), text),
        3
    );
    let om = "# TYPE a counter\n# HELP a A \\\\ b.\n# UNIT a \na_total 1\na_created 5\n# TYPE b gauge\n# HELP b x\nb 2\nb_created 3\n# EOF\n";
    let quoted = "# TYPE \"a b\" counter\n{\"a b_total\"} 1\n{\"a b_created\"} 5\n# EOF\n";
    for skip_created in [false, true] {
        let opts = ParserOptions {
            skip_created,
            ..ParserOptions::default()
        };
        assert_eq!(check_skipping(Format::OpenMetrics, opts, quoted), 1);
    }
    for skip_created in [false, true] {
        let opts = ParserOptions {
            skip_created,
            ..ParserOptions::default()
        };
        // Skipped `# TYPE` lines still set the family: `a_created` is dropped after the
        // skipped `# TYPE a counter` (then `# TYPE b` follows a dropped line and is parsed).
        let skipped = if skip_created { 4 } else { 5 };
        assert_eq!(check_skipping(Format::OpenMetrics, opts, om), skipped);
    }
}

/// Prometheus 3 normalizes `le` under a histogram and `quantile` under a summary (by the
/// last `# TYPE` line), in both formats; other labels and other types keep their text.
#[test]
fn le_and_quantile_are_normalized_as_prometheus_3() {
    let text = b"# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+inf\"} 1\n\
# TYPE s summary\ns{quantile=\"0.50\",le=\"1\"} 1\n\
# TYPE g gauge\ng{le=\"1\",quantile=\"1\"} 1\n\
# TYPE u untyped\nu{le=\"x\"} 1\n";
    let om = b"# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"1e6\"} 1\n\
# TYPE s summary\ns{quantile=\"1\"} 1\n# EOF\n";
    let collect = |body: &[u8], format: Format| -> Vec<String> {
        let mut p = Parser::new(body, format, ParserOptions::default());
        let mut out = Vec::new();
        while let Some(e) = p.next_entry().unwrap() {
            if let Entry::Sample(s) = e {
                let l = s.to_labels().unwrap();
                out.push(format!(
                    "{} le={:?} quantile={:?}",
                    s.metric_name(),
                    l.get("le"),
                    l.get("quantile")
                ));
            }
        }
        out
    };
    assert_eq!(
        collect(text, Format::Text),
        [
            "h_bucket le=Some(\"1.0\") quantile=None",
            "h_bucket le=Some(\"+Inf\") quantile=None",
            "s le=Some(\"1\") quantile=Some(\"0.5\")",
            "g le=Some(\"1\") quantile=Some(\"1\")",
            "u le=Some(\"x\") quantile=None",
        ]
    );
    assert_eq!(
        collect(om, Format::OpenMetrics),
        [
            "h_bucket le=Some(\"1.0\") quantile=None",
            "h_bucket le=Some(\"1e+06\") quantile=None",
            "s le=None quantile=Some(\"1.0\")",
        ]
    );
}

/// Every series' labels, sorted, as `name=value` strings; or the error's kind.
fn series_of(body: &str, format: Format) -> Result<Vec<String>, ErrorKind> {
    let mut p = Parser::new(body.as_bytes(), format, ParserOptions::default());
    let mut out = Vec::new();
    loop {
        match p.next_entry() {
            Ok(Some(Entry::Sample(s))) => {
                let l = s.to_labels().map_err(|e| e.kind().clone())?;
                let pairs: Vec<String> = l
                    .iter()
                    .map(|l| format!("{}={}", l.name, l.value))
                    .collect();
                out.push(pairs.join(","));
            }
            Ok(Some(_)) => {}
            Ok(None) => return Ok(out),
            Err(e) => return Err(e.kind().clone()),
        }
    }
}

/// Prometheus 3.5's quoted UTF-8 names (each case checked against the 3.5.3 scraper): what
/// it stores, and the bodies whose scrape it fails.
#[test]
fn quoted_names_as_prometheus_3_5() {
    let ok = |body: &str, format: Format, want: &[&str]| {
        assert_eq!(
            series_of(body, format),
            Ok(want.iter().map(|s| s.to_string()).collect()),
            "{body:?}"
        );
    };
    let t = Format::Text;
    ok(
        "{\"my.metric\", a=\"b\"} 1\n",
        t,
        &["__name__=my.metric,a=b"],
    );
    ok("{\"my.metric\"} 1\n", t, &["__name__=my.metric"]);
    ok(
        "my_metric{\"some.label\"=\"x\"} 1\n",
        t,
        &["__name__=my_metric,some.label=x"],
    );
    ok(
        "# HELP \"my.metric\" help me\n# TYPE \"my.metric\" counter\n{\"my.metric\"} 1\n",
        t,
        &["__name__=my.metric"],
    );
    ok("{\"my\\\"q\\\\x\\ny\"} 1\n", t, &["__name__=my\"q\\x\ny"]);
    ok("{\"my.metric\",} 1\n", t, &["__name__=my.metric"]);
    ok(
        "{ \"my.metric\" , a=\"b\" } 1\n",
        t,
        &["__name__=my.metric,a=b"],
    );
    ok(
        "{a=\"b\",\"my.metric\"} 1\n",
        t,
        &["__name__=my.metric,a=b"],
    );
    ok("{\"my.metric\"}1\n", t, &["__name__=my.metric"]);
    ok(
        "foo{\"a.b\"=\"1\",c=\"2\"} 1\n",
        t,
        &["__name__=foo,a.b=1,c=2"],
    );
    ok("{\"\u{ff}\"} 1\n", t, &["__name__=\u{ff}"]);
    ok("{\t\"m\"\t} 1\n", t, &["__name__=m"]);
    ok("{\"m\" ,a=\"b\"} 1\n", t, &["__name__=m,a=b"]);
    ok("{\"m\" , } 1\n", t, &["__name__=m"]);
    ok(
        "# TYPE \"h.x\" histogram\n{\"h.x_bucket\",\"le\"=\"1\"} 1\n",
        t,
        &["__name__=h.x_bucket,le=1.0"],
    );
    let bad = |body: &str, format: Format, kind: ErrorKind| {
        assert_eq!(series_of(body, format), Err(kind), "{body:?}");
    };
    bad("{a=\"b\"} 1\n", t, ErrorKind::MetricNameNotSet);
    bad("{\"x\"=\"y\"} 1\n", t, ErrorKind::MetricNameNotSet);
    bad("foo{\"bar\"} 1\n", t, ErrorKind::MetricNameTwice);
    bad("{\"a\",\"b\"} 1\n", t, ErrorKind::MetricNameTwice);
    bad("{\"\"} 1\n", t, ErrorKind::EmptyQuotedName);
    bad("{\"m\", \"\"=\"x\"} 1\n", t, ErrorKind::EmptyQuotedName);
    bad("\"my.metric\" 1\n", t, ErrorKind::InvalidStart);
    bad(
        "{\"my.metric\" a=\"b\"} 1\n",
        t,
        ErrorKind::ExpectedAfterQuotedName,
    );
    bad("{\"m\" \"x\"} 1\n", t, ErrorKind::ExpectedAfterQuotedName);
    bad("{\"m\"=} 1\n", t, ErrorKind::ExpectedLabelValue);
    bad("{\"m} 1\n", t, ErrorKind::UnterminatedLabelValue);
    bad(
        "{\"m\", \"a\"=\"b\",\"a\"=\"c\"} 1\n",
        t,
        ErrorKind::DuplicateLabel("a".into()),
    );

    let o = Format::OpenMetrics;
    ok(
        "{\"my.metric\",a=\"b\"} 1\n# EOF\n",
        o,
        &["__name__=my.metric,a=b"],
    );
    ok(
        "my_metric{\"some.label\"=\"x\"} 1\n# EOF\n",
        o,
        &["__name__=my_metric,some.label=x"],
    );
    ok("# HELP \"my.metric\" help me\n# TYPE \"my.metric\" counter\n# UNIT \"my.metric\" \n{\"my.metric_total\"} 1\n# EOF\n", o, &["__name__=my.metric_total"]);
    ok("{\"m\"} 1 # {\"a.b\"=\"c\"} 1\n# EOF\n", o, &["__name__=m"]);
    ok("{\"my\\\"q\\\\x\"} 1\n# EOF\n", o, &["__name__=my\"q\\x"]);
    ok("{\"m\",} 1\n# EOF\n", o, &["__name__=m"]);
    ok("m{a=\"b\",} 1\n# EOF\n", o, &["__name__=m,a=b"]);
    ok("{\"m\",a=\"b\",} 1\n# EOF\n", o, &["__name__=m,a=b"]);
    ok("{a=\"b\",\"m\"} 1\n# EOF\n", o, &["__name__=m,a=b"]);
    ok("{\"m\"} 1 # {\"\"=\"z\"} 1\n# EOF\n", o, &["__name__=m"]);
    ok(
        "# UNIT \"my.m_seconds\" seconds\n{\"my.m_seconds\"} 1\n# EOF\n",
        o,
        &["__name__=my.m_seconds"],
    );
    bad(
        "{\"my.metric\", a=\"b\"} 1\n# EOF\n",
        o,
        ErrorKind::ExpectedLabelName,
    );
    bad("{a=\"b\"} 1\n# EOF\n", o, ErrorKind::MetricNameNotSet);
    bad("foo{\"bar\"} 1\n# EOF\n", o, ErrorKind::MetricNameTwice);
    bad(
        "{\"m\"} 1 # {\"x\"} 1\n# EOF\n",
        o,
        ErrorKind::MetricNameInExemplar,
    );
    bad("{\"\"} 1\n# EOF\n", o, ErrorKind::EmptyQuotedName);
    bad("{\"m\"=\"v\"} 1\n# EOF\n", o, ErrorKind::MetricNameNotSet);

    // Metadata keeps the quoted name as written (Prometheus 3.5 does not unescape it).
    let mut p = Parser::new(
        b"# HELP \"a\\\"b\" x\n# TYPE \"a b\" counter\n{\"a b\"} 1\n",
        t,
        ParserOptions::default(),
    );
    let Ok(Some(Entry::Help(h))) = p.next_entry() else {
        panic!()
    };
    assert_eq!((h.metric.as_str(), &*h.text()), ("a\\\"b", "x"));
    let Ok(Some(Entry::Type { metric, kind })) = p.next_entry() else {
        panic!()
    };
    assert_eq!((metric.as_str(), kind), ("a b", MetricType::Counter));
    let Ok(Some(Entry::Sample(s))) = p.next_entry() else {
        panic!()
    };
    assert_eq!((&*s.metric_name(), s.series()), ("a b", &b"{\"a b\"}"[..]));
    // Skipped `_created` by the quoted family name, as Prometheus compares it as written.
    let opts = ParserOptions {
        skip_created: true,
        ..ParserOptions::default()
    };
    let mut p = Parser::new(
        b"# TYPE \"a.b\" counter\n{\"a.b_total\"} 1\n{\"a.b_created\"} 5\n# EOF\n",
        o,
        opts,
    );
    let mut names = Vec::new();
    while let Some(e) = p.next_entry().unwrap() {
        if let Entry::Sample(s) = e {
            names.push(s.metric_name().into_owned());
        }
    }
    assert_eq!(names, ["a.b_total"]);
}
