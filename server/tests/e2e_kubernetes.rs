//! End to end through the real `tidemark` binary for the Kubernetes scenarios of
//! `SCENARIOS.md`: pods annotated `prometheus.io/*` (seed 003), scaling (seed 004) and
//! monitoring from outside the cluster through the API server's pod proxy (seed 002), all
//! against the test API server and real Python `prometheus_client` apps on loopback; plus a
//! differential test against Prometheus 3.5 scraping Debian's node exporter.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use common::{
    count_app, exposed_value, free_port, http_get_host, in_cluster, instant_query,
    instant_query_result, node_exporter, wait_for, Proc, Sample, Tidemark,
};
use serde_json::{json, Value};
use tidemark_tests::kube_api::{Kind, KubeApiServer};
use tidemark_tests::prom::{PromOptions, PromServer};

/// The `kubernetes-pods` job that seed 003's annotations are written for (`prometheus.io/scrape`
/// keeps the pod, `prometheus.io/path` sets the metrics path, `prometheus.io/port` replaces the
/// port of the address), with the intervals shortened to 1s.
const KUBERNETES_PODS_JOB: &str = "scrape_configs:
- job_name: 'kubernetes-pods'
  scrape_interval: 1s
  scrape_timeout: 1s
  kubernetes_sd_configs:
  - role: pod
  relabel_configs:
  - source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_scrape]
    action: keep
    regex: true
  - source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_path]
    action: replace
    target_label: __metrics_path__
    regex: (.+)
  - source_labels: [__address__, __meta_kubernetes_pod_annotation_prometheus_io_port]
    action: replace
    regex: ([^:]+)(?::\\d+)?;(\\d+)
    replacement: $1:$2
    target_label: __address__
  - action: labelmap
    regex: __meta_kubernetes_pod_label_(.+)
  - source_labels: [__meta_kubernetes_namespace]
    action: replace
    target_label: kubernetes_namespace
  - source_labels: [__meta_kubernetes_pod_name]
    action: replace
    target_label: kubernetes_pod_name
";

/// A running, ready pod in `default` on `node-1` with one container that declares `ports`.
fn pod(name: &str, ip: &str, labels: Value, annotations: Value, ports: Value) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "default", "labels": labels,
                     "annotations": annotations},
        "spec": {"nodeName": "node-1",
                 "containers": [{"name": "app", "image": "count-app:latest", "ports": ports}]},
        "status": {"phase": "Running", "podIP": ip, "hostIP": "10.0.0.1",
                   "conditions": [{"type": "Ready", "status": "True"}]}
    })
}

/// Seed 003's annotations for an app on `port`, with an optional path.
fn prometheus_io(port: u16, path: Option<&str>) -> Value {
    let mut a = json!({"prometheus.io/scrape": "true", "prometheus.io/port": port.to_string()});
    if let Some(p) = path {
        a["prometheus.io/path"] = json!(p);
    }
    a
}

/// The app's own exposition of `count_total` and `count_created`.
fn app_values(host: &str, port: u16) -> (f64, f64) {
    let (_, text) = http_get_host(host, port, "/metrics").expect("the app answers");
    (
        exposed_value(&text, "count_total").expect("count_total exposed"),
        exposed_value(&text, "count_created").expect("count_created exposed"),
    )
}

fn inc(host: &str, port: u16, times: usize) {
    for _ in 0..times {
        let (s, _) = http_get_host(host, port, "/inc").expect("the app answers /inc");
        assert_eq!(s, 200);
    }
}

/// The value of the only series of `samples`, as f64 (the API prints Go's shortest form).
fn only_value(samples: &[Sample]) -> Option<f64> {
    match samples {
        [(_, v)] => v.parse().ok(),
        _ => None,
    }
}

