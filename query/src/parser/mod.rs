//! Tidemark's own PromQL parser, held to Prometheus 3.5's grammar and error messages,
//! including the experimental syntax behind `--enable-feature` ([`crate::Features`]).
//!
//! - [`lexer`]: the token stream, with Prometheus's lexer states and lexer errors;
//! - [`grammar`]: a recursive-descent (precedence-climbing) parser that builds an AST with
//!   byte positions, records errors in the order Prometheus's yacc parser does, and then
//!   type-checks as Prometheus's `checkAST` does;
//! - [`text`]: numbers, durations, string escapes, and Go-style quoting for messages.
//!
//! The result is the `promql_parser` crate's AST, which the evaluator consumes; that crate's
//! own parser is not used. Errors read `LINE:COL: parse error: MESSAGE`, with a 1-based line
//! and a 1-based byte column within the line, exactly as Prometheus prints them.

mod grammar;
mod lexer;
mod text;

use std::fmt;

use promql_parser::parser::Expr;

/// The deepest nesting a query may have: levels of its syntax tree (each parenthesis,
/// operator, sign, call, aggregation, subquery and duration operator is one level; a chain
/// `a + b + c ...` is as deep as it has terms) and of the parser's own recursion. Deeper
/// queries get `expression nested too deeply (more than N levels)` at the token where the
/// limit is passed. Prometheus 3.5 has no such limit; this one keeps parsing, type checking,
/// evaluation and dropping the tree within a 2 MiB thread stack (a tokio worker's), also in a
/// debug build.
pub const MAX_NESTING: u32 = 1000;

/// A parse error: where (byte offset into the query) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// Byte offset of the offending token or expression.
    pub pos: usize,
    /// Prometheus's message, without the position.
    pub message: String,
    /// The query text (for line and column).
    query: String,
    /// Shown without position and `parse error:` (Prometheus's errors computing duration
    /// expressions carry their own `START:END` offsets).
    raw: bool,
}

impl ParseError {
    /// 1-based line and 1-based byte column of the error.
    pub fn line_col(&self) -> (usize, usize) {
        let pos = self.pos.min(self.query.len());
        let before = &self.query.as_bytes()[..pos];
        let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
        let col = match before.iter().rposition(|&b| b == b'\n') {
            Some(i) => pos - i,
            None => pos + 1,
        };
        (line, col)
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.raw {
            return f.write_str(&self.message);
        }
        if self.query.is_empty() {
            return write!(f, "unknown position: parse error: {}", self.message);
        }
        let (line, col) = self.line_col();
        write!(f, "{line}:{col}: parse error: {}", self.message)
    }
}

impl std::error::Error for ParseError {}

/// Parses a PromQL expression as Prometheus does with no experimental feature enabled.
/// Never panics, for any input.
pub fn parse(query: &str) -> Result<Expr, ParseError> {
    parse_with(query, crate::Features::default())
}

/// Where the nodes of a parsed expression start (byte offsets into the query), shaped like the
/// `Expr` tree: the children of a node are, in order, those of a parenthesis, unary minus or
/// subquery (its expression), a binary operator (left, right), an aggregation (its
/// expression, then its parameter if any) and a call (its arguments); selectors and literals
/// have none. Annotations name positions from it, as Prometheus's do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PosTree {
    /// Byte offset of the node's first token.
    pub start: usize,
    /// The child nodes' positions.
    pub children: Vec<PosTree>,
}

/// [`parse_with`], also giving where each node starts.
pub fn parse_with_positions(
    query: &str,
    features: crate::Features,
) -> Result<(Expr, PosTree), ParseError> {
    grammar::parse_with_positions(query, features).map_err(|f| parse_error(query, f))
}

/// Parses a PromQL expression with the experimental `features` enabled (see
/// [`crate::Features`]). Never panics, for any input.
pub fn parse_with(query: &str, features: crate::Features) -> Result<Expr, ParseError> {
    parse_with_positions(query, features).map(|(e, _)| e)
}

fn parse_error(query: &str, f: grammar::Failure) -> ParseError {
    match f {
        grammar::Failure::Parse((pos, message)) => ParseError {
            pos,
            message,
            query: query.to_string(),
            raw: false,
        },
        grammar::Failure::Raw(message) => ParseError {
            pos: 0,
            message,
            query: query.to_string(),
            raw: true,
        },
    }
}

