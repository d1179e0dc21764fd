//! From Kubernetes objects to target groups: pure functions, one per role, with Prometheus's
//! `__meta_kubernetes_*` labels (discovery/kubernetes/*.go as of Prometheus 3.5, checked
//! against the 3.5.3 binary by `server/tests/e2e_kubernetes_differential.rs`).
//!
//! What must stay true:
//! - one group per object, `source` = `<kind>/<namespace>/<name>` (`node/<name>` for nodes);
//! - object-level labels go in the group's labels, per-port/per-address ones in the targets;
//! - Kubernetes label and annotation keys are sanitized (every character outside
//!   `[A-Za-z0-9_]` becomes `_`), values are copied verbatim, and each gets a `*present` twin;
//! - Go's empty strings and Rust's `None` are the same thing: a label that Prometheus always
//!   sets is set to `""` when the field is absent.

use k8s_openapi::api::core::v1::{Container, Endpoints, Node, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::networking::v1::Ingress;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::discovery::{LabelSet, TargetGroup};

const META: &str = "__meta_kubernetes_";
const ADDRESS: &str = "__address__";
const NAMESPACE: &str = "__meta_kubernetes_namespace";

/// Lookups of the related objects the join roles (endpoints, endpointslice, pod with
/// `attach_metadata.node`) enrich their targets with.
pub trait Related {
    /// The service `namespace/name`, if cached.
    fn service(&self, namespace: &str, name: &str) -> Option<&Service>;
    /// The pod `namespace/name`, if cached.
    fn pod(&self, namespace: &str, name: &str) -> Option<&Pod>;
    /// The node `name`, if cached (only consulted with `attach_metadata.node`).
    fn node(&self, name: &str) -> Option<&Node>;
}

/// No related objects: what the node, service and ingress roles (and unit tests) use.
pub struct NoRelated;

impl Related for NoRelated {
    fn service(&self, _: &str, _: &str) -> Option<&Service> {
        None
    }
    fn pod(&self, _: &str, _: &str) -> Option<&Pod> {
        None
    }
    fn node(&self, _: &str) -> Option<&Node> {
        None
    }
}

/// Every character outside `[A-Za-z0-9_]` becomes `_` (Prometheus's `SanitizeLabelName`).
pub fn sanitize_label_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// `host:port`, with an IPv6 host in brackets (Go's `net.JoinHostPort`).
pub fn join_host_port(host: &str, port: impl std::fmt::Display) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

fn set(ls: &mut LabelSet, name: impl Into<String>, value: impl Into<String>) {
    ls.insert(name.into(), value.into());
}

fn s(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("")
}

fn ns_name(meta: &ObjectMeta) -> (&str, &str) {
    (s(&meta.namespace), s(&meta.name))
}

/// `__meta_kubernetes_<kind>_name`, `_label_*`, `_labelpresent_*`, `_annotation_*`,
/// `_annotationpresent_*`.
fn add_object_meta(ls: &mut LabelSet, meta: &ObjectMeta, kind: &str) {
    set(ls, format!("{META}{kind}_name"), s(&meta.name));
    for (k, v) in meta.labels.iter().flatten() {
        let k = sanitize_label_name(k);
        set(ls, format!("{META}{kind}_label_{k}"), v.as_str());
        set(ls, format!("{META}{kind}_labelpresent_{k}"), "true");
    }
    for (k, v) in meta.annotations.iter().flatten() {
        let k = sanitize_label_name(k);
        set(ls, format!("{META}{kind}_annotation_{k}"), v.as_str());
        set(ls, format!("{META}{kind}_annotationpresent_{k}"), "true");
    }
}

/// The node's metadata labels merged into `ls`, if the node is known.
fn add_node_labels(ls: &mut LabelSet, related: &dyn Related, node_name: Option<&str>) {
    let Some(node) = node_name.and_then(|n| related.node(n)) else {
        return;
    };
    add_object_meta(ls, &node.metadata, "node");
}

/// The source of a group, e.g. `pod/default/web-0`.
pub fn source(role: super::Role, namespace: &str, name: &str) -> String {
    match role {
        super::Role::Node => format!("node/{name}"),
        super::Role::Service => format!("svc/{namespace}/{name}"),
        super::Role::Pod => format!("pod/{namespace}/{name}"),
        super::Role::Endpoints => format!("endpoints/{namespace}/{name}"),
        super::Role::EndpointSlice => format!("endpointslice/{namespace}/{name}"),
        super::Role::Ingress => format!("ingress/{namespace}/{name}"),
    }
}

/// An empty group: what a deleted object becomes.
pub fn deleted(role: super::Role, namespace: &str, name: &str) -> TargetGroup {
    TargetGroup {
        source: source(role, namespace, name),
        ..TargetGroup::default()
    }
}

// ---------------------------------------------------------------------------------------
// node

const NODE_ADDRESS_PRIORITY: [&str; 6] = [
    "InternalIP",
    "InternalDNS",
    "ExternalIP",
    "ExternalDNS",
    "LegacyHostIP",
    "Hostname",
];

/// The node role's group, or `None` (Prometheus logs and sends nothing) when the node has no
/// address of a known type.
pub fn node_group(node: &Node) -> Option<TargetGroup> {
    let name = s(&node.metadata.name);
    let status = node.status.as_ref();
    let addresses = status
        .and_then(|st| st.addresses.as_ref())
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    // The first address of each type, types in first-seen order.
    let mut first: Vec<(&str, &str)> = Vec::new();
    for a in addresses {
        if !first.iter().any(|(t, _)| *t == a.type_) {
            first.push((a.type_.as_str(), a.address.as_str()));
        }
    }
    let addr = NODE_ADDRESS_PRIORITY
        .iter()
        .find_map(|ty| first.iter().find(|(t, _)| t == ty).map(|(_, a)| *a));
    let Some(addr) = addr else {
        tracing::warn!(
            node = name,
            "no node address found; the node gets no target"
        );
        return None;
    };
    let port = status
        .and_then(|st| st.daemon_endpoints.as_ref())
        .and_then(|d| d.kubelet_endpoint.as_ref())
        .map(|k| k.port)
        .unwrap_or(0);
    let mut labels = LabelSet::new();
    set(
        &mut labels,
        format!("{META}node_provider_id"),
        node.spec
            .as_ref()
            .map(|sp| s(&sp.provider_id))
            .unwrap_or(""),
    );
    add_object_meta(&mut labels, &node.metadata, "node");
    // No `__meta_kubernetes_node_condition_*`: Prometheus 3.5 has none (they came in 3.12).
    let mut target = LabelSet::new();
    set(&mut target, ADDRESS, join_host_port(addr, port));
    set(&mut target, "instance", name);
    for (ty, a) in first {
        set(&mut target, format!("{META}node_address_{ty}"), a);
    }
    Some(TargetGroup {
        source: source(super::Role::Node, "", name),
        targets: vec![target],
        labels,
    })
}

// ---------------------------------------------------------------------------------------
// service

/// The object-level service labels (also merged into endpoints and endpointslice groups).
pub fn service_labels(svc: &Service) -> LabelSet {
    let mut ls = LabelSet::new();
    set(&mut ls, NAMESPACE, s(&svc.metadata.namespace));
    add_object_meta(&mut ls, &svc.metadata, "service");
    ls
}

/// The service role's group: one target per `spec.ports[]` entry.
pub fn service_group(svc: &Service) -> TargetGroup {
    let (ns, name) = ns_name(&svc.metadata);
    let mut tg = TargetGroup {
        source: source(super::Role::Service, ns, name),
        labels: service_labels(svc),
        targets: vec![],
    };
    let Some(spec) = &svc.spec else { return tg };
    let ty = s(&spec.type_);
    for port in spec.ports.iter().flatten() {
        let mut t = LabelSet::new();
        set(
            &mut t,
            ADDRESS,
            join_host_port(&format!("{name}.{ns}.svc"), port.port),
        );
        set(&mut t, format!("{META}service_port_name"), s(&port.name));
        set(
            &mut t,
            format!("{META}service_port_number"),
            port.port.to_string(),
        );
        set(
            &mut t,
            format!("{META}service_port_protocol"),
            s(&port.protocol),
        );
        set(&mut t, format!("{META}service_type"), ty);
        if ty == "ExternalName" {
            set(
                &mut t,
                format!("{META}service_external_name"),
                s(&spec.external_name),
            );
        } else {
            set(
                &mut t,
                format!("{META}service_cluster_ip"),
                s(&spec.cluster_ip),
            );
        }
        if ty == "LoadBalancer" {
            set(
                &mut t,
                format!("{META}service_loadbalancer_ip"),
                s(&spec.load_balancer_ip),
            );
        }
        tg.targets.push(t);
    }
    tg
}

// ---------------------------------------------------------------------------------------
// pod

fn pod_ready(pod: &Pod) -> String {
    pod.status
        .as_ref()
        .and_then(|st| st.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == "Ready"))
        .map(|c| c.status.to_lowercase())
        .unwrap_or_else(|| "unknown".to_owned())
}

