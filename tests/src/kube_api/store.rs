//! The objects, the resourceVersion counter and the event history.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{json, Value};

/// The kinds of object the test server holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// core/v1 Pod.
    Pod,
    /// core/v1 Service.
    Service,
    /// core/v1 Endpoints.
    Endpoints,
    /// discovery.k8s.io/v1 EndpointSlice.
    EndpointSlice,
    /// core/v1 Node (cluster-scoped).
    Node,
    /// networking.k8s.io/v1 Ingress.
    Ingress,
    /// core/v1 Namespace (cluster-scoped).
    Namespace,
}

const ALL: [Kind; 7] = [
    Kind::Pod,
    Kind::Service,
    Kind::Endpoints,
    Kind::EndpointSlice,
    Kind::Node,
    Kind::Ingress,
    Kind::Namespace,
];

impl Kind {
    /// The object `kind` field.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Pod => "Pod",
            Kind::Service => "Service",
            Kind::Endpoints => "Endpoints",
            Kind::EndpointSlice => "EndpointSlice",
            Kind::Node => "Node",
            Kind::Ingress => "Ingress",
            Kind::Namespace => "Namespace",
        }
    }

    /// The URL resource name.
    pub fn resource(self) -> &'static str {
        match self {
            Kind::Pod => "pods",
            Kind::Service => "services",
            Kind::Endpoints => "endpoints",
            Kind::EndpointSlice => "endpointslices",
            Kind::Node => "nodes",
            Kind::Ingress => "ingresses",
            Kind::Namespace => "namespaces",
        }
    }

    /// `apiVersion`.
    pub fn api_version(self) -> &'static str {
        match self {
            Kind::EndpointSlice => "discovery.k8s.io/v1",
            Kind::Ingress => "networking.k8s.io/v1",
            _ => "v1",
        }
    }

    /// Whether objects of this kind live in a namespace.
    pub fn namespaced(self) -> bool {
        !matches!(self, Kind::Node | Kind::Namespace)
    }

    /// Every kind the server holds.
    pub fn all() -> [Kind; 7] {
        ALL
    }

    pub(crate) fn from_name(kind: &str) -> Option<Kind> {
        ALL.into_iter().find(|k| k.name() == kind)
    }

    pub(crate) fn from_path(api_version: &str, resource: &str) -> Option<Kind> {
        ALL.into_iter()
            .find(|k| k.api_version() == api_version && k.resource() == resource)
    }
}

/// One change, as a watch sends it.
pub(crate) struct EventRec {
    pub rv: u64,
    pub kind: Kind,
    pub namespace: String,
    pub etype: &'static str,
    pub object: Value,
}

/// What watchers are told.
#[derive(Clone)]
pub(crate) enum Broadcast {
    Event(Arc<EventRec>),
    /// The history was compacted: open watches end with 410.
    Expired,
}

#[derive(Default)]
pub(crate) struct Store {
    rv: u64,
    objects: BTreeMap<(Kind, String, String), Value>,
    history: Vec<Arc<EventRec>>,
    /// Watches from a resourceVersion below this get 410 Gone.
    compacted: u64,
    uid: u64,
}

impl Store {
    pub fn resource_version(&self) -> u64 {
        self.rv
    }

    pub fn compacted(&self) -> u64 {
        self.compacted
    }

    pub fn apply(&mut self, mut obj: Value) -> Result<(Value, Broadcast), String> {
        let kind_name = obj
            .get("kind")
            .and_then(Value::as_str)
            .ok_or("object has no kind")?;
        let kind =
            Kind::from_name(kind_name).ok_or_else(|| format!("unsupported kind {kind_name:?}"))?;
        obj["apiVersion"] = json!(kind.api_version());
        let meta = obj
            .get_mut("metadata")
            .and_then(Value::as_object_mut)
            .ok_or("object has no metadata")?;
        let name = meta
            .get("name")
            .and_then(Value::as_str)
            .ok_or("object has no metadata.name")?
            .to_owned();
        let namespace = if kind.namespaced() {
            let ns = meta
                .get("namespace")
                .and_then(Value::as_str)
                .unwrap_or("default")
                .to_owned();
            meta.insert("namespace".into(), json!(ns));
            ns
        } else {
            String::new()
        };
        self.rv += 1;
        meta.insert("resourceVersion".into(), json!(self.rv.to_string()));
        let key = (kind, namespace.clone(), name);
        let etype = match self.objects.get(&key) {
            Some(old) => {
                if !meta.contains_key("uid") {
                    meta.insert("uid".into(), old["metadata"]["uid"].clone());
                }
                "MODIFIED"
            }
            None => {
                if !meta.contains_key("uid") {
                    self.uid += 1;
                    meta.insert(
                        "uid".into(),
                        json!(format!("00000000-0000-4000-8000-{:012}", self.uid)),
                    );
                }
                "ADDED"
            }
        };
        self.objects.insert(key, obj.clone());
        Ok((obj.clone(), self.record(kind, namespace, etype, obj)))
    }

