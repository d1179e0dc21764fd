//! The running discoverer: kube watchers (a streaming list then watch, or LIST then WATCH
//! where the apiserver refuses streaming lists; re-list on 410 Gone, the default backoff on
//! errors) feeding object caches, and the target groups that change with them.
//!
//! What must stay true:
//! - nothing is sent until every watched stream has listed once (Prometheus waits for its
//!   informers to sync); then one message holds a group per object of the role;
//! - afterwards each watch event sends only the groups it changes: the object's own, or,
//!   for a related object (service, pod, node), the groups that embed it;
//! - a re-list (after 410 Gone or a lost watch) swaps the cache atomically and sends groups
//!   only for objects that changed (by `resourceVersion`) and empty groups for vanished
//!   ones, so targets are neither lost nor duplicated.

use std::collections::{HashMap, HashSet};
use std::fmt::Debug;

use futures::stream::{self, BoxStream, StreamExt};
use k8s_openapi::api::core::v1::{Endpoints, Node, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::networking::v1::Ingress;
use kube::runtime::watcher::{self, watcher, Event};
use kube::runtime::WatchStreamExt;
use kube::{Api, Resource, ResourceExt};
use serde::de::DeserializeOwned;

use super::client::{connect, ClientError};
use super::config::{KubernetesSdConfig, Role};
use super::translate::{self, Related};
use crate::discovery::{GroupSender, TargetGroup};

/// A Kubernetes discoverer, connected and ready to [`run`](KubernetesDiscoverer::run).
pub struct KubernetesDiscoverer {
    cfg: KubernetesSdConfig,
    client: kube::Client,
    /// The namespaces to watch; empty means all.
    namespaces: Vec<String>,
}

/// Validates `cfg`, connects, and runs the discoverer until `tx`'s receiver is dropped.
/// Errors only when the discoverer cannot start; errors while running are logged and
/// retried with backoff.
pub async fn run(cfg: KubernetesSdConfig, tx: GroupSender) -> Result<(), ClientError> {
    KubernetesDiscoverer::new(cfg).await?.run(tx).await;
    Ok(())
}

impl KubernetesDiscoverer {
    /// Validates the configuration and builds the client (no request is made yet).
    pub async fn new(cfg: KubernetesSdConfig) -> Result<Self, ClientError> {
        cfg.validate()?;
        let conn = connect(&cfg).await?;
        let mut namespaces = cfg.namespaces.names.clone();
        if let Some(own) = conn.own_namespace {
            namespaces.push(own);
        }
        namespaces.sort();
        namespaces.dedup();
        Ok(KubernetesDiscoverer {
            cfg,
            client: conn.client,
            namespaces,
        })
    }

    /// Lists and watches until `tx`'s receiver is dropped, sending changed groups.
    pub async fn run(self, tx: GroupSender) {
        let role = self.cfg.role;
        let attach_node = self.cfg.attach_metadata.node
            && matches!(role, Role::Pod | Role::Endpoints | Role::EndpointSlice);
        let mut state = State::new(role, attach_node);
        let mut streams: Vec<BoxStream<'static, Msg>> = Vec::new();
        let namespaced = |kind: Kind| -> Vec<Option<String>> {
            if self.namespaces.is_empty() || kind == Kind::Node {
                vec![None]
            } else {
                self.namespaces.iter().cloned().map(Some).collect()
            }
        };
        for kind in kinds_for(role, attach_node) {
            let selector = self.cfg.selector_for(kind.role());
            let mut wc = watcher::Config::default();
            if let Some(l) = selector
                .and_then(|s| s.label.as_deref())
                .filter(|l| !l.is_empty())
            {
                wc = wc.labels(l);
            }
            if let Some(f) = selector
                .and_then(|s| s.field.as_deref())
                .filter(|f| !f.is_empty())
            {
                wc = wc.fields(f);
            }
            for ns in namespaced(kind) {
                let shard = state.add_shard(kind, ns.clone());
                let client = self.client.clone();
                let wc = wc.clone();
                macro_rules! api {
                    () => {
                        match &ns {
                            Some(ns) => Api::namespaced(client, ns),
                            None => Api::all(client),
                        }
                    };
                }
                let s = match kind {
                    Kind::Node => watch::<Node>(Api::all(client), wc, shard, Msg::Node),
                    Kind::Service => watch::<Service>(api!(), wc, shard, Msg::Service),
                    Kind::Pod => watch::<Pod>(api!(), wc, shard, Msg::Pod),
                    Kind::Endpoints => watch::<Endpoints>(api!(), wc, shard, Msg::Endpoints),
                    Kind::EndpointSlice => {
                        watch::<EndpointSlice>(api!(), wc, shard, Msg::EndpointSlice)
                    }
                    Kind::Ingress => watch::<Ingress>(api!(), wc, shard, Msg::Ingress),
                };
                streams.push(s);
            }
        }
        let mut all = stream::select_all(streams);
        while let Some(msg) = all.next().await {
            let groups = state.handle(msg);
            if !groups.is_empty() && tx.send(groups).is_err() {
                tracing::debug!(role = %role, "target group receiver dropped; stopping Kubernetes discovery");
                return;
            }
        }
    }
}

/// The object kinds a role watches: its own, then the related ones.
fn kinds_for(role: Role, attach_node: bool) -> Vec<Kind> {
    let mut kinds = match role {
        Role::Node => vec![Kind::Node],
        Role::Service => vec![Kind::Service],
        Role::Pod => vec![Kind::Pod],
        Role::Endpoints => vec![Kind::Endpoints, Kind::Service, Kind::Pod],
        Role::EndpointSlice => vec![Kind::EndpointSlice, Kind::Service, Kind::Pod],
        Role::Ingress => vec![Kind::Ingress],
    };
    if attach_node {
        kinds.push(Kind::Node);
    }
    kinds
}

/// Drops the parts of an object no label is made from, so that caches stay small: for a pod,
/// everything but the containers' names, images and ports, the node name, and the status
/// fields the pod labels read. (Other kinds are small or entirely used.)
fn slim<K: 'static>(o: &mut K) {
    use k8s_openapi::api::core::v1::{
        Container, ContainerStatus, PodCondition, PodSpec, PodStatus,
    };
    let Some(pod) = (o as &mut dyn std::any::Any).downcast_mut::<Pod>() else {
        return;
    };
    let slim_container = |c: &mut Container| Container {
        name: std::mem::take(&mut c.name),
        image: c.image.take(),
        ports: c.ports.take(),
        ..Container::default()
    };
    if let Some(spec) = pod.spec.as_mut() {
        *spec = PodSpec {
            containers: spec.containers.iter_mut().map(slim_container).collect(),
            init_containers: spec
                .init_containers
                .as_mut()
                .map(|cs| cs.iter_mut().map(slim_container).collect()),
            node_name: spec.node_name.take(),
            ..PodSpec::default()
        };
    }
    if let Some(status) = pod.status.as_mut() {
        let slim_statuses = |cs: &mut Option<Vec<ContainerStatus>>| {
            cs.take().map(|cs| {
                cs.into_iter()
                    .map(|c| ContainerStatus {
                        name: c.name,
                        container_id: c.container_id,
                        ..ContainerStatus::default()
                    })
                    .collect()
            })
        };
        *status = PodStatus {
            pod_ip: status.pod_ip.take(),
            host_ip: status.host_ip.take(),
            phase: status.phase.take(),
            conditions: status.conditions.take().map(|cs| {
                cs.into_iter()
                    .filter(|c| c.type_ == "Ready")
                    .map(|c| PodCondition {
                        type_: c.type_,
                        status: c.status,
                        ..PodCondition::default()
                    })
                    .collect()
            }),
            container_statuses: slim_statuses(&mut status.container_statuses),
            init_container_statuses: slim_statuses(&mut status.init_container_statuses),
            ..PodStatus::default()
        };
    }
}