/// Scenario 2 (seed 003): pods annotated `prometheus.io/scrape|port|path` are discovered with
/// `role: pod` and scraped; an unannotated pod is dropped; the Python client's `count` counter
/// arrives as `count_total` and `count_created` with exactly the app's values.
#[test]
fn annotated_pods_are_scraped() {
    let port_a = free_port();
    let port_b = free_port();
    let _app_a = count_app("127.0.0.1", port_a);
    let _app_b = count_app("127.0.0.1", port_b);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let api = rt.block_on(KubeApiServer::start("sa-token"));
    let (_sa, env) = in_cluster(&api, "sa-token");
    let ports = json!([{"containerPort": 8000, "protocol": "TCP"}]);
    api.apply_all([
        // The seed's pod: scrape and port annotations only, so /metrics.
        pod(
            "count-app-6f9c7d-abcde",
            "127.0.0.1",
            json!({"app": "count-app"}),
            prometheus_io(port_a, None),
            ports.clone(),
        ),
        // A pod whose metrics live elsewhere (the path annotation).
        pod(
            "count-app-alt-0",
            "127.0.0.1",
            json!({"app": "count-app-alt"}),
            prometheus_io(port_b, Some("/custom/metrics")),
            ports.clone(),
        ),
        // No annotations: dropped, never scraped (its port would answer if it were).
        pod(
            "unannotated-0",
            "127.0.0.1",
            json!({"app": "other"}),
            json!({}),
            json!([{"containerPort": port_a, "protocol": "TCP"}]),
        ),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let t = Tidemark::start(dir.path(), KUBERNETES_PODS_JOB, &env);
    wait_for("both annotated pods up", Duration::from_secs(30), || {
        t.query("up == 1").len() == 2
    });

    let targets = t.targets();
    let active = targets["data"]["activeTargets"].as_array().unwrap();
    assert_eq!(active.len(), 2, "{targets:#}");
    let url_of = |pod: &str| {
        active
            .iter()
            .find(|a| a["labels"]["kubernetes_pod_name"] == pod)
            .map(|a| a["scrapeUrl"].as_str().unwrap_or("").to_owned())
    };
    assert_eq!(
        url_of("count-app-6f9c7d-abcde").as_deref(),
        Some(format!("http://127.0.0.1:{port_a}/metrics").as_str()),
        "{targets:#}"
    );
    assert_eq!(
        url_of("count-app-alt-0").as_deref(),
        Some(format!("http://127.0.0.1:{port_b}/custom/metrics").as_str()),
        "{targets:#}"
    );
    let dropped = targets["data"]["droppedTargets"].as_array().unwrap();
    assert!(
        dropped
            .iter()
            .any(|d| d["discoveredLabels"]["__meta_kubernetes_pod_name"] == "unannotated-0"),
        "{targets:#}"
    );
    assert!(t
        .query("up{kubernetes_pod_name=\"unannotated-0\"}")
        .is_empty());

    inc("127.0.0.1", port_a, 7);
    inc("127.0.0.1", port_b, 2);
    let (want_a, created_a) = app_values("127.0.0.1", port_a);
    let (want_b, created_b) = app_values("127.0.0.1", port_b);
    wait_for(
        "count_total to reach the apps' values",
        Duration::from_secs(15),
        || {
            only_value(&t.query("count_total{app=\"count-app\"}")) == Some(want_a)
                && only_value(&t.query("count_total{app=\"count-app-alt\"}")) == Some(want_b)
        },
    );
    let r = t.query("count_total{app=\"count-app\"}");
    let m = &r[0].0;
    assert_eq!(m["job"], "kubernetes-pods");
    assert_eq!(m["instance"], format!("127.0.0.1:{port_a}"));
    assert_eq!(m["kubernetes_namespace"], "default");
    assert_eq!(m["kubernetes_pod_name"], "count-app-6f9c7d-abcde");
    assert_eq!(m.len(), 6, "{m:?}");
    // `count_created` is a gauge holding the creation time; the exact f64 must survive (the
    // client prints it in exponent form, e.g. 1.7964625433333228e+09).
    assert_eq!(
        only_value(&t.query("count_created{app=\"count-app\"}")),
        Some(created_a)
    );
    assert_eq!(
        only_value(&t.query("count_created{app=\"count-app-alt\"}")),
        Some(created_b)
    );
    // A rate over the counter works on the scraped data.
    assert_eq!(t.query("rate(count_total[1m])").len(), 2);
    drop(t);
    drop(api);
}

/// The `up` series of a pod's target(s).
fn up_of(t: &Tidemark, pod: &str) -> Vec<Sample> {
    t.query(&format!("up{{kubernetes_pod_name=\"{pod}\"}}"))
}

/// Scenario 3 (seed 004): a deployment scaled up one pod at a time gets a new target within
/// seconds each time; a deleted pod's target goes and its series end at once (stale markers,
/// no five-minute ghost); a rescheduled pod (same name, new IP and port) ends the old series and
/// starts new ones. The configuration is the same `kubernetes-pods` job as for seed 003.
#[test]
fn scaling_is_followed() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let api = rt.block_on(KubeApiServer::start("sa-token"));
    let (_sa, env) = in_cluster(&api, "sa-token");
    let dir = tempfile::tempdir().unwrap();
    let t = Tidemark::start(dir.path(), KUBERNETES_PODS_JOB, &env);

    let replica = |name: &str, ip: &str, port: u16| {
        let mut p = pod(
            name,
            ip,
            json!({"app": "web", "pod-template-hash": "7d4b9c"}),
            prometheus_io(port, None),
            json!([{"name": "http", "containerPort": port, "protocol": "TCP"}]),
        );
        p["metadata"]["ownerReferences"] = json!([{
            "apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-7d4b9c",
            "uid": "rs-uid-1", "controller": true}]);
        p
    };
    // Scale 0 → 3, one replica at a time.
    let names = ["web-7d4b9c-aaaaa", "web-7d4b9c-bbbbb", "web-7d4b9c-ccccc"];
    let mut apps: BTreeMap<&str, (Proc, u16)> = BTreeMap::new();
    for (i, name) in names.iter().enumerate() {
        let port = free_port();
        apps.insert(name, (count_app("127.0.0.1", port), port));
        inc("127.0.0.1", port, i + 1);
        api.apply(replica(name, "127.0.0.1", port));
        let took = wait_for(
            &format!("{name}'s target up"),
            Duration::from_secs(10),
            || up_of(&t, name).first().is_some_and(|(_, v)| v == "1"),
        );
        eprintln!("replica {name}: up after {took:?}");
        assert_eq!(t.query("up{app=\"web\"} == 1").len(), i + 1);
    }
    wait_for("each replica's counter", Duration::from_secs(10), || {
        let r = t.query("count_total{app=\"web\"}");
        r.len() == 3
            && names.iter().all(|n| {
                let (_, port) = apps[n];
                let want = app_values("127.0.0.1", port).0;
                r.iter()
                    .any(|(m, v)| m["kubernetes_pod_name"] == *n && v.parse() == Ok(want))
            })
    });

    // Scale down: the second replica is deleted. Its process keeps answering until the series
    // have ended, so only the target's removal can end them.
    let gone = names[1];
    assert!(api.delete(Kind::Pod, "default", gone));
    let took = wait_for(
        "the deleted pod's target to go",
        Duration::from_secs(10),
        || {
            !t.active_targets()
                .iter()
                .any(|a| a["labels"]["kubernetes_pod_name"] == gone)
        },
    );
    eprintln!("deleted pod: target gone after {took:?}");
    // End-of-run staleness writes the markers about two intervals after the loop stops.
    let took = wait_for(
        "the deleted pod's series to end",
        Duration::from_secs(5),
        || {
            up_of(&t, gone).is_empty()
                && t.query(&format!("count_total{{kubernetes_pod_name=\"{gone}\"}}"))
                    .is_empty()
                && t.query(&format!(
                    "scrape_samples_scraped{{kubernetes_pod_name=\"{gone}\"}}"
                ))
                .is_empty()
        },
    );
    eprintln!("deleted pod: series ended {took:?} after its target went");
    drop(apps.remove(gone));
    assert_eq!(t.query("count_total{app=\"web\"}").len(), 2);

    // Reschedule the third replica: same name, new pod IP (127.0.0.2) and a new port.
    let moved = names[2];
    let (_, old_port) = apps[moved];
    let new_port = free_port();
    let new_app = count_app("127.0.0.2", new_port);
    inc("127.0.0.2", new_port, 4);
    assert!(api.delete(Kind::Pod, "default", moved));
    api.apply(replica(moved, "127.0.0.2", new_port));
    let new_instance = format!("127.0.0.2:{new_port}");
    let old_instance = format!("127.0.0.1:{old_port}");
    let took = wait_for(
        "the rescheduled pod's new series and the old ones ended",
        Duration::from_secs(10),
        || {
            let up = up_of(&t, moved);
            let counts = t.query(&format!("count_total{{kubernetes_pod_name=\"{moved}\"}}"));
            up.len() == 1
                && up[0].0["instance"] == new_instance.as_str()
                && up[0].1 == "1"
                && counts.len() == 1
                && counts[0].0["instance"] == new_instance.as_str()
        },
    );
    eprintln!("rescheduled pod: new series alone after {took:?}");
    assert_eq!(
        only_value(&t.query(&format!("count_total{{instance=\"{new_instance}\"}}"))),
        Some(app_values("127.0.0.2", new_port).0)
    );
    assert!(t
        .query(&format!("{{instance=\"{old_instance}\"}}"))
        .is_empty());
    // The old series did exist: they ended, they were not lost.
    assert_eq!(
        t.query(&format!(
            "count_over_time(up{{instance=\"{old_instance}\"}}[5m]) > 0"
        ))
        .len(),
        1
    );
    // The first replica was never disturbed.
    let first = up_of(&t, names[0]);
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].1, "1");
    assert_eq!(t.query("up{app=\"web\"} == 1").len(), 2);
    drop(new_app);
    drop(apps);
    drop(t);
    drop(api);
}

