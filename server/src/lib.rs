//! The `tidemark` server: command line, HTTP API, lifecycle.
//!
//! [`cli`] holds the raw flags, [`settings`] the resolved values, [`web::app`] builds the
//! router (tests call it in-process), [`web_config`] reads `--web.config.file` (TLS, basic
//! auth) and [`listener`] serves with it, and [`run::serve`] runs the whole server.

pub mod api;
pub mod backfill;
pub mod cli;
pub mod federate;
pub mod listener;
pub mod remote_write;
pub mod run;
pub mod settings;
pub mod state;
pub mod telemetry;
pub mod ui;
pub mod web;
pub mod web_config;
