//! The state every handler shares, and configuration reloads.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use parking_lot::{Mutex, RwLock};
use tidemark_engine::Db;
use tidemark_ingest::config::Config;
use tidemark_ingest::scrape::ScrapeManager;
use tidemark_query::QueryEngine;
use tokio::sync::Notify;

use crate::remote_write::RemoteWriteCounters;
use crate::settings::{ConfigSource, Settings};

/// The built-in configuration: scrape Tidemark itself, like Prometheus's example config.
pub const BUILT_IN_CONFIG: &str = "\
global:
  scrape_interval: 15s
  evaluation_interval: 15s
scrape_configs:
  - job_name: tidemark
    static_configs:
      - targets: ['localhost:9090']
";

/// Shared by every handler.
pub struct AppState {
    /// The storage engine.
    pub db: Arc<Db>,
    /// The PromQL engine.
    pub engine: Arc<QueryEngine>,
    /// The scrape manager.
    pub scrape: Arc<ScrapeManager>,
    /// Resolved flags.
    pub settings: Arc<Settings>,
    /// The running configuration and its text.
    pub config: RwLock<(Config, String)>,
    /// True once the WAL is replayed and the server serves.
    pub ready: AtomicBool,
    /// Notified to shut down (`/-/quit`, signals).
    pub shutdown: Arc<Notify>,
    /// Whether the last reload succeeded.
    pub last_reload_ok: AtomicBool,
    /// Unix seconds of the last successful reload.
    pub last_reload_success_time: AtomicU64,
    /// Reloads are one at a time.
    reload_lock: Mutex<()>,
    /// When the server started.
    pub start_time: SystemTime,
    /// Counters of the remote-write receiver.
    pub remote_write: RemoteWriteCounters,
    /// Server notifications (`/api/v1/notifications`).
    pub notifications: Notifications,
}

/// The text of the notification a failed reload raises, as Prometheus words it.
pub const RELOAD_FAILED: &str = "Configuration reload has failed.";

/// A server notification, as `/api/v1/notifications` shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    /// What happened.
    pub text: String,
    /// When it was raised (or last raised again).
    pub date: SystemTime,
    /// False once it is over (sent on the live stream only).
    pub active: bool,
}

impl Notification {
    /// Prometheus's JSON: `{"text", "date", "active"}`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "text": self.text,
            "date": crate::api::rfc3339(self.date),
            "active": self.active,
        })
    }
}

/// The active notifications and the live subscribers.
#[derive(Debug)]
pub struct Notifications {
    list: Mutex<Vec<Notification>>,
    live: tokio::sync::broadcast::Sender<Notification>,
}

impl Default for Notifications {
    fn default() -> Self {
        Self {
            list: Mutex::new(Vec::new()),
            live: tokio::sync::broadcast::channel(64).0,
        }
    }
}

impl Notifications {
    /// Raises `text` (again: its date is renewed).
    pub fn add(&self, text: &str) {
        let n = Notification {
            text: text.to_owned(),
            date: SystemTime::now(),
            active: true,
        };
        let mut list = self.list.lock();
        match list.iter_mut().find(|x| x.text == text) {
            Some(x) => *x = n.clone(),
            None => list.push(n.clone()),
        }
        let _ = self.live.send(n);
    }

    /// Ends `text`, if it is active.
    pub fn remove(&self, text: &str) {
        let mut list = self.list.lock();
        if let Some(i) = list.iter().position(|x| x.text == text) {
            let mut n = list.remove(i);
            n.active = false;
            n.date = SystemTime::now();
            let _ = self.live.send(n);
        }
    }

    /// The active notifications, oldest first.
    pub fn current(&self) -> Vec<Notification> {
        self.list.lock().clone()
    }

    /// The active notifications and a receiver of every later change (taken together, so
    /// none is missed).
    pub fn subscribe(
        &self,
    ) -> (
        Vec<Notification>,
        tokio::sync::broadcast::Receiver<Notification>,
    ) {
        let list = self.list.lock();
        (list.clone(), self.live.subscribe())
    }
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").finish_non_exhaustive()
    }
}

/// Loads and validates the configuration named by the settings; sections that are accepted
/// but not active yet are logged as a warning.
pub fn load_config(settings: &Settings) -> Result<(Config, String), String> {
    let loaded = read_config(settings)?;
    let inactive = loaded.0.inactive_sections();
    if !inactive.is_empty() {
        tracing::warn!(
            sections = %inactive.join(", "),
            "configuration sections accepted but not active in this version of Tidemark"
        );
    }
    // Discovery mechanisms Tidemark does not run: one warning per job and mechanism, at
    // every load (the same text `tidemark check config` prints).
    for warning in loaded.0.warnings() {
        if let tidemark_ingest::config::ConfigWarning::UnimplementedDiscovery {
            job,
            mechanism,
            ..
        } = &warning
        {
            tracing::warn!(job = %job, mechanism = %mechanism, "{warning}");
        }
    }
    Ok(loaded)
}

fn read_config(settings: &Settings) -> Result<(Config, String), String> {
    match &settings.config {
        ConfigSource::BuiltIn => {
            let text = BUILT_IN_CONFIG.replace(
                "localhost:9090",
                &format!("localhost:{}", settings.listen_address.port()),
            );
            Config::parse(&text)
                .map(|c| (c, text))
                .map_err(|e| format!("built-in config: {e}"))
        }
        ConfigSource::File(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                format!(
                    "couldn't load configuration (--config.file={:?}): {e}",
                    path.display()
                )
            })?;
            Config::parse(&text).map(|c| (c, text)).map_err(|e| {
                format!(
                    "couldn't load configuration (--config.file={:?}): {e}",
                    path.display()
                )
            })
        }
    }
}

impl AppState {
    /// A new state; `config` is already applied to `scrape`.
    pub fn new(
        db: Arc<Db>,
        engine: Arc<QueryEngine>,
        scrape: Arc<ScrapeManager>,
        settings: Arc<Settings>,
        config: (Config, String),
    ) -> Self {
        Self {
            db,
            engine,
            scrape,
            settings,
            config: RwLock::new(config),
            ready: AtomicBool::new(false),
            shutdown: Arc::new(Notify::new()),
            last_reload_ok: AtomicBool::new(true),
            last_reload_success_time: AtomicU64::new(unix_now()),
            reload_lock: Mutex::new(()),
            start_time: SystemTime::now(),
            remote_write: RemoteWriteCounters::default(),
            notifications: Notifications::default(),
        }
    }

    /// Re-reads the configuration and applies it. On any error the running configuration
    /// stays, and the error is returned (and counted).
    pub fn reload(&self) -> Result<(), String> {
        let _one = self.reload_lock.lock();
        let result = load_config(&self.settings).and_then(|(config, text)| {
            self.scrape.apply(&config).map_err(|e| e.to_string())?;
            *self.config.write() = (config, text);
            Ok(())
        });
        match &result {
            Ok(()) => {
                self.last_reload_ok.store(true, Ordering::Relaxed);
                self.last_reload_success_time
                    .store(unix_now(), Ordering::Relaxed);
                self.notifications.remove(RELOAD_FAILED);
                tracing::info!("completed loading of configuration file");
            }
            Err(e) => {
                self.last_reload_ok.store(false, Ordering::Relaxed);
                self.notifications.add(RELOAD_FAILED);
                tracing::error!(error = %e, "error reloading config");
            }
        }
        result
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