/// Scenario 4 (seed 002): Tidemark outside the cluster discovers pods through `api_server` with
/// a bearer token file and the cluster CA, keeps `default;natsd-.*;metrics`, and scrapes each
/// pod through the API server's pod proxy over HTTPS with the same token and CA. The series
/// carry the labelmapped pod labels and each pod is its own series set.
#[test]
fn out_of_cluster_through_the_api_server_proxy() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let api = rt.block_on(KubeApiServer::start("outside-token"));
    let secrets = tempfile::tempdir().unwrap();
    let token_file = secrets.path().join("token");
    std::fs::write(&token_file, "outside-token\n").unwrap();

    let natsd = |name: &str, ns: &str, metrics_port: u16| {
        let mut p = pod(
            name,
            "127.0.0.1",
            json!({"service": "natsd", "tier": "backend", "type": "queue",
                   "pod-template-hash": "5f6d7"}),
            json!({}),
            json!([{"name": "client", "containerPort": 4222, "protocol": "TCP"},
                   {"name": "metrics", "containerPort": metrics_port, "protocol": "TCP"}]),
        );
        p["metadata"]["namespace"] = json!(ns);
        p
    };
    let ports = [free_port(), free_port()];
    let _apps: Vec<Proc> = ports.iter().map(|p| count_app("127.0.0.1", *p)).collect();
    let stray_port = free_port();
    let _stray = count_app("127.0.0.1", stray_port);
    api.apply_all([
        natsd("natsd-5f6d7-0", "default", ports[0]),
        natsd("natsd-5f6d7-1", "default", ports[1]),
        // Dropped by the keep rule: another namespace, another name.
        natsd("natsd-5f6d7-9", "kube-system", stray_port),
        natsd("web-0", "default", stray_port),
    ]);

    // The seed's job, with the API server's address, the token as a file and the CA's path
    // filled in and the interval shortened.
    let api_addr = format!("127.0.0.1:{}", api.addr().port());
    let config = format!(
        "scrape_configs:
- job_name: 'natsd'
  scrape_interval: 1s
  scrape_timeout: 1s
  scheme: https
  bearer_token_file: {token}
  tls_config:
    ca_file: {ca}
  kubernetes_sd_configs:
  - api_server: '{url}'
    bearer_token_file: {token}
    tls_config:
      ca_file: {ca}
    role: pod
  relabel_configs:
  - source_labels: [__meta_kubernetes_namespace, __meta_kubernetes_pod_name, __meta_kubernetes_pod_container_port_name]
    action: keep
    regex: default;natsd-.*;metrics
  - target_label: __address__
    replacement: '{api_addr}'
  - source_labels: [__meta_kubernetes_namespace, __meta_kubernetes_pod_name,__meta_kubernetes_pod_container_port_number]
    regex: (.+);(.+);(.+)
    target_label: __metrics_path__
    replacement: /api/v1/namespaces/${{1}}/pods/http:${{2}}:${{3}}/proxy/metrics
  - action: labelmap
    regex: __meta_kubernetes_pod_label_(service|tier|type)
  - source_labels: [__meta_kubernetes_namespace]
    action: replace
    target_label: namespace
  - source_labels: [__meta_kubernetes_pod_name]
    action: replace
    target_label: pod_name
",
        token = token_file.display(),
        ca = api.ca_file().display(),
        url = api.url(),
    );
    let dir = tempfile::tempdir().unwrap();
    // No in-cluster environment: discovery must use api_server and its credentials.
    let t = Tidemark::start(dir.path(), &config, &[]);
    wait_for("both natsd pods up", Duration::from_secs(30), || {
        t.query("up{job=\"natsd\"} == 1").len() == 2
    });
    let targets = t.targets();
    let active = targets["data"]["activeTargets"].as_array().unwrap();
    assert_eq!(active.len(), 2, "{targets:#}");
    for (i, port) in ports.iter().enumerate() {
        let pod_name = format!("natsd-5f6d7-{i}");
        let a = active
            .iter()
            .find(|a| a["labels"]["pod_name"] == pod_name.as_str())
            .unwrap_or_else(|| panic!("no target for {pod_name}: {targets:#}"));
        assert_eq!(
            a["scrapeUrl"],
            format!(
                "https://{api_addr}/api/v1/namespaces/default/pods/http:{pod_name}:{port}/proxy/metrics"
            )
        );
        assert_eq!(a["health"], "up", "{a:#}");
    }
    let dropped = targets["data"]["droppedTargets"].as_array().unwrap();
    // kube-system/natsd-…-9, web-0 and every `client` port.
    assert_eq!(dropped.len(), 6, "{targets:#}");

    inc("127.0.0.1", ports[0], 3);
    inc("127.0.0.1", ports[1], 5);
    let want: Vec<f64> = ports
        .iter()
        .map(|p| app_values("127.0.0.1", *p).0)
        .collect();
    wait_for("each pod's own counter", Duration::from_secs(15), || {
        let r = t.query("count_total{job=\"natsd\"}");
        r.len() == 2
            && (0..2).all(|i| {
                r.iter().any(|(m, v)| {
                    m["pod_name"] == format!("natsd-5f6d7-{i}").as_str() && v.parse() == Ok(want[i])
                })
            })
    });
    for (m, _) in t.query("count_total{job=\"natsd\"}") {
        let keys: BTreeSet<&str> = m.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            BTreeSet::from([
                "__name__",
                "instance",
                "job",
                "namespace",
                "pod_name",
                "service",
                "tier",
                "type"
            ]),
            "{m:?}"
        );
        assert_eq!(m["instance"], api_addr.as_str());
        assert_eq!(m["namespace"], "default");
        assert_eq!(m["service"], "natsd");
        assert_eq!(m["tier"], "backend");
        assert_eq!(m["type"], "queue");
    }
    assert!(t.query("count_total{pod_name=\"web-0\"}").is_empty());

    // The scrapes went through the API server's proxy, authenticated with the token.
    let requests = api.requests();
    for (i, port) in ports.iter().enumerate() {
        let proxied = format!(
            "GET /api/v1/namespaces/default/pods/http:natsd-5f6d7-{i}:{port}/proxy/metrics? -> 200"
        );
        let n = requests.iter().filter(|r| **r == proxied).count();
        assert!(n >= 2, "{proxied} seen {n} times in {requests:#?}");
    }
    assert!(
        !requests.iter().any(|r| r.ends_with("-> 401")),
        "{requests:#?}"
    );
    assert!(
        requests
            .iter()
            .any(|r| r.starts_with("GET /api/v1/pods?") && r.contains("watch")),
        "{requests:#?}"
    );
    drop(t);
    drop(api);
}