fn watch<K>(
    api: Api<K>,
    wc: watcher::Config,
    shard: usize,
    wrap: fn(usize, Result<Event<K>, watcher::Error>) -> Msg,
) -> BoxStream<'static, Msg>
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    K::DynamicType: Default,
{
    // As Prometheus 3.5's client-go: a streaming list (`sendInitialEvents=true`) first; an
    // apiserver without the WatchList feature refuses it, and then LIST + WATCH for good.
    let streaming = events(api.clone(), wc.clone().streaming_lists());
    stream::unfold(
        (streaming, Some((api, wc))),
        |(mut events_now, mut fallback)| async move {
            loop {
                let ev = events_now.next().await?;
                if streaming_refused(&ev) {
                    if let Some((api, wc)) = fallback.take() {
                        tracing::debug!(
                            "streaming lists refused by the API server; listing, then watching"
                        );
                        events_now = events(api, wc);
                        continue;
                    }
                }
                if ev.is_ok() {
                    fallback = None;
                }
                return Some((ev, (events_now, fallback)));
            }
        },
    )
    .map(move |ev| wrap(shard, ev))
    .boxed()
}

/// The watcher's events with the default backoff, objects slimmed.
fn events<K>(
    api: Api<K>,
    wc: watcher::Config,
) -> BoxStream<'static, Result<Event<K>, watcher::Error>>
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    K::DynamicType: Default,
{
    watcher(api, wc)
        .default_backoff()
        // Managed fields are large and never labelled; slim() drops what no label reads.
        .modify(|o| {
            o.managed_fields_mut().clear();
            slim(o);
        })
        .boxed()
}

