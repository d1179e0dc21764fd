//! Kubernetes discovery, differentially: the real `tidemark` binary and Prometheus 3.5.3 (built
//! with Kubernetes SD) watch the same test API server with the same `kubernetes_sd_configs`,
//! one job per role (node, service, pod, endpoints, endpointslice, ingress) plus jobs with
//! namespaces, label/field selectors and `attach_metadata.node`. After the initial list and
//! after each change to the cluster, both must show the same targets in
//! `/api/v1/targets?state=any` (active targets as a multiset of `labels` →
//! `discoveredLabels`, dropped targets as a multiset of `discoveredLabels`) and the same `up`
//! series. Every target points at a loopback port where a tiny HTTP server answers
//! `/metrics` (or at a closed port, so `up` is 0 in both).
//!
//! The scenario runs twice: once against a server with streaming lists (watches opened with
//! `sendInitialEvents=true`, as Prometheus 3.5's client-go does when the server supports
//! them) and once against a server that refuses them (so clients LIST, then WATCH).

mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{http_get, Tidemark};
use serde_json::{json, Value};
use tidemark_tests::kube_api::{Kind, KubeApiServer};
use tidemark_tests::prom::{PromOptions, PromServer};

/// The labels of one target, sorted.
type Labels = BTreeMap<String, String>;

/// Known differences between Tidemark and Prometheus 3.5 in this test, each with its reason.
/// Every entry must still differ: an entry that no longer does fails the test.
const KNOWN_DIFFERENCES: &[(&str, &str)] = &[];

// ---------------------------------------------------------------------------------------
// The /metrics servers the targets point at

/// A loopback HTTP server answering every request with a small exposition; stops on drop.
struct MetricsApp {
    port: u16,
    stop: Arc<AtomicBool>,
}

impl MetricsApp {
    fn start() -> MetricsApp {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(mut conn) = conn else { continue };
                std::thread::spawn(move || {
                    let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 1024];
                    // One request per connection: read up to the end of the headers.
                    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                        match conn.read(&mut chunk) {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let body = format!("# TYPE demo_app_port gauge\ndemo_app_port {port}\n");
                    let resp = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n\
                         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = conn.write_all(resp.as_bytes());
                });
            }
        });
        MetricsApp { port, stop }
    }
}

impl Drop for MetricsApp {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = std::net::TcpStream::connect(("127.0.0.1", self.port));
    }
}

// ---------------------------------------------------------------------------------------
// Cluster objects

fn node(name: &str, kubelet_port: u16, labels: Value, annotations: Value) -> Value {
    json!({
        "kind": "Node",
        "metadata": {"name": name, "labels": labels, "annotations": annotations},
        "spec": {"providerID": format!("test://{name}")},
        "status": {
            "addresses": [
                {"type": "Hostname", "address": name},
                {"type": "InternalIP", "address": "127.0.0.1"},
            ],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": kubelet_port}},
            "conditions": [
                {"type": "Ready", "status": "True"},
                {"type": "MemoryPressure", "status": "False"},
            ],
        }
    })
}

fn namespace(name: &str, labels: Value) -> Value {
    json!({"kind": "Namespace", "metadata": {"name": name, "labels": labels}})
}

/// A container: name, image, ports as (name, number, protocol).
fn container(name: &str, ports: &[(&str, u16, &str)]) -> Value {
    let ports: Vec<Value> = ports
        .iter()
        .map(|(n, p, proto)| {
            let mut v = json!({"containerPort": p, "protocol": proto});
            if !n.is_empty() {
                v["name"] = json!(n);
            }
            v
        })
        .collect();
    let mut c = json!({"name": name, "image": format!("registry.test/{name}:1.0")});
    if !ports.is_empty() {
        c["ports"] = json!(ports);
    }
    c
}

struct PodSpec<'a> {
    ns: &'a str,
    name: &'a str,
    node: &'a str,
    ip: &'a str,
    phase: &'a str,
    ready: Option<&'a str>,
    labels: Value,
    annotations: Value,
    containers: Vec<Value>,
    init_containers: Vec<Value>,
    owner: Option<(&'a str, &'a str)>,
}

impl<'a> PodSpec<'a> {
    fn new(ns: &'a str, name: &'a str, containers: Vec<Value>) -> PodSpec<'a> {
        PodSpec {
            ns,
            name,
            node: "node-1",
            ip: "127.0.0.1",
            phase: "Running",
            ready: Some("True"),
            labels: json!({}),
            annotations: json!({}),
            containers,
            init_containers: vec![],
            owner: None,
        }
    }

    fn build(self) -> Value {
        let statuses: Vec<Value> = self
            .containers
            .iter()
            .map(|c| {
                json!({"name": c["name"], "ready": true, "restartCount": 0,
                       "image": c["image"], "imageID": "",
                       "containerID": format!("containerd://{}-{}", self.name, c["name"].as_str().unwrap_or(""))})
            })
            .collect();
        let mut conditions = vec![];
        if let Some(r) = self.ready {
            conditions.push(json!({"type": "Ready", "status": r}));
        }
        let mut pod = json!({
            "kind": "Pod",
            "metadata": {"name": self.name, "namespace": self.ns, "labels": self.labels,
                         "annotations": self.annotations},
            "spec": {"nodeName": self.node, "containers": self.containers},
            "status": {"phase": self.phase, "hostIP": "127.0.0.1",
                       "conditions": conditions, "containerStatuses": statuses}
        });
        if !self.ip.is_empty() {
            pod["status"]["podIP"] = json!(self.ip);
        }
        if !self.init_containers.is_empty() {
            pod["spec"]["initContainers"] = json!(self.init_containers);
        }
        if let Some((kind, name)) = self.owner {
            pod["metadata"]["ownerReferences"] = json!([{"apiVersion": "apps/v1", "kind": kind,
                "name": name, "uid": "11111111-2222-3333-4444-555555555555", "controller": true}]);
        }
        pod
    }
}