fn pod_ip(pod: &Pod) -> &str {
    pod.status.as_ref().map(|st| s(&st.pod_ip)).unwrap_or("")
}

/// The object-level pod labels (without the namespace), also merged into endpoints and
/// endpointslice targets backed by the pod.
pub fn pod_labels(pod: &Pod) -> LabelSet {
    let mut ls = LabelSet::new();
    let status = pod.status.as_ref();
    set(&mut ls, format!("{META}pod_ip"), pod_ip(pod));
    set(&mut ls, format!("{META}pod_ready"), pod_ready(pod));
    set(
        &mut ls,
        format!("{META}pod_phase"),
        status.map(|st| s(&st.phase)).unwrap_or(""),
    );
    set(
        &mut ls,
        format!("{META}pod_node_name"),
        pod.spec.as_ref().map(|sp| s(&sp.node_name)).unwrap_or(""),
    );
    set(
        &mut ls,
        format!("{META}pod_host_ip"),
        status.map(|st| s(&st.host_ip)).unwrap_or(""),
    );
    set(&mut ls, format!("{META}pod_uid"), s(&pod.metadata.uid));
    add_object_meta(&mut ls, &pod.metadata, "pod");
    let controller = pod
        .metadata
        .owner_references
        .iter()
        .flatten()
        .find(|o| o.controller == Some(true));
    if let Some(c) = controller {
        if !c.kind.is_empty() {
            set(
                &mut ls,
                format!("{META}pod_controller_kind"),
                c.kind.as_str(),
            );
        }
        if !c.name.is_empty() {
            set(
                &mut ls,
                format!("{META}pod_controller_name"),
                c.name.as_str(),
            );
        }
    }
    ls
}

/// Containers then init containers, each with its `init` flag.
fn containers(pod: &Pod) -> impl Iterator<Item = (&Container, bool)> {
    let spec = pod.spec.as_ref();
    let main = spec.map(|sp| sp.containers.as_slice()).unwrap_or(&[]);
    let init = spec
        .and_then(|sp| sp.init_containers.as_deref())
        .unwrap_or(&[]);
    main.iter()
        .map(|c| (c, false))
        .chain(init.iter().map(|c| (c, true)))
}

fn container_id(pod: &Pod, c: &Container, init: bool) -> String {
    let status = pod.status.as_ref();
    let statuses = if init {
        status.and_then(|st| st.init_container_statuses.as_ref())
    } else {
        status.and_then(|st| st.container_statuses.as_ref())
    };
    statuses
        .into_iter()
        .flatten()
        .find(|cs| cs.name == c.name && !s(&cs.container_id).is_empty())
        .map(|cs| s(&cs.container_id).to_owned())
        .unwrap_or_default()
}

