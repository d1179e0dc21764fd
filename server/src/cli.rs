//! The command line, as written: Prometheus 3.5's flag names and defaults. [`crate::settings`]
//! resolves these raw strings into typed settings.
//!
//! Every flag `prometheus` 3.5 registers (those `--help` shows and its hidden ones, which
//! `/api/v1/status/flags` lists) is accepted. The flags Tidemark acts on are fields of
//! [`Cli`]; the others are in [`INACTIVE_FLAGS`]: parsed with Prometheus's default, shown in
//! `/api/v1/status/flags`, and logged once at start when given. Boolean flags take
//! Prometheus's `--[no-]name` form. Path defaults are upstream Prometheus's
//! (`prometheus.yml`, `data/`, `consoles`), not the Debian package's `/etc/...` and
//! `/var/lib/...` ones.

use clap::{Arg, ArgAction, ArgMatches, CommandFactory, FromArgMatches, Parser, Subcommand};

/// `tidemark`: a Prometheus-compatible monitoring server.
#[derive(Debug, Clone, Parser)]
#[command(name = "tidemark", version, about, long_about = None)]
pub struct Cli {
    /// A subcommand; without one the server runs.
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Prometheus configuration file path. Without this flag and without the file, a built-in
    /// configuration that scrapes Tidemark itself is used.
    #[arg(long = "config.file")]
    pub config_file: Option<String>,

    /// Base path for metrics storage.
    #[arg(long = "storage.tsdb.path", default_value = "data/")]
    pub storage_path: String,

    /// How long to retain samples in storage. If neither this flag nor
    /// --storage.tsdb.retention.size is set, the retention time defaults to 15d (`0` keeps
    /// samples forever).
    #[arg(long = "storage.tsdb.retention.time")]
    pub retention_time: Option<String>,

    /// Maximum number of bytes that can be stored for blocks. A unit is required: B, KB, MB,
    /// GB, TB, PB, EB (powers of 2). `0B` is no limit.
    #[arg(long = "storage.tsdb.retention.size")]
    pub retention_size: Option<String>,