fn service(ns: &str, name: &str, ty: &str, ports: &[(&str, u16)], labels: Value) -> Value {
    let ports: Vec<Value> = ports
        .iter()
        .map(|(n, p)| json!({"name": n, "port": p, "protocol": "TCP", "targetPort": p}))
        .collect();
    let mut spec = json!({"type": ty, "ports": ports, "selector": {"app": name}});
    match ty {
        "ExternalName" => spec["externalName"] = json!("db.example.test"),
        _ => {
            spec["clusterIP"] = json!("10.96.0.10");
            if ty == "LoadBalancer" {
                spec["loadBalancerIP"] = json!("192.0.2.10");
            }
        }
    }
    json!({
        "kind": "Service",
        "metadata": {"name": name, "namespace": ns, "labels": labels,
                     "annotations": {"team": "observability"}},
        "spec": spec,
    })
}

/// An address of an Endpoints subset pointing at a pod.
fn ep_address(ns: &str, pod: &str, node: &str) -> Value {
    json!({"ip": "127.0.0.1", "nodeName": node,
           "targetRef": {"kind": "Pod", "namespace": ns, "name": pod}})
}

fn endpoints(ns: &str, name: &str, subsets: Value, labels: Value, annotations: Value) -> Value {
    json!({
        "kind": "Endpoints",
        "metadata": {"name": name, "namespace": ns, "labels": labels,
                     "annotations": annotations},
        "subsets": subsets,
    })
}

/// An EndpointSlice endpoint pointing at a pod.
fn slice_endpoint(ns: &str, pod: &str, node: &str, ready: bool) -> Value {
    json!({"addresses": ["127.0.0.1"],
           "conditions": {"ready": ready, "serving": ready, "terminating": false},
           "hostname": pod, "nodeName": node, "zone": "zone-a",
           "targetRef": {"kind": "Pod", "namespace": ns, "name": pod}})
}

fn endpoint_slice(ns: &str, name: &str, service: &str, endpoints: Value, ports: Value) -> Value {
    json!({
        "kind": "EndpointSlice",
        "metadata": {"name": name, "namespace": ns,
                     "labels": {"kubernetes.io/service-name": service,
                                "endpointslice.kubernetes.io/managed-by": "test"},
                     "annotations": {"slice.example/owner": "tests"}},
        "addressType": "IPv4",
        "endpoints": endpoints,
        "ports": ports,
    })
}

fn ingress(ns: &str, name: &str, hosts: &[&str], tls_hosts: &[&str]) -> Value {
    let rules: Vec<Value> = hosts
        .iter()
        .map(|h| {
            json!({"host": h, "http": {"paths": [
                {"path": "/", "pathType": "Prefix",
                 "backend": {"service": {"name": "web", "port": {"number": 80}}}},
                {"path": "/api", "pathType": "Prefix",
                 "backend": {"service": {"name": "web", "port": {"number": 80}}}},
            ]}})
        })
        .collect();
    json!({
        "kind": "Ingress",
        "metadata": {"name": name, "namespace": ns, "labels": {"app": name},
                     "annotations": {"kubernetes.io/ingress.class": "nginx"}},
        "spec": {"ingressClassName": "nginx", "rules": rules,
                 "tls": [{"hosts": tls_hosts, "secretName": "tls"}]},
    })
}

// ---------------------------------------------------------------------------------------
// The configuration both servers load

/// The `kubernetes_sd_configs` connection block; `auth` picks one of the two token forms.
fn sd(api: &KubeApiServer, token_file: &str, role: &str, auth: usize, extra: &str) -> String {
    let auth = if auth == 0 {
        format!("bearer_token_file: {token_file}")
    } else {
        format!("authorization: {{credentials_file: {token_file}}}")
    };
    format!(
        "  - role: {role}\n    api_server: {}\n    tls_config: {{ca_file: {}}}\n    {auth}\n{extra}",
        api.url(),
        api.ca_file().display()
    )
}

/// Rewrites `__address__` to the metrics app's port on loopback (for roles whose addresses
/// are DNS names), keeping the discovered address in `instance`.
fn to_app(port: u16) -> String {
    format!(
        "  - source_labels: [__address__]\n    target_label: instance\n\
         \x20 - target_label: __address__\n    replacement: 127.0.0.1:{port}\n"
    )
}

