//! Relabeling: `relabel_configs`, `metric_relabel_configs` (and `alert_relabel_configs`,
//! `write_relabel_configs`), with the semantics of Prometheus 3.5's `model/relabel`.
//!
//! A [`RelabelConfig`] is validated and its regex compiled while the configuration is
//! deserialized, so a loaded configuration never holds an invalid rule. [`process`] applies a
//! list of rules to any [`LabelStore`]: the discovery [`LabelSet`] (a `BTreeMap`) for targets,
//! or a sorted `Vec<(String, String)>` ([`SortedLabels`]) for the per-sample path, which avoids
//! tree nodes per label.
//!
//! Rules are validated as Prometheus 3.5 does: label names (source labels, target labels,
//! `labelmap` replacements) may be any non-empty UTF-8 string, as under 3.x's default `utf8`
//! validation scheme. Regexes follow Go RE2 as 3.x compiles them (`^(?s:...)$`: `.` matches
//! `\n`); see [`regex`].
//!
//! [`populate_labels`] turns a discovered target into its final labels, as Prometheus's
//! `PopulateLabels`.

mod md5;
mod populate;
pub mod regex;

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Deserializer};

use crate::discovery::LabelSet;

pub use populate::{populate_labels, public_labels, PopulateError, Populated};
pub use regex::Regex;

/// What a rule does (`action`, read case-insensitively).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Sets `target_label` to the expanded `replacement` when the regex matches.
    Replace,
    /// Drops the target/series unless the regex matches the joined source values.
    Keep,
    /// Drops the target/series when the regex matches the joined source values.
    Drop,
    /// Drops unless the joined source values equal the value of `target_label` (2.41+).
    KeepEqual,
    /// Drops when the joined source values equal the value of `target_label` (2.41+).
    DropEqual,
    /// Sets `target_label` to an MD5-based hash of the joined source values modulo `modulus`.
    HashMod,
    /// Copies every label whose name matches to the name given by `replacement`.
    LabelMap,
    /// Removes every label whose name matches.
    LabelDrop,
    /// Removes every label whose name does not match.
    LabelKeep,
    /// Sets `target_label` to the joined source values in lower case.
    Lowercase,
    /// Sets `target_label` to the joined source values in upper case.
    Uppercase,
}

impl Action {
    /// The name as Prometheus writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Replace => "replace",
            Action::Keep => "keep",
            Action::Drop => "drop",
            Action::KeepEqual => "keepequal",
            Action::DropEqual => "dropequal",
            Action::HashMod => "hashmod",
            Action::LabelMap => "labelmap",
            Action::LabelDrop => "labeldrop",
            Action::LabelKeep => "labelkeep",
            Action::Lowercase => "lowercase",
            Action::Uppercase => "uppercase",
        }
    }

    /// Parses an action name, ignoring case; the error is Prometheus's.
    pub fn parse(s: &str) -> Result<Self, String> {
        Ok(match s.to_lowercase().as_str() {
            "replace" => Action::Replace,
            "keep" => Action::Keep,
            "drop" => Action::Drop,
            "keepequal" => Action::KeepEqual,
            "dropequal" => Action::DropEqual,
            "hashmod" => Action::HashMod,
            "labelmap" => Action::LabelMap,
            "labeldrop" => Action::LabelDrop,
            "labelkeep" => Action::LabelKeep,
            "lowercase" => Action::Lowercase,
            "uppercase" => Action::Uppercase,
            _ => return Err(format!("unknown relabel action {s:?}")),
        })
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether `name` is a valid label name under the legacy rule `[a-zA-Z_][a-zA-Z0-9_]*`
/// (`metric_name_validation_scheme: legacy`); under 3.x's default any non-empty name is.
pub fn is_valid_label_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    match bytes.next() {
        Some(b) if b.is_ascii_alphabetic() || b == b'_' => {}
        _ => return false,
    }
    bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// One relabeling rule. Fields mirror Prometheus's YAML; defaults are Prometheus's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelabelConfig {
    /// `source_labels`: their values, joined with `separator`, are the rule's input (a missing
    /// label contributes `""`). Default: none.
    pub source_labels: Vec<String>,
    /// `separator` (default `;`).
    pub separator: String,
    /// `regex`, anchored (default `(.*)`; an explicit null is the empty regex).
    pub regex: Regex,
    /// `modulus` for `hashmod` (default 0, which `hashmod` rejects).
    pub modulus: u64,
    /// `target_label` (default empty); may hold `$1`-style references for `replace`.
    pub target_label: String,
    /// `replacement` (default `$1`).
    pub replacement: String,
    /// `action` (default `replace`).
    pub action: Action,
    /// Whether `source_labels` was given at all (even empty): `labeldrop`/`labelkeep` reject
    /// it, as Prometheus does.
    source_labels_given: bool,
}

