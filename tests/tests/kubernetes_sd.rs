//! Kubernetes service discovery against the test API server over HTTPS: every role, watch
//! events, 410 re-lists, authentication failures and token rotation, in-cluster mode, and
//! the pod proxy path.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{json, Value};
use tidemark_ingest::discovery::kubernetes::{self, KubernetesSdConfig, SERVICE_ACCOUNT_DIR_ENV};
use tidemark_ingest::discovery::TargetGroup;
use tidemark_tests::kube_api::{Kind, KubeApiServer};
use tokio::sync::mpsc::UnboundedReceiver;

/// The merged view of the groups a discoverer sent, keyed by source.
struct Groups {
    rx: UnboundedReceiver<Vec<TargetGroup>>,
    state: BTreeMap<String, TargetGroup>,
    /// How many times each source was sent.
    sends: BTreeMap<String, usize>,
}

impl Groups {
    async fn wait(&mut self, what: &str, pred: impl Fn(&BTreeMap<String, TargetGroup>) -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        while !pred(&self.state) {
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(groups)) => self.merge(groups),
                Ok(None) => panic!("discoverer stopped while waiting for {what}"),
                Err(_) => panic!("timed out waiting for {what}; state: {:#?}", self.state),
            }
        }
    }

    fn merge(&mut self, groups: Vec<TargetGroup>) {
        for g in groups {
            *self.sends.entry(g.source.clone()).or_default() += 1;
            self.state.insert(g.source.clone(), g);
        }
    }

    /// Drains whatever arrives within `d`.
    async fn settle(&mut self, d: Duration) {
        while let Ok(Some(groups)) = tokio::time::timeout(d, self.rx.recv()).await {
            self.merge(groups);
        }
    }

    fn targets(&self, source: &str) -> usize {
        self.state.get(source).map_or(0, |g| g.targets.len())
    }
}

struct Setup {
    server: KubeApiServer,
    dir: tempfile::TempDir,
}

impl Setup {
    async fn new() -> Setup {
        let server = KubeApiServer::start("secret-1").await;
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("token"), "secret-1\n").unwrap();
        Setup { server, dir }
    }

    fn token_file(&self) -> std::path::PathBuf {
        self.dir.path().join("token")
    }

    fn config(&self, extra: &str) -> KubernetesSdConfig {
        let yaml = format!(
            "api_server: {}\nbearer_token_file: {}\ntls_config: {{ca_file: {}}}\n{extra}",
            self.server.url(),
            self.token_file().display(),
            self.server.ca_file().display()
        );
        serde_yaml::from_str(&yaml).unwrap_or_else(|e| panic!("{yaml}: {e}"))
    }

    async fn discover(&self, extra: &str) -> Groups {
        discover(self.config(extra)).await
    }
}

async fn discover(cfg: KubernetesSdConfig) -> Groups {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let d = kubernetes::KubernetesDiscoverer::new(cfg)
        .await
        .expect("discoverer starts");
    tokio::spawn(d.run(tx));
    Groups {
        rx,
        state: BTreeMap::new(),
        sends: BTreeMap::new(),
    }
}

fn pod(ns: &str, name: &str, ip: &str, ports: &[(&str, u16)]) -> Value {
    let ports: Vec<Value> = ports
        .iter()
        .map(|(n, p)| json!({"name": n, "containerPort": p, "protocol": "TCP"}))
        .collect();
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": ns,
                     "labels": {"app.kubernetes.io/name": name, "app": "web"},
                     "annotations": {"prometheus.io/scrape": "true", "prometheus.io/port": "8000"},
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-5d9", "uid": "u", "controller": true}]},
        "spec": {"nodeName": "node-1", "containers": [{"name": "app", "image": "example/app:1", "ports": ports}]},
        "status": {"phase": "Running", "podIP": ip, "hostIP": "10.0.0.1",
                   "conditions": [{"type": "Ready", "status": "True"}],
                   "containerStatuses": [{"name": "app", "containerID": "containerd://abc", "image": "example/app:1", "imageID": "", "ready": true, "restartCount": 0}]}
    })
}

/// Whether a logged request lists objects: a LIST, or a streaming list (a watch with
/// `sendInitialEvents=true`, which the discoverer opens first, as Prometheus 3.5 does).
fn is_list(request: &str) -> bool {
    (request.contains("limit=") && !request.contains("watch="))
        || request.contains("sendInitialEvents=true")
}