    pub fn delete(&mut self, kind: Kind, namespace: &str, name: &str) -> Option<Broadcast> {
        let namespace = if kind.namespaced() { namespace } else { "" };
        let mut obj = self
            .objects
            .remove(&(kind, namespace.to_owned(), name.to_owned()))?;
        self.rv += 1;
        obj["metadata"]["resourceVersion"] = json!(self.rv.to_string());
        Some(self.record(kind, namespace.to_owned(), "DELETED", obj))
    }

    pub fn expire(&mut self) -> Broadcast {
        self.history.clear();
        self.compacted = self.rv;
        Broadcast::Expired
    }

    fn record(
        &mut self,
        kind: Kind,
        namespace: String,
        etype: &'static str,
        object: Value,
    ) -> Broadcast {
        let rec = Arc::new(EventRec {
            rv: self.rv,
            kind,
            namespace,
            etype,
            object,
        });
        self.history.push(rec.clone());
        Broadcast::Event(rec)
    }

    /// The objects of `kind` (in `namespace` if given), sorted by namespace and name.
    pub fn list(&self, kind: Kind, namespace: Option<&str>) -> Vec<&Value> {
        self.objects
            .iter()
            .filter(|((k, ns, _), _)| *k == kind && namespace.is_none_or(|n| n == ns))
            .map(|(_, v)| v)
            .collect()
    }

    pub fn get(&self, kind: Kind, namespace: &str, name: &str) -> Option<&Value> {
        let namespace = if kind.namespaced() { namespace } else { "" };
        self.objects
            .get(&(kind, namespace.to_owned(), name.to_owned()))
    }

    /// The recorded events after `rv`.
    pub fn since(&self, rv: u64) -> Vec<Arc<EventRec>> {
        let start = self.history.partition_point(|e| e.rv <= rv);
        self.history[start..].to_vec()
    }
}

/// Splits a selector at the commas outside parentheses.
fn selector_terms(selector: &str) -> Vec<&str> {
    let mut terms = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    for (i, c) in selector.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                terms.push(&selector[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    terms.push(&selector[start..]);
    terms
        .into_iter()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .collect()
}

/// A label selector: `k=v`, `k==v`, `k!=v`, `k`, `!k`, `k in (a,b)`, `k notin (a,b)`.
pub(crate) fn matches_labels(obj: &Value, selector: &str) -> Result<bool, String> {
    let labels = &obj["metadata"]["labels"];
    let get = |k: &str| labels.get(k.trim()).and_then(Value::as_str);
    for term in selector_terms(selector) {
        let set_op = |op: &str| -> Option<(&str, Vec<&str>)> {
            let (k, rest) = term.split_once(op)?;
            let values = rest.trim().strip_prefix('(')?.strip_suffix(')')?;
            Some((k.trim(), values.split(',').map(str::trim).collect()))
        };
        let ok = if let Some((k, values)) = set_op(" notin ") {
            get(k).is_none_or(|v| !values.contains(&v))
        } else if let Some((k, values)) = set_op(" in ") {
            get(k).is_some_and(|v| values.contains(&v))
        } else if let Some((k, v)) = term.split_once("!=") {
            get(k) != Some(v.trim())
        } else if let Some((k, v)) = term.split_once("==").or_else(|| term.split_once('=')) {
            get(k) == Some(v.trim())
        } else if let Some(k) = term.strip_prefix('!') {
            get(k).is_none()
        } else if term.contains([' ', '(', '<', '>']) {
            return Err(format!("unsupported label selector term {term:?}"));
        } else {
            get(term).is_some()
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

/// A field selector: `path=v`, `path==v`, `path!=v` over the object's JSON (dotted paths).
pub(crate) fn matches_fields(obj: &Value, selector: &str) -> Result<bool, String> {
    for term in selector.split(',').filter(|t| !t.is_empty()) {
        let (path, want, negate) = if let Some((k, v)) = term.split_once("!=") {
            (k, v, true)
        } else if let Some((k, v)) = term.split_once("==").or_else(|| term.split_once('=')) {
            (k, v, false)
        } else {
            return Err(format!("invalid field selector term {term:?}"));
        };
        let mut cur = obj;
        for part in path.split('.') {
            cur = &cur[part];
        }
        let got = match cur {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            other => other.to_string(),
        };
        if (got == want) == negate {
            return Ok(false);
        }
    }
    Ok(true)
}
