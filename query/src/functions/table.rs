//! The functions Prometheus 3.5 knows, with their argument and return types, so the parser
//! and evaluator can reject unknown functions (`holt_winters` is gone in 3.x; `xrate`,
//! `first_over_time`, … are not in 3.5) and wrong arities with Prometheus's messages, and
//! refuse the experimental ones (`sort_by_label`, `mad_over_time`, `info`, …) unless
//! `--enable-feature=promql-experimental-functions` is set. The native-histogram functions
//! (`histogram_count`, `histogram_sum`, `histogram_avg`, …) are known; they skip float
//! samples.

/// The value type of a function argument or result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgType {
    /// A scalar.
    Scalar,
    /// An instant vector.
    InstantVector,
    /// A range vector.
    RangeVector,
    /// A string literal.
    String,
}

/// A function's signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FunctionDef {
    /// Name as written in PromQL.
    pub name: &'static str,
    /// Argument types, in order (including optional ones).
    pub args: &'static [ArgType],
    /// How many trailing arguments may be omitted.
    pub optional_args: usize,
    /// Whether the last argument may repeat any number of times (`label_join`).
    pub variadic: bool,
    /// Result type.
    pub returns: ArgType,
    /// Only with `--enable-feature=promql-experimental-functions`.
    pub experimental: bool,
}

impl FunctionDef {
    /// The type expected for the argument at `index` (repeating the last one if variadic).
    pub fn arg_type(&self, index: usize) -> Option<ArgType> {
        match self.args.get(index) {
            Some(t) => Some(*t),
            None if self.variadic => self.args.last().copied(),
            None => None,
        }
    }

    /// Checks the number of arguments, with Prometheus's parser messages.
    pub fn check_arity(&self, given: usize) -> Result<(), String> {
        let n = self.args.len();
        if self.optional_args == 0 && !self.variadic {
            if given != n {
                return Err(format!(
                    "expected {n} argument(s) in call to \"{}\", got {given}",
                    self.name
                ));
            }
            return Ok(());
        }
        let min = n - self.optional_args;
        if given < min {
            return Err(format!(
                "expected at least {min} argument(s) in call to \"{}\", got {given}",
                self.name
            ));
        }
        if !self.variadic && given > n {
            return Err(format!(
                "expected at most {n} argument(s) in call to \"{}\", got {given}",
                self.name
            ));
        }
        Ok(())
    }
}

use ArgType::{InstantVector as V, RangeVector as M, Scalar as S, String as Str};

const fn f(
    name: &'static str,
    args: &'static [ArgType],
    optional_args: usize,
    returns: ArgType,
) -> FunctionDef {
    FunctionDef {
        name,
        args,
        optional_args,
        variadic: false,
        returns,
        experimental: false,
    }
}

/// An experimental function (see [`FunctionDef::experimental`]).
const fn x(
    name: &'static str,
    args: &'static [ArgType],
    optional_args: usize,
    returns: ArgType,
) -> FunctionDef {
    FunctionDef {
        experimental: true,
        ..f(name, args, optional_args, returns)
    }
}

/// Every function Prometheus 3.5 knows, sorted by name.
pub static FUNCTIONS: &[FunctionDef] = &[
    f("abs", &[V], 0, V),
    f("absent", &[V], 0, V),
    f("absent_over_time", &[M], 0, V),
    f("acos", &[V], 0, V),
    f("acosh", &[V], 0, V),
    f("asin", &[V], 0, V),
    f("asinh", &[V], 0, V),
    f("atan", &[V], 0, V),
    f("atanh", &[V], 0, V),
    f("avg_over_time", &[M], 0, V),
    f("ceil", &[V], 0, V),
    f("changes", &[M], 0, V),
    f("clamp", &[V, S, S], 0, V),
    f("clamp_max", &[V, S], 0, V),
    f("clamp_min", &[V, S], 0, V),
    f("cos", &[V], 0, V),
    f("cosh", &[V], 0, V),
    f("count_over_time", &[M], 0, V),
    f("day_of_month", &[V], 1, V),
    f("day_of_week", &[V], 1, V),
    f("day_of_year", &[V], 1, V),
    f("days_in_month", &[V], 1, V),
    f("deg", &[V], 0, V),
    f("delta", &[M], 0, V),
    f("deriv", &[M], 0, V),
    x("double_exponential_smoothing", &[M, S, S], 0, V),
    f("exp", &[V], 0, V),
    f("floor", &[V], 0, V),
    f("histogram_avg", &[V], 0, V),
    f("histogram_count", &[V], 0, V),
    f("histogram_fraction", &[S, S, V], 0, V),
    f("histogram_quantile", &[S, V], 0, V),
    f("histogram_stddev", &[V], 0, V),
    f("histogram_stdvar", &[V], 0, V),
    f("histogram_sum", &[V], 0, V),
    f("hour", &[V], 1, V),
    f("idelta", &[M], 0, V),
    f("increase", &[M], 0, V),
    x("info", &[V, V], 1, V),
    f("irate", &[M], 0, V),
    FunctionDef {
        name: "label_join",
        args: &[V, Str, Str, Str],
        optional_args: 1,
        variadic: true,
        returns: V,
        experimental: false,
    },
    f("label_replace", &[V, Str, Str, Str, Str], 0, V),
    f("last_over_time", &[M], 0, V),
    f("ln", &[V], 0, V),
    f("log10", &[V], 0, V),
    f("log2", &[V], 0, V),
    x("mad_over_time", &[M], 0, V),
    f("max_over_time", &[M], 0, V),
    f("min_over_time", &[M], 0, V),
    f("minute", &[V], 1, V),
    f("month", &[V], 1, V),
    f("pi", &[], 0, S),
    f("predict_linear", &[M, S], 0, V),
    f("present_over_time", &[M], 0, V),
    f("quantile_over_time", &[S, M], 0, V),
    f("rad", &[V], 0, V),
    f("rate", &[M], 0, V),
    f("resets", &[M], 0, V),
    f("round", &[V, S], 1, V),
    f("scalar", &[V], 0, S),
    f("sgn", &[V], 0, V),
    f("sin", &[V], 0, V),
    f("sinh", &[V], 0, V),
    f("sort", &[V], 0, V),
    FunctionDef {
        name: "sort_by_label",
        args: &[V, Str],
        optional_args: 1,
        variadic: true,
        returns: V,
        experimental: true,
    },
    FunctionDef {
        name: "sort_by_label_desc",
        args: &[V, Str],
        optional_args: 1,
        variadic: true,
        returns: V,
        experimental: true,
    },
    f("sort_desc", &[V], 0, V),
    f("sqrt", &[V], 0, V),
    f("stddev_over_time", &[M], 0, V),
    f("stdvar_over_time", &[M], 0, V),
    f("sum_over_time", &[M], 0, V),
    f("tan", &[V], 0, V),
    f("tanh", &[V], 0, V),
    f("time", &[], 0, S),
    f("timestamp", &[V], 0, V),
    x("ts_of_last_over_time", &[M], 0, V),
    x("ts_of_max_over_time", &[M], 0, V),
    x("ts_of_min_over_time", &[M], 0, V),
    f("vector", &[S], 0, V),
    f("year", &[V], 1, V),
];