impl Default for RelabelConfig {
    fn default() -> Self {
        RelabelConfig {
            source_labels: Vec::new(),
            separator: ";".to_owned(),
            regex: Regex::default_regex(),
            modulus: 0,
            target_label: String::new(),
            replacement: "$1".to_owned(),
            action: Action::Replace,
            source_labels_given: false,
        }
    }
}

/// A field as written: absent (`None`), null (`Some(None)`) or a value.
type Field<T> = Option<Option<T>>;

fn field<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Field<T>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// The YAML form before validation.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RelabelConfigYaml {
    #[serde(default, deserialize_with = "field")]
    source_labels: Field<Vec<String>>,
    #[serde(default, deserialize_with = "field")]
    separator: Field<String>,
    #[serde(default, deserialize_with = "field")]
    regex: Field<String>,
    #[serde(default, deserialize_with = "field")]
    modulus: Field<u64>,
    #[serde(default, deserialize_with = "field")]
    target_label: Field<String>,
    #[serde(default, deserialize_with = "field")]
    replacement: Field<String>,
    #[serde(default, deserialize_with = "field")]
    action: Field<String>,
}

impl<'de> Deserialize<'de> for RelabelConfig {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let y = RelabelConfigYaml::deserialize(d)?;
        RelabelConfig::from_yaml(y).map_err(serde::de::Error::custom)
    }
}

impl RelabelConfig {
    /// Parses one rule from YAML text (as one element of a `relabel_configs` list).
    pub fn from_yaml_str(text: &str) -> Result<Self, String> {
        serde_yaml::from_str(text).map_err(|e| e.to_string())
    }

    fn from_yaml(y: RelabelConfigYaml) -> Result<Self, String> {
        let mut c = RelabelConfig::default();
        // A null value is the field type's zero value, as Go's YAML decoder gives it.
        if let Some(v) = y.source_labels {
            c.source_labels_given = v.is_some();
            c.source_labels = v.unwrap_or_default();
            for name in &c.source_labels {
                if name.is_empty() {
                    return Err(format!("{name:?} is not a valid label name"));
                }
            }
        }
        if let Some(v) = y.separator {
            c.separator = v.unwrap_or_default();
        }
        if let Some(v) = y.regex {
            c.regex = Regex::new(&v.unwrap_or_default())?;
        }
        if let Some(v) = y.modulus {
            c.modulus = v.unwrap_or_default();
        }
        if let Some(v) = y.target_label {
            c.target_label = v.unwrap_or_default();
        }
        if let Some(v) = y.replacement {
            c.replacement = v.unwrap_or_default();
        }
        match y.action {
            None => {}
            Some(None) => return Err("relabel action cannot be empty".to_owned()),
            Some(Some(a)) => c.action = Action::parse(&a)?,
        }
        c.validate()?;
        Ok(c)
    }

    /// Prometheus 3.5's `Config.Validate`, with its error messages.
    pub fn validate(&self) -> Result<(), String> {
        use Action::*;
        let a = self.action;
        let t = &self.target_label;
        if self.modulus == 0 && a == HashMod {
            return Err("relabel configuration for hashmod requires non-zero modulus".to_owned());
        }
        if matches!(
            a,
            Replace | HashMod | Lowercase | Uppercase | KeepEqual | DropEqual
        ) && t.is_empty()
        {
            return Err(format!(
                "relabel configuration for {a} action requires 'target_label' value"
            ));
        }
        // Under 3.x's UTF-8 validation every non-empty target label (templated or not) and
        // every non-empty `labelmap` replacement is a valid name.
        if matches!(a, Lowercase | Uppercase | KeepEqual | DropEqual) && self.replacement != "$1" {
            return Err(format!("'replacement' can not be set for {a} action"));
        }
        if a == LabelMap && self.replacement.is_empty() {
            return Err(format!(
                "{:?} is invalid 'replacement' for {a} action",
                self.replacement
            ));
        }
        if matches!(a, KeepEqual | DropEqual)
            && (!self.regex.is_default()
                || self.modulus != 0
                || self.separator != ";"
                || self.replacement != "$1")
        {
            return Err(format!(
                "{a} action requires only 'source_labels' and `target_label`, and no other fields"
            ));
        }
        if matches!(a, LabelDrop | LabelKeep)
            && (self.source_labels_given
                || !t.is_empty()
                || self.modulus != 0
                || self.separator != ";"
                || self.replacement != "$1")
        {
            return Err(format!(
                "{a} action requires only 'regex', and no other fields"
            ));
        }
        Ok(())
    }
}

