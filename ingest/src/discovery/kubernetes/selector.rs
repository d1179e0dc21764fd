//! Kubernetes label and field selectors: parsed only to reject a bad `selectors` entry at load
//! time, as Prometheus does; the API server evaluates them.
//!
//! Grammar (apimachinery's `labels.Parse` and `fields.ParseSelector`):
//! - label: comma-separated requirements `k`, `!k`, `k=v`, `k==v`, `k!=v`, `k in (v,…)`,
//!   `k notin (v,…)`, `k>n`, `k<n`; keys are qualified names, values label values.
//! - field: comma-separated `k=v`, `k==v`, `k!=v`; `\` escapes `,`, `=`, `!` and `\` in values.

/// A selector that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectorError {
    /// A label selector error, with the selector and the reason.
    #[error("invalid label selector {selector:?}: {reason}")]
    Label {
        /// The selector as configured.
        selector: String,
        /// What is wrong.
        reason: String,
    },
    /// A field selector error, with the selector and the reason.
    #[error("invalid field selector {selector:?}: {reason}")]
    Field {
        /// The selector as configured.
        selector: String,
        /// What is wrong.
        reason: String,
    },
}

/// The operator of one label requirement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LabelOp {
    /// `k`
    Exists,
    /// `!k`
    DoesNotExist,
    /// `k=v`, `k==v`
    Equals,
    /// `k!=v`
    NotEquals,
    /// `k in (…)`
    In,
    /// `k notin (…)`
    NotIn,
    /// `k>n`
    GreaterThan,
    /// `k<n`
    LessThan,
}

/// One requirement of a label selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelRequirement {
    /// The label key.
    pub key: String,
    /// The operator.
    pub op: LabelOp,
    /// The values (none for `Exists`/`DoesNotExist`).
    pub values: Vec<String>,
}

/// Parses a label selector; the empty string selects everything.
pub fn parse_label_selector(selector: &str) -> Result<Vec<LabelRequirement>, SelectorError> {
    let err = |reason: String| SelectorError::Label {
        selector: selector.to_owned(),
        reason,
    };
    let mut p = Lexer {
        s: selector.as_bytes(),
        i: 0,
    };
    let mut out = Vec::new();
    p.skip_ws();
    if p.done() {
        return Ok(out);
    }
    loop {
        p.skip_ws();
        let negated = p.eat("!");
        p.skip_ws();
        let key = p.word();
        check_key(&key).map_err(&err)?;
        p.skip_ws();
        let req = if negated {
            LabelRequirement {
                key,
                op: LabelOp::DoesNotExist,
                values: vec![],
            }
        } else if p.done() || p.peek() == Some(b',') {
            LabelRequirement {
                key,
                op: LabelOp::Exists,
                values: vec![],
            }
        } else {
            let op = if p.eat("==") || p.eat("=") {
                LabelOp::Equals
            } else if p.eat("!=") {
                LabelOp::NotEquals
            } else if p.eat(">") {
                LabelOp::GreaterThan
            } else if p.eat("<") {
                LabelOp::LessThan
            } else {
                match p.word().as_str() {
                    "in" => LabelOp::In,
                    "notin" => LabelOp::NotIn,
                    "" => return Err(err(format!("expected an operator at offset {}", p.i))),
                    w => return Err(err(format!("unknown operator {w:?} after key"))),
                }
            };
            p.skip_ws();
            let values = match op {
                LabelOp::In | LabelOp::NotIn => {
                    if !p.eat("(") {
                        return Err(err("expected '(' after in/notin".into()));
                    }
                    let mut vs = Vec::new();
                    loop {
                        p.skip_ws();
                        let v = p.word();
                        check_value(&v).map_err(&err)?;
                        vs.push(v);
                        p.skip_ws();
                        if p.eat(")") {
                            break;
                        }
                        if !p.eat(",") {
                            return Err(err("expected ',' or ')' in a value set".into()));
                        }
                    }
                    if vs == [""] {
                        return Err(err(
                            "for 'in', 'notin' operators, values set can't be empty".into(),
                        ));
                    }
                    vs
                }
                LabelOp::GreaterThan | LabelOp::LessThan => {
                    let v = p.word();
                    if v.parse::<i64>().is_err() {
                        return Err(err(format!(
                            "for 'gt', 'lt' operators, the value must be an integer, got {v:?}"
                        )));
                    }
                    vec![v]
                }
                _ => {
                    let v = p.word();
                    check_value(&v).map_err(&err)?;
                    vec![v]
                }
            };
            LabelRequirement { key, op, values }
        };
        out.push(req);
        p.skip_ws();
        if p.done() {
            return Ok(out);
        }
        if !p.eat(",") {
            return Err(err(format!("unexpected character at offset {}", p.i)));
        }
    }
}

/// One term of a field selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldRequirement {
    /// The field path, e.g. `spec.nodeName`.
    pub field: String,
    /// `true` for `!=`.
    pub not_equal: bool,
    /// The value, unescaped.
    pub value: String,
}

