//! Parsing PromQL with the `promql-parser` crate, held to Prometheus 2.42's language.
//!
//! The crate follows a newer grammar. Where the two differ by name only, the query text is
//! adjusted before parsing, token-aware (never inside strings or comments): `holt_winters`,
//! which Prometheus 3 renamed `double_exponential_smoothing`, is handed to the parser under
//! the new name and mapped back by the evaluator; the new name itself is not PromQL 2.42.

use promql_parser::parser::Expr;

use crate::error::QueryError;

/// The parser's name for Prometheus 2.42's `holt_winters`.
pub(crate) const HOLT_WINTERS_PARSER_NAME: &str = "double_exponential_smoothing";

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == ':'
}

/// Rewrites function names outside strings and comments; see the module docs.
fn rewrite(q: &str) -> Result<String, QueryError> {
    let chars: Vec<char> = q.chars().collect();
    let mut out = String::with_capacity(q.len() + 16);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '"' | '\'' | '`' => {
                // Copy the string literal verbatim (backslash escapes except in raw strings).
                out.push(c);
                i += 1;
                while i < chars.len() {
                    let d = chars[i];
                    out.push(d);
                    i += 1;
                    if d == '\\' && c != '`' && i < chars.len() {
                        out.push(chars[i]);
                        i += 1;
                    } else if d == c {
                        break;
                    }
                }
            }
            '#' => {
                while i < chars.len() && chars[i] != '\n' {
                    out.push(chars[i]);
                    i += 1;
                }
            }
            c if is_ident(c) => {
                let start = i;
                while i < chars.len() && is_ident(chars[i]) {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                let mut j = i;
                while j < chars.len() && chars[j].is_whitespace() {
                    j += 1;
                }
                let is_call = chars.get(j) == Some(&'(');
                match word.as_str() {
                    "holt_winters" if is_call => out.push_str(HOLT_WINTERS_PARSER_NAME),
                    w if is_call && w == HOLT_WINTERS_PARSER_NAME => {
                        return Err(QueryError::bad_data(format!(
                            "unknown function with name {w:?}"
                        )))
                    }
                    _ => out.push_str(&word),
                }
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    Ok(out)
}

/// Parses a PromQL expression; errors are `bad_data` with the parser's message.
pub(crate) fn parse(q: &str) -> Result<Expr, QueryError> {
    let q = rewrite(q)?;
    promql_parser::parser::parse(&q).map_err(QueryError::bad_data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_only_function_tokens() {
        assert_eq!(
            rewrite("holt_winters(x[5m], 0.5, 0.5)").unwrap(),
            "double_exponential_smoothing(x[5m], 0.5, 0.5)"
        );
        assert_eq!(
            rewrite("holt_winters (x[5m], 1, 1)").unwrap(),
            "double_exponential_smoothing (x[5m], 1, 1)"
        );
        assert_eq!(
            rewrite(r#"x{a="holt_winters("} + my_holt_winters"#).unwrap(),
            r#"x{a="holt_winters("} + my_holt_winters"#
        );
        assert_eq!(
            rewrite("holt_winters # holt_winters(\n").unwrap(),
            "holt_winters # holt_winters(\n"
        );
        assert!(rewrite("double_exponential_smoothing(x[5m], 0.5, 0.5)").is_err());
        assert!(parse("holt_winters(x[5m], 0.5, 0.5)").is_ok());
    }
}