/// Whether the apiserver refused to open a streaming list (422 Invalid when the WatchList
/// feature is off; 400 from servers that reject the parameters).
fn streaming_refused<K>(ev: &Result<Event<K>, watcher::Error>) -> bool {
    matches!(
        ev,
        Err(watcher::Error::WatchStartFailed(kube::Error::Api(status)))
            if matches!(status.code, 400 | 422)
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Node,
    Service,
    Pod,
    Endpoints,
    EndpointSlice,
    Ingress,
}

impl Kind {
    fn role(self) -> Role {
        match self {
            Kind::Node => Role::Node,
            Kind::Service => Role::Service,
            Kind::Pod => Role::Pod,
            Kind::Endpoints => Role::Endpoints,
            Kind::EndpointSlice => Role::EndpointSlice,
            Kind::Ingress => Role::Ingress,
        }
    }
}

/// One watch stream's event, tagged with the stream's shard. (Variants differ in size;
/// each is consumed at once, so boxing would only add allocations.)
#[allow(clippy::large_enum_variant)]
enum Msg {
    Node(usize, Result<Event<Node>, watcher::Error>),
    Service(usize, Result<Event<Service>, watcher::Error>),
    Pod(usize, Result<Event<Pod>, watcher::Error>),
    Endpoints(usize, Result<Event<Endpoints>, watcher::Error>),
    EndpointSlice(usize, Result<Event<EndpointSlice>, watcher::Error>),
    Ingress(usize, Result<Event<Ingress>, watcher::Error>),
}

fn key(namespace: &str, name: &str) -> String {
    format!("{namespace}/{name}")
}

fn obj_key<K: Resource>(o: &K) -> String {
    key(
        o.meta().namespace.as_deref().unwrap_or(""),
        o.meta().name.as_deref().unwrap_or(""),
    )
}

/// The objects of one watch stream (one kind in one namespace, or cluster-wide).
struct Shard<K> {
    namespace: Option<String>,
    objects: HashMap<String, K>,
    /// Objects of a list in progress, swapped in at `InitDone`.
    pending: Option<HashMap<String, K>>,
    /// In a versions-only store: the resourceVersion of each object.
    versions: HashMap<String, Option<String>>,
    /// In a versions-only store: the objects seen by a list in progress.
    seen: Option<HashSet<String>>,
    synced: bool,
}

/// An object whose cached state changed.
struct Changed<K> {
    namespace: String,
    name: String,
    old: Option<K>,
    /// The new object, in a versions-only store (which does not keep it).
    new: Option<K>,
}

struct KindStore<K> {
    shards: Vec<Shard<K>>,
    /// Keep only resourceVersions, not objects: for the role's own kind when no other
    /// object's change re-emits its groups (node, service, ingress, pod without
    /// `attach_metadata.node`). A group is then built from the event's object and the
    /// object dropped, which keeps a 5,000-pod discovery small; a re-list sends groups as it
    /// reads objects whose version changed, and empty groups at its end for vanished ones.
    versions_only: bool,
}

impl<K: Resource + Clone> KindStore<K> {
    fn new() -> Self {
        KindStore {
            shards: Vec::new(),
            versions_only: false,
        }
    }

    fn get(&self, namespace: &str, name: &str) -> Option<&K> {
        let k = key(namespace, name);
        self.shards
            .iter()
            .filter(|s| s.namespace.as_deref().is_none_or(|n| n == namespace))
            .find_map(|s| s.objects.get(&k))
    }

    fn iter(&self) -> impl Iterator<Item = &K> {
        self.shards.iter().flat_map(|s| s.objects.values())
    }

    fn synced(&self) -> bool {
        self.shards.iter().all(|s| s.synced)
    }

    /// Applies one event to shard `i`; returns what changed (nothing while a list is in
    /// progress).
    fn apply(&mut self, i: usize, ev: Event<K>) -> Vec<Changed<K>> {
        if self.versions_only {
            return self.apply_versions(i, ev);
        }
        let shard = &mut self.shards[i];
        let changed = |o: &K, old: Option<K>| Changed {
            namespace: o.meta().namespace.clone().unwrap_or_default(),
            name: o.meta().name.clone().unwrap_or_default(),
            old,
            new: None,
        };
        match ev {
            Event::Init => {
                shard.pending = Some(HashMap::new());
                vec![]
            }
            Event::InitApply(o) => {
                shard
                    .pending
                    .get_or_insert_with(HashMap::new)
                    .insert(obj_key(&o), o);
                vec![]
            }
            Event::InitDone => {
                let new = shard.pending.take().unwrap_or_default();
                let mut old = std::mem::replace(&mut shard.objects, new);
                shard.synced = true;
                let mut out = Vec::new();
                for (k, o) in &shard.objects {
                    let prev = old.remove(k);
                    let same = prev
                        .as_ref()
                        .is_some_and(|p| p.meta().resource_version == o.meta().resource_version);
                    if !same {
                        out.push(changed(o, prev));
                    }
                }
                for (_, o) in old {
                    let mut c = changed(&o, None);
                    c.old = Some(o);
                    out.push(c);
                }
                out
            }
            Event::Apply(o) => {
                let prev = shard.objects.insert(obj_key(&o), o.clone());
                vec![changed(&o, prev)]
            }
            Event::Delete(o) => {
                let prev = shard.objects.remove(&obj_key(&o));
                vec![changed(&o, prev.or(Some(o.clone())))]
            }
        }
    }
}

impl<K: Resource + Clone> KindStore<K> {
    fn apply_versions(&mut self, i: usize, ev: Event<K>) -> Vec<Changed<K>> {
        let shard = &mut self.shards[i];
        let changed = |o: K| Changed {
            namespace: o.meta().namespace.clone().unwrap_or_default(),
            name: o.meta().name.clone().unwrap_or_default(),
            old: None,
            new: Some(o),
        };
        match ev {
            Event::Init => {
                shard.seen = Some(HashSet::new());
                vec![]
            }
            Event::InitApply(o) => {
                let k = obj_key(&o);
                shard
                    .seen
                    .get_or_insert_with(HashSet::new)
                    .insert(k.clone());
                let rv = o.meta().resource_version.clone();
                if shard.versions.get(&k) == Some(&rv) {
                    return vec![];
                }
                shard.versions.insert(k, rv);
                vec![changed(o)]
            }
            Event::InitDone => {
                shard.synced = true;
                let seen = shard.seen.take().unwrap_or_default();
                let gone: Vec<String> = shard
                    .versions
                    .keys()
                    .filter(|k| !seen.contains(*k))
                    .cloned()
                    .collect();
                gone.into_iter()
                    .map(|k| {
                        shard.versions.remove(&k);
                        let (ns, name) = k.split_once('/').unwrap_or(("", &k));
                        Changed {
                            namespace: ns.to_owned(),
                            name: name.to_owned(),
                            old: None,
                            new: None,
                        }
                    })
                    .collect()
            }
            Event::Apply(o) => {
                shard
                    .versions
                    .insert(obj_key(&o), o.meta().resource_version.clone());
                vec![changed(o)]
            }
            Event::Delete(o) => {
                shard.versions.remove(&obj_key(&o));
                let mut c = changed(o);
                c.new = None;
                vec![c]
            }
        }
    }
}

/// Every cache of a discoverer, and the logic that turns changes into groups.
struct State {
    role: Role,
    attach_node: bool,
    started: bool,
    nodes: KindStore<Node>,
    services: KindStore<Service>,
    pods: KindStore<Pod>,
    endpoints: KindStore<Endpoints>,
    slices: KindStore<EndpointSlice>,
    ingresses: KindStore<Ingress>,
}

impl Related for State {
    fn service(&self, namespace: &str, name: &str) -> Option<&Service> {
        self.services.get(namespace, name)
    }
    fn pod(&self, namespace: &str, name: &str) -> Option<&Pod> {
        self.pods.get(namespace, name)
    }
    fn node(&self, name: &str) -> Option<&Node> {
        self.nodes.get("", name)
    }
}

/// Logs a watch error; the stream itself retries after the backoff.
fn log_error(role: Role, kind: Kind, namespace: Option<&str>, e: &watcher::Error) {
    tracing::warn!(
        role = %role,
        kind = ?kind,
        namespace = namespace.unwrap_or("<all>"),
        error = %e,
        "Kubernetes watch failed; retrying with backoff"
    );
}

macro_rules! on_event {
    ($self:ident, $store:ident, $kind:expr, $i:expr, $res:expr) => {{
        match $res {
            Err(e) => {
                log_error(
                    $self.role,
                    $kind,
                    $self.$store.shards[$i].namespace.as_deref(),
                    &e,
                );
                Vec::new()
            }
            Ok(ev) => {
                let changes = $self.$store.apply($i, ev);
                $self.after(changes, |s| &s.$store, $kind)
            }
        }
    }};
}

impl State {
    fn new(role: Role, attach_node: bool) -> Self {
        let mut state = State {
            role,
            attach_node,
            started: false,
            nodes: KindStore::new(),
            services: KindStore::new(),
            pods: KindStore::new(),
            endpoints: KindStore::new(),
            slices: KindStore::new(),
            ingresses: KindStore::new(),
        };
        match role {
            Role::Node => state.nodes.versions_only = true,
            Role::Service => state.services.versions_only = true,
            Role::Ingress => state.ingresses.versions_only = true,
            Role::Pod => state.pods.versions_only = !attach_node,
            Role::Endpoints | Role::EndpointSlice => {}
        }
        state
    }

    fn add_shard(&mut self, kind: Kind, namespace: Option<String>) -> usize {
        macro_rules! add {
            ($store:ident) => {{
                self.$store.shards.push(Shard {
                    namespace,
                    objects: HashMap::new(),
                    pending: None,
                    versions: HashMap::new(),
                    seen: None,
                    synced: false,
                });
                self.$store.shards.len() - 1
            }};
        }
        match kind {
            Kind::Node => add!(nodes),
            Kind::Service => add!(services),
            Kind::Pod => add!(pods),
            Kind::Endpoints => add!(endpoints),
            Kind::EndpointSlice => add!(slices),
            Kind::Ingress => add!(ingresses),
        }
    }

    fn all_synced(&self) -> bool {
        self.nodes.synced()
            && self.services.synced()
            && self.pods.synced()
            && self.endpoints.synced()
            && self.slices.synced()
            && self.ingresses.synced()
    }

    fn handle(&mut self, msg: Msg) -> Vec<TargetGroup> {
        match msg {
            Msg::Node(i, r) => on_event!(self, nodes, Kind::Node, i, r),
            Msg::Service(i, r) => on_event!(self, services, Kind::Service, i, r),
            Msg::Pod(i, r) => on_event!(self, pods, Kind::Pod, i, r),
            Msg::Endpoints(i, r) => on_event!(self, endpoints, Kind::Endpoints, i, r),
            Msg::EndpointSlice(i, r) => on_event!(self, slices, Kind::EndpointSlice, i, r),
            Msg::Ingress(i, r) => on_event!(self, ingresses, Kind::Ingress, i, r),
        }
    }

    /// The groups to send after `changes` to the cache of `kind`.
    fn after<K>(
        &mut self,
        changes: Vec<Changed<K>>,
        _store: fn(&State) -> &KindStore<K>,
        kind: Kind,
    ) -> Vec<TargetGroup>
    where
        K: Resource + 'static,
    {
        if kind.role() == self.role && self.primary_versions_only() {
            // Groups straight from the events' objects (see `KindStore::versions_only`).
            return changes
                .into_iter()
                .filter_map(|c| match &c.new {
                    Some(o) => self.group_from(o as &dyn std::any::Any),
                    None => Some(translate::deleted(self.role, &c.namespace, &c.name)),
                })
                .collect();
        }
        if !self.started {
            if !self.all_synced() {
                return Vec::new();
            }
            self.started = true;
            return self.all_groups();
        }
        let mut out = Vec::new();
        for c in changes {
            if kind.role() == self.role {
                out.extend(self.group_of(&c.namespace, &c.name));
            } else {
                self.related_changed(kind, &c, &mut out);
            }
        }
        out
    }

    fn primary_versions_only(&self) -> bool {
        match self.role {
            Role::Node => self.nodes.versions_only,
            Role::Service => self.services.versions_only,
            Role::Pod => self.pods.versions_only,
            Role::Ingress => self.ingresses.versions_only,
            Role::Endpoints | Role::EndpointSlice => false,
        }
    }

    /// The group of an object of the role's kind, built from the object itself.
    fn group_from(&self, o: &dyn std::any::Any) -> Option<TargetGroup> {
        if let Some(n) = o.downcast_ref::<Node>() {
            return translate::node_group(n);
        }
        if let Some(s) = o.downcast_ref::<Service>() {
            return Some(translate::service_group(s));
        }
        if let Some(p) = o.downcast_ref::<Pod>() {
            return Some(translate::pod_group(p, self, self.attach_node));
        }
        o.downcast_ref::<Ingress>().map(translate::ingress_group)
    }

    /// The current group of the role's object `namespace/name` (an empty group if it is
    /// gone; nothing for a node without an address).
    fn group_of(&self, namespace: &str, name: &str) -> Option<TargetGroup> {
        let gone = || Some(translate::deleted(self.role, namespace, name));
        match self.role {
            Role::Node => match self.nodes.get("", name) {
                Some(n) => translate::node_group(n),
                None => gone(),
            },
            Role::Service => self
                .services
                .get(namespace, name)
                .map(translate::service_group)
                .or_else(gone),
            Role::Pod => self
                .pods
                .get(namespace, name)
                .map(|p| translate::pod_group(p, self, self.attach_node))
                .or_else(gone),
            Role::Endpoints => self
                .endpoints
                .get(namespace, name)
                .map(|e| translate::endpoints_group(e, self, self.attach_node))
                .or_else(gone),
            Role::EndpointSlice => self
                .slices
                .get(namespace, name)
                .map(|e| translate::endpointslice_group(e, self, self.attach_node))
                .or_else(gone),
            Role::Ingress => self
                .ingresses
                .get(namespace, name)
                .map(translate::ingress_group)
                .or_else(gone),
        }
    }

    fn all_groups(&self) -> Vec<TargetGroup> {
        let a = self.attach_node;
        match self.role {
            Role::Node => self
                .nodes
                .iter()
                .filter_map(translate::node_group)
                .collect(),
            Role::Service => self.services.iter().map(translate::service_group).collect(),
            Role::Pod => self
                .pods
                .iter()
                .map(|p| translate::pod_group(p, self, a))
                .collect(),
            Role::Endpoints => self
                .endpoints
                .iter()
                .map(|e| translate::endpoints_group(e, self, a))
                .collect(),
            Role::EndpointSlice => self
                .slices
                .iter()
                .map(|e| translate::endpointslice_group(e, self, a))
                .collect(),
            Role::Ingress => self
                .ingresses
                .iter()
                .map(translate::ingress_group)
                .collect(),
        }
    }

    /// Re-emission triggers for a related object, as Prometheus's informer handlers:
    /// a service → the endpoints of the same name / the slices naming it; a pod → the
    /// endpoints referencing it, only when its phase changed; a node → the pods, endpoints
    /// or slices on it.
    fn related_changed<K: Resource + 'static>(
        &self,
        kind: Kind,
        c: &Changed<K>,
        out: &mut Vec<TargetGroup>,
    ) {
        let (ns, name) = (c.namespace.as_str(), c.name.as_str());
        match (self.role, kind) {
            (Role::Endpoints, Kind::Service) if self.endpoints.get(ns, name).is_some() => {
                out.extend(self.group_of(ns, name));
            }
            (Role::EndpointSlice, Kind::Service) => {
                for s in self.slices.iter() {
                    let svc = s
                        .metadata
                        .labels
                        .as_ref()
                        .and_then(|l| l.get(translate::SERVICE_NAME_LABEL));
                    if s.metadata.namespace.as_deref() == Some(ns)
                        && svc.map(String::as_str) == Some(name)
                    {
                        out.extend(self.group_of(ns, s.metadata.name.as_deref().unwrap_or("")));
                    }
                }
            }
            (Role::Endpoints, Kind::Pod) => {
                // Prometheus reacts to pod updates only, and only to a phase change.
                let old_phase = c
                    .old
                    .as_ref()
                    .and_then(|o| (o as &dyn std::any::Any).downcast_ref::<Pod>())
                    .map(|p| p.status.as_ref().and_then(|s| s.phase.clone()));
                let Some(old_phase) = old_phase else { return };
                let Some(new) = self.pods.get(ns, name) else {
                    return;
                };
                if new.status.as_ref().and_then(|s| s.phase.clone()) == old_phase {
                    return;
                }
                for e in self.endpoints.iter() {
                    let refs = e.subsets.iter().flatten().flat_map(|s| {
                        s.addresses
                            .iter()
                            .flatten()
                            .chain(s.not_ready_addresses.iter().flatten())
                    });
                    let hit = refs.into_iter().any(|a| {
                        a.target_ref.as_ref().is_some_and(|r| {
                            r.kind.as_deref() == Some("Pod")
                                && r.namespace.as_deref() == Some(ns)
                                && r.name.as_deref() == Some(name)
                        })
                    });
                    if hit {
                        out.extend(self.group_of(
                            e.metadata.namespace.as_deref().unwrap_or(""),
                            e.metadata.name.as_deref().unwrap_or(""),
                        ));
                    }
                }
            }
            (Role::Pod, Kind::Node) => {
                for p in self.pods.iter() {
                    if p.spec.as_ref().and_then(|s| s.node_name.as_deref()) == Some(name) {
                        out.extend(
                            self.group_of(p.namespace().as_deref().unwrap_or(""), &p.name_any()),
                        );
                    }
                }
            }
            (Role::Endpoints, Kind::Node) => {
                for e in self.endpoints.iter() {
                    let hit = e.subsets.iter().flatten().any(|s| {
                        s.addresses
                            .iter()
                            .flatten()
                            .chain(s.not_ready_addresses.iter().flatten())
                            .any(|a| {
                                a.node_name.as_deref() == Some(name)
                                    || a.target_ref.as_ref().is_some_and(|r| {
                                        r.kind.as_deref() == Some("Node")
                                            && r.name.as_deref() == Some(name)
                                    })
                            })
                    });
                    if hit {
                        out.extend(self.group_of(
                            e.metadata.namespace.as_deref().unwrap_or(""),
                            e.metadata.name.as_deref().unwrap_or(""),
                        ));
                    }
                }
            }
            (Role::EndpointSlice, Kind::Node) => {
                for e in self.slices.iter() {
                    let hit = e.endpoints.iter().flatten().any(|ep| {
                        ep.node_name.as_deref() == Some(name)
                            || ep.target_ref.as_ref().is_some_and(|r| {
                                r.kind.as_deref() == Some("Node") && r.name.as_deref() == Some(name)
                            })
                    });
                    if hit {
                        out.extend(self.group_of(
                            e.metadata.namespace.as_deref().unwrap_or(""),
                            e.metadata.name.as_deref().unwrap_or(""),
                        ));
                    }
                }
            }
            // Prometheus does not re-emit slices on pod changes.
            _ => {}
        }
    }
}