/// A Prometheus 3.5 server (Debian's `prometheus`, started by `tidemark-tests`' harness),
/// killed on drop.
struct Prometheus {
    _server: PromServer,
    port: u16,
}

impl Prometheus {
    fn start(config: &str) -> Prometheus {
        let opts = PromOptions {
            config_yaml: Some(config.to_owned()),
            ready_timeout: Duration::from_secs(60),
            ..PromOptions::default()
        };
        let server = PromServer::start_with(&opts).unwrap_or_else(|e| panic!("{e}"));
        Prometheus {
            port: server.port(),
            _server: server,
        }
    }

    fn query(&self, query: &str) -> Vec<Sample> {
        instant_query(self.port, query)
    }
}

type LabelSet = BTreeMap<String, String>;

fn label_sets(samples: &[Sample]) -> BTreeMap<LabelSet, String> {
    samples
        .iter()
        .map(|(m, v)| {
            let ls = m
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_owned()))
                .collect();
            (ls, v.clone())
        })
        .collect()
}

/// Whether two values printed by the API are the same f64 (NaN equals NaN).
fn same_value(a: &str, b: &str) -> bool {
    match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => x == y || (x.is_nan() && y.is_nan()),
        _ => a == b,
    }
}

/// The samples of each series of a range selector evaluated now (a matrix), by label set.
fn windows(port: u16, query: &str) -> BTreeMap<LabelSet, Vec<String>> {
    let result = instant_query_result(port, query);
    result
        .as_array()
        .unwrap_or_else(|| panic!("{query}: not a matrix: {result}"))
        .iter()
        .map(|s| {
            let ls = s["metric"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_owned()))
                .collect();
            let values = s["values"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p[1].as_str().unwrap_or("").to_owned())
                .collect();
            (ls, values)
        })
        .collect()
}