/// Parses a series selector (the API's `match[]`: `name`, `name{...}` or `{...}`) as
/// Prometheus 3.5's `ParseMetricSelector` does, with its messages: the matchers, a metric name
/// first as a `__name__` equality matcher. There is no type check: the caller applies its own
/// rules (the API's "at least one non-empty matcher").
pub fn parse_metric_selector(selector: &str) -> Result<Vec<tidemark_engine::Matcher>, ParseError> {
    grammar::parse_metric_selector(selector).map_err(|(pos, message)| ParseError {
        pos,
        message,
        query: selector.to_string(),
        raw: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(q: &str) -> String {
        parse(q)
            .map(|e| format!("ok: {e}"))
            .unwrap_or_else(|e| e.to_string())
    }

    #[test]
    fn errors_carry_line_and_column() {
        assert_eq!(err("sum("), "1:5: parse error: unclosed left parenthesis");
        assert_eq!(err("1 +"), "1:4: parse error: unexpected end of input");
        assert_eq!(
            err("foo{a=}"),
            "1:7: parse error: unexpected \"}\" in label matching, expected string"
        );
        assert_eq!(
            err("rate(x)"),
            "1:6: parse error: expected type range vector in call to function \"rate\", got instant vector"
        );
        assert_eq!(
            err("a\n+ )"),
            "2:4: parse error: unexpected right parenthesis ')'"
        );
        assert_eq!(
            err(""),
            "unknown position: parse error: no expression found in input"
        );
        assert_eq!(err("\n"), "1:1: parse error: no expression found in input");
    }

    #[test]
    fn series_selectors_follow_parse_metric_selector() {
        let sel = |q: &str| {
            parse_metric_selector(q)
                .map(|ms| ms.len().to_string())
                .unwrap_or_else(|e| e.to_string())
        };
        assert_eq!(sel("foo{a=\"b\", \"c.d\"=~\"e\"}"), "3");
        assert_eq!(sel("foo{__name__=\"x\"}"), "2");
        assert_eq!(sel("{\"my.metric\"}"), "1");
        assert_eq!(sel("rate(x[5m])"), "1:5: parse error: unexpected \"(\"");
        assert_eq!(sel("on"), "1:1: parse error: unexpected <on>");
        assert_eq!(
            sel(""),
            "unknown position: parse error: unexpected end of input"
        );
        assert_eq!(
            sel("foo{a}"),
            "1:6: parse error: unexpected \"}\" in label matching, expected label matching operator"
        );
    }

    #[test]
    fn precedence_and_folding() {
        assert_eq!(err("-2^2"), "ok: -(2 ^ 2)".replace("(2 ^ 2)", "2 ^ 2"));
        assert_eq!(err("- -1"), "ok: 1");
        assert!(parse("a + b * c ^ d ^ e or f and g unless h > bool i").is_ok());
        assert_eq!(
            err("holt_winters(x[5m], 0.5, 0.5)"),
            "1:1: parse error: unknown function with name \"holt_winters\""
        );
        assert_eq!(err("1m + 1"), "ok: 60 + 1");
        assert!(parse("x[90] offset 1.5").is_ok());
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    /// Well-formed queries from a small grammar.
    fn query() -> impl Strategy<Value = String> {
        let leaf = prop_oneof![
            Just("foo".to_owned()),
            Just("bar:baz{job=\"a\", x!~\"b.*\"}".to_owned()),
            Just("{__name__=\"m\"}".to_owned()),
            Just("1.5".to_owned()),
            Just("0x1F".to_owned()),
            Just("\"s\\n\"".to_owned()),
            Just("foo offset -5m".to_owned()),
            Just("foo @ 100".to_owned()),
            Just("time()".to_owned()),
        ];
        leaf.prop_recursive(4, 32, 3, |inner| {
            let ops = [
                "+",
                "-",
                "*",
                "/",
                "%",
                "^",
                "==",
                "!=",
                ">",
                "<",
                ">=",
                "<=",
                "and",
                "or",
                "unless",
                "atan2",
                "> bool",
                "+ on(a) group_left(b)",
                "- ignoring(c)",
            ];
            prop_oneof![
                (
                    inner.clone(),
                    proptest::sample::select(ops.to_vec()),
                    inner.clone()
                )
                    .prop_map(|(a, op, b)| format!("{a} {op} {b}")),
                inner.clone().prop_map(|a| format!("sum by (job) ({a})")),
                inner.clone().prop_map(|a| format!("topk(3, {a})")),
                inner.clone().prop_map(|a| format!("-({a})")),
                inner.clone().prop_map(|a| format!("abs({a})")),
                inner.clone().prop_map(|a| format!("rate(({a})[5m:1m])")),
                inner.prop_map(|a| format!("max_over_time(({a})[1h:] offset 1m)")),
            ]
        })
    }

    proptest! {
        #[test]
        fn never_panics_on_any_text(s in "\\PC{0,40}") {
            let _ = parse(&s);
        }

        #[test]
        fn never_panics_on_promql_like_text(
            s in "[a-z_:{}()\\[\\]=~!\"'`,+*/%^<>@# .0-9mshdwy\\n-]{0,40}"
        ) {
            let _ = parse(&s);
        }

        #[test]
        fn never_panics_with_every_feature_on(
            s in "[a-z_:{}()\\[\\]=~!\"',+*/%^@ .0-9mshdwy\u{e9}-]{0,40}"
        ) {
            let _ = parse_with(&s, crate::Features::all());
            let _ = parse_metric_selector(&s);
        }

        #[test]
        fn printing_and_reparsing_gives_the_same_ast(q in query()) {
            // Type errors are fine here; only what parses is printed again.
            if let Ok(ast) = parse(&q) {
                let printed = ast.to_string();
                let again = parse(&printed);
                prop_assert_eq!(again.as_ref().ok(), Some(&ast), "{} -> {}", q, printed);
            }
        }
    }
}