    /// Minimum duration of a data block before being persisted (hidden in Prometheus).
    #[arg(
        long = "storage.tsdb.min-block-duration",
        default_value = "2h",
        hide = true
    )]
    pub min_block_duration: String,

    /// Maximum duration compacted blocks may span (hidden in Prometheus; defaults to 10% of
    /// the retention time, at most 31d).
    #[arg(long = "storage.tsdb.max-block-duration", hide = true)]
    pub max_block_duration: Option<String>,

    /// Size of a WAL segment file; `0B` is the default (128MiB) (hidden in Prometheus).
    #[arg(
        long = "storage.tsdb.wal-segment-size",
        default_value = "0B",
        hide = true
    )]
    pub wal_segment_size: String,

    /// Address to listen on for UI, API, and telemetry. Can be repeated.
    #[arg(long = "web.listen-address", default_value = "0.0.0.0:9090", action = ArgAction::Append)]
    pub listen_address: Vec<String>,

    /// Path to a configuration file that can enable TLS or authentication (Prometheus's web
    /// config format).
    #[arg(long = "web.config.file", default_value = "")]
    pub web_config_file: String,

    /// The URL under which Tidemark is externally reachable.
    #[arg(long = "web.external-url", default_value = "")]
    pub external_url: String,

    /// Prefix for the internal routes of web endpoints (defaults to the path of
    /// --web.external-url).
    #[arg(long = "web.route-prefix")]
    pub route_prefix: Option<String>,

    /// Maximum number of simultaneous connections across all listeners (`0`: no limit);
    /// further connections wait to be accepted.
    #[arg(long = "web.max-connections", default_value = "512")]
    pub max_connections: String,

    /// Regex for CORS origin. It is fully anchored.
    #[arg(long = "web.cors.origin", default_value = ".*")]
    pub cors_origin: String,

    /// Enable shutdown and reload via HTTP request.
    #[arg(long = "web.enable-lifecycle", overrides_with = "no_enable_lifecycle")]
    pub enable_lifecycle: bool,
    #[arg(
        long = "no-web.enable-lifecycle",
        hide = true,
        overrides_with = "enable_lifecycle"
    )]
    #[doc(hidden)]
    pub no_enable_lifecycle: bool,

    /// Enable API endpoints for admin control actions.
    #[arg(long = "web.enable-admin-api", overrides_with = "no_enable_admin_api")]
    pub enable_admin_api: bool,
    #[arg(
        long = "no-web.enable-admin-api",
        hide = true,
        overrides_with = "enable_admin_api"
    )]
    #[doc(hidden)]
    pub no_enable_admin_api: bool,

    /// Enable API endpoint accepting remote write requests (`POST /api/v1/write`).
    #[arg(
        long = "web.enable-remote-write-receiver",
        overrides_with = "no_enable_remote_write_receiver"
    )]
    pub enable_remote_write_receiver: bool,
    #[arg(
        long = "no-web.enable-remote-write-receiver",
        hide = true,
        overrides_with = "enable_remote_write_receiver"
    )]
    #[doc(hidden)]
    pub no_enable_remote_write_receiver: bool,

    /// The maximum lookback duration for retrieving metrics during expression evaluations.
    #[arg(long = "query.lookback-delta", default_value = "5m")]
    pub lookback_delta: String,

    /// Maximum number of samples a single query can load into memory.
    #[arg(long = "query.max-samples", default_value = "50000000")]
    pub max_samples: String,

    /// Maximum time a query may take before being aborted.
    #[arg(long = "query.timeout", default_value = "2m")]
    pub query_timeout: String,

    /// Maximum number of queries executed concurrently.
    #[arg(long = "query.max-concurrency", default_value = "20")]
    pub max_concurrency: String,

    /// Comma separated feature names to enable (Prometheus's names; see the README for the
    /// ones Tidemark acts on).
    #[arg(long = "enable-feature", action = ArgAction::Append, value_delimiter = ',')]
    pub enable_feature: Vec<String>,

    /// Only log messages with the given severity or above: debug, info, warn, error.
    #[arg(long = "log.level", default_value = "info")]
    pub log_level: String,

    /// Output format of log messages: logfmt or json.
    #[arg(long = "log.format", default_value = "logfmt")]
    pub log_format: String,
}

/// Subcommands besides running the server.
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Check configuration files, like `promtool check config`.
    Check {
        /// What to check.
        #[command(subcommand)]
        what: CheckCommand,
    },
    /// Import an OpenMetrics or text-format file with timestamps into blocks (like `promtool
    /// tsdb create-blocks-from openmetrics`).
    Backfill {
        /// The input file.
        file: String,
        /// The data directory to write blocks into.
        #[arg(default_value = "data/")]
        output: String,
    },
}

/// `tidemark check ...`.
#[derive(Debug, Clone, Subcommand)]
pub enum CheckCommand {
    /// Validate one or more `prometheus.yml` files.
    Config {
        /// Accepted for `promtool` compatibility: Tidemark's check never opens the files a
        /// configuration refers to, so it is always syntax-only.
        #[arg(long = "syntax-only")]
        syntax_only: bool,
        /// The files.
        #[arg(required = true)]
        files: Vec<String>,
    },
}

/// How an accepted-but-inactive flag takes its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagKind {
    /// `--[no-]name`: a boolean whose default is the given one.
    Bool(bool),
    /// `--name=value`, the last one given wins.
    Value,
    /// `--name=value`, repeatable (values joined with `,` in `/api/v1/status/flags`).
    Repeated,
}

/// A Prometheus 3.5 flag Tidemark accepts without acting on it.
#[derive(Debug, Clone, Copy)]
pub struct InactiveFlag {
    /// The name without `--`.
    pub name: &'static str,
    /// Prometheus 3.5's default, as `/api/v1/status/flags` shows it.
    pub default: &'static str,
    /// Boolean, single value or repeatable.
    pub kind: FlagKind,
    /// Whether `prometheus --help` lists it (the others are hidden flags).
    pub in_help: bool,
    /// Why it has no effect in Tidemark.
    pub why: &'static str,
}

const fn flag(
    name: &'static str,
    default: &'static str,
    kind: FlagKind,
    in_help: bool,
    why: &'static str,
) -> InactiveFlag {
    InactiveFlag {
        name,
        default,
        kind,
        in_help,
        why,
    }
}

