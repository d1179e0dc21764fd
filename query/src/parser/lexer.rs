//! The PromQL lexer of Prometheus 3.5: a state machine whose state depends on whether a
//! brace or bracket is open (keywords are plain identifiers inside braces; right after `[` the
//! duration-expression state accepts only numbers, durations, `(`, `)`, `:` and arithmetic
//! operators; after the first number the ordinary state goes on, where a word inside brackets
//! is a colon, as in Prometheus). Numbers follow 3.x's scanner (`1_000`, `0x_1F`, `.5e3`).
//! Positions are byte offsets.
//!
//! What must stay true: an error ends the token stream (every later call repeats it), and
//! error texts and positions are Prometheus's, because they are shown to users verbatim.

use super::text::{go_quote, go_quote_rune, go_rune_u};

/// Keywords and the other words the lexer recognises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kw {
    And,
    Or,
    Unless,
    Atan2,
    Sum,
    Avg,
    Count,
    Min,
    Max,
    Group,
    Stddev,
    Stdvar,
    Topk,
    Bottomk,
    CountValues,
    Quantile,
    Limitk,
    LimitRatio,
    Offset,
    By,
    Without,
    On,
    Ignoring,
    GroupLeft,
    GroupRight,
    Bool,
    Start,
    End,
}

impl Kw {
    fn lookup(word: &str) -> Option<Kw> {
        Some(match word.to_ascii_lowercase().as_str() {
            "and" => Kw::And,
            "or" => Kw::Or,
            "unless" => Kw::Unless,
            "atan2" => Kw::Atan2,
            "sum" => Kw::Sum,
            "avg" => Kw::Avg,
            "count" => Kw::Count,
            "min" => Kw::Min,
            "max" => Kw::Max,
            "group" => Kw::Group,
            "stddev" => Kw::Stddev,
            "stdvar" => Kw::Stdvar,
            "topk" => Kw::Topk,
            "bottomk" => Kw::Bottomk,
            "count_values" => Kw::CountValues,
            "quantile" => Kw::Quantile,
            "limitk" => Kw::Limitk,
            "limit_ratio" => Kw::LimitRatio,
            "offset" => Kw::Offset,
            "by" => Kw::By,
            "without" => Kw::Without,
            "on" => Kw::On,
            "ignoring" => Kw::Ignoring,
            "group_left" => Kw::GroupLeft,
            "group_right" => Kw::GroupRight,
            "bool" => Kw::Bool,
            "start" => Kw::Start,
            "end" => Kw::End,
            _ => return None,
        })
    }

    /// Binary operators spelled as words.
    pub(crate) fn is_operator(self) -> bool {
        matches!(self, Kw::And | Kw::Or | Kw::Unless | Kw::Atan2)
    }

    /// Aggregation operators.
    pub(crate) fn is_aggregator(self) -> bool {
        matches!(
            self,
            Kw::Sum
                | Kw::Avg
                | Kw::Count
                | Kw::Min
                | Kw::Max
                | Kw::Group
                | Kw::Stddev
                | Kw::Stdvar
                | Kw::Topk
                | Kw::Bottomk
                | Kw::CountValues
                | Kw::Quantile
                | Kw::Limitk
                | Kw::LimitRatio
        )
    }

    /// Keywords proper (printed `<by>` in errors).
    fn is_keyword(self) -> bool {
        matches!(
            self,
            Kw::Offset
                | Kw::By
                | Kw::Without
                | Kw::On
                | Kw::Ignoring
                | Kw::GroupLeft
                | Kw::GroupRight
                | Kw::Bool
        )
    }
}

/// A token's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum T {
    Eof,
    Error,
    Comma,
    LParen,
    RParen,
    LBrace,
    RBrace,
    LBracket,
    RBracket,
    Colon,
    Eql,
    EqlC,
    Neq,
    Lte,
    Lss,
    Gte,
    Gtr,
    EqlRegex,
    NeqRegex,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
    At,
    Number,
    Str,
    Duration,
    Ident,
    MetricIdent,
    Kw(Kw),
}

