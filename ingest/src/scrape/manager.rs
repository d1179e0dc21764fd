//! The scrape manager: one pool per job, fed by that job's discoverers, swapped job by job when
//! the configuration is reloaded.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tidemark_engine::Db;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::metrics::ScrapeMetrics;
use super::pool::{PoolSnapshot, ScrapePool};
use super::schedule::server_seed;
use crate::client::HttpClient;
use crate::config::{Config, ScrapeConfig};
use crate::discovery::{self, TargetGroup};

/// Settings of the manager itself.
#[derive(Debug, Clone)]
pub struct ManagerOptions {
    /// The host name, part of the per-server scrape phase seed.
    pub hostname: String,
    /// Discovery updates of a job are applied at most this often (Prometheus: 5 s).
    pub update_interval: Duration,
}

impl Default for ManagerOptions {
    fn default() -> Self {
        Self {
            hostname: String::new(),
            update_interval: Duration::from_secs(1),
        }
    }
}

/// Applying a configuration failed; nothing was changed.
#[derive(Debug, thiserror::Error)]
#[error("job {job:?}: {cause}")]
pub struct ApplyError {
    /// The job.
    pub job: String,
    /// Why.
    pub cause: String,
}

struct Job {
    cfg: Arc<ScrapeConfig>,
    pool: Arc<Mutex<ScrapePool>>,
    tasks: Vec<JoinHandle<()>>,
}

impl Job {
    fn stop(self, stale: bool) -> Vec<JoinHandle<()>> {
        for t in &self.tasks {
            t.abort();
        }
        self.pool.lock().stop(stale)
    }
}

/// Runs every job's discovery and scrape loops.
pub struct ScrapeManager {
    db: Arc<Db>,
    options: ManagerOptions,
    metrics: Arc<ScrapeMetrics>,
    jobs: Mutex<HashMap<String, Job>>,
    /// Loops of removed or restarted jobs, finishing (end-of-run staleness) in the background.
    retiring: Mutex<Vec<JoinHandle<()>>>,
}

impl std::fmt::Debug for ScrapeManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScrapeManager")
            .field("jobs", &self.jobs.lock().len())
            .finish()
    }
}

impl ScrapeManager {
    /// A manager appending to `db`, with no jobs yet.
    pub fn new(db: Arc<Db>, options: ManagerOptions) -> Self {
        Self {
            db,
            options,
            metrics: Arc::new(ScrapeMetrics::default()),
            jobs: Mutex::new(HashMap::new()),
            retiring: Mutex::new(Vec::new()),
        }
    }

    /// Scrape counters over all jobs.
    pub fn metrics(&self) -> &Arc<ScrapeMetrics> {
        &self.metrics
    }

    /// Applies `config`: jobs whose configuration is unchanged keep running untouched; changed
    /// jobs are restarted (their series continue, no stale markers); removed jobs stop and
    /// mark their series stale. Every job's HTTP client is built first, so an error changes
    /// nothing. Must be called within a Tokio runtime.
    pub fn apply(&self, config: &Config) -> Result<(), ApplyError> {
        let seed = server_seed(
            &self.options.hostname,
            &external_labels_string(&config.global.external_labels),
        );
        let mut clients = HashMap::new();
        for sc in &config.scrape_configs {
            let client = HttpClient::new(&sc.http_client_config).map_err(|e| ApplyError {
                job: sc.job_name.clone(),
                cause: e.to_string(),
            })?;
            clients.insert(sc.job_name.clone(), Arc::new(client));
        }
        let mut jobs = self.jobs.lock();
        let wanted: HashMap<&str, &ScrapeConfig> = config
            .scrape_configs
            .iter()
            .map(|sc| (sc.job_name.as_str(), sc))
            .collect();
        let names: Vec<String> = jobs.keys().cloned().collect();
        for name in names {
            match wanted.get(name.as_str()) {
                Some(sc) if *jobs[&name].cfg == **sc => {}
                Some(_) => {
                    let job = jobs.remove(&name).expect("listed");
                    self.retire(job.stop(false));
                }
                None => {
                    let job = jobs.remove(&name).expect("listed");
                    tracing::info!(target: "scrape", job = %name, "job removed");
                    self.retire(job.stop(true));
                }
            }
        }
        for sc in &config.scrape_configs {
            if jobs.contains_key(&sc.job_name) {
                continue;
            }
            let client = clients.remove(&sc.job_name).expect("built above");
            let job = self.start_job(Arc::new(sc.clone()), client, seed);
            jobs.insert(sc.job_name.clone(), job);
        }
        Ok(())
    }

    fn retire(&self, handles: Vec<JoinHandle<()>>) {
        let mut retiring = self.retiring.lock();
        retiring.retain(|h| !h.is_finished());
        retiring.extend(handles);
    }