/// A mutable label set that rules can be applied to. An empty value means "absent" throughout:
/// [`LabelStore::set`] with `""` removes the label, as Prometheus's label builder does.
pub trait LabelStore {
    /// The value of `name`, `""` when absent.
    fn value(&self, name: &str) -> &str;
    /// Sets `name` to `value`; an empty value removes the label.
    fn set(&mut self, name: &str, value: &str);
    /// Removes every label for which `drop(name)` is true.
    fn remove_where(&mut self, drop: &mut dyn FnMut(&str) -> bool);
    /// A copy of the current labels, in name order.
    fn snapshot(&self) -> Vec<(String, String)>;
}

impl LabelStore for LabelSet {
    fn value(&self, name: &str) -> &str {
        self.get(name).map_or("", String::as_str)
    }
    fn set(&mut self, name: &str, value: &str) {
        if value.is_empty() {
            self.remove(name);
        } else if let Some(v) = self.get_mut(name) {
            v.clear();
            v.push_str(value);
        } else {
            self.insert(name.to_owned(), value.to_owned());
        }
    }
    fn remove_where(&mut self, drop: &mut dyn FnMut(&str) -> bool) {
        self.retain(|k, _| !drop(k));
    }
    fn snapshot(&self) -> Vec<(String, String)> {
        self.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }
}

/// Labels as a `Vec` sorted by name (unique names): the compact form for the per-sample
/// `metric_relabel_configs` path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SortedLabels(pub Vec<(String, String)>);

impl SortedLabels {
    /// Builds from pairs in any order; a later duplicate name wins; empty values are dropped.
    pub fn from_pairs<N: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (N, V)>,
    ) -> Self {
        let mut s = SortedLabels::default();
        for (n, v) in pairs {
            s.set(&n.into(), &v.into());
        }
        s
    }

    fn find(&self, name: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(n, _)| n.as_str().cmp(name))
    }
}

impl LabelStore for SortedLabels {
    fn value(&self, name: &str) -> &str {
        self.find(name).map_or("", |i| self.0[i].1.as_str())
    }
    fn set(&mut self, name: &str, value: &str) {
        match (self.find(name), value.is_empty()) {
            (Ok(i), true) => {
                self.0.remove(i);
            }
            (Ok(i), false) => {
                let v = &mut self.0[i].1;
                v.clear();
                v.push_str(value);
            }
            (Err(_), true) => {}
            (Err(i), false) => self.0.insert(i, (name.to_owned(), value.to_owned())),
        }
    }
    fn remove_where(&mut self, drop: &mut dyn FnMut(&str) -> bool) {
        self.0.retain(|(k, _)| !drop(k));
    }
    fn snapshot(&self) -> Vec<(String, String)> {
        self.0.clone()
    }
}

/// Applies `rules` in order. Returns `false` as soon as a rule drops the label set (the labels
/// are then partly relabeled and must not be used).
pub fn process<L: LabelStore + ?Sized>(rules: &[RelabelConfig], labels: &mut L) -> bool {
    rules.iter().all(|rule| apply(rule, labels))
}

/// The rule's input: the source values joined with the separator.
fn joined<'a, L: LabelStore + ?Sized>(rule: &RelabelConfig, labels: &'a L) -> Cow<'a, str> {
    match rule.source_labels.as_slice() {
        [] => Cow::Borrowed(""),
        [one] => Cow::Borrowed(labels.value(one)),
        many => {
            let mut s = String::new();
            for (i, name) in many.iter().enumerate() {
                if i > 0 {
                    s.push_str(&rule.separator);
                }
                s.push_str(labels.value(name));
            }
            Cow::Owned(s)
        }
    }
}