/// A token: kind, byte position and text (for `Error`, the message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token {
    pub typ: T,
    pub pos: usize,
    pub val: String,
}

impl Token {
    /// Prometheus's description of the token in "unexpected ..." messages.
    pub(crate) fn desc(&self) -> String {
        let quoted = || {
            if self.val.len() > 10 {
                format!("{}...", super::text::go_quote_10(&self.val))
            } else {
                go_quote(&self.val)
            }
        };
        match self.typ {
            T::Eof => "end of input".into(),
            T::Error => self.val.clone(),
            T::Ident => format!("identifier {}", go_quote(&self.val)),
            T::MetricIdent => format!("metric identifier {}", go_quote(&self.val)),
            T::Number => format!("number {}", quoted()),
            T::Str => format!("string {}", quoted()),
            T::Duration => format!("duration {}", quoted()),
            T::Kw(k) if k.is_keyword() => format!("<{}>", self.val),
            T::Kw(k) if k.is_operator() => format!("<op:{}>", self.val),
            T::Kw(k) if k.is_aggregator() => format!("<aggr:{}>", self.val),
            T::Add
            | T::Sub
            | T::Mul
            | T::Div
            | T::Mod
            | T::Pow
            | T::EqlC
            | T::Neq
            | T::Lte
            | T::Lss
            | T::Gte
            | T::Gtr
            | T::EqlRegex
            | T::NeqRegex => format!("<op:{}>", self.val),
            // Prometheus 3.5's token table has no text for `@`, so its description is the
            // token number followed by the operator form.
            T::At => format!("\"<Item 57400>\" <op:{}>", self.val),
            _ => quoted(),
        }
    }
}

/// The lexer; call [`Lexer::next_token`] until `Eof` or `Error`.
#[derive(Clone)]
pub(crate) struct Lexer<'a> {
    input: &'a str,
    pos: usize,
    start: usize,
    paren_depth: i64,
    brace_open: bool,
    bracket_open: bool,
    got_colon: bool,
    /// Set right after `[` (and kept after `(`, `)`, `:` and operators there): Prometheus's
    /// `lexDurationExpr` state.
    in_duration: bool,
    /// Whether a number or duration was ever lexed in the duration state (never reset, as in
    /// Prometheus).
    got_duration: bool,
    done: Option<Token>,
}

fn is_alpha(c: char) -> bool {
    c == '_' || c.is_ascii_alphabetic()
}
fn is_alnum(c: char) -> bool {
    is_alpha(c) || c.is_ascii_digit()
}
fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

impl<'a> Lexer<'a> {
    /// A lexer over `input`.
    pub(crate) fn new(input: &'a str) -> Self {
        Lexer {
            input,
            pos: 0,
            start: 0,
            paren_depth: 0,
            brace_open: false,
            bracket_open: false,
            got_colon: false,
            in_duration: false,
            got_duration: false,
            done: None,
        }
    }

