//! The protobuf messages of remote write 1.0 (`prompb/remote.proto`, `prompb/types.proto`),
//! only the fields Tidemark stores; prost skips the others.

use tidemark_engine::Labels;

/// `prometheus.WriteRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct WriteRequest {
    /// The series with their samples.
    #[prost(message, repeated, tag = "1")]
    pub timeseries: Vec<TimeSeries>,
}

/// `prometheus.TimeSeries`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TimeSeries {
    /// The label set (`__name__` included), normally sorted by name.
    #[prost(message, repeated, tag = "1")]
    pub labels: Vec<Label>,
    /// Samples, normally in time order.
    #[prost(message, repeated, tag = "2")]
    pub samples: Vec<Sample>,
}

/// `prometheus.Label`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Label {
    /// The name.
    #[prost(string, tag = "1")]
    pub name: String,
    /// The value.
    #[prost(string, tag = "2")]
    pub value: String,
}

/// `prometheus.Sample`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Sample {
    /// The value, bit-exact.
    #[prost(double, tag = "1")]
    pub value: f64,
    /// Unix milliseconds.
    #[prost(int64, tag = "2")]
    pub timestamp: i64,
}

impl TimeSeries {
    /// The series' label set: sorted by name, empty values dropped. Errors name the rule that
    /// was broken (no labels, an empty name, a repeated name).
    pub fn label_set(&self) -> Result<Labels, &'static str> {
        let mut names: Vec<&str> = self.labels.iter().map(|l| l.name.as_str()).collect();
        names.sort_unstable();
        if names.windows(2).any(|w| w[0] == w[1]) {
            return Err("duplicate label name");
        }
        let ls = Labels::from_pairs(self.labels.iter().map(|l| (&l.name, &l.value)))
            .ok_or("empty label name")?;
        if ls.is_empty() {
            return Err("empty label set");
        }
        Ok(ls)
    }

    /// The label set as Prometheus prints it (`{a="1", b="2"}`), for error messages, from the
    /// labels as sent.
    pub fn display_labels(&self) -> String {
        let mut out = String::from("{");
        for (i, l) in self.labels.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            out.push_str(&l.name);
            out.push('=');
            out.push_str(&format!("{:?}", l.value));
        }
        out.push('}');
        out
    }
}