/// Keeps the pod's name as a target label. Targets of one group whose final labels are
/// equal are one target whose discovered labels are the last one's, which both implement;
/// but the extra targets of a group's pods come in Go map order in Prometheus, and the
/// groups of a job too, so such duplicates would show an arbitrary one. The pod label makes
/// those targets distinct (the duplicates left are within one group, in a fixed order:
/// ingress paths of one host, and the Endpoints addresses of `k8s-endpoints-ns`).
const POD: &str = "  - source_labels: [__meta_kubernetes_pod_name]\n    target_label: pod\n";

fn config(api: &KubeApiServer, token_file: &str, app_port: u16) -> String {
    let mut c =
        String::from("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n");
    let mut job = |name: &str, sd_block: String, relabel: String| {
        c.push_str(&format!(
            "- job_name: {name}\n  kubernetes_sd_configs:\n{sd_block}"
        ));
        if !relabel.is_empty() {
            c.push_str(&format!("  relabel_configs:\n{relabel}"));
        }
    };
    // node: instance = node name, address = InternalIP:kubelet port (the app's port).
    job(
        "k8s-node",
        sd(api, token_file, "node", 0, ""),
        "  - action: labelmap\n    regex: __meta_kubernetes_node_label_(.+)\n".into(),
    );
    // node with a label selector.
    job(
        "k8s-node-selected",
        sd(
            api,
            token_file,
            "node",
            1,
            "    selectors:\n    - role: node\n      label: 'topology.kubernetes.io/zone=zone-a'\n",
        ),
        String::new(),
    );
    job(
        "k8s-service",
        sd(api, token_file, "service", 1, ""),
        format!(
            "{}  - action: labelmap\n    regex: __meta_kubernetes_service_label_(.+)\n\
             \x20 - source_labels: [__meta_kubernetes_service_type]\n    regex: ExternalName\n    action: drop\n",
            to_app(app_port)
        ),
    );
    job(
        "k8s-service-ns",
        sd(
            api,
            token_file,
            "service",
            0,
            "    namespaces:\n      names: [team-a]\n",
        ),
        to_app(app_port),
    );
    // pod: keep running pods, drop the ones annotated `example.com/skip`.
    job(
        "k8s-pod",
        sd(
            api,
            token_file,
            "pod",
            0,
            "    attach_metadata:\n      node: true\n",
        ),
        "  - source_labels: [__meta_kubernetes_pod_annotation_example_com_skip]\n    regex: 'true'\n    action: drop\n\
         \x20 - action: labelmap\n    regex: __meta_kubernetes_pod_label_(.+)\n\
         \x20 - source_labels: [__meta_kubernetes_pod_name]\n    target_label: pod\n\
         \x20 - source_labels: [__meta_kubernetes_pod_container_name]\n    target_label: container\n\
         \x20 - source_labels: [__meta_kubernetes_node_label_topology_kubernetes_io_zone]\n    target_label: zone\n"
            .into(),
    );
    job(
        "k8s-pod-selected",
        sd(
            api,
            token_file,
            "pod",
            1,
            "    namespaces:\n      names: [default, team-a]\n    selectors:\n    - role: pod\n      label: 'app in (web, api),tier!=cache'\n      field: 'status.phase=Running'\n",
        ),
        "  - source_labels: [__meta_kubernetes_pod_name, __meta_kubernetes_pod_container_port_name]\n    target_label: pod_port\n".into(),
    );
    job(
        "k8s-endpoints",
        sd(
            api,
            token_file,
            "endpoints",
            0,
            "    attach_metadata:\n      node: true\n",
        ),
        format!(
            "  - source_labels: [__meta_kubernetes_endpoint_port_name]\n    regex: metrics|http|\n    action: keep\n\
         \x20 - source_labels: [__meta_kubernetes_service_name]\n    target_label: service\n{POD}"
        ),
    );
    job(
        "k8s-endpoints-ns",
        sd(
            api,
            token_file,
            "endpoints",
            1,
            "    namespaces:\n      names: [team-a]\n    selectors:\n    - role: service\n      label: 'app=api'\n",
        ),
        String::new(),
    );
    job(
        "k8s-endpointslice",
        sd(
            api,
            token_file,
            "endpointslice",
            1,
            "    attach_metadata:\n      node: true\n",
        ),
        format!(
            "  - source_labels: [__meta_kubernetes_endpointslice_endpoint_conditions_ready]\n    regex: 'false'\n    action: drop\n\
         \x20 - source_labels: [__meta_kubernetes_endpointslice_name]\n    target_label: slice\n{POD}"
        ),
    );
    job(
        "k8s-endpointslice-selected",
        sd(
            api,
            token_file,
            "endpointslice",
            0,
            "    selectors:\n    - role: endpointslice\n      label: 'kubernetes.io/service-name=web'\n    - role: pod\n      label: 'app=web'\n",
        ),
        format!(
            "{POD}  - source_labels: [__meta_kubernetes_endpointslice_name]\n    target_label: slice\n"
        ),
    );
    job(
        "k8s-ingress",
        sd(api, token_file, "ingress", 0, ""),
        to_app(app_port),
    );
    job(
        "k8s-ingress-ns",
        sd(
            api,
            token_file,
            "ingress",
            1,
            "    namespaces:\n      names: [team-a]\n    selectors:\n    - role: ingress\n      label: 'app=shop'\n",
        ),
        to_app(app_port),
    );
    c
}

