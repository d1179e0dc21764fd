//! Starting and stopping the server: open storage, apply the configuration, serve HTTP,
//! compact in the background, reload on SIGHUP, shut down cleanly on SIGTERM/SIGINT.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tidemark_engine::{Db, DbOptions};
use tidemark_ingest::scrape::{ManagerOptions, ScrapeManager};
use tidemark_query::{EngineOptions, QueryEngine};

use crate::settings::Settings;
use crate::state::{load_config, AppState};
use crate::web;
use crate::web_config::WebConfig;

/// How often the head is checked for compaction and retention is applied.
const COMPACTION_INTERVAL: Duration = Duration::from_secs(60);

/// Runs the server until a shutdown signal.
pub async fn serve(settings: Settings) -> anyhow::Result<()> {
    let settings = Arc::new(settings);
    let config = load_config(&settings).map_err(anyhow::Error::msg)?;
    let web_config = match &settings.web_config_file {
        Some(path) => WebConfig::load(path).map_err(anyhow::Error::msg)?,
        None => WebConfig::default(),
    };

    // Listen at once: while the storage opens (WAL replay), `/-/healthy` answers and every
    // other path says 503, as Prometheus does before it is ready.
    let mut std_listeners = Vec::with_capacity(settings.listen_addresses.len());
    for addr in &settings.listen_addresses {
        let l =
            std::net::TcpListener::bind(addr).with_context(|| format!("listening on {addr}"))?;
        l.set_nonblocking(true)?;
        tracing::info!(
            address = %l.local_addr()?,
            tls = web_config.tls.is_some(),
            basic_auth = !web_config.users.is_empty(),
            "listening"
        );
        std_listeners.push(l);
    }
    let limit = crate::listener::connection_limit(settings.max_connections);
    let (stop_starting, starting_stopped) = tokio::sync::oneshot::channel::<()>();
    let starting = {
        let listeners = std_listeners
            .iter()
            .map(|l| tokio::net::TcpListener::from_std(l.try_clone()?))
            .collect::<std::io::Result<Vec<_>>>()?;
        let app = web::starting_app(&settings.route_prefix);
        let web_config = web_config.clone();
        let limit = limit.clone();
        tokio::spawn(async move {
            let stopped = async move {
                let _ = starting_stopped.await;
            };
            if let Err(e) =
                crate::listener::serve_all(listeners, app, &web_config, limit, stopped).await
            {
                tracing::error!(error = %e, "serving while starting failed");
            }
        })
    };

    let opts = DbOptions {
        retention_time: settings.retention_time.map(|d| d.as_millis() as i64),
        retention_size: settings.retention_size,
        block_range: settings.min_block_duration,
        max_block_range: settings.max_block_duration,
        wal_segment_size: settings
            .wal_segment_size
            .unwrap_or(DbOptions::default().wal_segment_size),
        ..Default::default()
    };
    let path = settings.storage_path.clone();
    tracing::info!(path = %path.display(), "opening storage");
    let db = tokio::task::spawn_blocking(move || Db::open(&path, opts))
        .await?
        .with_context(|| format!("opening storage at {}", settings.storage_path.display()))?;
    let db = Arc::new(db);
    tracing::info!("storage ready");

    let engine = Arc::new(QueryEngine::new(EngineOptions {
        lookback_delta: settings.lookback_delta,
        max_samples: settings.max_samples,
        timeout: settings.query_timeout,
        max_concurrency: settings.max_concurrency,
        default_subquery_step: config.0.global.evaluation_interval.to_std(),
        features: settings.promql_features(),
    }));
    let scrape = Arc::new(ScrapeManager::new(
        db.clone(),
        ManagerOptions {
            hostname: hostname(),
            ..Default::default()
        },
    ));
    let state = Arc::new(AppState::new(
        db.clone(),
        engine,
        scrape.clone(),
        settings.clone(),
        config,
    ));

    // The WAL replay is over: the starting server hands the socket to the real one.
    let _ = stop_starting.send(());
    let _ = starting.await;
    let listeners = std_listeners
        .into_iter()
        .map(tokio::net::TcpListener::from_std)
        .collect::<std::io::Result<Vec<_>>>()?;

    scrape
        .apply(&state.config.read().0)
        .map_err(|e| anyhow::anyhow!("applying configuration: {e}"))?;
    state.ready.store(true, Ordering::Relaxed);

    // Compaction and retention, off the async executor.
    let stop_compaction = Arc::new(AtomicBool::new(false));
    let compactor = {
        let db = db.clone();
        let stop = stop_compaction.clone();
        std::thread::Builder::new()
            .name("compactor".into())
            .spawn(move || {
                let mut waited = Duration::ZERO;
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(200));
                    waited += Duration::from_millis(200);
                    if waited < COMPACTION_INTERVAL {
                        continue;
                    }
                    waited = Duration::ZERO;
                    if let Err(e) = db.compact() {
                        tracing::error!(error = %e, "compaction failed");
                    }
                }
            })?
    };

    // SIGHUP reloads.
    let hup_task = {
        let state = state.clone();
        tokio::spawn(async move {
            let Ok(mut hup) =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
            else {
                return;
            };
            while hup.recv().await.is_some() {
                let st = state.clone();
                let _ = tokio::task::spawn_blocking(move || st.reload()).await;
            }
        })
    };

    let shutdown = state.shutdown.clone();
    let app = web::app(state.clone());
    crate::listener::serve_all(listeners, app, &web_config, limit, async move {
        let mut term = match tokio::signal::unix::signal(
            tokio::signal::unix::SignalKind::terminate(),
        ) {
            Ok(term) => Some(term),
            Err(e) => {
                tracing::error!(error = %e, "cannot handle SIGTERM; stop with SIGINT or /-/quit");
                None
            }
        };
        let sigterm = async {
            match term.as_mut() {
                Some(term) => term.recv().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => tracing::info!("received SIGINT, exiting gracefully"),
            _ = sigterm => tracing::info!("received SIGTERM, exiting gracefully"),
            _ = shutdown.notified() => tracing::info!("received quit request, exiting gracefully"),
        }
    })
    .await?;

    tracing::info!("stopping scrape loops");
    hup_task.abort();
    let _ = hup_task.await;
    scrape.stop().await;
    stop_compaction.store(true, Ordering::Relaxed);
    let _ = compactor.join();
    drop(state);
    drop(scrape);
    match Arc::try_unwrap(db) {
        Ok(db) => db.close().context("closing storage")?,
        Err(_) => tracing::warn!("storage still referenced at shutdown; WAL is synced by drop"),
    }
    tracing::info!("see you next time!");
    Ok(())
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}