/// The value of a series if all its samples in the window are the same.
fn constant(values: &[String]) -> Option<&str> {
    let first = values.first()?;
    values
        .iter()
        .all(|v| same_value(v, first))
        .then_some(first.as_str())
}

/// The two servers' differences over `{job="<job>"}`: series only in one, per-name counts that
/// differ, and values that differ among the series that did not move. A series that held one
/// value through the last 10 s of scrapes in both servers was the same all along (the two
/// windows overlap and the last scrapes are less than an interval apart), so both must hold
/// that value. Empty when they agree.
fn differences(prom: &Prometheus, tide: &Tidemark, job: &str, min_series: usize) -> Vec<String> {
    let window = format!("{{job=\"{job}\"}}[10s]");
    let p = windows(prom.port, &window);
    let t = windows(tide.port, &window);
    let mut out = Vec::new();
    for ls in p.keys().filter(|ls| !t.contains_key(*ls)) {
        out.push(format!("only in Prometheus: {ls:?}"));
    }
    for ls in t.keys().filter(|ls| !p.contains_key(*ls)) {
        out.push(format!("only in Tidemark: {ls:?}"));
    }
    let mut compared = 0;
    for (ls, pvs) in &p {
        let Some(tvs) = t.get(ls) else { continue };
        if let (Some(pv), Some(tv)) = (constant(pvs), constant(tvs)) {
            compared += 1;
            if !same_value(pv, tv) {
                out.push(format!("{ls:?}: Prometheus {pv}, Tidemark {tv}"));
            }
        }
    }
    eprintln!(
        "{} series in Prometheus, {} in Tidemark, {compared} steady values compared",
        p.len(),
        t.len()
    );
    // Guard against a vacuous comparison (an empty answer on both sides).
    if p.len() < min_series || compared < min_series / 2 {
        out.push(format!(
            "only {} series and {compared} values to compare",
            p.len()
        ));
    }
    let by_name = format!("count by (__name__)({{job=\"{job}\"}})");
    let pc = label_sets(&prom.query(&by_name));
    let tc = label_sets(&tide.query(&by_name));
    if pc != tc {
        out.push(format!("{by_name} differs"));
    }
    out
}

