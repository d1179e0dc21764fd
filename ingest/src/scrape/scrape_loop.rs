//! One target's scrape loop: fetch at the target's phase, append the samples and the report
//! series as one commit, and write stale markers when series or the target go away.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tidemark_engine::{Db, Labels, LabelsBuilder};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::cache::{append_stale, AppendOptions, ScrapeCounts, ScrapeError, SeriesCache};
use super::metrics::{Limit, ScrapeMetrics};
use super::schedule;
use super::target::Target;
use crate::client::{scrape_headers, FetchError, HttpClient};
use crate::exposition::{negotiate, Negotiated};

/// What the loop's owner asks of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Command {
    /// Keep scraping.
    Run,
    /// Stop; if `stale`, write end-of-run stale markers for everything the target exposed.
    Stop {
        /// Write end-of-run stale markers.
        stale: bool,
    },
}

/// Everything a loop needs.
pub(crate) struct LoopContext {
    pub db: Arc<Db>,
    pub target: Arc<Target>,
    pub client: Arc<HttpClient>,
    pub options: AppendOptions,
    pub body_size_limit: u64,
    pub seed: u64,
    pub metrics: Arc<ScrapeMetrics>,
    /// The `Accept` header, built from the job's `scrape_protocols`.
    pub accept: reqwest::header::HeaderValue,
    /// The job's `fallback_scrape_protocol`.
    pub fallback_protocol: Option<String>,
}

/// A running loop.
pub(crate) struct LoopHandle {
    command: watch::Sender<Command>,
    task: JoinHandle<()>,
}

impl LoopHandle {
    /// Starts the loop on the current Tokio runtime.
    pub(crate) fn start(ctx: LoopContext) -> Self {
        let (command, rx) = watch::channel(Command::Run);
        let task = tokio::spawn(run(ctx, rx));
        Self { command, task }
    }

    /// Asks the loop to stop; it finishes a scrape in progress first. End-of-run staleness,
    /// if asked for, happens in the background about two intervals later.
    pub(crate) fn stop(self, stale: bool) -> JoinHandle<()> {
        let _ = self.command.send(Command::Stop { stale });
        self.task
    }
}

/// The report series names.
const REPORT: [&str; 5] = [
    "up",
    "scrape_duration_seconds",
    "scrape_samples_scraped",
    "scrape_samples_post_metric_relabeling",
    "scrape_series_added",
];

fn unix_ms(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

async fn run(ctx: LoopContext, mut commands: watch::Receiver<Command>) {
    let interval = ctx.target.interval;
    let offset = schedule::offset(ctx.target.hash, ctx.seed, interval);
    let report_labels: Vec<Labels> = REPORT
        .iter()
        .map(|name| {
            let mut b: LabelsBuilder = ctx.target.public.builder();
            b.set("__name__", name);
            b.build().unwrap_or_default()
        })
        .collect();
    let mut cache = SeriesCache::new();
    let mut body = Vec::new();
    let headers = scrape_headers(ctx.accept.clone(), ctx.target.timeout);

    let mut next = SystemTime::now() + schedule::first_wait(SystemTime::now(), offset, interval);
    let mut scraped_once = false;
    let stale = loop {
        // Sleep until the next tick, or until told to stop.
        let wait = next
            .duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO);
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = commands.changed() => {}
        }
        if let Command::Stop { stale } = *commands.borrow() {
            break stale;
        }
        // Sample timestamps are the ideal tick when the wake-up is close to it: regular
        // timestamps compress better.
        let now = SystemTime::now();
        let late = now.duration_since(next).unwrap_or(Duration::ZERO);
        let tolerance = (interval / 100).min(Duration::from_millis(10));
        let t = if late <= tolerance {
            unix_ms(next)
        } else {
            unix_ms(now)
        };
        scrape_once(&ctx, &mut cache, &mut body, &headers, &report_labels, t).await;
        scraped_once = true;
        // The next tick after now; a scrape slower than the interval skips ticks, never bursts.
        next += interval;
        let now = SystemTime::now();
        while next <= now {
            next += interval;
        }
    };
    if !stale || !scraped_once {
        return;
    }
    // End-of-run staleness, as Prometheus: wait for the tick the next scrape would have had
    // (its time is the markers' timestamp), then one more interval plus a tenth so a scrape
    // of the same series by a successor loop lands first and the markers are then rejected
    // as out of order instead of hiding live data.
    let now = SystemTime::now();
    while next <= now {
        next += interval;
    }
    let t = unix_ms(next);
    let wait = next.duration_since(now).unwrap_or(Duration::ZERO) + interval + interval / 10;
    tokio::time::sleep(wait).await;
    let mut app = ctx.db.appender();
    for (sref, labels) in cache.last_series() {
        append_stale(&mut app, sref.as_ref(), labels, t);
    }
    for labels in &report_labels {
        append_stale(&mut app, None, labels, t);
    }
    if let Err(e) = app.commit() {
        tracing::warn!(target: "scrape", job = ctx.target.job(), url = %ctx.target.url, error = %e, "writing end-of-run stale markers failed");
    }
}

