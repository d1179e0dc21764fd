//! Parsing a PromQL regex with Go `regexp` (RE2) semantics on top of `regex-syntax`.
//!
//! Prometheus compiles label regexes with Go's `regexp/syntax` in its default Perl mode. Rust's
//! `regex` dialect is almost the same language, and the differences that change *what a
//! pattern matches* are bridged here, on the parsed AST rather than on the text:
//!
//! - Go's Perl classes are ASCII-only (`\d` = `[0-9]`, `\s` = `[\t\n\f\r ]`,
//!   `\w` = `[0-9A-Za-z_]`) while Rust's are Unicode-aware: they are rewritten to the explicit
//!   ASCII sets, and `\b`/`\B` to their ASCII forms.
//! - Go accepts only the flags `i`, `m`, `s` and `U`; Rust's `x`, `u` and `R` are rejected
//!   (verbose mode would also let a `#` comment swallow the anchoring suffix).
//! - Go limits repetition counts to 1000 and has no class set operations (`&&`, `--`, `~~`),
//!   nested bracket classes or `\<`/`\>`/`\b{..}` assertions; those are rejected instead of
//!   being given a meaning Prometheus would not give them.
//!
//! Invariant: when [`parse`] succeeds, `regex_text` is a pattern for the `regex` crate (parsed
//! with octal escapes enabled) whose language equals the language of `hir`, and it contains no
//! construct that could escape a surrounding `^(?:` ... `)$`.

use std::borrow::Cow;

use regex_syntax::ast::{self, Ast, ClassPerlKind, ClassSetItem, Span};
use regex_syntax::hir::{self, Hir};

/// Go's maximum repetition count (`regexp/syntax`'s `maxRepeat`).
const MAX_REPEAT: u32 = 1000;

/// A validated pattern.
pub(super) struct Parsed<'a> {
    /// The pattern's high-level IR (unanchored; the caller anchors it).
    pub hir: Hir,
    /// The pattern text to hand to the `regex` crate (rewritten when Go semantics needed it).
    pub regex_text: Cow<'a, str>,
}

/// Parses `pattern` with Go semantics; the error is a human-readable message.
pub(super) fn parse(pattern: &str) -> Result<Parsed<'_>, String> {
    let mut ast = ast::parse::ParserBuilder::new()
        .octal(true)
        .build()
        .parse(pattern)
        .map_err(|e| e.to_string())?;
    let mut changed = false;
    go_compat(&mut ast, &mut changed)?;
    // Spans of rewritten nodes are the spans of the nodes they replace, so the original text
    // is the right context for translation error messages.
    // Prometheus 3 compiles matchers with `(?s)`: `.` matches `\n` too.
    let hir = hir::translate::TranslatorBuilder::new()
        .dot_matches_new_line(true)
        .build()
        .translate(pattern, &ast)
        .map_err(|e| e.to_string())?;
    let text = if changed {
        let mut s = String::with_capacity(pattern.len() + 16);
        ast::print::Printer::new()
            .print(&ast, &mut s)
            .map_err(|e| e.to_string())?;
        Cow::Owned(s)
    } else {
        Cow::Borrowed(pattern)
    };
    let regex_text = Cow::Owned(format!("(?s:{text})"));
    Ok(Parsed { hir, regex_text })
}

fn unsupported(what: &str, span: &Span) -> String {
    format!(
        "unsupported regular expression syntax at offset {}: {what}",
        span.start.offset
    )
}