const GO_RUNTIME: &str = "Go runtime setting; Tidemark is not a Go program";
const AGENT: &str = "agent mode is not implemented; Tidemark always runs as a server";
const RULES: &str = "rule evaluation and alerting are not active yet";
const REMOTE: &str = "remote write/read clients are not active yet";
const ASSETS: &str = "the UI is embedded in the binary";
const TSDB_INTERNAL: &str = "Prometheus TSDB internal; Tidemark's engine has no such setting";

/// The Prometheus 3.5 flags Tidemark accepts but does not act on, with their reason.
pub const INACTIVE_FLAGS: &[InactiveFlag] = &[
    flag("config.auto-reload-interval", "30s", FlagKind::Value, true,
        "only used with --enable-feature=auto-reload-config, which Tidemark does not implement (reload with SIGHUP or /-/reload)"),
    flag("auto-gomaxprocs", "true", FlagKind::Bool(true), true, GO_RUNTIME),
    flag("auto-gomemlimit", "true", FlagKind::Bool(true), true, GO_RUNTIME),
    flag("auto-gomemlimit.ratio", "0.9", FlagKind::Value, true, GO_RUNTIME),
    flag("web.read-timeout", "5m", FlagKind::Value, true,
        "requests are not timed out while being read"),
    flag("web.max-notifications-subscribers", "16", FlagKind::Value, true,
        "/api/v1/notifications/live is not implemented"),
    flag("web.page-title", "Prometheus Time Series Collection and Processing Server",
        FlagKind::Value, true, "the UI has its own page titles"),
    flag("web.local-assets", "/usr/share/prometheus/web/", FlagKind::Value, true, ASSETS),
    flag("web.user-assets", "", FlagKind::Value, true, ASSETS),
    flag("web.remote-write-receiver.accepted-protobuf-messages",
        "prometheus.WriteRequest,io.prometheus.write.v2.Request", FlagKind::Repeated, true,
        "the receiver accepts remote-write 1.0 (prometheus.WriteRequest) only"),
    flag("web.console.templates", "consoles", FlagKind::Value, true,
        "console templates are not served"),
    flag("web.console.libraries", "console_libraries", FlagKind::Value, true,
        "console templates are not served"),
    flag("storage.tsdb.no-lockfile", "false", FlagKind::Bool(false), true,
        "Tidemark always locks its data directory"),
    flag("storage.tsdb.head-chunks-write-queue-size", "0", FlagKind::Value, true, TSDB_INTERNAL),
    flag("storage.tsdb.samples-per-chunk", "120", FlagKind::Value, false, TSDB_INTERNAL),
    flag("storage.tsdb.max-block-chunk-segment-size", "0B", FlagKind::Value, false, TSDB_INTERNAL),
    flag("storage.tsdb.wal-compression", "true", FlagKind::Bool(true), false,
        "Tidemark's WAL has its own encoding"),
    flag("storage.tsdb.wal-compression-type", "snappy", FlagKind::Value, false,
        "Tidemark's WAL has its own encoding"),
    flag("storage.tsdb.allow-overlapping-compaction", "true", FlagKind::Bool(true), false,
        "Tidemark always merges overlapping blocks"),
    flag("storage.tsdb.delayed-compaction.max-percent", "10", FlagKind::Value, false, TSDB_INTERNAL),
    flag("storage.agent.path", "data-agent/", FlagKind::Value, true, AGENT),
    flag("storage.agent.wal-compression", "true", FlagKind::Bool(true), true, AGENT),
    flag("storage.agent.wal-compression-type", "snappy", FlagKind::Value, false, AGENT),
    flag("storage.agent.wal-segment-size", "0B", FlagKind::Value, false, AGENT),
    flag("storage.agent.wal-truncate-frequency", "0s", FlagKind::Value, false, AGENT),
    flag("storage.agent.retention.min-time", "0s", FlagKind::Value, true, AGENT),
    flag("storage.agent.retention.max-time", "0s", FlagKind::Value, true, AGENT),
    flag("storage.agent.no-lockfile", "false", FlagKind::Bool(false), true, AGENT),
    flag("storage.remote.flush-deadline", "1m", FlagKind::Value, true, REMOTE),
    flag("storage.remote.read-sample-limit", "50000000", FlagKind::Value, true, REMOTE),
    flag("storage.remote.read-concurrent-limit", "10", FlagKind::Value, true, REMOTE),
    flag("storage.remote.read-max-bytes-in-frame", "1048576", FlagKind::Value, true, REMOTE),
    flag("rules.alert.for-outage-tolerance", "1h", FlagKind::Value, true, RULES),
    flag("rules.alert.for-grace-period", "10m", FlagKind::Value, true, RULES),
    flag("rules.alert.resend-delay", "1m", FlagKind::Value, true, RULES),
    flag("rules.max-concurrent-evals", "4", FlagKind::Value, true, RULES),
    flag("alertmanager.notification-queue-capacity", "10000", FlagKind::Value, true, RULES),
    flag("alertmanager.notification-batch-size", "256", FlagKind::Value, true, RULES),
    flag("alertmanager.drain-notification-queue-on-shutdown", "true", FlagKind::Bool(true), true, RULES),
    flag("scrape.adjust-timestamps", "true", FlagKind::Bool(true), false,
        "scrape timestamps are not adjusted to the schedule"),
    flag("scrape.timestamp-tolerance", "2ms", FlagKind::Value, false,
        "scrape timestamps are not adjusted to the schedule"),
    flag("scrape.discovery-reload-interval", "5s", FlagKind::Value, false,
        "discovery changes are applied as they arrive"),
    flag("agent", "false", FlagKind::Bool(false), true, AGENT),
];

