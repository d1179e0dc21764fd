//! The `tidemark` binary.

use std::process::ExitCode;

use tidemark_server::cli::{CheckCommand, Command, Parsed};
use tidemark_server::settings::Settings;

fn main() -> ExitCode {
    let parsed = Parsed::parse();
    let settings = match Settings::from_cli(&parsed) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("tidemark: error: {e}");
            return ExitCode::from(2);
        }
    };
    init_logging(&settings);
    match parsed.cli.command {
        Some(Command::Check {
            what: CheckCommand::Config { files, .. },
        }) => check_config(&files),
        Some(Command::Backfill { file, output }) => {
            match tidemark_server::backfill::run(&file, &output) {
                Ok(summary) => {
                    println!("{summary}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("backfill: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
        None => {
            settings.log_inactive();
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
            {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("tidemark: starting runtime: {e}");
                    return ExitCode::FAILURE;
                }
            };
            match runtime.block_on(tidemark_server::run::serve(settings)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    tracing::error!(error = %format!("{e:#}"), "fatal error");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

fn check_config(files: &[String]) -> ExitCode {
    let mut ok = true;
    for f in files {
        println!("Checking {f}");
        match tidemark_ingest::config::Config::load(f) {
            Ok(cfg) => {
                println!(
                    " SUCCESS: {f} is valid prometheus config file syntax ({} scrape configs)",
                    cfg.scrape_configs.len()
                );
                // Inactive sections and discovery mechanisms Tidemark does not run, worded as
                // the server logs them at every load.
                for warning in cfg.warnings() {
                    println!("  WARNING: {warning}");
                }
            }
            Err(e) => {
                ok = false;
                println!("  FAILED: {e}");
            }
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn init_logging(settings: &Settings) {
    let filter = tracing_subscriber::EnvFilter::new(&settings.log_level);
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    if settings.log_format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}