fn check_flags(flags: &ast::Flags) -> Result<(), String> {
    for item in &flags.items {
        if let ast::FlagsItemKind::Flag(f) = &item.kind {
            match f {
                ast::Flag::CaseInsensitive
                | ast::Flag::MultiLine
                | ast::Flag::DotMatchesNewLine
                | ast::Flag::SwapGreed => {}
                ast::Flag::Unicode | ast::Flag::CRLF | ast::Flag::IgnoreWhitespace => {
                    return Err(unsupported(
                        "only the flags i, m, s and U are allowed",
                        &item.span,
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Rewrites `ast` in place to Go semantics (see the module docs); sets `changed` when it did.
/// Recursion depth is bounded by the parser's nesting limit.
fn go_compat(ast: &mut Ast, changed: &mut bool) -> Result<(), String> {
    let replacement = match ast {
        Ast::Empty(_) | Ast::Literal(_) | Ast::Dot(_) | Ast::ClassUnicode(_) => None,
        Ast::Flags(f) => {
            check_flags(&f.flags)?;
            None
        }
        Ast::Assertion(a) => match a.kind {
            ast::AssertionKind::StartLine
            | ast::AssertionKind::EndLine
            | ast::AssertionKind::StartText
            | ast::AssertionKind::EndText => None,
            ast::AssertionKind::WordBoundary | ast::AssertionKind::NotWordBoundary => {
                Some(ascii_group(Ast::Assertion(a.clone()), &a.span))
            }
            _ => {
                return Err(unsupported(
                    "word boundary variants other than \\b and \\B",
                    &a.span,
                ))
            }
        },
        Ast::ClassPerl(c) => Some(Ast::ClassBracketed(Box::new(ascii_perl_class(c)))),
        Ast::ClassBracketed(c) => {
            class_set_compat(&mut c.kind, changed)?;
            None
        }
        Ast::Repetition(r) => {
            if let ast::RepetitionKind::Range(range) = &r.op.kind {
                let too_big = match *range {
                    ast::RepetitionRange::Exactly(n) | ast::RepetitionRange::AtLeast(n) => {
                        n > MAX_REPEAT
                    }
                    ast::RepetitionRange::Bounded(m, n) => m > MAX_REPEAT || n > MAX_REPEAT,
                };
                if too_big {
                    return Err(format!(
                        "invalid repeat count at offset {}: at most {MAX_REPEAT} allowed",
                        r.op.span.start.offset
                    ));
                }
            }
            go_compat(&mut r.ast, changed)?;
            None
        }
        Ast::Group(g) => {
            if let ast::GroupKind::NonCapturing(flags) = &g.kind {
                check_flags(flags)?;
            }
            go_compat(&mut g.ast, changed)?;
            None
        }
        Ast::Alternation(a) => {
            for sub in &mut a.asts {
                go_compat(sub, changed)?;
            }
            None
        }
        Ast::Concat(c) => {
            for sub in &mut c.asts {
                go_compat(sub, changed)?;
            }
            None
        }
    };
    if let Some(r) = replacement {
        *ast = r;
        *changed = true;
    }
    Ok(())
}

/// Go has no set operations or nested brackets inside a class; Perl classes inside a class are
/// replaced by nested ASCII classes (only this module creates nested brackets).
fn class_set_compat(set: &mut ast::ClassSet, changed: &mut bool) -> Result<(), String> {
    match set {
        ast::ClassSet::BinaryOp(op) => Err(unsupported(
            "character class set operations (&&, --, ~~)",
            &op.span,
        )),
        ast::ClassSet::Item(item) => class_item_compat(item, changed),
    }
}

fn class_item_compat(item: &mut ClassSetItem, changed: &mut bool) -> Result<(), String> {
    let replacement = match item {
        ClassSetItem::Empty(_)
        | ClassSetItem::Literal(_)
        | ClassSetItem::Range(_)
        | ClassSetItem::Ascii(_)
        | ClassSetItem::Unicode(_) => None,
        ClassSetItem::Perl(p) => Some(ClassSetItem::Bracketed(Box::new(ascii_perl_class(p)))),
        ClassSetItem::Bracketed(b) => return Err(unsupported("nested character classes", &b.span)),
        ClassSetItem::Union(u) => {
            for it in &mut u.items {
                class_item_compat(it, changed)?;
            }
            None
        }
    };
    if let Some(r) = replacement {
        *item = r;
        *changed = true;
    }
    Ok(())
}

/// `(?-u:<ast>)`: the ASCII form of a word-boundary assertion.
fn ascii_group(inner: Ast, span: &Span) -> Ast {
    let flags = ast::Flags {
        span: *span,
        items: vec![
            ast::FlagsItem {
                span: *span,
                kind: ast::FlagsItemKind::Negation,
            },
            ast::FlagsItem {
                span: *span,
                kind: ast::FlagsItemKind::Flag(ast::Flag::Unicode),
            },
        ],
    };
    Ast::Group(Box::new(ast::Group {
        span: *span,
        kind: ast::GroupKind::NonCapturing(flags),
        ast: Box::new(inner),
    }))
}

/// The bracketed ASCII class Go means by a Perl class.
fn ascii_perl_class(p: &ast::ClassPerl) -> ast::ClassBracketed {
    let span = p.span;
    // Escaped hex literals keep the printed pattern free of raw whitespace or metacharacters.
    let lit = |c: char| ast::Literal {
        span,
        kind: ast::LiteralKind::HexBrace(ast::HexLiteralKind::X),
        c,
    };
    let single = |c: char| ClassSetItem::Literal(lit(c));
    let range = |a: char, b: char| {
        ClassSetItem::Range(ast::ClassSetRange {
            span,
            start: lit(a),
            end: lit(b),
        })
    };
    let items = match p.kind {
        ClassPerlKind::Digit => vec![range('0', '9')],
        ClassPerlKind::Space => vec![
            single('\t'),
            single('\n'),
            single('\x0c'),
            single('\r'),
            single(' '),
        ],
        ClassPerlKind::Word => vec![
            range('0', '9'),
            range('A', 'Z'),
            range('a', 'z'),
            single('_'),
        ],
    };
    ast::ClassBracketed {
        span,
        negated: p.negated,
        kind: ast::ClassSet::Item(ClassSetItem::Union(ast::ClassSetUnion { span, items })),
    }
}