/// The pod role's group: one target per container port (containers, then init
/// containers), or one port-less target per container without ports. A pod without an IP
/// gives an empty group.
pub fn pod_group(pod: &Pod, related: &dyn Related, attach_node: bool) -> TargetGroup {
    let (ns, name) = ns_name(&pod.metadata);
    let mut tg = deleted(super::Role::Pod, ns, name);
    let ip = pod_ip(pod);
    if ip.is_empty() {
        return tg;
    }
    tg.labels = pod_labels(pod);
    set(&mut tg.labels, NAMESPACE, ns);
    if attach_node {
        let node_name = pod.spec.as_ref().and_then(|sp| sp.node_name.as_deref());
        add_node_labels(&mut tg.labels, related, node_name);
    }
    for (c, init) in containers(pod) {
        let mut base = LabelSet::new();
        set(
            &mut base,
            format!("{META}pod_container_name"),
            c.name.as_str(),
        );
        set(
            &mut base,
            format!("{META}pod_container_id"),
            container_id(pod, c, init),
        );
        set(&mut base, format!("{META}pod_container_image"), s(&c.image));
        set(
            &mut base,
            format!("{META}pod_container_init"),
            init.to_string(),
        );
        let ports = c.ports.as_deref().unwrap_or(&[]);
        if ports.is_empty() {
            let mut t = base;
            set(&mut t, ADDRESS, ip);
            tg.targets.push(t);
            continue;
        }
        for p in ports {
            let mut t = base.clone();
            set(&mut t, ADDRESS, join_host_port(ip, p.container_port));
            set(&mut t, format!("{META}pod_container_port_name"), s(&p.name));
            set(
                &mut t,
                format!("{META}pod_container_port_number"),
                p.container_port.to_string(),
            );
            set(
                &mut t,
                format!("{META}pod_container_port_protocol"),
                s(&p.protocol),
            );
            tg.targets.push(t);
        }
    }
    tg
}

// ---------------------------------------------------------------------------------------
// endpoints and endpointslice: shared pod enrichment

/// The pods an endpoints object's addresses resolved to, with the endpoint ports seen for
/// each, in first-seen order (Prometheus iterates a map; the order of targets is not
/// significant).
#[derive(Default)]
struct SeenPods<'a> {
    pods: Vec<(&'a Pod, Vec<i32>)>,
}

impl<'a> SeenPods<'a> {
    fn note(&mut self, pod: &'a Pod, port: Option<i32>) {
        let idx = match self.pods.iter().position(|(p, _)| std::ptr::eq(*p, pod)) {
            Some(i) => i,
            None => {
                self.pods.push((pod, Vec::new()));
                self.pods.len() - 1
            }
        };
        if let Some(port) = port {
            self.pods[idx].1.push(port);
        }
    }

    /// One target per container port of a seen pod that no endpoint port covered.
    fn extra_targets(&self, out: &mut Vec<LabelSet>) {
        for (pod, seen_ports) in &self.pods {
            let ip = pod_ip(pod);
            if ip.is_empty() {
                continue;
            }
            for (c, init) in containers(pod) {
                for cp in c.ports.iter().flatten() {
                    if seen_ports.contains(&cp.container_port) {
                        continue;
                    }
                    let mut t = pod_labels(pod);
                    set(&mut t, ADDRESS, join_host_port(ip, cp.container_port));
                    set(&mut t, format!("{META}pod_container_name"), c.name.as_str());
                    set(&mut t, format!("{META}pod_container_image"), s(&c.image));
                    set(
                        &mut t,
                        format!("{META}pod_container_port_name"),
                        s(&cp.name),
                    );
                    set(
                        &mut t,
                        format!("{META}pod_container_port_number"),
                        cp.container_port.to_string(),
                    );
                    set(
                        &mut t,
                        format!("{META}pod_container_port_protocol"),
                        s(&cp.protocol),
                    );
                    set(
                        &mut t,
                        format!("{META}pod_container_init"),
                        init.to_string(),
                    );
                    out.push(t);
                }
            }
        }
    }
}

/// Merges the pod's labels into an endpoint target, plus the container labels of the first
/// container port equal to the endpoint port. `protocol` is the endpoint port's protocol for
/// endpoints and `None` (take the container port's) for endpointslices, as in Prometheus.
fn add_pod_to_target(t: &mut LabelSet, pod: &Pod, port: Option<i32>, protocol: Option<&str>) {
    t.extend(pod_labels(pod));
    let Some(port) = port else { return };
    for (c, init) in containers(pod) {
        if let Some(cp) = c
            .ports
            .iter()
            .flatten()
            .find(|cp| cp.container_port == port)
        {
            set(t, format!("{META}pod_container_name"), c.name.as_str());
            set(t, format!("{META}pod_container_image"), s(&c.image));
            set(t, format!("{META}pod_container_port_name"), s(&cp.name));
            set(
                t,
                format!("{META}pod_container_port_number"),
                port.to_string(),
            );
            set(
                t,
                format!("{META}pod_container_port_protocol"),
                protocol.unwrap_or(s(&cp.protocol)),
            );
            set(t, format!("{META}pod_container_init"), init.to_string());
            return;
        }
    }
}

fn resolve_pod<'a>(
    related: &'a dyn Related,
    target_ref: Option<&k8s_openapi::api::core::v1::ObjectReference>,
) -> Option<&'a Pod> {
    let r = target_ref?;
    if s(&r.kind) != "Pod" {
        return None;
    }
    related.pod(s(&r.namespace), s(&r.name))
}

// ---------------------------------------------------------------------------------------
// endpoints

