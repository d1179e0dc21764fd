//! Parsing entry point for the engine: Tidemark's own PromQL parser ([`crate::parser`]),
//! with errors as `bad_data` carrying Prometheus's `LINE:COL: parse error: ...` text.

use promql_parser::parser::Expr;

use crate::error::QueryError;
use crate::parser::PosTree;

/// Parses a PromQL expression with `features`, with where each node starts (for
/// annotations); errors are `bad_data` with Prometheus's message.
pub(crate) fn parse(q: &str, features: crate::Features) -> Result<(Expr, PosTree), QueryError> {
    crate::parser::parse_with_positions(q, features)
        .map_err(|e| QueryError::bad_data(e.to_string()))
}