// ---------------------------------------------------------------------------------------
// Reading and comparing both servers

/// What `/api/v1/targets?state=any` and `up` show, normalised for comparison.
#[derive(Debug, Default, PartialEq, Eq, Clone)]
struct Snapshot {
    /// (scrapePool, labels) → the discoveredLabels of each such target, sorted.
    active: BTreeMap<(String, Labels), Vec<Labels>>,
    /// (scrapePool, discoveredLabels) → how many.
    dropped: BTreeMap<(String, Labels), usize>,
    /// `droppedTargetCounts`: scrape pool → number of dropped targets.
    dropped_counts: BTreeMap<String, u64>,
    /// The `up` series: labels → value.
    up: BTreeMap<Labels, String>,
}

fn labels_of(v: &Value) -> Labels {
    v.as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_owned()))
                .collect()
        })
        .unwrap_or_default()
}

fn get_json(port: u16, path: &str) -> Value {
    let (status, body) = http_get(port, path).unwrap_or_else(|| panic!("GET {path} on :{port}"));
    assert_eq!(status, 200, "GET {path} on :{port}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: {e}: {body}"))
}

fn snapshot(port: u16, with_up: bool) -> Snapshot {
    let t = get_json(port, "/api/v1/targets?state=any");
    let mut snap = Snapshot::default();
    for a in t["data"]["activeTargets"].as_array().into_iter().flatten() {
        snap.active
            .entry((
                a["scrapePool"].as_str().unwrap_or("").to_owned(),
                labels_of(&a["labels"]),
            ))
            .or_default()
            .push(labels_of(&a["discoveredLabels"]));
    }
    for v in snap.active.values_mut() {
        v.sort();
    }
    for d in t["data"]["droppedTargets"].as_array().into_iter().flatten() {
        let pool = d["scrapePool"].as_str().unwrap_or("").to_owned();
        *snap
            .dropped
            .entry((pool, labels_of(&d["discoveredLabels"])))
            .or_default() += 1;
    }
    for (pool, n) in t["data"]["droppedTargetCounts"]
        .as_object()
        .into_iter()
        .flatten()
    {
        snap.dropped_counts
            .insert(pool.clone(), n.as_u64().unwrap_or(u64::MAX));
    }
    if with_up {
        let q = get_json(port, "/api/v1/query?query=up");
        for s in q["data"]["result"].as_array().into_iter().flatten() {
            snap.up.insert(
                labels_of(&s["metric"]),
                s["value"][1].as_str().unwrap_or("").to_owned(),
            );
        }
    }
    snap
}

/// A readable list of the differences between two snapshots (empty if equal).
fn diff(prom: &Snapshot, tide: &Snapshot) -> Vec<String> {
    let mut out = Vec::new();
    for (k, pv) in &prom.active {
        match tide.active.get(k) {
            None => out.push(format!(
                "active only in Prometheus: {k:?} discovered {pv:?}"
            )),
            Some(tv) if tv != pv => {
                for (p, t) in pv.iter().zip(tv) {
                    let only_p: Vec<_> = p.iter().filter(|(n, v)| t.get(*n) != Some(v)).collect();
                    let only_t: Vec<_> = t.iter().filter(|(n, v)| p.get(*n) != Some(v)).collect();
                    out.push(format!(
                        "discoveredLabels of {k:?} differ: Prometheus only {only_p:?}; Tidemark only {only_t:?}"
                    ));
                }
                if pv.len() != tv.len() {
                    out.push(format!(
                        "{k:?}: {} targets in Prometheus, {} in Tidemark",
                        pv.len(),
                        tv.len()
                    ));
                }
            }
            _ => {}
        }
    }
    for (k, tv) in &tide.active {
        if !prom.active.contains_key(k) {
            out.push(format!("active only in Tidemark: {k:?} discovered {tv:?}"));
        }
    }
    for (k, n) in &prom.dropped {
        if tide.dropped.get(k) != Some(n) {
            out.push(format!(
                "dropped in Prometheus x{n}, Tidemark x{}: {k:?}",
                tide.dropped.get(k).unwrap_or(&0)
            ));
        }
    }
    for (k, n) in &tide.dropped {
        if !prom.dropped.contains_key(k) {
            out.push(format!("dropped only in Tidemark x{n}: {k:?}"));
        }
    }
    if prom.dropped_counts != tide.dropped_counts {
        out.push(format!(
            "droppedTargetCounts: Prometheus {:?}, Tidemark {:?}",
            prom.dropped_counts, tide.dropped_counts
        ));
    }
    for (k, v) in &prom.up {
        if tide.up.get(k) != Some(v) {
            out.push(format!(
                "up{k:?}: Prometheus {v}, Tidemark {:?}",
                tide.up.get(k)
            ));
        }
    }
    for k in tide.up.keys() {
        if !prom.up.contains_key(k) {
            out.push(format!("up{k:?} only in Tidemark"));
        }
    }
    out
}