/// Parses a field selector; the empty string selects everything.
pub fn parse_field_selector(selector: &str) -> Result<Vec<FieldRequirement>, SelectorError> {
    let err = |reason: String| SelectorError::Field {
        selector: selector.to_owned(),
        reason,
    };
    let mut out = Vec::new();
    if selector.is_empty() {
        return Ok(out);
    }
    for term in split_unescaped(selector, ',') {
        let (field, not_equal, raw_value) = if let Some(i) = find_unescaped(&term, "!=") {
            (&term[..i], true, &term[i + 2..])
        } else if let Some(i) = find_unescaped(&term, "==") {
            (&term[..i], false, &term[i + 2..])
        } else if let Some(i) = find_unescaped(&term, "=") {
            (&term[..i], false, &term[i + 1..])
        } else {
            return Err(err(format!("can't understand {term:?}")));
        };
        if field.is_empty() {
            return Err(err(format!("empty field name in {term:?}")));
        }
        let value = unescape(raw_value).map_err(&err)?;
        out.push(FieldRequirement {
            field: field.to_owned(),
            not_equal,
            value,
        });
    }
    Ok(out)
}

fn split_unescaped(s: &str, sep: char) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut escaped = false;
    for c in s.chars() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == sep {
            parts.push(String::new());
            continue;
        }
        parts.last_mut().expect("parts is never empty").push(c);
    }
    parts
}

fn find_unescaped(s: &str, op: &str) -> Option<usize> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' {
            i += 2;
            continue;
        }
        if s[i..].starts_with(op) {
            return Some(i);
        }
        i += 1;
    }
    None
}

fn unescape(s: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some(e @ ('\\' | ',' | '=' | '!')) => out.push(e),
                Some(e) => return Err(format!("invalid escape sequence \\{e}")),
                None => return Err("trailing backslash".into()),
            }
        } else {
            out.push(c);
        }
    }
    Ok(out)
}

struct Lexer<'a> {
    s: &'a [u8],
    i: usize,
}

impl Lexer<'_> {
    fn done(&self) -> bool {
        self.i >= self.s.len()
    }
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }
    fn eat(&mut self, tok: &str) -> bool {
        if self.s[self.i..].starts_with(tok.as_bytes()) {
            self.i += tok.len();
            true
        } else {
            false
        }
    }
    /// Everything up to whitespace or a delimiter.
    fn word(&mut self) -> String {
        let start = self.i;
        while let Some(c) = self.peek() {
            if matches!(
                c,
                b' ' | b'\t' | b'\n' | b'\r' | b',' | b'(' | b')' | b'=' | b'!' | b'<' | b'>'
            ) {
                break;
            }
            self.i += 1;
        }
        String::from_utf8_lossy(&self.s[start..self.i]).into_owned()
    }
}

fn is_name(s: &str, max: usize, extra: &[char]) -> bool {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || extra.contains(&c);
    !s.is_empty()
        && s.len() <= max
        && s.chars().all(ok_char)
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.ends_with(|c: char| c.is_ascii_alphanumeric())
}

/// A qualified name: `[prefix/]name`, the prefix a DNS subdomain.
fn check_key(key: &str) -> Result<(), String> {
    if key.is_empty() {
        return Err("a label key is empty".into());
    }
    let (prefix, name) = match key.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    if let Some(p) = prefix {
        if !is_name(p, 253, &['-', '.']) || p.chars().any(|c| c.is_ascii_uppercase()) {
            return Err(format!(
                "label key {key:?}: the prefix must be a lowercase DNS subdomain"
            ));
        }
    }
    if !is_name(name, 63, &['-', '_', '.']) {
        return Err(format!(
            "label key {key:?}: a name must be at most 63 characters of [A-Za-z0-9-_.], starting and ending alphanumeric"
        ));
    }
    Ok(())
}

fn check_value(v: &str) -> Result<(), String> {
    if v.is_empty() || is_name(v, 63, &['-', '_', '.']) {
        Ok(())
    } else {
        Err(format!(
            "label value {v:?}: must be empty or at most 63 characters of [A-Za-z0-9-_.], starting and ending alphanumeric"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_selectors_parse() {
        assert!(parse_label_selector("").unwrap().is_empty());
        let r = parse_label_selector(
            "app=web, tier != db,env in (a, b),!legacy,x,app.kubernetes.io/name==n,n>3",
        )
        .unwrap();
        let ops: Vec<_> = r.iter().map(|q| q.op.clone()).collect();
        assert_eq!(
            ops,
            [
                LabelOp::Equals,
                LabelOp::NotEquals,
                LabelOp::In,
                LabelOp::DoesNotExist,
                LabelOp::Exists,
                LabelOp::Equals,
                LabelOp::GreaterThan
            ]
        );
        assert_eq!(r[2].values, ["a", "b"]);
        assert_eq!(r[5].key, "app.kubernetes.io/name");
        let r = parse_label_selector("a notin ()").unwrap_err();
        assert!(matches!(r, SelectorError::Label { .. }));
    }

    #[test]
    fn bad_label_selectors_are_rejected() {
        for bad in [
            "a in (b",
            "=b",
            "a=b=c",
            "a b",
            "-a=b",
            "a=-b",
            "a>x",
            "a=b,",
            "Foo.Com/a=b",
        ] {
            assert!(parse_label_selector(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn field_selectors_parse() {
        assert!(parse_field_selector("").unwrap().is_empty());
        let r =
            parse_field_selector("spec.nodeName=n1,metadata.name!=x,status.phase==Running,a=b\\,c")
                .unwrap();
        assert_eq!(r.len(), 4);
        assert!(r[1].not_equal);
        assert_eq!(r[3].value, "b,c");
        for bad in ["spec.nodeName", "=x", "a=b\\q"] {
            assert!(parse_field_selector(bad).is_err(), "{bad:?} accepted");
        }
    }
}
