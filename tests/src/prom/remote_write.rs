//! Remote write 1.0 client: protobuf `WriteRequest`, snappy block compression, HTTP POST.

use std::collections::HashMap;
use std::time::Duration;

use prost::Message;

/// Bits of Prometheus's stale marker, a NaN that ends a series at its timestamp.
pub const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

/// The stale marker as an `f64` (bit-exact; compare it with `to_bits`, never with `==`).
pub fn stale_nan() -> f64 {
    f64::from_bits(STALE_NAN_BITS)
}

/// One input series: its labels (`__name__` included) and its samples as (milliseconds, value).
pub type InputSeries = (Vec<(String, String)>, Vec<(i64, f64)>);

/// Builds a label list from string pairs, e.g. `labels(&[("__name__", "up"), ("job", "a")])`.
pub fn labels(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// `prometheus.WriteRequest` (prompb/remote.proto), only the fields remote write 1.0 needs.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct WriteRequest {
    #[prost(message, repeated, tag = "1")]
    pub(crate) timeseries: Vec<TimeSeries>,
}

/// `prometheus.TimeSeries` (prompb/types.proto).
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct TimeSeries {
    #[prost(message, repeated, tag = "1")]
    pub(crate) labels: Vec<Label>,
    #[prost(message, repeated, tag = "2")]
    pub(crate) samples: Vec<Sample>,
}

/// `prometheus.Label`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct Label {
    #[prost(string, tag = "1")]
    pub(crate) name: String,
    #[prost(string, tag = "2")]
    pub(crate) value: String,
}

/// `prometheus.Sample`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct Sample {
    #[prost(double, tag = "1")]
    pub(crate) value: f64,
    #[prost(int64, tag = "2")]
    pub(crate) timestamp: i64,
}

/// Encodes one request body: the protobuf `WriteRequest` for `series`, snappy block compressed.
///
/// Labels are sorted by name (Prometheus expects sorted label sets); samples are sent as given.
pub fn encode_write_request(series: &[InputSeries]) -> Result<Vec<u8>, String> {
    let req = WriteRequest {
        timeseries: series
            .iter()
            .map(|(ls, samples)| TimeSeries {
                labels: sorted_labels(ls),
                samples: samples
                    .iter()
                    .map(|&(timestamp, value)| Sample { value, timestamp })
                    .collect(),
            })
            .collect(),
    };
    let raw = req.encode_to_vec();
    snap::raw::Encoder::new()
        .compress_vec(&raw)
        .map_err(|e| format!("snappy compression failed: {e}"))
}