    fn start_job(&self, cfg: Arc<ScrapeConfig>, client: Arc<HttpClient>, seed: u64) -> Job {
        let pool = Arc::new(Mutex::new(ScrapePool::new(
            cfg.clone(),
            self.db.clone(),
            client,
            seed,
            self.metrics.clone(),
        )));
        let (job_tx, job_rx) = mpsc::unbounded_channel::<(usize, Vec<TargetGroup>)>();
        let mut tasks = Vec::new();
        let mut index = 0;
        let mut spawn = |fut: Box<dyn FnOnce(discovery::GroupSender) -> JoinHandle<()>>| {
            let (tx, mut rx) = mpsc::unbounded_channel();
            tasks.push(fut(tx));
            let job_tx = job_tx.clone();
            let i = index;
            index += 1;
            tasks.push(tokio::spawn(async move {
                while let Some(groups) = rx.recv().await {
                    if job_tx.send((i, groups)).is_err() {
                        return;
                    }
                }
            }));
        };
        if !cfg.static_configs.is_empty() {
            let groups = cfg.static_target_groups();
            spawn(Box::new(move |tx| {
                tokio::spawn(async move {
                    let _ = tx.send(groups);
                    // Keep the sender alive: a closed channel would read as "no more groups".
                    std::future::pending::<()>().await;
                })
            }));
        }
        for fsd in &cfg.file_sd_configs {
            let files = fsd.files.clone();
            let refresh = fsd.refresh_interval.to_std();
            spawn(Box::new(move |tx| {
                tokio::spawn(discovery::file::run(files, refresh, tx))
            }));
        }
        for hsd in &cfg.http_sd_configs {
            let hsd = hsd.clone();
            let job = cfg.job_name.clone();
            spawn(Box::new(move |tx| {
                tokio::spawn(discovery::http::run(hsd, job, tx))
            }));
        }
        for dsd in &cfg.dns_sd_configs {
            let dsd = dsd.clone();
            let job = cfg.job_name.clone();
            spawn(Box::new(move |tx| {
                tokio::spawn(discovery::dns::run(dsd, job, tx))
            }));
        }
        for ksd in &cfg.kubernetes_sd_configs {
            let ksd = ksd.clone();
            let job = cfg.job_name.clone();
            spawn(Box::new(move |tx| {
                tokio::spawn(async move {
                    if let Err(e) = discovery::kubernetes::run(ksd, tx).await {
                        tracing::error!(target: "discovery", job = %job, error = %e, "kubernetes discovery stopped");
                    }
                })
            }));
        }
        drop(job_tx);
        let update_interval = self.options.update_interval;
        let sync_pool = pool.clone();
        tasks.push(tokio::spawn(sync_task(sync_pool, job_rx, update_interval)));
        Job { cfg, pool, tasks }
    }

    /// Every job's targets, sorted by job name.
    pub fn targets(&self) -> Vec<PoolSnapshot> {
        let jobs = self.jobs.lock();
        let mut out: Vec<PoolSnapshot> = jobs.values().map(|j| j.pool.lock().snapshot()).collect();
        out.sort_by(|a, b| a.job.cmp(&b.job));
        out
    }

    /// Stops everything for shutdown: no stale markers (the series may continue after a
    /// restart). Waits for scrapes in progress to finish.
    pub async fn stop(&self) {
        let mut handles: Vec<JoinHandle<()>> = {
            let mut jobs = self.jobs.lock();
            jobs.drain().flat_map(|(_, job)| job.stop(false)).collect()
        };
        // Loops still waiting to write end-of-run stale markers are cut short: the server is
        // stopping, and the series may continue after a restart (as Prometheus).
        for h in self.retiring.lock().drain(..) {
            h.abort();
            handles.push(h);
        }
        for h in handles {
            let _ = h.await;
        }
    }
}

/// Prometheus's `labels.String()` of the external labels: `{a="b", c="d"}`.
fn external_labels_string(labels: &crate::discovery::LabelSet) -> String {
    let inner: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!("{{{}}}", inner.join(", "))
}

/// Applies a job's discovery updates to its pool, coalesced to at most one sync per
/// `interval` (the first one at once).
async fn sync_task(
    pool: Arc<Mutex<ScrapePool>>,
    mut rx: mpsc::UnboundedReceiver<(usize, Vec<TargetGroup>)>,
    interval: Duration,
) {
    let mut last_sync: Option<Instant> = None;
    while let Some((i, groups)) = rx.recv().await {
        pool.lock().update_groups(i, groups);
        if let Some(last) = last_sync {
            let due = last + interval;
            let now = Instant::now();
            if due > now {
                tokio::time::sleep(due - now).await;
            }
        }
        while let Ok((i, groups)) = rx.try_recv() {
            pool.lock().update_groups(i, groups);
        }
        pool.lock().sync();
        last_sync = Some(Instant::now());
    }
}
