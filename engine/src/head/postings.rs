//! The head's inverted index: label name → sorted values → roaring postings of series ids.
//!
//! What must stay true: every live series id appears in exactly the postings of its label
//! pairs and in `all`; removing a series removes it everywhere and drops empty entries.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;

use roaring::RoaringBitmap;

use crate::labels::Labels;

/// Label index of the head. Not synchronized: the head wraps it in a lock.
#[derive(Debug, Default)]
pub(crate) struct MemPostings {
    all: RoaringBitmap,
    by_name: HashMap<Box<str>, BTreeMap<Box<str>, RoaringBitmap>>,
}

impl MemPostings {
    pub fn add(&mut self, id: u32, labels: &Labels) {
        self.all.insert(id);
        for l in labels {
            let values = match self.by_name.get_mut(l.name) {
                Some(v) => v,
                None => self.by_name.entry(l.name.into()).or_default(),
            };
            match values.get_mut(l.value) {
                Some(p) => {
                    p.insert(id);
                }
                None => {
                    let mut p = RoaringBitmap::new();
                    p.insert(id);
                    values.insert(l.value.into(), p);
                }
            }
        }
    }

    pub fn remove(&mut self, id: u32, labels: &Labels) {
        self.all.remove(id);
        for l in labels {
            let Some(values) = self.by_name.get_mut(l.name) else {
                continue;
            };
            if let Some(p) = values.get_mut(l.value) {
                p.remove(id);
                if p.is_empty() {
                    values.remove(l.value);
                }
            }
            if values.is_empty() {
                self.by_name.remove(l.name);
            }
        }
    }

    pub fn all(&self) -> &RoaringBitmap {
        &self.all
    }

    pub fn get(&self, name: &str, value: &str) -> Option<&RoaringBitmap> {
        self.by_name.get(name)?.get(value)
    }

    /// Values of `name` starting with `prefix`, in order, with their postings.
    pub fn values_with_prefix<'a>(
        &'a self,
        name: &str,
        prefix: &'a str,
    ) -> impl Iterator<Item = (&'a str, &'a RoaringBitmap)> + 'a {
        self.by_name
            .get(name)
            .into_iter()
            .flat_map(move |m| {
                m.range::<str, _>((Bound::Included(prefix), Bound::Unbounded))
                    .take_while(move |(k, _)| k.starts_with(prefix))
            })
            .map(|(k, v)| (&**k, v))
    }

    pub fn values(&self, name: &str) -> Vec<String> {
        self.by_name
            .get(name)
            .map(|m| m.keys().map(|k| k.to_string()).collect())
            .unwrap_or_default()
    }

    pub fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = self.by_name.keys().map(|k| k.to_string()).collect();
        v.sort_unstable();
        v
    }

    /// Every distinct string used as a label name or value, sorted.
    pub fn symbols(&self) -> Vec<String> {
        let mut set: std::collections::BTreeSet<&str> = std::collections::BTreeSet::new();
        for (n, values) in &self.by_name {
            set.insert(n);
            set.extend(values.keys().map(|k| &**k));
        }
        set.into_iter().map(str::to_owned).collect()
    }

    /// (name, value, series count) for every label pair; used for cardinality stats.
    pub fn pair_counts(&self) -> impl Iterator<Item = (&str, &str, u64)> {
        self.by_name
            .iter()
            .flat_map(|(n, vs)| vs.iter().map(move |(v, p)| (&**n, &**v, p.len())))
    }

    /// (name, distinct value count) for every label name.
    pub fn name_value_counts(&self) -> impl Iterator<Item = (&str, usize)> {
        self.by_name.iter().map(|(n, vs)| (&**n, vs.len()))
    }
}