/// The number of active targets per job.
fn per_job(s: &Snapshot) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for ((job, _), v) in &s.active {
        *m.entry(job.clone()).or_default() += v.len();
    }
    m
}

fn has_discovered(s: &Snapshot, job: &str, name: &str, value: &str) -> bool {
    s.active.iter().any(|((j, _), v)| {
        j == job
            && v.iter()
                .any(|d| d.get(name).map(String::as_str) == Some(value))
    })
}

struct Pair {
    prom: PromServer,
    tide: Tidemark,
    tide_dir: tempfile::TempDir,
    steps: usize,
}

impl Pair {
    /// Waits until Prometheus's view satisfies `ready` and, then, until Tidemark's view equals
    /// it (targets and `up`); panics with the differences after the deadline.
    fn agree(&mut self, step: &str, ready: impl Fn(&Snapshot) -> bool) -> Snapshot {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let prom = snapshot(self.prom.port(), true);
            let tide = snapshot(self.tide.port, true);
            // `up` needs a scrape of every target; an absent series is not a disagreement yet.
            let scraped =
                |s: &Snapshot| s.active.values().map(Vec::len).sum::<usize>() == s.up.len();
            if ready(&prom) && scraped(&prom) && scraped(&tide) && diff(&prom, &tide).is_empty() {
                self.steps += 1;
                eprintln!(
                    "step {:2} {step}: agree on {} active targets {:?}, {} dropped, {} up series",
                    self.steps,
                    prom.active.values().map(Vec::len).sum::<usize>(),
                    per_job(&prom),
                    prom.dropped.values().sum::<usize>(),
                    prom.up.len()
                );
                return prom;
            }
            if Instant::now() > deadline {
                let last = (prom, tide);
                let d = diff(&last.0, &last.1);
                panic!(
                    "step {step}: Tidemark and Prometheus 3.5 disagree after 60s (Prometheus ready: {}):\n{}\n\
                     Prometheus per job {:?}\nTidemark per job {:?}\nTidemark log tail:\n{}",
                    ready(&last.0),
                    d.join("\n"),
                    per_job(&last.0),
                    per_job(&last.1),
                    tail(&std::fs::read_to_string(self.tide_log()).unwrap_or_default()),
                );
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    fn tide_log(&self) -> std::path::PathBuf {
        self.tide_dir.path().join("tidemark.log")
    }
}

fn tail(s: &str) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

// ---------------------------------------------------------------------------------------
// The scenario

/// The cluster at start: two namespaces, two nodes, pods in several states, services of
/// three types, Endpoints, EndpointSlices and Ingresses.
fn initial_objects(app: u16, app2: u16, closed: u16) -> Vec<Value> {
    let mut objs = vec![
        namespace("default", json!({"kubernetes.io/metadata.name": "default"})),
        namespace(
            "team-a",
            json!({"kubernetes.io/metadata.name": "team-a", "team": "a"}),
        ),
        node(
            "node-1",
            app,
            json!({"topology.kubernetes.io/zone": "zone-a", "kubernetes.io/os": "linux"}),
            json!({"node.alpha.kubernetes.io/ttl": "0"}),
        ),
        node(
            "node-2",
            closed,
            json!({"topology.kubernetes.io/zone": "zone-b", "kubernetes.io/os": "linux"}),
            json!({}),
        ),
    ];
    let web = |name: &'static str, node: &'static str| {
        let mut p = PodSpec::new(
            "default",
            name,
            vec![
                container("app", &[("metrics", app, "TCP"), ("http", app2, "TCP")]),
                container("sidecar", &[]),
            ],
        );
        p.node = node;
        p.labels = json!({"app": "web", "app.kubernetes.io/name": "web"});
        p.annotations = json!({"prometheus.io/scrape": "true"});
        p.init_containers = vec![container("init", &[("init-metrics", closed, "TCP")])];
        p.owner = Some(("ReplicaSet", "web-5d8f"));
        p
    };
    objs.push(web("web-0", "node-1").build());
    objs.push(web("web-1", "node-2").build());
    let mut cache = PodSpec::new(
        "default",
        "cache-0",
        vec![container("redis", &[("redis", closed, "TCP")])],
    );
    cache.labels = json!({"app": "web", "tier": "cache"});
    cache.ready = Some("False");
    objs.push(cache.build());
    let mut skip = PodSpec::new(
        "default",
        "skip-0",
        vec![container("app", &[("metrics", app, "TCP")])],
    );
    skip.annotations = json!({"example.com/skip": "true"});
    skip.labels = json!({"app": "web"});
    objs.push(skip.build());
    let mut pending = PodSpec::new(
        "default",
        "pending-0",
        vec![container("app", &[("metrics", app, "TCP")])],
    );
    pending.ip = "";
    pending.phase = "Pending";
    pending.ready = None;
    pending.labels = json!({"app": "web"});
    objs.push(pending.build());
    let mut api0 = PodSpec::new(
        "team-a",
        "api-0",
        vec![container("api", &[("http", app, "TCP")])],
    );
    api0.labels = json!({"app": "api"});
    api0.node = "node-2";
    api0.owner = Some(("StatefulSet", "api"));
    objs.push(api0.build());
    let mut batch = PodSpec::new(
        "team-a",
        "batch-0",
        vec![container("job", &[("", app2, "UDP")])],
    );
    batch.labels = json!({"app": "api"});
    batch.phase = "Succeeded";
    batch.ready = Some("False");
    objs.push(batch.build());

    objs.push(service(
        "default",
        "web",
        "ClusterIP",
        &[("metrics", app), ("http", app2)],
        json!({"app": "web"}),
    ));
    objs.push(service(
        "default",
        "db",
        "ExternalName",
        &[("pg", 5432)],
        json!({"app": "db"}),
    ));
    objs.push(service(
        "team-a",
        "api",
        "LoadBalancer",
        &[("http", app)],
        json!({"app": "api"}),
    ));

    objs.push(endpoints(
        "default",
        "web",
        json!([{
            "addresses": [ep_address("default", "web-0", "node-1")],
            "notReadyAddresses": [ep_address("default", "web-1", "node-2")],
            "ports": [{"name": "metrics", "port": app, "protocol": "TCP"},
                      {"name": "http", "port": app2, "protocol": "TCP"}],
        }]),
        json!({"app": "web"}),
        json!({"endpoints.kubernetes.io/last-change-trigger-time": "2025-01-01T00:00:00Z"}),
    ));
    objs.push(endpoints(
        "team-a",
        "api",
        json!([{
            "addresses": [ep_address("team-a", "api-0", "node-2"),
                          {"ip": "127.0.0.1", "hostname": "external-0"}],
            "ports": [{"name": "http", "port": app, "protocol": "TCP"}],
        }]),
        json!({"app": "api"}),
        json!({}),
    ));
    objs.push(endpoint_slice(
        "default",
        "web-abc",
        "web",
        json!([
            slice_endpoint("default", "web-0", "node-1", true),
            slice_endpoint("default", "web-1", "node-2", false)
        ]),
        json!([{"name": "metrics", "port": app, "protocol": "TCP"},
               {"name": "http", "port": app2, "protocol": "TCP", "appProtocol": "http"}]),
    ));
    objs.push(endpoint_slice(
        "team-a",
        "api-xyz",
        "api",
        json!([slice_endpoint("team-a", "api-0", "node-2", true)]),
        json!([{"name": "http", "port": app, "protocol": "TCP"}]),
    ));
    objs.push(ingress(
        "default",
        "web",
        &["web.example.test", "www.example.test"],
        &["web.example.test"],
    ));
    objs.push(ingress(
        "team-a",
        "shop",
        &["shop.example.test"],
        &["*.example.test"],
    ));
    objs
}

/// A pod only the `headless` Endpoints names, in `phase`.
fn legacy_pod(app: u16, phase: &'static str) -> Value {
    let mut p = PodSpec::new(
        "default",
        "legacy-0",
        vec![container("legacy", &[("metrics", app, "TCP")])],
    );
    p.labels = json!({"app": "legacy"});
    p.phase = phase;
    p.build()
}

/// The objects of the "unusual objects added" step.
fn edge_objects(app: u16, closed: u16) -> Vec<Value> {
    let mut node3 = node(
        "node-3",
        app,
        json!({"example.com/ünïcode-key": "v", "empty": ""}),
        json!({"note": ""}),
    );
    // ExternalIP outranks Hostname; no InternalIP.
    node3["status"]["addresses"] = json!([
        {"type": "Hostname", "address": "node-3"},
        {"type": "ExternalIP", "address": "127.0.0.1"},
        {"type": "ExternalIP", "address": "127.0.0.9"},
    ]);
    let mut node4 = node("node-4", app, json!({}), json!({}));
    node4["status"]["addresses"] = json!([{"type": "Other", "address": "x"}]);
    let mut headless = service("default", "headless", "ClusterIP", &[("", app)], json!({}));
    headless["spec"]["clusterIP"] = json!("None");
    let nodeport = service(
        "default",
        "np",
        "NodePort",
        &[("web", app)],
        json!({"a.b/c": ""}),
    );
    vec![
        legacy_pod(app, "Running"),
        node3,
        node4,
        headless,
        nodeport,
        endpoints(
            "default",
            "headless",
            json!([{
                "addresses": [
                    {"ip": "127.0.0.1", "hostname": "h-0"},
                    {"ip": "127.0.0.1", "targetRef": {"kind": "Node", "name": "node-1"}},
                    {"ip": "127.0.0.1", "nodeName": "node-1",
                     "targetRef": {"kind": "Pod", "namespace": "default", "name": "legacy-0"}},
                ],
                "ports": [{"port": closed, "protocol": "TCP"}],
            }]),
            json!({"service.kubernetes.io/headless": ""}),
            json!({}),
        ),
        json!({
            "kind": "EndpointSlice",
            "metadata": {"name": "edge-fqdn", "namespace": "default",
                         "labels": {"kubernetes.io/service-name": "headless"}},
            "addressType": "FQDN",
            "endpoints": [{"addresses": ["localhost"], "conditions": {"ready": true}}],
            "ports": [{"name": "none"}, {"name": "metrics", "port": app, "protocol": "TCP"}],
        }),
        json!({
            "kind": "EndpointSlice",
            "metadata": {"name": "edge-ipv6", "namespace": "default",
                         "labels": {"kubernetes.io/service-name": "np"}},
            "addressType": "IPv6",
            "endpoints": [{"addresses": ["::1"], "nodeName": "node-3",
                           "targetRef": {"kind": "Node", "name": "node-3"},
                           "deprecatedTopology": {"topology.kubernetes.io/zone": "z"}}],
            "ports": [{"port": closed, "protocol": "UDP", "appProtocol": "dns"}],
        }),
        json!({
            "kind": "Ingress",
            "metadata": {"name": "edge", "namespace": "default"},
            "spec": {"rules": [
                {},
                {"host": "a.b.example.test", "http": {"paths": [
                    {"pathType": "Prefix", "backend": {"service": {"name": "web", "port": {"number": 80}}}}
                ]}},
            ], "tls": [{"hosts": ["*.example.test"]}]},
        }),
    ]
}

fn run_scenario(streaming: bool) {
    let app = MetricsApp::start();
    let app2 = MetricsApp::start();
    let closed = common::free_port();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let api = rt.block_on(KubeApiServer::start("k8s-token"));
    api.set_streaming_lists(streaming);
    let secrets = tempfile::tempdir().unwrap();
    let token_file = secrets.path().join("token");
    std::fs::write(&token_file, "k8s-token\n").unwrap();
    api.apply_all(initial_objects(app.port, app2.port, closed));

    let cfg = config(&api, &token_file.display().to_string(), app.port);
    let prom = PromServer::start_with(&PromOptions {
        config_yaml: Some(cfg.clone()),
        ..PromOptions::default()
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let tide_dir = tempfile::tempdir().unwrap();
    let tide = Tidemark::start(tide_dir.path(), &cfg, &[]);
    let mut pair = Pair {
        prom,
        tide,
        tide_dir,
        steps: 0,
    };

    let all_jobs = |s: &Snapshot| {
        let j = per_job(s);
        j.len() == 12
    };
    pair.agree("initial list", all_jobs);

    // A pod is added.
    let mut web2 = PodSpec::new(
        "default",
        "web-2",
        vec![container("app", &[("metrics", app.port, "TCP")])],
    );
    web2.labels = json!({"app": "web"});
    api.apply(web2.build());
    pair.agree("pod added", |s| {
        has_discovered(s, "k8s-pod", "__meta_kubernetes_pod_name", "web-2")
    });

    // A pod is relabelled.
    let mut web0 = PodSpec::new(
        "default",
        "web-0",
        vec![
            container(
                "app",
                &[("metrics", app.port, "TCP"), ("http", app2.port, "TCP")],
            ),
            container("sidecar", &[]),
        ],
    );
    web0.labels = json!({"app": "web", "app.kubernetes.io/name": "web", "version": "v2"});
    web0.annotations = json!({"prometheus.io/scrape": "true"});
    web0.init_containers = vec![container("init", &[("init-metrics", closed, "TCP")])];
    web0.owner = Some(("ReplicaSet", "web-5d8f"));
    api.apply(web0.build());
    pair.agree("pod relabelled", |s| {
        has_discovered(s, "k8s-pod", "__meta_kubernetes_pod_label_version", "v2")
    });

    // A pod is deleted (the Endpoints and the slice still name it).
    api.delete(Kind::Pod, "default", "web-1");
    pair.agree("pod deleted", |s| {
        !has_discovered(s, "k8s-pod", "__meta_kubernetes_pod_name", "web-1")
    });

    // The Endpoints object is updated: web-2 ready, web-1 gone.
    api.apply(endpoints(
        "default",
        "web",
        json!([{
            "addresses": [ep_address("default", "web-0", "node-1"),
                          ep_address("default", "web-2", "node-1")],
            "ports": [{"name": "metrics", "port": app.port, "protocol": "TCP"},
                      {"name": "http", "port": app2.port, "protocol": "TCP"}],
        }]),
        json!({"app": "web", "changed": "yes"}),
        json!({"endpoints.kubernetes.io/last-change-trigger-time": "2025-01-01T00:01:00Z"}),
    ));
    pair.agree("endpoints updated", |s| {
        has_discovered(
            s,
            "k8s-endpoints",
            "__meta_kubernetes_endpoint_address_target_name",
            "web-2",
        )
    });

    // The slice is updated the same way.
    api.apply(endpoint_slice(
        "default",
        "web-abc",
        "web",
        json!([
            slice_endpoint("default", "web-0", "node-1", true),
            slice_endpoint("default", "web-2", "node-1", true)
        ]),
        json!([{"name": "metrics", "port": app.port, "protocol": "TCP"},
               {"name": "http", "port": app2.port, "protocol": "TCP", "appProtocol": "http"}]),
    ));
    pair.agree("endpointslice updated", |s| {
        has_discovered(
            s,
            "k8s-endpointslice",
            "__meta_kubernetes_endpointslice_address_target_name",
            "web-2",
        )
    });

    // A slice is created after start.
    api.apply(endpoint_slice(
        "default",
        "web-def",
        "web",
        json!([slice_endpoint("default", "web-0", "node-1", true)]),
        json!([{"name": "metrics", "port": app.port, "protocol": "TCP"}]),
    ));
    pair.agree("endpointslice created", |s| {
        has_discovered(
            s,
            "k8s-endpointslice",
            "__meta_kubernetes_endpointslice_name",
            "web-def",
        )
    });

    // A slice is deleted.
    api.delete(Kind::EndpointSlice, "default", "web-abc");
    pair.agree("endpointslice deleted", |s| {
        !has_discovered(
            s,
            "k8s-endpointslice",
            "__meta_kubernetes_endpointslice_name",
            "web-abc",
        )
    });

    // A service is deleted: its targets go, and the Endpoints and slices lose its labels.
    api.delete(Kind::Service, "default", "web");
    pair.agree("service deleted", |s| {
        !has_discovered(s, "k8s-service", "__meta_kubernetes_service_name", "web")
    });

    // A node is relabelled: the node selector now matches it, and the pods on it see the
    // new zone through attach_metadata.
    api.apply(node(
        "node-2",
        closed,
        json!({"topology.kubernetes.io/zone": "zone-a", "kubernetes.io/os": "linux"}),
        json!({}),
    ));
    pair.agree("node relabelled", |s| {
        has_discovered(
            s,
            "k8s-node-selected",
            "__meta_kubernetes_node_name",
            "node-2",
        )
    });

    // An ingress gains a rule.
    let mut shop = ingress(
        "team-a",
        "shop",
        &["shop.example.test", "admin.example.test"],
        &["*.example.test"],
    );
    shop["metadata"]["labels"]["tier"] = json!("front");
    api.apply(shop);
    pair.agree("ingress updated", |s| {
        has_discovered(
            s,
            "k8s-ingress-ns",
            "__meta_kubernetes_ingress_host",
            "admin.example.test",
        )
    });

    // Unusual objects: node address priorities and no usable address, label keys that need
    // sanitizing, empty values, headless and NodePort services, Endpoints addresses without
    // a pod or pointing at a node, FQDN and IPv6 slices with a port-less entry, an ingress
    // rule without host or paths, and a pod phase change (which re-emits the Endpoints that
    // name the pod; 3.5 re-emits no EndpointSlice on pod changes, and neither does Tidemark).
    api.apply_all(edge_objects(app.port, closed));
    api.apply(legacy_pod(app.port, "Failed"));
    pair.agree("unusual objects added", |s| {
        has_discovered(
            s,
            "k8s-endpointslice",
            "__meta_kubernetes_endpointslice_name",
            "edge-ipv6",
        ) && has_discovered(s, "k8s-node", "__meta_kubernetes_node_name", "node-3")
            && has_discovered(s, "k8s-endpoints", "__meta_kubernetes_pod_phase", "Failed")
            && has_discovered(s, "k8s-pod", "__meta_kubernetes_pod_phase", "Failed")
    });

    // The server compacts its history: every watch ends with 410 and both re-list; a pod
    // added meanwhile must appear.
    api.expire_history();
    let mut api1 = PodSpec::new(
        "team-a",
        "api-1",
        vec![container("api", &[("http", app.port, "TCP")])],
    );
    api1.labels = json!({"app": "api"});
    api.apply(api1.build());
    pair.agree("re-list after 410", |s| {
        has_discovered(s, "k8s-pod-selected", "__meta_kubernetes_pod_name", "api-1")
    });

    let requests = api.requests();
    let streamed = requests
        .iter()
        .filter(|r| r.contains("sendInitialEvents=true") && r.ends_with("-> 200"))
        .count();
    let refused = requests
        .iter()
        .filter(|r| r.contains("sendInitialEvents=true") && r.ends_with("-> 422"))
        .count();
    let lists = requests
        .iter()
        .filter(|r| !r.contains("watch=") && r.contains("?") && !r.contains("/version"))
        .count();
    eprintln!(
        "streaming lists {}: {streamed} streaming watches served, {refused} refused, {lists} lists, {} requests",
        if streaming { "on" } else { "off" },
        requests.len()
    );
    if streaming {
        assert!(streamed > 0, "no streaming list was served: {requests:#?}");
    } else {
        assert_eq!(streamed, 0);
    }
    eprintln!(
        "{} discovery scenarios agreed; {} known differences excused",
        pair.steps,
        KNOWN_DIFFERENCES.len()
    );
}

/// Against a server with streaming lists (`sendInitialEvents=true`), as recent apiservers.
#[test]
fn kubernetes_discovery_matches_prometheus_3_5_streaming_lists() {
    run_scenario(true);
}

/// Against a server without streaming lists: clients LIST, then WATCH.
#[test]
fn kubernetes_discovery_matches_prometheus_3_5_list_then_watch() {
    run_scenario(false);
}