/// The signature of the function `name`, if Prometheus 3.5 has it (experimental or not).
pub fn function_def(name: &str) -> Option<&'static FunctionDef> {
    FUNCTIONS
        .binary_search_by(|d| d.name.cmp(name))
        .ok()
        .map(|i| &FUNCTIONS[i])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_complete() {
        for w in FUNCTIONS.windows(2) {
            assert!(w[0].name < w[1].name, "{} / {}", w[0].name, w[1].name);
        }
        let all = "abs absent absent_over_time ceil changes clamp clamp_max clamp_min \
            day_of_month day_of_week day_of_year days_in_month delta deriv exp floor \
            histogram_count histogram_fraction histogram_quantile histogram_sum hour \
            histogram_avg histogram_stddev histogram_stdvar double_exponential_smoothing info \
            mad_over_time sort_by_label sort_by_label_desc ts_of_last_over_time \
            ts_of_max_over_time ts_of_min_over_time idelta increase irate label_join label_replace \
            ln log10 log2 minute month predict_linear rate resets round scalar sgn sort \
            sort_desc sqrt time timestamp vector year avg_over_time min_over_time max_over_time \
            sum_over_time count_over_time quantile_over_time stddev_over_time stdvar_over_time \
            last_over_time present_over_time acos acosh asin asinh atan atanh cos cosh sin sinh \
            tan tanh deg rad pi";
        let names: Vec<&str> = all.split_whitespace().collect();
        assert_eq!(names.len(), FUNCTIONS.len());
        for n in names {
            assert!(function_def(n).is_some(), "{n}");
        }
        for n in [
            "holt_winters",
            "limitk",
            "first_over_time",
            "ts_of_first_over_time",
            "xrate",
            "",
        ] {
            assert!(function_def(n).is_none(), "{n}");
        }
    }

    #[test]
    fn arity_checks() {
        let rate = function_def("rate").map(|d| d.check_arity(2));
        assert_eq!(
            rate,
            Some(Err(
                "expected 1 argument(s) in call to \"rate\", got 2".to_owned()
            ))
        );
        let round = function_def("round");
        assert!(round.is_some_and(|d| d.check_arity(1).is_ok() && d.check_arity(2).is_ok()));
        assert_eq!(
            round.map(|d| d.check_arity(3)),
            Some(Err(
                "expected at most 2 argument(s) in call to \"round\", got 3".to_owned()
            ))
        );
        let year = function_def("year");
        assert!(year.is_some_and(|d| d.check_arity(0).is_ok() && d.check_arity(1).is_ok()));
        let join = function_def("label_join");
        assert!(join.is_some_and(|d| d.check_arity(3).is_ok() && d.check_arity(7).is_ok()));
        assert_eq!(
            join.map(|d| d.check_arity(2)),
            Some(Err(
                "expected at least 3 argument(s) in call to \"label_join\", got 2".to_owned()
            ))
        );
        assert_eq!(join.and_then(|d| d.arg_type(6)), Some(ArgType::String));
        assert_eq!(
            function_def("time").map(|d| d.returns),
            Some(ArgType::Scalar)
        );
        assert!(function_def("pi").is_some_and(|d| d.check_arity(0).is_ok()));
    }
}