/// The endpoints role's group: for each subset, port and address (ready, then not ready) a
/// target; then the extra targets of the referenced pods' uncovered container ports.
pub fn endpoints_group(eps: &Endpoints, related: &dyn Related, attach_node: bool) -> TargetGroup {
    let (ns, name) = ns_name(&eps.metadata);
    let mut tg = deleted(super::Role::Endpoints, ns, name);
    set(&mut tg.labels, NAMESPACE, ns);
    if let Some(svc) = related.service(ns, name) {
        tg.labels.extend(service_labels(svc));
    }
    add_object_meta(&mut tg.labels, &eps.metadata, "endpoints");
    let mut seen = SeenPods::default();
    for subset in eps.subsets.iter().flatten() {
        for port in subset.ports.iter().flatten() {
            let ready = subset.addresses.iter().flatten().map(|a| (a, "true"));
            let not_ready = subset
                .not_ready_addresses
                .iter()
                .flatten()
                .map(|a| (a, "false"));
            for (addr, ready) in ready.chain(not_ready) {
                let mut t = LabelSet::new();
                set(&mut t, ADDRESS, join_host_port(&addr.ip, port.port));
                set(&mut t, format!("{META}endpoint_port_name"), s(&port.name));
                set(
                    &mut t,
                    format!("{META}endpoint_port_protocol"),
                    s(&port.protocol),
                );
                set(&mut t, format!("{META}endpoint_ready"), ready);
                if let Some(r) = &addr.target_ref {
                    set(
                        &mut t,
                        format!("{META}endpoint_address_target_kind"),
                        s(&r.kind),
                    );
                    set(
                        &mut t,
                        format!("{META}endpoint_address_target_name"),
                        s(&r.name),
                    );
                }
                if let Some(n) = &addr.node_name {
                    set(&mut t, format!("{META}endpoint_node_name"), n.as_str());
                }
                if !s(&addr.hostname).is_empty() {
                    set(
                        &mut t,
                        format!("{META}endpoint_hostname"),
                        s(&addr.hostname),
                    );
                }
                if attach_node {
                    let node = match (&addr.node_name, &addr.target_ref) {
                        (Some(n), _) => Some(n.as_str()),
                        (None, Some(r)) if s(&r.kind) == "Node" => Some(s(&r.name)),
                        _ => None,
                    };
                    add_node_labels(&mut t, related, node);
                }
                if let Some(pod) = resolve_pod(related, addr.target_ref.as_ref()) {
                    seen.note(pod, Some(port.port));
                    add_pod_to_target(&mut t, pod, Some(port.port), Some(s(&port.protocol)));
                }
                tg.targets.push(t);
            }
        }
    }
    seen.extra_targets(&mut tg.targets);
    tg
}

// ---------------------------------------------------------------------------------------
// endpointslice

/// The label of an EndpointSlice naming its Service.
pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";

/// The endpointslice role's group: for each endpoint, port and address a target; then the
/// extra targets of the referenced pods' uncovered container ports.
pub fn endpointslice_group(
    eps: &EndpointSlice,
    related: &dyn Related,
    attach_node: bool,
) -> TargetGroup {
    let (ns, name) = ns_name(&eps.metadata);
    let mut tg = deleted(super::Role::EndpointSlice, ns, name);
    set(&mut tg.labels, NAMESPACE, ns);
    set(
        &mut tg.labels,
        format!("{META}endpointslice_address_type"),
        eps.address_type.as_str(),
    );
    add_object_meta(&mut tg.labels, &eps.metadata, "endpointslice");
    let svc_name = eps
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(SERVICE_NAME_LABEL));
    if let Some(svc) = svc_name.and_then(|n| related.service(ns, n)) {
        tg.labels.extend(service_labels(svc));
    }
    let mut seen = SeenPods::default();
    let ports = eps.ports.as_deref().unwrap_or(&[]);
    for ep in eps.endpoints.iter().flatten() {
        for port in ports {
            for addr in &ep.addresses {
                let mut t = LabelSet::new();
                let a = match port.port {
                    Some(p) => join_host_port(addr, p),
                    None => addr.clone(),
                };
                set(&mut t, ADDRESS, a);
                let p = "__meta_kubernetes_endpointslice_";
                if let Some(v) = &port.name {
                    set(&mut t, format!("{p}port_name"), v.as_str());
                }
                if let Some(v) = &port.protocol {
                    set(&mut t, format!("{p}port_protocol"), v.as_str());
                }
                if let Some(v) = port.port {
                    set(&mut t, format!("{p}port"), v.to_string());
                }
                if let Some(v) = &port.app_protocol {
                    set(&mut t, format!("{p}port_app_protocol"), v.as_str());
                }
                if let Some(c) = &ep.conditions {
                    if let Some(v) = c.ready {
                        set(
                            &mut t,
                            format!("{p}endpoint_conditions_ready"),
                            v.to_string(),
                        );
                    }
                    if let Some(v) = c.serving {
                        set(
                            &mut t,
                            format!("{p}endpoint_conditions_serving"),
                            v.to_string(),
                        );
                    }
                    if let Some(v) = c.terminating {
                        set(
                            &mut t,
                            format!("{p}endpoint_conditions_terminating"),
                            v.to_string(),
                        );
                    }
                }
                if let Some(v) = &ep.hostname {
                    set(&mut t, format!("{p}endpoint_hostname"), v.as_str());
                }
                if let Some(r) = &ep.target_ref {
                    set(&mut t, format!("{p}address_target_kind"), s(&r.kind));
                    set(&mut t, format!("{p}address_target_name"), s(&r.name));
                }
                if let Some(v) = &ep.node_name {
                    set(&mut t, format!("{p}endpoint_node_name"), v.as_str());
                }
                if let Some(v) = &ep.zone {
                    set(&mut t, format!("{p}endpoint_zone"), v.as_str());
                }
                for (k, v) in ep.deprecated_topology.iter().flatten() {
                    let k = sanitize_label_name(k);
                    set(&mut t, format!("{p}endpoint_topology_{k}"), v.as_str());
                    set(&mut t, format!("{p}endpoint_topology_present_{k}"), "true");
                }
                if attach_node {
                    let node = match &ep.target_ref {
                        Some(r) if s(&r.kind) == "Node" => Some(s(&r.name)),
                        _ => ep.node_name.as_deref(),
                    };
                    add_node_labels(&mut t, related, node);
                }
                if let Some(pod) = resolve_pod(related, ep.target_ref.as_ref()) {
                    seen.note(pod, port.port);
                    add_pod_to_target(&mut t, pod, port.port, None);
                }
                tg.targets.push(t);
            }
        }
    }
    seen.extra_targets(&mut tg.targets);
    tg
}