/// Waits until the discoverer has an open watch (so that an expiry hits it).
async fn wait_for_watch(server: &KubeApiServer) {
    for _ in 0..100 {
        if server.requests().iter().any(|r| r.contains("watch=true")) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no watch request: {:#?}", server.requests());
}

fn label<'a>(g: &'a TargetGroup, t: usize, name: &str) -> Option<&'a str> {
    g.targets[t]
        .get(name)
        .or_else(|| g.labels.get(name))
        .map(String::as_str)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pod_role_add_modify_delete() {
    let s = Setup::new().await;
    s.server.apply(pod(
        "default",
        "web-0",
        "10.1.0.5",
        &[("metrics", 8000), ("http", 8080)],
    ));
    let mut g = s.discover("role: pod").await;
    g.wait("web-0", |st| st.contains_key("pod/default/web-0"))
        .await;
    let grp = &g.state["pod/default/web-0"];
    assert_eq!(grp.targets.len(), 2);
    assert_eq!(label(grp, 0, "__address__"), Some("10.1.0.5:8000"));
    assert_eq!(
        label(grp, 0, "__meta_kubernetes_pod_container_port_name"),
        Some("metrics")
    );
    assert_eq!(
        label(
            grp,
            0,
            "__meta_kubernetes_pod_annotation_prometheus_io_scrape"
        ),
        Some("true")
    );
    assert_eq!(
        label(grp, 0, "__meta_kubernetes_pod_label_app_kubernetes_io_name"),
        Some("web-0")
    );
    assert_eq!(
        label(grp, 0, "__meta_kubernetes_pod_controller_kind"),
        Some("ReplicaSet")
    );
    assert_eq!(
        label(grp, 0, "__meta_kubernetes_pod_container_id"),
        Some("containerd://abc")
    );
    assert_eq!(grp.labels["__meta_kubernetes_namespace"], "default");
    assert_eq!(grp.labels["__meta_kubernetes_pod_ready"], "true");

    // Added while watching: arrives within seconds.
    let t0 = std::time::Instant::now();
    s.server
        .apply(pod("default", "web-1", "10.1.0.6", &[("metrics", 8000)]));
    g.wait("web-1 added", |st| {
        st.get("pod/default/web-1")
            .is_some_and(|g| g.targets.len() == 1)
    })
    .await;
    assert!(
        t0.elapsed() < Duration::from_secs(5),
        "took {:?}",
        t0.elapsed()
    );

    // Modified: a third port.
    s.server.apply(pod(
        "default",
        "web-1",
        "10.1.0.6",
        &[("metrics", 8000), ("a", 1), ("b", 2)],
    ));
    g.wait("web-1 modified", |st| {
        st["pod/default/web-1"].targets.len() == 3
    })
    .await;

    // Deleted: an empty group with the same source.
    s.server.delete(Kind::Pod, "default", "web-0");
    g.wait("web-0 deleted", |st| {
        st["pod/default/web-0"].targets.is_empty()
    })
    .await;
    assert!(g.state["pod/default/web-0"].labels.is_empty());
    assert_eq!(g.targets("pod/default/web-1"), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relist_after_410_neither_loses_nor_duplicates() {
    let s = Setup::new().await;
    for i in 0..3 {
        s.server.apply(pod(
            "default",
            &format!("p{i}"),
            &format!("10.1.0.{i}"),
            &[("m", 9000)],
        ));
    }
    let mut g = s.discover("role: pod").await;
    g.wait("initial list", |st| st.len() == 3).await;
    wait_for_watch(&s.server).await;
    let lists_before = s.server.requests().iter().filter(|r| is_list(r)).count();

    // History compacted: the open watch ends with ERROR 410; changes made meanwhile are
    // found by the re-list.
    s.server.expire_history();
    s.server.delete(Kind::Pod, "default", "p1");
    s.server
        .apply(pod("default", "p3", "10.1.0.3", &[("m", 9000)]));
    g.wait("re-list", |st| {
        st.get("pod/default/p1")
            .is_some_and(|g| g.targets.is_empty())
            && st.contains_key("pod/default/p3")
    })
    .await;
    g.settle(Duration::from_millis(500)).await;

    let lists_after = s.server.requests().iter().filter(|r| is_list(r)).count();
    assert!(
        lists_after > lists_before,
        "no re-list: {:#?}",
        s.server.requests()
    );
    for (src, n) in [
        ("pod/default/p0", 1),
        ("pod/default/p2", 1),
        ("pod/default/p3", 1),
        ("pod/default/p1", 0),
    ] {
        assert_eq!(g.targets(src), n, "{src}");
    }
    // Unchanged pods are not re-sent by the re-list.
    assert_eq!(g.sends["pod/default/p0"], 1, "{:?}", g.sends);
    assert_eq!(g.sends["pod/default/p2"], 1, "{:?}", g.sends);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_token_is_retried_with_backoff_then_recovers() {
    let s = Setup::new().await;
    s.server
        .apply(pod("default", "web-0", "10.1.0.5", &[("metrics", 8000)]));
    std::fs::write(s.token_file(), "wrong").unwrap();
    let mut g = s.discover("role: pod").await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rejected = s
        .server
        .requests()
        .iter()
        .filter(|r| r.ends_with("-> 401"))
        .count();
    assert!(
        g.rx.try_recv().is_err(),
        "groups sent without authentication"
    );
    // Retried (more than once) but with backoff (800 ms, 1.6 s, …), not in a hot loop.
    assert!(
        (2..=6).contains(&rejected),
        "{rejected} rejected requests in 3 s: {:#?}",
        s.server.requests()
    );
    std::fs::write(s.token_file(), "secret-1").unwrap();
    g.wait("recovery after fixing the token", |st| {
        st.contains_key("pod/default/web-0")
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotated_token_file_is_picked_up() {
    let s = Setup::new().await;
    s.server
        .apply(pod("default", "web-0", "10.1.0.5", &[("metrics", 8000)]));
    let mut g = s.discover("role: pod").await;
    g.wait("initial", |st| st.contains_key("pod/default/web-0"))
        .await;

    // The server now only accepts the new token; the old one is rejected.
    s.server.set_token("secret-2");
    std::fs::write(s.token_file(), "secret-2\n").unwrap();
    assert_eq!(s.server.get("/api/v1/pods", "secret-1").await.status, 401);
    assert_eq!(s.server.get("/api/v1/pods", "secret-2").await.status, 200);
    // Force new requests (the open watch was authenticated when it started).
    wait_for_watch(&s.server).await;
    s.server.expire_history();
    s.server
        .apply(pod("default", "web-1", "10.1.0.6", &[("metrics", 8000)]));
    g.wait("pod added after rotation", |st| {
        st.contains_key("pod/default/web-1")
    })
    .await;
    let after: Vec<_> = s
        .server
        .requests()
        .into_iter()
        .skip_while(|r| !r.contains("watch="))
        .collect();
    assert!(
        after
            .iter()
            .any(|r| !r.contains("watch=") && r.ends_with("-> 200")),
        "{after:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_role() {
    let s = Setup::new().await;
    s.server.apply(json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": "node-1", "labels": {"kubernetes.io/hostname": "node-1"}},
        "spec": {"providerID": "aws:///eu-west-1a/i-1"},
        "status": {"addresses": [{"type": "Hostname", "address": "node-1"}, {"type": "InternalIP", "address": "10.0.0.1"}],
                   "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
                   "conditions": [{"type": "Ready", "status": "True"}]}
    }));
    let mut g = s.discover("role: node").await;
    g.wait("node", |st| st.contains_key("node/node-1")).await;
    let n = &g.state["node/node-1"];
    assert_eq!(label(n, 0, "__address__"), Some("10.0.0.1:10250"));
    assert_eq!(label(n, 0, "instance"), Some("node-1"));
    assert_eq!(
        label(n, 0, "__meta_kubernetes_node_address_InternalIP"),
        Some("10.0.0.1")
    );
    assert_eq!(
        n.labels["__meta_kubernetes_node_label_kubernetes_io_hostname"],
        "node-1"
    );
    assert_eq!(
        n.labels["__meta_kubernetes_node_provider_id"],
        "aws:///eu-west-1a/i-1"
    );
    s.server.delete(Kind::Node, "", "node-1");
    g.wait("node deleted", |st| st["node/node-1"].targets.is_empty())
        .await;
}

fn service(ns: &str, name: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": name, "namespace": ns,
                     "annotations": {"se7entyse7en.prometheus/scrape": "true", "se7entyse7en.prometheus/port": "9191"}},
        "spec": {"type": "ClusterIP", "clusterIP": "10.96.0.10", "selector": {"app": name},
                 "ports": [{"name": "web", "port": 9191, "protocol": "TCP", "targetPort": 9191}]}
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_role() {
    let s = Setup::new().await;
    s.server.apply(service("default", "app"));
    let mut g = s.discover("role: service").await;
    g.wait("service", |st| st.contains_key("svc/default/app"))
        .await;
    let grp = &g.state["svc/default/app"];
    assert_eq!(label(grp, 0, "__address__"), Some("app.default.svc:9191"));
    assert_eq!(
        label(grp, 0, "__meta_kubernetes_service_cluster_ip"),
        Some("10.96.0.10")
    );
    assert_eq!(
        grp.labels["__meta_kubernetes_service_annotation_se7entyse7en_prometheus_scrape"],
        "true"
    );
}

/// Seed 000: role endpoints, with the service's annotations on every target, plus the pod's
/// labels and the pod's other container ports as extra targets.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoints_role_joins_service_and_pod() {
    let s = Setup::new().await;
    s.server.apply(service("default", "app"));
    s.server.apply(pod(
        "default",
        "app-0",
        "10.1.0.7",
        &[("web", 9191), ("admin", 9999)],
    ));
    s.server.apply(json!({
        "apiVersion": "v1", "kind": "Endpoints",
        "metadata": {"name": "app", "namespace": "default"},
        "subsets": [{"addresses": [{"ip": "10.1.0.7", "nodeName": "node-1",
                                    "targetRef": {"kind": "Pod", "name": "app-0", "namespace": "default"}}],
                     "ports": [{"name": "web", "port": 9191, "protocol": "TCP"}]}]
    }));
    let mut g = s.discover("role: endpoints").await;
    g.wait("endpoints", |st| st.contains_key("endpoints/default/app"))
        .await;
    let grp = g.state["endpoints/default/app"].clone();
    assert_eq!(grp.targets.len(), 2, "{grp:#?}");
    assert_eq!(
        grp.labels["__meta_kubernetes_service_annotation_se7entyse7en_prometheus_port"],
        "9191"
    );
    assert_eq!(grp.labels["__meta_kubernetes_endpoints_name"], "app");
    assert_eq!(label(&grp, 0, "__address__"), Some("10.1.0.7:9191"));
    assert_eq!(
        label(&grp, 0, "__meta_kubernetes_endpoint_ready"),
        Some("true")
    );
    assert_eq!(label(&grp, 0, "__meta_kubernetes_pod_name"), Some("app-0"));
    assert_eq!(
        label(&grp, 0, "__meta_kubernetes_pod_container_port_name"),
        Some("web")
    );
    assert_eq!(label(&grp, 1, "__address__"), Some("10.1.0.7:9999"));
    assert_eq!(label(&grp, 1, "__meta_kubernetes_endpoint_ready"), None);

    // A service change re-emits the endpoints group.
    let mut svc = service("default", "app");
    svc["metadata"]["annotations"]["se7entyse7en.prometheus/port"] = json!("9292");
    s.server.apply(svc);
    g.wait("service change", |st| {
        st["endpoints/default/app"]
            .labels
            .get("__meta_kubernetes_service_annotation_se7entyse7en_prometheus_port")
            .map(String::as_str)
            == Some("9292")
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpointslice_role() {
    let s = Setup::new().await;
    s.server.apply(service("default", "app"));
    s.server.apply(json!({
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": "app-abc", "namespace": "default", "labels": {"kubernetes.io/service-name": "app"}},
        "addressType": "IPv4",
        "endpoints": [{"addresses": ["10.1.0.8"], "conditions": {"ready": true, "serving": true, "terminating": false},
                       "nodeName": "node-1", "zone": "z1"}],
        "ports": [{"name": "web", "port": 9191, "protocol": "TCP"}]
    }));
    let mut g = s.discover("role: endpointslice").await;
    g.wait("slice", |st| {
        st.contains_key("endpointslice/default/app-abc")
    })
    .await;
    let grp = &g.state["endpointslice/default/app-abc"];
    assert_eq!(label(grp, 0, "__address__"), Some("10.1.0.8:9191"));
    assert_eq!(
        label(
            grp,
            0,
            "__meta_kubernetes_endpointslice_endpoint_conditions_ready"
        ),
        Some("true")
    );
    assert_eq!(
        label(grp, 0, "__meta_kubernetes_endpointslice_endpoint_zone"),
        Some("z1")
    );
    assert_eq!(grp.labels["__meta_kubernetes_service_name"], "app");
    assert_eq!(
        grp.labels["__meta_kubernetes_endpointslice_address_type"],
        "IPv4"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingress_role() {
    let s = Setup::new().await;
    s.server.apply(json!({
        "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "metadata": {"name": "site", "namespace": "web"},
        "spec": {"ingressClassName": "nginx", "tls": [{"hosts": ["*.example.com"]}],
                 "rules": [{"host": "a.example.com", "http": {"paths": [{"path": "/x", "pathType": "Prefix", "backend": {}}]}},
                           {"host": "other.org"}]}
    }));
    let mut g = s.discover("role: ingress").await;
    g.wait("ingress", |st| st.contains_key("ingress/web/site"))
        .await;
    let grp = &g.state["ingress/web/site"];
    assert_eq!(grp.targets.len(), 2);
    assert_eq!(
        label(grp, 0, "__meta_kubernetes_ingress_scheme"),
        Some("https")
    );
    assert_eq!(label(grp, 0, "__meta_kubernetes_ingress_path"), Some("/x"));
    assert_eq!(label(grp, 1, "__address__"), Some("other.org"));
    assert_eq!(
        label(grp, 1, "__meta_kubernetes_ingress_scheme"),
        Some("http")
    );
    assert_eq!(grp.labels["__meta_kubernetes_ingress_class_name"], "nginx");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespaces_and_selectors_restrict_the_watch() {
    let s = Setup::new().await;
    s.server.apply(pod("a", "p-a", "10.1.0.1", &[("m", 1)]));
    s.server.apply(pod("b", "p-b", "10.1.0.2", &[("m", 1)]));
    let mut other = pod("a", "p-other", "10.1.0.3", &[("m", 1)]);
    other["metadata"]["labels"]["app"] = json!("db");
    s.server.apply(other);
    let mut g = s
        .discover("role: pod\nnamespaces: {names: [a]}\nselectors: [{role: pod, label: app=web}]")
        .await;
    g.wait("pod in a", |st| st.contains_key("pod/a/p-a")).await;
    g.settle(Duration::from_millis(300)).await;
    assert_eq!(g.state.keys().collect::<Vec<_>>(), ["pod/a/p-a"]);
    assert!(
        s.server
            .requests()
            .iter()
            .any(|r| r.contains("/namespaces/a/pods") && r.contains("labelSelector=app%3Dweb")),
        "{:#?}",
        s.server.requests()
    );
}

/// In-cluster mode through the service-account directory test hook, with own_namespace.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_cluster_with_own_namespace() {
    let s = Setup::new().await;
    let sa = tempfile::tempdir().unwrap();
    std::fs::write(sa.path().join("token"), "secret-1").unwrap();
    std::fs::write(sa.path().join("namespace"), "monitoring\n").unwrap();
    std::fs::copy(s.server.ca_file(), sa.path().join("ca.crt")).unwrap();
    s.server.apply(pod(
        "monitoring",
        "prometheus-0",
        "10.1.0.9",
        &[("web", 9090)],
    ));
    s.server
        .apply(pod("default", "web-0", "10.1.0.5", &[("m", 8000)]));
    // Only this test sets these variables; the others use api_server.
    std::env::set_var(SERVICE_ACCOUNT_DIR_ENV, sa.path());
    std::env::set_var("KUBERNETES_SERVICE_HOST", "127.0.0.1");
    std::env::set_var(
        "KUBERNETES_SERVICE_PORT",
        s.server.addr().port().to_string(),
    );
    let cfg: KubernetesSdConfig =
        serde_yaml::from_str("role: pod\nnamespaces: {own_namespace: true}").unwrap();
    let mut g = discover(cfg).await;
    g.wait("own namespace pod", |st| {
        st.contains_key("pod/monitoring/prometheus-0")
    })
    .await;
    g.settle(Duration::from_millis(300)).await;
    assert_eq!(g.state.len(), 1, "{:?}", g.state.keys());
}

/// Seed 002: scraping a pod through the API server's proxy path, with the bearer token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pod_proxy_path_reaches_the_pod() {
    let target = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = target.local_addr().unwrap().port();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut c, _)) = target.accept().await {
            let mut buf = vec![0; 4096];
            let n = c.read(&mut buf).await.unwrap_or(0);
            let req = String::from_utf8_lossy(&buf[..n]).to_string();
            let leaked = req.to_lowercase().contains("authorization");
            let body = format!("# TYPE up gauge\nnatsd_up{{leaked=\"{leaked}\"}} 1\n");
            let resp = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = c.write_all(resp.as_bytes()).await;
        }
    });
    let s = Setup::new().await;
    s.server
        .apply(pod("default", "natsd-0", "127.0.0.1", &[("metrics", port)]));
    let r = s
        .server
        .get(
            &format!("/api/v1/namespaces/default/pods/http:natsd-0:{port}/proxy/metrics"),
            "secret-1",
        )
        .await;
    assert_eq!(r.status, 200);
    assert!(r.content_type.starts_with("text/plain"));
    assert_eq!(
        String::from_utf8_lossy(&r.body),
        "# TYPE up gauge\nnatsd_up{leaked=\"false\"} 1\n"
    );
    assert_eq!(
        s.server
            .get(
                &format!("/api/v1/namespaces/default/pods/natsd-0:{port}/proxy/metrics"),
                "wrong"
            )
            .await
            .status,
        401
    );
    assert_eq!(
        s.server
            .get(
                "/api/v1/namespaces/default/pods/nope:1/proxy/metrics",
                "secret-1"
            )
            .await
            .status,
        404
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_settings_fail_at_start_with_a_clear_error() {
    let s = Setup::new().await;
    let mut cfg = s.config("role: pod");
    cfg.tls_config.ca_file = Some("/nonexistent/ca.crt".into());
    let err = kubernetes::KubernetesDiscoverer::new(cfg)
        .await
        .err()
        .expect("must fail")
        .to_string();
    assert!(err.contains("/nonexistent/ca.crt"), "{err}");

    // An api_server without a scheme loads, as in Prometheus 3.5 (the operator generates
    // such configs), and fails when the discoverer starts.
    let cfg: KubernetesSdConfig =
        serde_yaml::from_str("role: pod\napi_server: example.com\nbearer_token: x\n").unwrap();
    let err = kubernetes::KubernetesDiscoverer::new(cfg)
        .await
        .err()
        .expect("must fail")
        .to_string();
    assert!(
        err.contains("\"example.com\"") && err.contains("not an http(s) URL"),
        "{err}"
    );
}

/// "The discovery of a 5,000-pod cluster holds under 100 MiB": a separate process (so the
/// test server's own memory is not counted) discovers 5,000 realistic pods (labels,
/// annotations, two containers with ports, statuses) over HTTPS, holds every group, and
/// reports its peak RSS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_thousand_pods_fit_in_100_mib() {
    const PODS: usize = 5_000;
    let s = Setup::new().await;
    s.server.apply_all((0..PODS).map(|i| {
        let ns = format!("team-{}", i % 20);
        let name = format!("app-{i:05}-7f9c5d8b6-x{:04}", i % 9973);
        let mut p = pod(&ns, &name, &format!("10.{}.{}.{}", i / 65536, (i / 256) % 256, i % 256), &[("metrics", 9100), ("http", 8080)]);
        p["metadata"]["labels"]["pod-template-hash"] = json!("7f9c5d8b6");
        p["metadata"]["labels"]["app.kubernetes.io/version"] = json!("1.24.3");
        p["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"] = json!("2024-05-01T10:00:00Z");
        p["spec"]["containers"].as_array_mut().unwrap().push(json!({
            "name": "sidecar", "image": "registry.example.com/envoy:v1.30.1",
            "ports": [{"name": "admin", "containerPort": 15000, "protocol": "TCP"}],
            "env": [{"name": "POD_NAME", "value": name}], "resources": {"limits": {"cpu": "100m", "memory": "128Mi"}}
        }));
        p["status"]["conditions"] = json!([
            {"type": "Initialized", "status": "True", "lastTransitionTime": "2024-05-01T10:00:00Z"},
            {"type": "Ready", "status": "True", "lastTransitionTime": "2024-05-01T10:00:05Z"},
            {"type": "ContainersReady", "status": "True", "lastTransitionTime": "2024-05-01T10:00:05Z"},
            {"type": "PodScheduled", "status": "True", "lastTransitionTime": "2024-05-01T10:00:00Z"}
        ]);
        p
    }));
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_kube-sd-probe"));
    cmd.env("PROBE_API_SERVER", s.server.url())
        .env("PROBE_CA_FILE", s.server.ca_file())
        .env("PROBE_TOKEN_FILE", s.token_file())
        .env("PROBE_ROLE", "pod")
        .env("PROBE_EXPECT", PODS.to_string());
    // The server runs on this runtime; wait for the child off it.
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .unwrap()
        .expect("run kube-sd-probe");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "probe failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    println!("kube-sd-probe (pod role, {PODS} pods): {stdout}");
    let field = |name: &str| -> u64 {
        stdout
            .split_whitespace()
            .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {stdout:?}"))
    };
    assert_eq!(field("groups"), PODS as u64);
    assert_eq!(field("targets"), 3 * PODS as u64);
    let hwm_mib = field("vm_hwm_kib") / 1024;
    assert!(hwm_mib < 100, "peak RSS {hwm_mib} MiB for {PODS} pods");
}

/// The test server itself speaks what client-go needs: the discovery documents, streaming
/// lists (`sendInitialEvents=true`: the objects as ADDED, then a bookmark annotated
/// `k8s.io/initial-events-end` at the current resourceVersion), refused with 422 when turned
/// off or when the apiserver's preconditions are missing, and set-based label selectors.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_server_speaks_client_go() {
    let s = Setup::new().await;
    let token = "secret-1";
    s.server
        .apply(pod("default", "web-0", "10.1.0.1", &[("m", 9000)]));
    let mut other = pod("default", "db-0", "10.1.0.2", &[("m", 9000)]);
    other["metadata"]["labels"]["app"] = json!("db");
    s.server.apply(other);
    let doc = |r: tidemark_tests::kube_api::Reply| -> Value {
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        serde_json::from_slice(&r.body).unwrap()
    };
    assert_eq!(doc(s.server.get("/version", token).await)["major"], "1");
    let apis = doc(s.server.get("/apis", token).await);
    let groups: Vec<&str> = apis["groups"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|g| g["name"].as_str())
        .collect();
    assert_eq!(groups, ["discovery.k8s.io", "networking.k8s.io"]);
    let core = doc(s.server.get("/api/v1", token).await);
    assert!(core["resources"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["name"] == "pods" && r["namespaced"] == true));
    let slices = doc(s.server.get("/apis/discovery.k8s.io/v1", token).await);
    assert_eq!(slices["resources"][0]["kind"], "EndpointSlice");
    assert_eq!(s.server.get("/apis/apps/v1", token).await.status, 404);

    let selected = doc(s
        .server
        .get(
            "/api/v1/pods?labelSelector=app%20in%20(web,%20api),app!=x",
            token,
        )
        .await);
    assert_eq!(selected["items"].as_array().unwrap().len(), 1);
    assert_eq!(selected["items"][0]["metadata"]["name"], "web-0");
    let notin = doc(s
        .server
        .get("/api/v1/pods?labelSelector=app%20notin%20(web)", token)
        .await);
    assert_eq!(notin["items"][0]["metadata"]["name"], "db-0");

    let stream = "/api/v1/namespaces/default/pods?watch=1&sendInitialEvents=true\
                  &resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true\
                  &labelSelector=app%3Dweb&timeoutSeconds=1";
    let r = s.server.get(stream, token).await;
    assert_eq!(r.status, 200);
    let events: Vec<Value> = String::from_utf8(r.body)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events.len(), 2, "{events:#?}");
    assert_eq!(events[0]["type"], "ADDED");
    assert_eq!(events[0]["object"]["metadata"]["name"], "web-0");
    assert_eq!(events[1]["type"], "BOOKMARK");
    let bookmark = &events[1]["object"]["metadata"];
    assert_eq!(bookmark["annotations"]["k8s.io/initial-events-end"], "true");
    assert_eq!(
        bookmark["resourceVersion"],
        s.server.resource_version().to_string()
    );
    // The apiserver's preconditions for a streaming list.
    let no_bookmarks = stream.replace("&allowWatchBookmarks=true", "");
    assert_eq!(s.server.get(&no_bookmarks, token).await.status, 422);
    let no_match = stream.replace("&resourceVersionMatch=NotOlderThan", "");
    assert_eq!(s.server.get(&no_match, token).await.status, 422);
    // Without the feature: refused, so that clients fall back to LIST then WATCH.
    s.server.set_streaming_lists(false);
    let r = s.server.get(stream, token).await;
    assert_eq!(r.status, 422);
    assert!(String::from_utf8_lossy(&r.body).contains("WatchList feature gate"));
}

/// The discoverer opens its watches with streaming lists, as Prometheus 3.5 does; against
/// a server without them (422) it lists, then watches, and still follows changes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streaming_lists_first_then_list_and_watch_without_them() {
    for streaming in [true, false] {
        let s = Setup::new().await;
        s.server.set_streaming_lists(streaming);
        s.server
            .apply(pod("default", "web-0", "10.1.0.1", &[("m", 9000)]));
        let mut g = s.discover("role: pod").await;
        g.wait("initial list", |st| st.contains_key("pod/default/web-0"))
            .await;
        s.server
            .apply(pod("default", "web-1", "10.1.0.2", &[("m", 9000)]));
        g.wait("watched change", |st| st.contains_key("pod/default/web-1"))
            .await;
        let requests = s.server.requests();
        let count = |f: &dyn Fn(&String) -> bool| requests.iter().filter(|r| f(r)).count();
        let streamed = count(&|r| r.contains("sendInitialEvents=true") && r.ends_with("-> 200"));
        let refused = count(&|r| r.contains("sendInitialEvents=true") && r.ends_with("-> 422"));
        let lists = count(&|r| r.contains("limit=") && !r.contains("watch="));
        if streaming {
            assert_eq!((streamed, refused, lists), (1, 0, 0), "{requests:#?}");
        } else {
            // One refusal, then LIST + WATCH for good.
            assert_eq!((streamed, refused, lists), (0, 1, 1), "{requests:#?}");
        }
    }
}

/// `oauth2` (client credentials), which 3.5 accepts in `kubernetes_sd_configs`: the token
/// fetched from `token_url` is the API server's bearer token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oauth2_client_credentials_authenticate() {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (seen_tx, seen_rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { return };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            // Headers, then a body of Content-Length bytes.
            let request = loop {
                match conn.read(&mut chunk) {
                    Ok(0) | Err(_) => break String::from_utf8_lossy(&buf).into_owned(),
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
                let text = String::from_utf8_lossy(&buf).into_owned();
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let len = head
                        .lines()
                        .find_map(|l| {
                            let (k, v) = l.split_once(':')?;
                            k.eq_ignore_ascii_case("content-length")
                                .then(|| v.trim().parse::<usize>().ok())?
                        })
                        .unwrap_or(0);
                    if body.len() >= len {
                        break text;
                    }
                }
            };
            let _ = seen_tx.send(request);
            let body = r#"{"access_token":"from-oauth","token_type":"Bearer","expires_in":3600}"#;
            let _ = write!(
                conn,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    let server = KubeApiServer::start("from-oauth").await;
    server.apply(pod("default", "web-0", "10.1.0.1", &[("m", 9000)]));
    let yaml = format!(
        "role: pod\napi_server: {}\ntls_config: {{ca_file: {}}}\n\
         oauth2: {{client_id: tidemark, client_secret: s3cret, token_url: 'http://127.0.0.1:{port}/token', scopes: [k8s]}}\n",
        server.url(),
        server.ca_file().display()
    );
    let cfg: KubernetesSdConfig = serde_yaml::from_str(&yaml).unwrap();
    let mut g = discover(cfg).await;
    g.wait("pods through an OAuth 2.0 token", |st| {
        st.contains_key("pod/default/web-0")
    })
    .await;
    let request = seen_rx.recv_timeout(Duration::from_secs(5)).unwrap();
    assert!(request.starts_with("POST /token "), "{request}");
    assert!(
        request.contains("grant_type=client_credentials"),
        "{request}"
    );
    assert!(request.contains("scope=k8s"), "{request}");
    assert!(
        !server.requests().iter().any(|r| r.ends_with("-> 401")),
        "{:#?}",
        server.requests()
    );
}