    fn peek(&self) -> Option<char> {
        self.input[self.pos..].chars().next()
    }
    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }
    fn accept(&mut self, valid: &str) -> bool {
        match self.peek() {
            Some(c) if valid.contains(c) => {
                self.pos += c.len_utf8();
                true
            }
            _ => false,
        }
    }
    fn accept_run(&mut self, valid: &str) {
        while self.accept(valid) {}
    }
    fn emit(&mut self, typ: T) -> Token {
        let t = Token {
            typ,
            pos: self.start,
            val: self.input[self.start..self.pos].to_string(),
        };
        self.start = self.pos;
        t
    }
    fn error(&mut self, msg: String) -> Token {
        let t = Token {
            typ: T::Error,
            pos: self.start,
            val: msg,
        };
        self.done = Some(t.clone());
        t
    }
    fn skip_spaces(&mut self) {
        while self.peek().is_some_and(is_space) {
            self.pos += 1;
        }
        self.start = self.pos;
    }
    fn skip_comment(&mut self) {
        while let Some(c) = self.peek() {
            if c == '\n' || c == '\r' {
                break;
            }
            self.pos += c.len_utf8();
        }
        self.start = self.pos;
    }

    /// The kind of the token after the next one would be (without consuming anything).
    pub(crate) fn peek_kind(&self) -> T {
        self.clone().next_token().typ
    }

    /// The next token; comments and spaces are skipped.
    pub(crate) fn next_token(&mut self) -> Token {
        if let Some(t) = &self.done {
            return t.clone();
        }
        let t = self.lex();
        if t.typ == T::Eof {
            self.done = Some(t.clone());
        }
        t
    }

    fn lex(&mut self) -> Token {
        loop {
            if self.in_duration {
                match self.lex_duration_expr() {
                    Some(t) => return t,
                    None => continue,
                }
            }
            if self.brace_open {
                match self.lex_inside_braces() {
                    Some(t) => return t,
                    None => continue,
                }
            }
            if self.input[self.pos..].starts_with('#') {
                self.skip_comment();
                continue;
            }
            let Some(c) = self.bump() else {
                if self.paren_depth != 0 {
                    return self.error("unclosed left parenthesis".into());
                }
                if self.bracket_open {
                    return self.error("unclosed left bracket".into());
                }
                return self.emit(T::Eof);
            };
            let t = match c {
                ',' => T::Comma,
                c if is_space(c) => {
                    self.skip_spaces();
                    continue;
                }
                '*' => T::Mul,
                '/' => T::Div,
                '%' => T::Mod,
                '+' => T::Add,
                '-' => T::Sub,
                '^' => T::Pow,
                '=' => match self.peek() {
                    Some('=') => {
                        self.pos += 1;
                        T::EqlC
                    }
                    Some('~') => {
                        return self.error(format!(
                            "unexpected character after '=': {}",
                            go_quote_rune(Some('~'))
                        ))
                    }
                    _ => T::Eql,
                },
                '!' => match self.bump() {
                    Some('=') => T::Neq,
                    other => {
                        return self.error(format!(
                            "unexpected character after '!': {}",
                            go_quote_rune(other)
                        ))
                    }
                },
                '<' => {
                    if self.accept("=") {
                        T::Lte
                    } else {
                        T::Lss
                    }
                }
                '>' => {
                    if self.accept("=") {
                        T::Gte
                    } else {
                        T::Gtr
                    }
                }
                c if c.is_ascii_digit()
                    || (c == '.' && self.peek().is_some_and(|d| d.is_ascii_digit())) =>
                {
                    self.pos -= 1;
                    return self.lex_number_or_duration();
                }
                '"' | '\'' => return self.lex_string(c),
                '`' => return self.lex_raw_string(),
                c if is_alpha(c) || c == ':' => {
                    if !self.bracket_open {
                        self.pos -= 1;
                        return self.lex_word();
                    }
                    if self.got_colon {
                        return self.error(format!("unexpected colon {}", go_quote_rune(Some(c))));
                    }
                    self.got_colon = true;
                    T::Colon
                }
                '(' => {
                    self.paren_depth += 1;
                    T::LParen
                }
                ')' => {
                    self.paren_depth -= 1;
                    if self.paren_depth < 0 {
                        // Prometheus emits the parenthesis, then overwrites it with this
                        // error, positioned after it.
                        self.start = self.pos;
                        return self.error(format!(
                            "unexpected right parenthesis {}",
                            go_quote_rune(Some(')'))
                        ));
                    }
                    T::RParen
                }
                '{' => {
                    self.brace_open = true;
                    T::LBrace
                }
                '[' => {
                    if self.bracket_open {
                        return self.error(format!(
                            "unexpected left bracket {}",
                            go_quote_rune(Some('['))
                        ));
                    }
                    self.got_colon = false;
                    let t = self.emit(T::LBracket);
                    self.skip_spaces();
                    self.bracket_open = true;
                    self.in_duration = true;
                    return t;
                }
                ']' => {
                    if !self.bracket_open {
                        return self.error(format!(
                            "unexpected right bracket {}",
                            go_quote_rune(Some(']'))
                        ));
                    }
                    self.bracket_open = false;
                    T::RBracket
                }
                '@' => T::At,
                other => {
                    return self.error(format!(
                        "unexpected character: {}",
                        go_quote_rune(Some(other))
                    ))
                }
            };
            return self.emit(t);
        }
    }

    /// Inside `{...}`: `None` when only spaces or a comment were skipped.
    fn lex_inside_braces(&mut self) -> Option<Token> {
        if self.input[self.pos..].starts_with('#') {
            self.skip_comment();
            return None;
        }
        let Some(c) = self.bump() else {
            return Some(self.error("unexpected end of input inside braces".into()));
        };
        let t = match c {
            c if is_space(c) => {
                self.skip_spaces();
                return None;
            }
            c if is_alpha(c) => {
                while self.peek().is_some_and(is_alnum) {
                    self.pos += 1;
                }
                T::Ident
            }
            ',' => T::Comma,
            '"' | '\'' => return Some(self.lex_string(c)),
            '`' => return Some(self.lex_raw_string()),
            '=' => {
                if self.accept("~") {
                    T::EqlRegex
                } else {
                    T::Eql
                }
            }
            '!' => match self.bump() {
                Some('~') => T::NeqRegex,
                Some('=') => T::Neq,
                other => {
                    return Some(self.error(format!(
                        "unexpected character after '!' inside braces: {}",
                        go_quote_rune(other)
                    )))
                }
            },
            '{' => {
                return Some(self.error(format!(
                    "unexpected left brace {}",
                    go_quote_rune(Some('{'))
                )))
            }
            '}' => {
                self.brace_open = false;
                T::RBrace
            }
            other => {
                return Some(self.error(format!(
                    "unexpected character inside braces: {}",
                    go_quote_rune(Some(other))
                )))
            }
        };
        Some(self.emit(t))
    }

    fn lex_word(&mut self) -> Token {
        while self.peek().is_some_and(|c| is_alnum(c) || c == ':') {
            self.pos += 1;
        }
        let word = &self.input[self.start..self.pos];
        let lower = word.to_ascii_lowercase();
        if lower == "inf" || lower == "nan" {
            return self.emit(T::Number);
        }
        if let Some(k) = Kw::lookup(word) {
            return self.emit(T::Kw(k));
        }
        if word.contains(':') {
            self.emit(T::MetricIdent)
        } else {
            self.emit(T::Ident)
        }
    }

    fn is_next(&self, valid: &str) -> bool {
        self.peek().is_some_and(|c| valid.contains(c))
    }

    /// Prometheus 3.x's `scanNumber`: true if a number ends here (not followed by a letter or
    /// digit); the position is left where scanning stopped either way. Underscores may
    /// separate digits; a hex number has no fraction; `.`, `e` and `_` may not repeat or meet.
    fn scan_number(&mut self) -> bool {
        const DEC: &str = "0123456789";
        const HEX: &str = "0123456789abcdefABCDEF";
        let initial = self.pos;
        let mut digits = DEC;
        if self.accept("0") && self.accept("xX") {
            self.accept("_");
            digits = HEX;
        }
        self.accept(".");
        self.accept(digits);
        let (mut dot, mut exponent) = (false, false);
        while self.is_next(digits) || self.is_next("._eE") {
            if self.is_next(".") && dot {
                self.accept(".");
                return false;
            }
            if self.is_next("eE") && exponent {
                self.accept("eE");
                return false;
            }
            if self.accept(".") {
                dot = true;
                if self.accept("_.") || digits == HEX {
                    return false;
                }
                continue;
            }
            if self.accept("eE") {
                exponent = true;
                self.accept("+-");
                if self.accept("._eE") || self.peek().is_none() {
                    return false;
                }
                continue;
            }
            if self.accept("_") {
                if self.accept("._eE") || self.peek().is_none() {
                    return false;
                }
                continue;
            }
            self.accept_run(digits);
        }
        self.pos != initial && !self.peek().is_some_and(is_alnum)
    }

    /// The rest of a duration after its first number: units, more numbers and units; true if
    /// it is followed by neither a letter nor a digit.
    fn accept_remaining_duration(&mut self) -> bool {
        if !self.accept("smhdwy") {
            return false;
        }
        self.accept("s");
        while self.accept("0123456789") {
            self.accept_run("0123456789");
            if !self.accept("smhdw") {
                return false;
            }
            self.accept("s");
        }
        // Prometheus consumes the next rune here, and backs up only on success, so a failed
        // duration's error text includes it.
        match self.peek() {
            Some(c) if is_alnum(c) => {
                self.pos += c.len_utf8();
                false
            }
            _ => true,
        }
    }

    fn lex_number_or_duration(&mut self) -> Token {
        if self.scan_number() {
            return self.emit(T::Number);
        }
        if self.accept_remaining_duration() {
            return self.emit(T::Duration);
        }
        let text = self.input[self.start..self.pos].to_string();
        self.error(format!(
            "bad number or duration syntax: {}",
            go_quote(&text)
        ))
    }

    /// Prometheus 3.5's `lexDurationExpr`: right after `[`, and after `(`, `)`, `:` and the
    /// arithmetic operators there. A number or duration returns to the ordinary state.
    /// `None` when only spaces were skipped.
    fn lex_duration_expr(&mut self) -> Option<Token> {
        let Some(c) = self.bump() else {
            return Some(self.error("unexpected end of input in duration expression".into()));
        };
        let t =
            match c {
                ']' => {
                    self.in_duration = false;
                    self.bracket_open = false;
                    self.got_colon = false;
                    T::RBracket
                }
                ':' => {
                    // Prometheus emits the colon, then overwrites it with these errors,
                    // positioned after it.
                    if !self.got_duration {
                        self.start = self.pos;
                        return Some(self.error(
                            "unexpected colon before duration in duration expression".into(),
                        ));
                    }
                    if self.got_colon {
                        self.start = self.pos;
                        return Some(
                            self.error("unexpected repeated colon in duration expression".into()),
                        );
                    }
                    self.got_colon = true;
                    T::Colon
                }
                '(' => {
                    self.paren_depth += 1;
                    T::LParen
                }
                ')' => {
                    self.paren_depth -= 1;
                    if self.paren_depth < 0 {
                        self.start = self.pos;
                        return Some(self.error(format!(
                            "unexpected right parenthesis {}",
                            go_quote_rune(Some(')'))
                        )));
                    }
                    T::RParen
                }
                c if is_space(c) => {
                    self.skip_spaces();
                    return None;
                }
                '+' => T::Add,
                '-' => T::Sub,
                '*' => T::Mul,
                '/' => T::Div,
                '%' => T::Mod,
                '^' => T::Pow,
                c if c.is_ascii_digit()
                    || (c == '.' && self.peek().is_some_and(|d| d.is_ascii_digit())) =>
                {
                    self.pos -= 1;
                    self.got_duration = true;
                    self.in_duration = false;
                    return Some(self.lex_number_or_duration());
                }
                other => {
                    return Some(self.error(format!(
                        "unexpected character in duration expression: {}",
                        go_quote_rune(Some(other))
                    )))
                }
            };
        Some(self.emit(t))
    }

    fn lex_string(&mut self, quote: char) -> Token {
        loop {
            match self.bump() {
                Some('\\') => {
                    if let Some(msg) = self.lex_escape(quote) {
                        return self.error(msg);
                    }
                }
                None | Some('\n') => return self.error("unterminated quoted string".into()),
                Some(c) if c == quote => return self.emit(T::Str),
                Some(_) => {}
            }
        }
    }

    fn lex_escape(&mut self, quote: char) -> Option<String> {
        let c = self.bump();
        let (mut n, base, max): (u32, u32, u32) = match c {
            Some('a' | 'b' | 'f' | 'n' | 'r' | 't' | 'v' | '\\') => return None,
            Some(q) if q == quote => return None,
            Some('0'..='7') => (3, 8, 255),
            Some('x') => (2, 16, 255),
            Some('u') => (4, 16, 0x10ffff),
            Some('U') => (8, 16, 0x10ffff),
            None => return Some("escape sequence not terminated".into()),
            Some(other) => {
                return Some(format!(
                    "unknown escape sequence {}",
                    go_rune_u(Some(other))
                ))
            }
        };
        let mut ch = if matches!(c, Some('0'..='7')) {
            c
        } else {
            self.bump()
        };
        let mut x: u32 = 0;
        while n > 0 {
            let d = ch.and_then(|c| c.to_digit(16)).unwrap_or(16);
            if d >= base {
                return Some(match ch {
                    None => "escape sequence not terminated".into(),
                    Some(c) => format!(
                        "illegal character {} in escape sequence",
                        go_rune_u(Some(c))
                    ),
                });
            }
            x = x.wrapping_mul(base).wrapping_add(d);
            n -= 1;
            if n > 0 {
                ch = self.bump();
            }
        }
        if x > max || (0xD800..0xE000).contains(&x) {
            return Some("escape sequence is an invalid Unicode code point".into());
        }
        None
    }

    fn lex_raw_string(&mut self) -> Token {
        loop {
            match self.bump() {
                None => return self.error("unterminated raw string".into()),
                Some('`') => return self.emit(T::Str),
                Some(_) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(q: &str) -> Vec<(T, String)> {
        let mut l = Lexer::new(q);
        let mut out = Vec::new();
        loop {
            let t = l.next_token();
            let end = matches!(t.typ, T::Eof | T::Error);
            out.push((t.typ, t.val));
            if end {
                return out;
            }
        }
    }

    #[test]
    fn lexes_selectors_and_durations() {
        let k = kinds("rate(foo:bar{a=~\"x\"}[1h30m]) # c\n");
        let types: Vec<T> = k.iter().map(|x| x.0).collect();
        assert_eq!(
            types,
            vec![
                T::Ident,
                T::LParen,
                T::MetricIdent,
                T::LBrace,
                T::Ident,
                T::EqlRegex,
                T::Str,
                T::RBrace,
                T::LBracket,
                T::Duration,
                T::RBracket,
                T::RParen,
                T::Eof
            ]
        );
        assert_eq!(kinds("x[5m a]")[3].0, T::Colon);
        assert_eq!(kinds("InF")[0].0, T::Number);
        assert_eq!(kinds("sum")[0].0, T::Kw(Kw::Sum));
        assert_eq!(kinds("{sum=\"\"}")[1].0, T::Ident);
    }

    #[test]
    fn lexer_errors_match_prometheus() {
        let err = |q: &str| {
            let k = kinds(q);
            k.last().map(|x| x.1.clone()).unwrap_or_default()
        };
        assert_eq!(err("x[1y1y]"), "bad number or duration syntax: \"1y1\"");
        assert_eq!(err("1__0"), "bad number or duration syntax: \"1__\"");
        assert_eq!(err("1e5e5"), "bad number or duration syntax: \"1e5e\"");
        assert_eq!(err("00x1"), "bad number or duration syntax: \"00\"");
        assert_eq!(
            err("x[a]"),
            "unexpected character in duration expression: 'a'"
        );
        assert_eq!(
            err("x[:1m]"),
            "unexpected colon before duration in duration expression"
        );
        assert_eq!(err("x[ "), "unexpected end of input in duration expression");
        assert_eq!(err("x}"), "unexpected character: '}'");
        assert_eq!(
            err("\"\\400\""),
            "escape sequence is an invalid Unicode code point"
        );
        assert_eq!(err("'\\q'"), "unknown escape sequence U+0071 'q'");
        assert_eq!(err("sum("), "unclosed left parenthesis");
        assert_eq!(err("x{a"), "unexpected end of input inside braces");
    }
}