fn apply<L: LabelStore + ?Sized>(rule: &RelabelConfig, labels: &mut L) -> bool {
    match rule.action {
        Action::Drop => !rule.regex.is_match(&joined(rule, labels)),
        Action::Keep => rule.regex.is_match(&joined(rule, labels)),
        Action::DropEqual => *joined(rule, labels) != *labels.value(&rule.target_label),
        Action::KeepEqual => *joined(rule, labels) == *labels.value(&rule.target_label),
        Action::Replace => {
            let val = joined(rule, labels);
            // Prometheus's fast path: with the implicit regex, an empty input and no `$` in
            // target or replacement, set the constant (an empty replacement deletes).
            if val.is_empty()
                && rule.regex.is_default()
                && !rule.target_label.contains('$')
                && !rule.replacement.contains('$')
            {
                labels.set(&rule.target_label, &rule.replacement);
                return true;
            }
            let Some([target, res]) = rule
                .regex
                .match_expand_all(&val, [&rule.target_label, &rule.replacement])
            else {
                return true;
            };
            // 3.x: any non-empty UTF-8 name is valid.
            if !target.is_empty() {
                labels.set(&target, &res);
            }
            true
        }
        Action::Lowercase => {
            let v = go_lowercase(&joined(rule, labels));
            labels.set(&rule.target_label, &v);
            true
        }
        Action::Uppercase => {
            let v = go_uppercase(&joined(rule, labels));
            labels.set(&rule.target_label, &v);
            true
        }
        Action::HashMod => {
            let v = hashmod(&joined(rule, labels), rule.modulus);
            labels.set(&rule.target_label, &v.to_string());
            true
        }
        Action::LabelMap => {
            for (name, value) in labels.snapshot() {
                if let Some(new_name) = rule.regex.match_expand(&name, &rule.replacement) {
                    labels.set(&new_name, &value);
                }
            }
            true
        }
        Action::LabelDrop => {
            labels.remove_where(&mut |name| rule.regex.is_match(name));
            true
        }
        Action::LabelKeep => {
            labels.remove_where(&mut |name| !rule.regex.is_match(name));
            true
        }
    }
}

/// `hashmod`: the last 8 bytes of the MD5 of `value`, big-endian, modulo `modulus`.
pub fn hashmod(value: &str, modulus: u64) -> u64 {
    let d = md5::digest(value.as_bytes());
    let mut last = [0u8; 8];
    last.copy_from_slice(&d[8..]);
    u64::from_be_bytes(last) % modulus.max(1)
}

/// Go's `strings.ToLower`: per-character simple case mapping. Rust's full mapping of `İ`
/// (`i` + combining dot) is cut to its first character, as the simple mapping gives `i`.
fn go_lowercase(s: &str) -> String {
    s.chars()
        .map(|c| c.to_lowercase().next().unwrap_or(c))
        .collect()
}

/// Go's `strings.ToUpper`: characters without a one-character upper case (`ß`, ligatures) stay
/// as they are, where Rust's full mapping would expand them (`SS`).
fn go_uppercase(s: &str) -> String {
    s.chars()
        .map(|c| {
            let mut up = c.to_uppercase();
            match (up.next(), up.next()) {
                (Some(u), None) => u,
                _ => c,
            }
        })
        .collect()
}

/// Fuzz entry point: the input is a YAML list of rules, a line `---`, then `name=value`
/// lines. Parsing must never panic, and processing a label set with valid rules must neither
/// panic nor leave an empty value, and must give the same answer on both label stores.
pub fn fuzz_relabel(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (rules_text, labels_text) = text.split_once("\n---\n").unwrap_or((text, ""));
    let Ok(rules) = serde_yaml::from_str::<Vec<RelabelConfig>>(rules_text) else {
        return;
    };
    let mut set = LabelSet::new();
    for line in labels_text.lines() {
        if let Some((n, v)) = line.split_once('=') {
            LabelStore::set(&mut set, n, v);
        }
    }
    let mut sorted = SortedLabels::from_pairs(set.clone());
    let kept = process(&rules, &mut set);
    let kept_sorted = process(&rules, &mut sorted);
    assert_eq!(kept, kept_sorted, "the two label stores disagree on keep");
    if kept {
        assert!(
            set.values().all(|v| !v.is_empty()),
            "an empty value survived"
        );
        let from_set: Vec<(String, String)> = set.into_iter().collect();
        assert_eq!(from_set, sorted.0, "the two label stores disagree");
    }
}

#[cfg(test)]
mod tests;