async fn scrape_once(
    ctx: &LoopContext,
    cache: &mut SeriesCache,
    body: &mut Vec<u8>,
    headers: &[(reqwest::header::HeaderName, reqwest::header::HeaderValue)],
    report_labels: &[Labels],
    t: i64,
) {
    let started = Instant::now();
    let started_wall = SystemTime::now();
    let target = &ctx.target;
    let fetched = ctx
        .client
        .fetch(
            &target.url,
            headers,
            target.timeout,
            ctx.body_size_limit,
            body,
        )
        .await;
    let mut counts = ScrapeCounts::default();
    let mut app = ctx.db.appender();
    let error = match fetched {
        Ok(fetched) => {
            let format = match negotiate(
                fetched.content_type.as_deref(),
                ctx.fallback_protocol.as_deref(),
            ) {
                Negotiated::Format(f) => Ok(f),
                Negotiated::Fallback(f, why) => {
                    tracing::debug!(target = %target.url, reason = %why, "Invalid content type on scrape, using fallback setting.");
                    Ok(f)
                }
                Negotiated::Error(message) => {
                    tracing::error!(target = %target.url, content_type = fetched.content_type.as_deref().unwrap_or(""), error = %message, "Failed to determine correct type of scrape target.");
                    Err(ScrapeError {
                        limit: None,
                        message,
                    })
                }
            };
            match format {
                Ok(format) => cache
                    .append_body(
                        &mut app,
                        body,
                        format,
                        t,
                        &target.public,
                        &ctx.options,
                        &mut counts,
                    )
                    .err(),
                Err(e) => Some(e),
            }
        }
        Err(e) => Some(ScrapeError {
            limit: matches!(e, FetchError::BodySizeLimit).then_some(Limit::BodySize),
            message: e.to_string(),
        }),
    };
    let limit = error.as_ref().and_then(|e| e.limit);
    let mut error = error.map(String::from);
    if error.is_none() {
        if let Some(m) = cache.take_metadata_change() {
            *target.metadata.lock() = m;
        }
    }
    if error.is_some() {
        // The whole batch goes; the scrape counts as empty, so last scrape's series go stale.
        drop(app);
        app = ctx.db.appender();
        cache.mark_all_stale(&mut app, t);
        counts.added = 0;
        counts.series_added = 0;
    }
    let duration = started.elapsed();
    let up = if error.is_none() { 1.0 } else { 0.0 };
    let values = [
        up,
        duration.as_secs_f64(),
        counts.scraped as f64,
        counts.added as f64,
        counts.series_added as f64,
    ];
    for (labels, v) in report_labels.iter().zip(values) {
        if let Err(e) = app.append(labels, t, v) {
            counts.rejected.push((e, 1));
        }
    }
    match app.commit() {
        Ok(stats) => {
            for (e, n, _) in stats.rejected {
                counts.rejected.push((e, n));
            }
        }
        Err(e) => {
            tracing::error!(target: "scrape", job = target.job(), url = %target.url, error = %e, "appending scraped samples failed");
            error.get_or_insert_with(|| format!("appending samples: {e}"));
        }
    }
    ctx.metrics.record(&counts, error.is_some(), limit);
    if let Some(e) = &error {
        tracing::debug!(target: "scrape", job = target.job(), url = %target.url, error = %e, "scrape failed");
    }
    let mut health = target.health.lock();
    health.up = Some(error.is_none());
    health.last_error = error.unwrap_or_default();
    health.last_scrape = Some(started_wall);
    health.last_duration = duration;
}