fn sorted_labels(ls: &[(String, String)]) -> Vec<Label> {
    let mut out: Vec<Label> = ls
        .iter()
        .map(|(n, v)| Label {
            name: n.clone(),
            value: v.clone(),
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// Sends samples to a remote-write 1.0 receiver (`POST <base>/api/v1/write`).
///
/// Works against Prometheus started with `--web.enable-remote-write-receiver` and against any
/// other receiver of the same protocol.
#[derive(Clone)]
pub struct RemoteWriteClient {
    url: String,
    agent: ureq::Agent,
    max_samples_per_request: usize,
}

impl RemoteWriteClient {
    /// A client for the server at `base_url` (e.g. `http://127.0.0.1:9090`, no trailing path).
    pub fn new(base_url: &str) -> Self {
        RemoteWriteClient {
            url: format!("{}/api/v1/write", base_url.trim_end_matches('/')),
            agent: crate::prom::api::loopback_agent(Duration::from_secs(60)),
            max_samples_per_request: 2_000,
        }
    }

    /// Sets the batch size (samples per request, at least 1; default 2,000).
    pub fn with_batch_size(mut self, max_samples_per_request: usize) -> Self {
        self.max_samples_per_request = max_samples_per_request.max(1);
        self
    }

    /// Writes all `series`, merged into timestamp order across series, in batches.
    ///
    /// Checks first that every series has a non-empty, duplicate-free label set with a distinct
    /// label set from the others, and strictly increasing timestamps, because the receiver would
    /// reject (or silently drop) anything else. Stale markers ([`stale_nan`]) are sent bit-exact.
    /// A non-2xx answer is an error carrying the HTTP status and the response body.
    pub fn write(&self, series: &[InputSeries]) -> Result<(), String> {
        validate(series)?;
        // (timestamp, series index, sample index): a stable order across series.
        let mut order: Vec<(i64, usize, usize)> = series
            .iter()
            .enumerate()
            .flat_map(|(si, (_, samples))| {
                samples
                    .iter()
                    .enumerate()
                    .map(move |(pi, &(t, _))| (t, si, pi))
            })
            .collect();
        order.sort_unstable();
        for chunk in order.chunks(self.max_samples_per_request) {
            let mut slot: HashMap<usize, usize> = HashMap::new();
            let mut batch: Vec<InputSeries> = Vec::new();
            for &(t, si, pi) in chunk {
                let idx = *slot.entry(si).or_insert_with(|| {
                    batch.push((series[si].0.clone(), Vec::new()));
                    batch.len() - 1
                });
                batch[idx].1.push((t, series[si].1[pi].1));
            }
            self.write_request(&batch)?;
        }
        Ok(())
    }

    /// Sends exactly one request holding `series` as given (no validation, no reordering).
    pub fn write_request(&self, series: &[InputSeries]) -> Result<(), String> {
        let body = encode_write_request(series)?;
        let mut resp = self
            .agent
            .post(&self.url)
            .header("Content-Encoding", "snappy")
            .header("Content-Type", "application/x-protobuf")
            .header("X-Prometheus-Remote-Write-Version", "0.1.0")
            .header("User-Agent", "tidemark-tests")
            .send(&body[..])
            .map_err(|e| format!("remote write to {} failed: {e}", self.url))?;
        let status = resp.status().as_u16();
        if (200..300).contains(&status) {
            return Ok(());
        }
        let text = resp
            .body_mut()
            .read_to_string()
            .unwrap_or_else(|e| format!("<unreadable body: {e}>"));
        Err(format!(
            "remote write to {} answered HTTP {status}: {}",
            self.url,
            text.trim()
        ))
    }
}

fn validate(series: &[InputSeries]) -> Result<(), String> {
    let mut seen = HashMap::new();
    for (i, (ls, samples)) in series.iter().enumerate() {
        if ls.is_empty() {
            return Err(format!("series #{i} has no labels"));
        }
        let mut sorted: Vec<&(String, String)> = ls.iter().collect();
        sorted.sort();
        for w in sorted.windows(2) {
            if w[0].0 == w[1].0 {
                return Err(format!("series #{i} has label {:?} twice", w[0].0));
            }
        }
        if let Some(j) = seen.insert(sorted, i) {
            return Err(format!("series #{j} and #{i} have the same label set"));
        }
        for w in samples.windows(2) {
            if w[1].0 <= w[0].0 {
                return Err(format!(
                    "series #{i} ({ls:?}): timestamps not strictly increasing: {} then {}",
                    w[0].0, w[1].0
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_marker_survives_encoding_bit_exact() {
        let series = vec![(
            labels(&[("job", "a"), ("__name__", "x")]),
            vec![(1, 1.5), (2, stale_nan()), (3, f64::NAN)],
        )];
        let body = encode_write_request(&series).unwrap();
        let raw = snap::raw::Decoder::new().decompress_vec(&body).unwrap();
        let req = WriteRequest::decode(&raw[..]).unwrap();
        let ts = &req.timeseries[0];
        assert_eq!(ts.labels[0].name, "__name__");
        assert_eq!(ts.labels[1].name, "job");
        assert_eq!(ts.samples[1].value.to_bits(), STALE_NAN_BITS);
        assert_eq!(ts.samples[2].value.to_bits(), f64::NAN.to_bits());
        assert_eq!(ts.samples[0].timestamp, 1);
    }

    #[test]
    fn validation_rejects_bad_input() {
        let bad_order = vec![(labels(&[("__name__", "x")]), vec![(2, 1.0), (1, 1.0)])];
        assert!(validate(&bad_order).unwrap_err().contains("increasing"));
        let dup = vec![
            (labels(&[("__name__", "x")]), vec![]),
            (labels(&[("__name__", "x")]), vec![]),
        ];
        assert!(validate(&dup).unwrap_err().contains("same label set"));
    }
}