// ---------------------------------------------------------------------------------------
// ingress

/// `*.example.com` matches one label in the first position, with the same number of labels.
fn matches_hostname_pattern(pattern: &str, host: &str) -> bool {
    if pattern == host {
        return true;
    }
    let pattern_parts: Vec<&str> = pattern.split('.').collect();
    let host_parts: Vec<&str> = host.split('.').collect();
    if pattern_parts[0] != "*" || pattern_parts.len() != host_parts.len() {
        return false;
    }
    pattern_parts[1..] == host_parts[1..]
}

/// The ingress role's group: one target per rule and path.
pub fn ingress_group(ing: &Ingress) -> TargetGroup {
    let (ns, name) = ns_name(&ing.metadata);
    let mut tg = deleted(super::Role::Ingress, ns, name);
    set(&mut tg.labels, NAMESPACE, ns);
    let spec = ing.spec.as_ref();
    if let Some(class) = spec.and_then(|sp| sp.ingress_class_name.as_ref()) {
        set(
            &mut tg.labels,
            format!("{META}ingress_class_name"),
            class.as_str(),
        );
    }
    add_object_meta(&mut tg.labels, &ing.metadata, "ingress");
    let tls_hosts: Vec<&str> = spec
        .and_then(|sp| sp.tls.as_ref())
        .into_iter()
        .flatten()
        .flat_map(|t| t.hosts.iter().flatten())
        .map(String::as_str)
        .collect();
    for rule in spec.and_then(|sp| sp.rules.as_ref()).into_iter().flatten() {
        let host = s(&rule.host);
        let paths: Vec<&str> = match &rule.http {
            None => vec!["/"],
            Some(http) => http
                .paths
                .iter()
                .map(|p| match s(&p.path) {
                    "" => "/",
                    p => p,
                })
                .collect(),
        };
        let scheme = if tls_hosts.iter().any(|p| matches_hostname_pattern(p, host)) {
            "https"
        } else {
            "http"
        };
        for path in paths {
            let mut t = LabelSet::new();
            set(&mut t, ADDRESS, host);
            set(&mut t, format!("{META}ingress_scheme"), scheme);
            set(&mut t, format!("{META}ingress_host"), host);
            set(&mut t, format!("{META}ingress_path"), path);
            tg.targets.push(t);
        }
    }
    tg
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use serde_json::json;

    use super::*;

    fn obj<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> T {
        serde_json::from_value(v).expect("valid object")
    }

    fn ls(pairs: &[(&str, &str)]) -> LabelSet {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[derive(Default)]
    struct Objects {
        services: HashMap<(String, String), Service>,
        pods: HashMap<(String, String), Pod>,
        nodes: HashMap<String, Node>,
    }

    impl Related for Objects {
        fn service(&self, ns: &str, name: &str) -> Option<&Service> {
            self.services.get(&(ns.into(), name.into()))
        }
        fn pod(&self, ns: &str, name: &str) -> Option<&Pod> {
            self.pods.get(&(ns.into(), name.into()))
        }
        fn node(&self, name: &str) -> Option<&Node> {
            self.nodes.get(name)
        }
    }

    fn test_pod() -> Pod {
        obj(json!({
            "metadata": {"name": "testpod", "namespace": "default", "uid": "abc123",
                         "labels": {"test/label": "testvalue"}, "annotations": {"test/annotation": "testannotationvalue"},
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "testcontrollerkind", "name": "testcontrollername", "uid": "x", "controller": true}]},
            "spec": {"nodeName": "testnode",
                     "containers": [{"name": "testcontainer", "image": "testcontainer:latest",
                                     "ports": [{"name": "testport", "protocol": "TCP", "containerPort": 9000}]},
                                    {"name": "noports", "image": "noports:1"}],
                     "initContainers": [{"name": "init", "image": "init:1", "ports": [{"name": "i", "protocol": "UDP", "containerPort": 9001}]}]},
            "status": {"podIP": "1.2.3.4", "hostIP": "2.3.4.5", "phase": "Running",
                       "conditions": [{"type": "Ready", "status": "True"}],
                       "containerStatuses": [{"name": "testcontainer", "containerID": "docker://a1b2c3d4e5f6", "image": "", "imageID": "", "ready": true, "restartCount": 0}]}
        }))
    }

    #[test]
    fn sanitize_and_join() {
        assert_eq!(
            sanitize_label_name("app.kubernetes.io/name"),
            "app_kubernetes_io_name"
        );
        assert_eq!(sanitize_label_name("é-x"), "__x");
        assert_eq!(join_host_port("::1", 80), "[::1]:80");
        assert_eq!(join_host_port("10.0.0.1", 80), "10.0.0.1:80");
    }

    #[test]
    fn pod_role_labels() {
        let tg = pod_group(&test_pod(), &NoRelated, false);
        assert_eq!(tg.source, "pod/default/testpod");
        assert_eq!(
            tg.labels,
            ls(&[
                ("__meta_kubernetes_namespace", "default"),
                ("__meta_kubernetes_pod_name", "testpod"),
                ("__meta_kubernetes_pod_ip", "1.2.3.4"),
                ("__meta_kubernetes_pod_ready", "true"),
                ("__meta_kubernetes_pod_phase", "Running"),
                ("__meta_kubernetes_pod_node_name", "testnode"),
                ("__meta_kubernetes_pod_host_ip", "2.3.4.5"),
                ("__meta_kubernetes_pod_uid", "abc123"),
                ("__meta_kubernetes_pod_label_test_label", "testvalue"),
                ("__meta_kubernetes_pod_labelpresent_test_label", "true"),
                (
                    "__meta_kubernetes_pod_annotation_test_annotation",
                    "testannotationvalue"
                ),
                (
                    "__meta_kubernetes_pod_annotationpresent_test_annotation",
                    "true"
                ),
                (
                    "__meta_kubernetes_pod_controller_kind",
                    "testcontrollerkind"
                ),
                (
                    "__meta_kubernetes_pod_controller_name",
                    "testcontrollername"
                ),
            ])
        );
        assert_eq!(
            tg.targets,
            vec![
                ls(&[
                    ("__address__", "1.2.3.4:9000"),
                    ("__meta_kubernetes_pod_container_name", "testcontainer"),
                    (
                        "__meta_kubernetes_pod_container_id",
                        "docker://a1b2c3d4e5f6"
                    ),
                    (
                        "__meta_kubernetes_pod_container_image",
                        "testcontainer:latest"
                    ),
                    ("__meta_kubernetes_pod_container_port_name", "testport"),
                    ("__meta_kubernetes_pod_container_port_number", "9000"),
                    ("__meta_kubernetes_pod_container_port_protocol", "TCP"),
                    ("__meta_kubernetes_pod_container_init", "false"),
                ]),
                ls(&[
                    ("__address__", "1.2.3.4"),
                    ("__meta_kubernetes_pod_container_name", "noports"),
                    ("__meta_kubernetes_pod_container_id", ""),
                    ("__meta_kubernetes_pod_container_image", "noports:1"),
                    ("__meta_kubernetes_pod_container_init", "false"),
                ]),
                ls(&[
                    ("__address__", "1.2.3.4:9001"),
                    ("__meta_kubernetes_pod_container_name", "init"),
                    ("__meta_kubernetes_pod_container_id", ""),
                    ("__meta_kubernetes_pod_container_image", "init:1"),
                    ("__meta_kubernetes_pod_container_port_name", "i"),
                    ("__meta_kubernetes_pod_container_port_number", "9001"),
                    ("__meta_kubernetes_pod_container_port_protocol", "UDP"),
                    ("__meta_kubernetes_pod_container_init", "true"),
                ]),
            ]
        );
    }

    #[test]
    fn pod_without_ip_is_an_empty_group_and_ready_defaults_to_unknown() {
        let mut p = test_pod();
        p.status.as_mut().unwrap().pod_ip = None;
        let tg = pod_group(&p, &NoRelated, false);
        assert!(tg.targets.is_empty() && tg.labels.is_empty());
        let mut p = test_pod();
        p.status.as_mut().unwrap().conditions = None;
        assert_eq!(
            pod_group(&p, &NoRelated, false).labels["__meta_kubernetes_pod_ready"],
            "unknown"
        );
    }

    #[test]
    fn pod_attach_node_metadata() {
        let mut rel = Objects::default();
        rel.nodes.insert(
            "testnode".into(),
            obj(json!({"metadata": {"name": "testnode", "labels": {"zone": "z1"}}})),
        );
        let tg = pod_group(&test_pod(), &rel, true);
        assert_eq!(tg.labels["__meta_kubernetes_node_name"], "testnode");
        assert_eq!(tg.labels["__meta_kubernetes_node_label_zone"], "z1");
        assert_eq!(tg.targets.len(), 3);
        assert!(!pod_group(&test_pod(), &rel, false)
            .labels
            .contains_key("__meta_kubernetes_node_name"));
    }

    #[test]
    fn node_role_labels() {
        let node: Node = obj(json!({
            "metadata": {"name": "test", "labels": {"test-label": "testvalue"}, "annotations": {"test-annotation": "testannotationvalue"}},
            "spec": {"providerID": "aws:///i-1"},
            "status": {"addresses": [{"type": "ExternalIP", "address": "1.2.3.4"}, {"type": "InternalIP", "address": "10.0.0.1"}, {"type": "InternalIP", "address": "10.0.0.2"}],
                       "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
                       "conditions": [{"type": "Ready", "status": "True"}, {"type": "DiskPressure", "status": "False"}]}
        }));
        let tg = node_group(&node).unwrap();
        assert_eq!(tg.source, "node/test");
        assert_eq!(
            tg.targets,
            vec![ls(&[
                ("__address__", "10.0.0.1:10250"),
                ("instance", "test"),
                ("__meta_kubernetes_node_address_ExternalIP", "1.2.3.4"),
                ("__meta_kubernetes_node_address_InternalIP", "10.0.0.1"),
            ])]
        );
        assert_eq!(
            tg.labels,
            ls(&[
                ("__meta_kubernetes_node_name", "test"),
                ("__meta_kubernetes_node_provider_id", "aws:///i-1"),
                ("__meta_kubernetes_node_label_test_label", "testvalue"),
                ("__meta_kubernetes_node_labelpresent_test_label", "true"),
                (
                    "__meta_kubernetes_node_annotation_test_annotation",
                    "testannotationvalue"
                ),
                (
                    "__meta_kubernetes_node_annotationpresent_test_annotation",
                    "true"
                ),
            ])
        );
        let bare: Node = obj(
            json!({"metadata": {"name": "x"}, "status": {"addresses": [{"type": "Other", "address": "a"}]}}),
        );
        assert!(node_group(&bare).is_none());
    }

    #[test]
    fn service_role_labels() {
        let svc: Service = obj(json!({
            "metadata": {"name": "testservice", "namespace": "default", "labels": {"test-label": "testvalue"}},
            "spec": {"type": "LoadBalancer", "clusterIP": "10.0.0.1", "loadBalancerIP": "5.6.7.8",
                     "ports": [{"name": "testport", "protocol": "TCP", "port": 30900}]}
        }));
        let tg = service_group(&svc);
        assert_eq!(tg.source, "svc/default/testservice");
        assert_eq!(
            tg.targets,
            vec![ls(&[
                ("__address__", "testservice.default.svc:30900"),
                ("__meta_kubernetes_service_port_name", "testport"),
                ("__meta_kubernetes_service_port_number", "30900"),
                ("__meta_kubernetes_service_port_protocol", "TCP"),
                ("__meta_kubernetes_service_type", "LoadBalancer"),
                ("__meta_kubernetes_service_cluster_ip", "10.0.0.1"),
                ("__meta_kubernetes_service_loadbalancer_ip", "5.6.7.8"),
            ])]
        );
        assert_eq!(
            tg.labels,
            ls(&[
                ("__meta_kubernetes_namespace", "default"),
                ("__meta_kubernetes_service_name", "testservice"),
                ("__meta_kubernetes_service_label_test_label", "testvalue"),
                ("__meta_kubernetes_service_labelpresent_test_label", "true"),
            ])
        );
        let ext: Service = obj(json!({"metadata": {"name": "e", "namespace": "n"},
            "spec": {"type": "ExternalName", "externalName": "db.example.com", "ports": [{"port": 5432}]}}));
        let t = &service_group(&ext).targets[0];
        assert_eq!(
            t["__meta_kubernetes_service_external_name"],
            "db.example.com"
        );
        assert!(!t.contains_key("__meta_kubernetes_service_cluster_ip"));
    }

    fn endpoints() -> Endpoints {
        obj(json!({
            "metadata": {"name": "testendpoints", "namespace": "default", "labels": {"app": "x"}},
            "subsets": [{
                "addresses": [{"ip": "1.2.3.4", "hostname": "testendpoint1", "nodeName": "foobar",
                               "targetRef": {"kind": "Pod", "name": "testpod", "namespace": "default"}}],
                "notReadyAddresses": [{"ip": "2.3.4.5"}],
                "ports": [{"name": "testport", "port": 9000, "protocol": "TCP"}]
            }]
        }))
    }

    #[test]
    fn endpoints_role_without_related_objects() {
        let tg = endpoints_group(&endpoints(), &NoRelated, false);
        assert_eq!(tg.source, "endpoints/default/testendpoints");
        assert_eq!(
            tg.labels,
            ls(&[
                ("__meta_kubernetes_namespace", "default"),
                ("__meta_kubernetes_endpoints_name", "testendpoints"),
                ("__meta_kubernetes_endpoints_label_app", "x"),
                ("__meta_kubernetes_endpoints_labelpresent_app", "true"),
            ])
        );
        assert_eq!(
            tg.targets,
            vec![
                ls(&[
                    ("__address__", "1.2.3.4:9000"),
                    ("__meta_kubernetes_endpoint_hostname", "testendpoint1"),
                    ("__meta_kubernetes_endpoint_node_name", "foobar"),
                    ("__meta_kubernetes_endpoint_port_name", "testport"),
                    ("__meta_kubernetes_endpoint_port_protocol", "TCP"),
                    ("__meta_kubernetes_endpoint_ready", "true"),
                    ("__meta_kubernetes_endpoint_address_target_kind", "Pod"),
                    ("__meta_kubernetes_endpoint_address_target_name", "testpod"),
                ]),
                ls(&[
                    ("__address__", "2.3.4.5:9000"),
                    ("__meta_kubernetes_endpoint_port_name", "testport"),
                    ("__meta_kubernetes_endpoint_port_protocol", "TCP"),
                    ("__meta_kubernetes_endpoint_ready", "false"),
                ]),
            ]
        );
    }

    #[test]
    fn endpoints_role_with_service_pod_and_node() {
        let mut rel = Objects::default();
        rel.pods
            .insert(("default".into(), "testpod".into()), test_pod());
        rel.services.insert(
            ("default".into(), "testendpoints".into()),
            obj(json!({"metadata": {"name": "testendpoints", "namespace": "default", "annotations": {"prometheus.io/scrape": "true"}},
                       "spec": {"ports": [{"port": 80}]}})),
        );
        rel.nodes.insert(
            "foobar".into(),
            obj(json!({"metadata": {"name": "foobar", "labels": {"zone": "z"}}})),
        );
        let tg = endpoints_group(&endpoints(), &rel, true);
        assert_eq!(tg.labels["__meta_kubernetes_service_name"], "testendpoints");
        assert_eq!(
            tg.labels["__meta_kubernetes_service_annotation_prometheus_io_scrape"],
            "true"
        );
        assert!(!tg
            .labels
            .contains_key("__meta_kubernetes_service_port_name"));
        // Ready address + not-ready address + the pod's uncovered init-container port.
        assert_eq!(tg.targets.len(), 3, "{:#?}", tg.targets);
        let t = &tg.targets[0];
        assert_eq!(t["__meta_kubernetes_node_label_zone"], "z");
        assert_eq!(t["__meta_kubernetes_pod_name"], "testpod");
        assert_eq!(t["__meta_kubernetes_pod_container_name"], "testcontainer");
        assert_eq!(t["__meta_kubernetes_pod_container_port_number"], "9000");
        assert!(!t.contains_key("__meta_kubernetes_pod_container_id"));
        let extra = &tg.targets[2];
        assert_eq!(extra["__address__"], "1.2.3.4:9001");
        assert_eq!(extra["__meta_kubernetes_pod_container_init"], "true");
        assert_eq!(
            extra["__meta_kubernetes_pod_container_port_protocol"],
            "UDP"
        );
        assert!(!extra
            .keys()
            .any(|k| k.starts_with("__meta_kubernetes_endpoint_")));
    }

    #[test]
    fn endpointslice_role_labels() {
        let slice: EndpointSlice = obj(json!({
            "metadata": {"name": "testendpointslice", "namespace": "default", "labels": {"kubernetes.io/service-name": "testendpoints"}},
            "addressType": "IPv4",
            "endpoints": [
                {"addresses": ["1.2.3.4"], "conditions": {"ready": true, "serving": true, "terminating": false},
                 "hostname": "testendpoint1", "nodeName": "foobar", "zone": "us-east-1a",
                 "targetRef": {"kind": "Pod", "name": "testpod", "namespace": "default"},
                 "deprecatedTopology": {"topology.kubernetes.io/region": "us-east-1"}},
                {"addresses": ["2.3.4.5"], "conditions": {"ready": false}}
            ],
            "ports": [{"name": "testport", "port": 9000, "protocol": "TCP", "appProtocol": "http"}]
        }));
        let mut rel = Objects::default();
        rel.pods
            .insert(("default".into(), "testpod".into()), test_pod());
        let tg = endpointslice_group(&slice, &rel, false);
        assert_eq!(tg.source, "endpointslice/default/testendpointslice");
        assert_eq!(
            tg.labels["__meta_kubernetes_endpointslice_address_type"],
            "IPv4"
        );
        assert_eq!(
            tg.labels["__meta_kubernetes_endpointslice_label_kubernetes_io_service_name"],
            "testendpoints"
        );
        assert_eq!(tg.targets.len(), 3);
        let t = &tg.targets[0];
        for (k, v) in [
            ("__address__", "1.2.3.4:9000"),
            ("__meta_kubernetes_endpointslice_port_name", "testport"),
            ("__meta_kubernetes_endpointslice_port_protocol", "TCP"),
            ("__meta_kubernetes_endpointslice_port", "9000"),
            ("__meta_kubernetes_endpointslice_port_app_protocol", "http"),
            ("__meta_kubernetes_endpointslice_endpoint_conditions_ready", "true"),
            ("__meta_kubernetes_endpointslice_endpoint_conditions_serving", "true"),
            ("__meta_kubernetes_endpointslice_endpoint_conditions_terminating", "false"),
            ("__meta_kubernetes_endpointslice_endpoint_hostname", "testendpoint1"),
            ("__meta_kubernetes_endpointslice_endpoint_node_name", "foobar"),
            ("__meta_kubernetes_endpointslice_endpoint_zone", "us-east-1a"),
            ("__meta_kubernetes_endpointslice_address_target_kind", "Pod"),
            ("__meta_kubernetes_endpointslice_address_target_name", "testpod"),
            ("__meta_kubernetes_endpointslice_endpoint_topology_topology_kubernetes_io_region", "us-east-1"),
            ("__meta_kubernetes_endpointslice_endpoint_topology_present_topology_kubernetes_io_region", "true"),
            ("__meta_kubernetes_pod_name", "testpod"),
            ("__meta_kubernetes_pod_container_port_protocol", "TCP"),
        ] {
            assert_eq!(t.get(k).map(String::as_str), Some(v), "{k}");
        }
        let t = &tg.targets[1];
        assert_eq!(
            t["__meta_kubernetes_endpointslice_endpoint_conditions_ready"],
            "false"
        );
        assert!(!t.contains_key("__meta_kubernetes_endpointslice_endpoint_conditions_serving"));
        assert!(!t.contains_key("__meta_kubernetes_endpointslice_endpoint_hostname"));
        assert_eq!(tg.targets[2]["__address__"], "1.2.3.4:9001");
    }

    #[test]
    fn ingress_role_labels() {
        let ing: Ingress = obj(json!({
            "metadata": {"name": "testingress", "namespace": "default", "labels": {"test/label": "testvalue"}},
            "spec": {"ingressClassName": "testclass",
                     "tls": [{"hosts": ["*.example.com"]}],
                     "rules": [
                        {"host": "example.com", "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {}}, {"path": "/foo", "pathType": "Prefix", "backend": {}}]}},
                        {"host": "test.example.com", "http": {"paths": [{"pathType": "Prefix", "backend": {}}]}},
                        {"host": "a.b.example.com"},
                        {"http": {"paths": []}}
                     ]}
        }));
        let tg = ingress_group(&ing);
        assert_eq!(tg.source, "ingress/default/testingress");
        assert_eq!(
            tg.labels["__meta_kubernetes_ingress_class_name"],
            "testclass"
        );
        assert_eq!(
            tg.labels["__meta_kubernetes_ingress_labelpresent_test_label"],
            "true"
        );
        let got: Vec<(&str, &str, &str)> = tg
            .targets
            .iter()
            .map(|t| {
                (
                    t["__address__"].as_str(),
                    t["__meta_kubernetes_ingress_scheme"].as_str(),
                    t["__meta_kubernetes_ingress_path"].as_str(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("example.com", "http", "/"),
                ("example.com", "http", "/foo"),
                ("test.example.com", "https", "/"),
                ("a.b.example.com", "http", "/"),
            ]
        );
        assert_eq!(
            tg.targets[0]["__meta_kubernetes_ingress_host"],
            "example.com"
        );
    }

    #[test]
    fn hostname_patterns() {
        assert!(matches_hostname_pattern("a.com", "a.com"));
        assert!(matches_hostname_pattern("*.a.com", "x.a.com"));
        assert!(!matches_hostname_pattern("*.a.com", "a.com"));
        assert!(!matches_hostname_pattern("*.a.com", "y.x.a.com"));
        assert!(!matches_hostname_pattern("x.*.com", "x.a.com"));
    }
}