/// The boolean flags of [`Cli`] (each also accepted as `--no-NAME`).
pub const ACTIVE_BOOL_FLAGS: &[&str] = &[
    "web.enable-lifecycle",
    "web.enable-admin-api",
    "web.enable-remote-write-receiver",
];

fn inactive_arg(f: &InactiveFlag) -> Vec<Arg> {
    match f.kind {
        FlagKind::Bool(_) => {
            let no = format!("no-{}", f.name);
            vec![
                Arg::new(f.name)
                    .long(f.name)
                    .action(ArgAction::SetTrue)
                    .overrides_with(no.clone())
                    .help(format!("Accepted, no effect: {}.", f.why)),
                Arg::new(no.clone())
                    .long(no)
                    .action(ArgAction::SetTrue)
                    .overrides_with(f.name)
                    .hide(true),
            ]
        }
        FlagKind::Value => vec![Arg::new(f.name)
            .long(f.name)
            .action(ArgAction::Set)
            .value_name("VALUE")
            .help(format!(
                "Accepted, no effect: {} [default: {}].",
                f.why, f.default
            ))],
        FlagKind::Repeated => vec![Arg::new(f.name)
            .long(f.name)
            .action(ArgAction::Append)
            .value_name("VALUE")
            .help(format!(
                "Accepted, no effect: {} [default: {}].",
                f.why, f.default
            ))],
    }
}

/// An inactive flag the command line set, with the value it was given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GivenFlag {
    /// The flag's name without `--`.
    pub name: &'static str,
    /// The value (`true`/`false` for booleans, repeated values joined with `,`).
    pub value: String,
    /// Why it has no effect.
    pub why: &'static str,
}

/// The parsed command line: the flags Tidemark acts on, and every inactive flag's value.
#[derive(Debug, Clone)]
pub struct Parsed {
    /// The active flags and the subcommand.
    pub cli: Cli,
    /// Every inactive flag with its value (the default unless given), in table order.
    pub inactive: Vec<(&'static str, String)>,
    /// The inactive flags given on the command line.
    pub given: Vec<GivenFlag>,
}

/// The full command: [`Cli`] plus the inactive flags and kingpin's extra help flags.
pub fn command() -> clap::Command {
    let mut cmd = Cli::command();
    for f in INACTIVE_FLAGS {
        cmd = cmd.args(inactive_arg(f));
    }
    cmd = cmd
        .arg(
            Arg::new("help-long")
                .long("help-long")
                .action(ArgAction::HelpLong)
                .help("Show help with the hidden flags too."),
        )
        .arg(
            Arg::new("help-man")
                .long("help-man")
                .action(ArgAction::HelpLong)
                .hide(true),
        );
    for f in ["help", "version"] {
        let no = format!("no-{f}");
        cmd = cmd.arg(
            Arg::new(no.clone())
                .long(no)
                .action(ArgAction::SetTrue)
                .hide(true),
        );
    }
    cmd
}

impl Parsed {
    /// Parses `args` (the program name first); a clap error for a bad or unknown flag.
    pub fn try_parse_from<I, T>(args: I) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let matches = command().try_get_matches_from(args)?;
        Self::from_matches(&matches)
    }