/// Waits for a dozen scrapes of `job` on both servers (its one target up), then asserts that
/// [`differences`] finds none. The target's series set can change between two scrapes (an
/// interface or a mount appearing), so a few rounds are allowed before the differences count.
fn assert_agree(prom: &Prometheus, tide: &Tidemark, job: &str, min_series: usize) {
    let enough = format!("count_over_time(up{{job=\"{job}\"}}[1m]) >= 12");
    wait_for("a dozen scrapes on both", Duration::from_secs(90), || {
        prom.query(&enough).len() == 1 && tide.query(&enough).len() == 1
    });
    let up = format!("up{{job=\"{job}\"}} == 1");
    assert_eq!(prom.query(&up).len(), 1);
    assert_eq!(tide.query(&up).len(), 1);
    let mut last = Vec::new();
    for _ in 0..10 {
        last = differences(prom, tide, job, min_series);
        if last.is_empty() {
            return;
        }
        eprintln!("differences this round:\n{}", last.join("\n"));
        std::thread::sleep(Duration::from_millis(1500));
    }
    panic!(
        "Tidemark and Prometheus 3.5 disagree on job {job}:\n{}",
        last.join("\n")
    );
}

/// Scenario 5's exporter, differentially: Prometheus 3.5 and Tidemark scrape the same node
/// exporter with the same static config; after several scrapes both hold the same series
/// (names and all labels, report series included), the same number per metric name, and the
/// same values for the metrics that do not move between scrapes.
#[test]
fn node_exporter_series_match_prometheus_3_5() {
    let (_node_exporter, ne_port) = node_exporter();
    let config = format!(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: node\n    static_configs:\n      - targets: ['127.0.0.1:{ne_port}']\n        labels: {{env: diff}}\n"
    );
    let tdir = tempfile::tempdir().unwrap();
    let prom = Prometheus::start(&config);
    let tide = Tidemark::start(tdir.path(), &config, &[]);
    assert_agree(&prom, &tide, "node", 100);
    let cpus = "count(node_cpu_seconds_total{job=\"node\"})";
    assert_eq!(only_value(&prom.query(cpus)), only_value(&tide.query(cpus)));
    assert!(only_value(&tide.query(cpus)).is_some_and(|n| n >= 1.0));
    let build = "node_exporter_build_info{job=\"node\"}";
    assert_eq!(
        label_sets(&prom.query(build)),
        label_sets(&tide.query(build))
    );
    assert_eq!(label_sets(&tide.query(build)).len(), 1);
}

/// Scenarios 2 and 8, differentially: Prometheus 3.5 and Tidemark scrape seed 003's Python
/// app (which answers Prometheus's Accept header with OpenMetrics, `count_created` included)
/// and hold the same series and the same steady values.
#[test]
fn python_client_series_match_prometheus_3_5() {
    let port = free_port();
    let _app = count_app("127.0.0.1", port);
    inc("127.0.0.1", port, 3);
    let config = format!(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: app\n    static_configs:\n      - targets: ['127.0.0.1:{port}']\n"
    );
    let tdir = tempfile::tempdir().unwrap();
    let prom = Prometheus::start(&config);
    let tide = Tidemark::start(tdir.path(), &config, &[]);
    assert_agree(&prom, &tide, "app", 20);
    for name in ["count_total", "count_created"] {
        let q = format!("{name}{{job=\"app\"}}");
        assert_eq!(
            label_sets(&prom.query(&q)),
            label_sets(&tide.query(&q)),
            "{name}"
        );
        assert_eq!(tide.query(&q).len(), 1, "{name}");
    }
}