    /// Parses the process's arguments, exiting with clap's message (status 2) on error.
    pub fn parse() -> Self {
        let matches = command().get_matches();
        Self::from_matches(&matches).unwrap_or_else(|e| e.exit())
    }

    fn from_matches(m: &ArgMatches) -> Result<Self, clap::Error> {
        let cli = Cli::from_arg_matches(m)?;
        let mut inactive = Vec::with_capacity(INACTIVE_FLAGS.len());
        let mut given = Vec::new();
        for f in INACTIVE_FLAGS {
            let (value, set) = match f.kind {
                FlagKind::Bool(default) => {
                    let yes = m.get_flag(f.name);
                    let no = m.get_flag(&format!("no-{}", f.name));
                    let v = if no {
                        false
                    } else if yes {
                        true
                    } else {
                        default
                    };
                    (v.to_string(), yes || no)
                }
                FlagKind::Value => match m.get_one::<String>(f.name) {
                    Some(v) => (v.clone(), true),
                    None => (f.default.to_owned(), false),
                },
                FlagKind::Repeated => match m.get_many::<String>(f.name) {
                    Some(vs) => (vs.cloned().collect::<Vec<_>>().join(","), true),
                    None => (f.default.to_owned(), false),
                },
            };
            if set {
                given.push(GivenFlag {
                    name: f.name,
                    value: value.clone(),
                    why: f.why,
                });
            }
            inactive.push((f.name, value));
        }
        Ok(Parsed {
            cli,
            inactive,
            given,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_is_consistent() {
        command().debug_assert();
    }

    #[test]
    fn inactive_flags_take_defaults_and_no_forms() {
        let p = Parsed::try_parse_from(["tidemark"]).unwrap();
        assert!(p.given.is_empty());
        let get = |p: &Parsed, n: &str| p.inactive.iter().find(|(k, _)| *k == n).unwrap().1.clone();
        assert_eq!(get(&p, "auto-gomaxprocs"), "true");
        assert_eq!(get(&p, "rules.alert.resend-delay"), "1m");
        let p = Parsed::try_parse_from([
            "tidemark",
            "--no-auto-gomaxprocs",
            "--rules.alert.resend-delay",
            "2m",
            "--web.remote-write-receiver.accepted-protobuf-messages=prometheus.WriteRequest",
            "--agent",
            "--no-agent",
        ])
        .unwrap();
        assert_eq!(get(&p, "auto-gomaxprocs"), "false");
        assert_eq!(get(&p, "rules.alert.resend-delay"), "2m");
        assert_eq!(get(&p, "agent"), "false");
        assert_eq!(p.given.len(), 4, "{:?}", p.given);
    }

    #[test]
    fn active_bools_take_no_forms_last_wins() {
        let p = Parsed::try_parse_from([
            "tidemark",
            "--web.enable-lifecycle",
            "--no-web.enable-lifecycle",
            "--no-web.enable-admin-api",
            "--web.enable-admin-api",
        ])
        .unwrap();
        assert!(!p.cli.enable_lifecycle || p.cli.no_enable_lifecycle);
        assert!(p.cli.enable_admin_api && !p.cli.no_enable_admin_api);
    }

    #[test]
    fn unknown_flags_and_bool_values_are_errors() {
        assert!(Parsed::try_parse_from(["tidemark", "--no.such-flag"]).is_err());
        assert!(Parsed::try_parse_from(["tidemark", "--web.enable-lifecycle=false"]).is_err());
    }
}
