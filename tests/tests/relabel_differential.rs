//! Differential test of target relabeling against the real Prometheus 3.5.
//!
//! One `prometheus.yml` with several jobs, all discovering the same targets through
//! `file_sd_configs` from a JSON file whose groups carry `__meta_kubernetes_*` labels shaped like
//! Kubernetes pods and endpoints (annotations, container ports, pod labels, empty values,
//! addresses without ports, IPv6, newlines, per-target overrides of `job`, `instance`,
//! `__scheme__`, `__param_*`, `__scrape_interval__`/`__scrape_timeout__`). The jobs use the
//! seeds' rules verbatim (seed 000's seven rules, seed 002's out-of-cluster rules, the pod
//! annotation rules seed 003 relies on) and rules covering every action and edge case.
//!
//! Prometheus reads the file, and `GET /api/v1/targets?state=any` lists each active target's
//! labels and discovered labels and each dropped target's discovered labels. Tidemark loads the
//! same file with `Config::load`, builds the same groups (adding `__meta_filepath` as file SD
//! does) and runs `populate_labels`; both sides must list the same active and dropped targets.
//! Targets Prometheus rejects with an error (e.g. "no address") appear in neither list, and
//! must be errors here too.
//!
//! Prometheus 3.5 reports each target's discovered labels as they were before relabeling (2.42
//! overwrote them with a later state), so every active target is compared by its final and its
//! discovered labels, and every dropped target by its discovered labels. The `utf8-names` job
//! covers what 3.x changed: any non-empty UTF-8 label name (dots, dashes, a leading digit) in
//! `target_label`, templated targets and `labelmap` replacements, and `.` matching a newline.
//!
//! All addresses are loopback (scrape intervals are 1h so hardly any scrape happens at all).

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tidemark_ingest::config::Config;
use tidemark_ingest::discovery::LabelSet;
use tidemark_ingest::relabel::{populate_labels, public_labels};
use tidemark_tests::prom::{PromOptions, PromServer};

const JOBS: &str = r#"
global:
  scrape_interval: 1h
  scrape_timeout: 10s
scrape_configs:
  # Seed 000, verbatim rules.
  - job_name: 'kubernetes-service-endpoints'
    scrape_timeout: 1s
    file_sd_configs: [{files: ['@FILE@']}]
    relabel_configs:
      - source_labels: [__meta_kubernetes_service_annotation_se7entyse7en_prometheus_scrape]
        action: keep
        regex: true
      - source_labels: [__meta_kubernetes_service_annotation_se7entyse7en_prometheus_scheme]
        action: replace
        target_label: __scheme__
        regex: (https?)
      - source_labels: [__meta_kubernetes_service_annotation_se7entyse7en_prometheus_path]
        action: replace
        target_label: __metrics_path__
        regex: (.+)
      - source_labels: [__address__, __meta_kubernetes_service_annotation_se7entyse7en_prometheus_port]
        action: replace
        target_label: __address__
        regex: ([^:]+)(?::\d+)?;(\d+)
        replacement: $1:$2
      - source_labels: [__meta_kubernetes_namespace]
        action: replace
        target_label: kubernetes_namespace
      - source_labels: [__meta_kubernetes_service_name]
        action: replace
        target_label: kubernetes_service
      - source_labels: [__meta_kubernetes_pod_name]
        action: replace
        target_label: kubernetes_pod

  # Seed 002's rules, with a loopback API server address in place of the blanked one.
  - job_name: 'natsd'
    scheme: https
    file_sd_configs: [{files: ['@FILE@']}]
    relabel_configs:
      - source_labels: [__meta_kubernetes_namespace, __meta_kubernetes_pod_name, __meta_kubernetes_pod_container_port_name]
        action: keep
        regex: default;natsd-.*;metrics
      - target_label: __address__
        replacement: '127.0.0.9:6443'
      - source_labels: [__meta_kubernetes_namespace, __meta_kubernetes_pod_name,__meta_kubernetes_pod_container_port_number]
        regex: (.+);(.+);(.+)
        target_label: __metrics_path__
        replacement: /api/v1/namespaces/${1}/pods/http:${2}:${3}/proxy/metrics
      - action: labelmap
        regex: __meta_kubernetes_pod_label_(service|tier|type)
      - source_labels: [__meta_kubernetes_namespace]
        action: replace
        target_label: namespace
      - source_labels: [__meta_kubernetes_pod_name]
        action: replace
        target_label: pod_name

  # Seed 002 verbatim: the blanked address makes every kept target an error ("no address").
  - job_name: 'natsd-verbatim'
    scheme: https
    file_sd_configs: [{files: ['@FILE@']}]
    relabel_configs:
      - source_labels: [__meta_kubernetes_namespace, __meta_kubernetes_pod_name, __meta_kubernetes_pod_container_port_name]
        action: keep
        regex: default;natsd-.*;metrics
      - target_label: __address__
        replacement: ''

  # The pod-annotation job seed 003 relies on.
  - job_name: 'kubernetes-pods'
    file_sd_configs: [{files: ['@FILE@']}]
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
        regex: ([^:]+)(?::\d+)?;(\d+)
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

  # Every action and the expansion edge cases.
  - job_name: 'actions'
    params: {module: [http_2xx, tcp], target: [x]}
    file_sd_configs: [{files: ['@FILE@']}]
    relabel_configs:
      - {action: drop, source_labels: [__meta_kubernetes_namespace], regex: 'kube-.*'}
      - {action: hashmod, source_labels: [__address__], modulus: 3, target_label: __tmp_shard}
      - {action: replace, source_labels: [__tmp_shard], target_label: shard}
      - {action: lowercase, source_labels: [__meta_kubernetes_pod_label_app, __meta_kubernetes_pod_name], separator: '-', target_label: app_pod}
      - {action: uppercase, source_labels: [__meta_kubernetes_namespace], target_label: ns_upper}
      - {action: labelmap, regex: '__meta_kubernetes_pod_label_(.+)', replacement: 'pod_${1}'}
      - {action: labelmap, regex: '__meta_kubernetes_(pod)_(name)', replacement: '${1}_$2'}
      - {action: replace, source_labels: [__meta_kubernetes_pod_container_port_name], regex: '(.+)', target_label: 'port_$1', replacement: '$$1-${1}-$1_x-$01'}
      - {action: replace, source_labels: [__meta_kubernetes_pod_annotation_note], target_label: note}
      - {action: replace, source_labels: [__meta_kubernetes_pod_annotation_note], regex: '(?s)(.*)', target_label: note_s, replacement: 'n:$1'}
      - {action: replace, source_labels: [__meta_kubernetes_pod_container_port_number], regex: '(\d+)', target_label: digits}
      - {action: replace, target_label: constant, replacement: 'c'}
      - {action: replace, source_labels: [missing], target_label: pod_tier}
      - {action: keepequal, source_labels: [__meta_kubernetes_pod_label_app], target_label: __meta_kubernetes_pod_label_app}
      - {action: dropequal, source_labels: [__meta_kubernetes_pod_container_port_name], target_label: __meta_kubernetes_pod_label_dropme}
      - {action: labeldrop, regex: 'pod_(type|service)'}
      - {action: replace, source_labels: [__meta_kubernetes_pod_annotation_param], regex: '(.+)', target_label: __param_module}
      - {action: replace, source_labels: [__meta_kubernetes_pod_annotation_interval], regex: '(.+)', target_label: __scrape_interval__}
      - {action: replace, source_labels: [__meta_kubernetes_pod_annotation_timeout], regex: '(.+)', target_label: __scrape_timeout__}
      - {action: replace, source_labels: [__meta_kubernetes_pod_annotation_scheme], regex: '(.+)', target_label: __scheme__}

  # 3.x: UTF-8 label names and `.` matching newlines.
  - job_name: 'utf8-names'
    file_sd_configs: [{files: ['@FILE@']}]
    relabel_configs:
      - {action: replace, source_labels: [__meta_kubernetes_pod_name], target_label: 'k8s.pod.name'}
      - {action: replace, source_labels: [__meta_kubernetes_pod_container_port_name], regex: '(.+)', target_label: '${1}-port', replacement: 'p'}
      - {action: replace, source_labels: [__meta_kubernetes_pod_container_port_number], regex: '(\d)(.*)', target_label: '${1}x', replacement: 'd'}
      - {action: labelmap, regex: '__meta_kubernetes_pod_label_(.+)', replacement: 'pod.label/${1}'}
      - {action: replace, source_labels: [__meta_kubernetes_pod_annotation_note], regex: 'line1.line2', target_label: note_dot, replacement: 'matched'}
      - {action: replace, source_labels: [__meta_kubernetes_pod_annotation_note], regex: '(.*)', target_label: note_all, replacement: '<$1>'}
      - {action: uppercase, source_labels: [__meta_kubernetes_pod_label_type], target_label: 'Type.Upper'}
      - {action: keep, source_labels: [__meta_kubernetes_pod_annotation_note, __meta_kubernetes_namespace], regex: '(line1.*line2)?;.+'}
      - {action: hashmod, source_labels: [__address__], modulus: 5, target_label: 'shard.id'}

  # Only keep/drop-style rules: discovered labels equal the input.
  - job_name: 'filter-only'
    params: {module: [http_2xx]}
    file_sd_configs: [{files: ['@FILE@']}]
    relabel_configs:
      - {action: keep, source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_scrape], regex: '[Tt]rue|'}
      - {action: drop, source_labels: [__meta_kubernetes_namespace, __meta_kubernetes_pod_label_app], regex: 'kube-system;.*|.*;db'}
      - {action: dropequal, source_labels: [__meta_kubernetes_pod_container_port_name], target_label: __meta_kubernetes_pod_label_dropme}
      - {action: keepequal, source_labels: [__meta_kubernetes_pod_label_app], target_label: __meta_kubernetes_pod_label_app}

  # labelkeep keeps only what it names (and what the scrape needs).
  - job_name: 'keep-only'
    metrics_path: /probe
    scheme: https
    file_sd_configs: [{files: ['@FILE@']}]
    relabel_configs:
      - {action: labelkeep, regex: '__address__|__scheme__|__metrics_path__|__scrape_.+|job|__meta_kubernetes_pod_name|instance'}
      - {action: replace, source_labels: [__meta_kubernetes_pod_name], target_label: pod}
"#;

/// One discovered group: a target address and its group labels.
fn groups() -> Vec<(String, BTreeMap<String, String>)> {
    let namespaces = ["default", "monitoring", "kube-system"];
    let apps = ["Web", "natsd", "db", ""];
    let port_names = ["metrics", "http", ""];
    let mut out = Vec::new();
    for i in 0..48usize {
        let ns = namespaces[i % 3];
        let app = apps[i % 4];
        let pod = if i % 5 == 0 {
            format!("natsd-{i}")
        } else {
            format!(
                "{}-{i}",
                if app.is_empty() { "anon" } else { app }.to_lowercase()
            )
        };
        let address = match i % 8 {
            0 => format!("127.0.0.{}", 1 + i % 4),
            1 => format!("[::1]:{}", 9000 + i),
            2 => "[::1]".to_owned(),
            _ => format!("127.0.0.{}:{}", 1 + i % 4, 8000 + i),
        };
        let mut l = BTreeMap::new();
        let mut put = |k: &str, v: String| {
            l.insert(k.to_owned(), v);
        };
        put("__meta_kubernetes_namespace", ns.to_owned());
        put("__meta_kubernetes_pod_name", pod.clone());
        put("__meta_kubernetes_pod_label_app", app.to_owned());
        put(
            "__meta_kubernetes_pod_container_port_name",
            port_names[i % 3].to_owned(),
        );
        put(
            "__meta_kubernetes_pod_container_port_number",
            (8000 + i).to_string(),
        );
        put("__meta_kubernetes_service_name", format!("svc-{}", i % 6));
        if i % 3 == 1 {
            put("__meta_kubernetes_pod_label_service", "api".to_owned());
            put("__meta_kubernetes_pod_label_tier", "backend".to_owned());
        }
        if i % 4 == 2 {
            put("__meta_kubernetes_pod_label_type", "Ω-unicode".to_owned());
            put(
                "__meta_kubernetes_pod_label_dropme",
                port_names[i % 3].to_owned(),
            );
        }
        put(
            "__meta_kubernetes_pod_annotation_prometheus_io_scrape",
            ["true", "false", "", "True"][i % 4].to_owned(),
        );
        if i % 3 == 0 {
            put(
                "__meta_kubernetes_pod_annotation_prometheus_io_path",
                "/custom/metrics".to_owned(),
            );
        }
        if i % 2 == 0 {
            put(
                "__meta_kubernetes_pod_annotation_prometheus_io_port",
                (9100 + i).to_string(),
            );
        }
        put(
            "__meta_kubernetes_service_annotation_se7entyse7en_prometheus_scrape",
            if i % 3 == 2 { "false" } else { "true" }.to_owned(),
        );
        put(
            "__meta_kubernetes_service_annotation_se7entyse7en_prometheus_scheme",
            ["https", "http", "ftp", ""][i % 4].to_owned(),
        );
        if i % 5 == 1 {
            put(
                "__meta_kubernetes_service_annotation_se7entyse7en_prometheus_path",
                "/m".to_owned(),
            );
        }
        if i % 4 != 3 {
            put(
                "__meta_kubernetes_service_annotation_se7entyse7en_prometheus_port",
                (9191 + i % 2).to_string(),
            );
        }
        if i % 7 == 0 {
            put(
                "__meta_kubernetes_pod_annotation_note",
                "line1\nline2".to_owned(),
            );
        }
        if i % 6 == 4 {
            put("__meta_kubernetes_pod_annotation_param", "icmp".to_owned());
        }
        if i % 9 == 3 {
            put("__param_module", "from_sd".to_owned());
        }
        match i % 12 {
            5 => put(
                "__meta_kubernetes_pod_annotation_interval",
                "30s".to_owned(),
            ),
            6 => put("__meta_kubernetes_pod_annotation_timeout", "5s".to_owned()),
            7 => {
                put("__meta_kubernetes_pod_annotation_interval", "5s".to_owned());
                put("__meta_kubernetes_pod_annotation_timeout", "6s".to_owned());
            }
            1 => put(
                "__meta_kubernetes_pod_annotation_interval",
                "bogus".to_owned(),
            ),
            _ => {}
        }
        if i % 16 == 0 {
            // An unknown scheme: 2.x failed on it when adding a default port; 3.x adds none.
            put(
                "__meta_kubernetes_pod_annotation_scheme",
                "gopher".to_owned(),
            );
        }
        if i % 11 == 4 {
            put("job", "overridden".to_owned());
        }
        if i % 13 == 6 {
            put("instance", format!("custom-{i}"));
        }
        out.push((address, l));
    }
    out
}

/// The job whose rules never change a label (see the module doc).
const INTACT_JOB: &str = "filter-only";

type Active = BTreeSet<(String, Vec<(String, String)>, Vec<(String, String)>)>;
type Dropped = BTreeSet<Vec<(String, String)>>;

fn pairs(v: &Value) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = v
        .as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

fn from_set(l: &LabelSet) -> Vec<(String, String)> {
    l.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

fn prometheus_targets(prom: &PromServer) -> (Active, Dropped) {
    let (status, body) = prom
        .api()
        .get("/api/v1/targets?state=any")
        .expect("targets API");
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).expect("targets JSON");
    let active = v["data"]["activeTargets"]
        .as_array()
        .expect("activeTargets")
        .iter()
        .map(|t| {
            (
                t["scrapePool"].as_str().unwrap_or_default().to_owned(),
                pairs(&t["labels"]),
                pairs(&t["discoveredLabels"]),
            )
        })
        .collect();
    let dropped = v["data"]["droppedTargets"]
        .as_array()
        .expect("droppedTargets")
        .iter()
        .map(|t| pairs(&t["discoveredLabels"]))
        .collect();
    (active, dropped)
}

#[test]
fn populate_labels_matches_prometheus_3_5() {
    let dir = tempfile::tempdir().unwrap();
    let sd_file = dir.path().join("targets.json");
    let groups = groups();
    let json_groups: Vec<Value> = groups
        .iter()
        .map(|(addr, labels)| json!({"targets": [addr], "labels": labels}))
        .collect();
    std::fs::write(
        &sd_file,
        serde_json::to_string_pretty(&json_groups).unwrap(),
    )
    .unwrap();
    let yaml = JOBS.replace("@FILE@", sd_file.to_str().unwrap());
    let cfg_path = dir.path().join("prometheus.yml");
    std::fs::write(&cfg_path, &yaml).unwrap();

    // Tidemark's side.
    let cfg = Config::load(&cfg_path).unwrap_or_else(|e| panic!("{e}"));
    let mut want_active = Active::new();
    let mut want_dropped = Dropped::new();
    let mut errors = BTreeMap::<String, usize>::new();
    let mut seen = BTreeSet::new();
    let mut merged = BTreeSet::new();
    for job in &cfg.scrape_configs {
        for (addr, labels) in &groups {
            let target = LabelSet::from([("__address__".to_owned(), addr.clone())]);
            let mut group_labels: LabelSet = labels.clone();
            group_labels.insert(
                "__meta_filepath".to_owned(),
                job.file_sd_configs[0].files[0].clone(),
            );
            match populate_labels(&target, &group_labels, job) {
                Ok(p) if p.is_dropped() => {
                    want_dropped.insert(from_set(&p.discovered));
                }
                Ok(p) => {
                    // Prometheus merges targets with the same full labels (and so the same
                    // URL) into one; keep the first.
                    let full = p.labels.as_ref().unwrap();
                    let public = public_labels(full);
                    if !seen.insert((job.job_name.clone(), from_set(full))) {
                        // Which of the merged targets' discovered labels Prometheus shows is
                        // not specified; leave merged targets out of that comparison.
                        merged.insert((job.job_name.clone(), from_set(&public)));
                        continue;
                    }
                    want_active.insert((
                        job.job_name.clone(),
                        from_set(&public),
                        from_set(&p.discovered),
                    ));
                }
                Err(e) => *errors.entry(e.to_string()).or_default() += 1,
            }
        }
    }
    // The cases must exercise every outcome.
    assert!(want_active.len() > 60, "{}", want_active.len());
    assert!(want_dropped.len() > 60, "{}", want_dropped.len());
    for e in [
        "no address",
        "error parsing scrape interval: not a valid duration string: \"bogus\"",
    ] {
        assert!(errors.contains_key(e), "no target gave {e:?}: {errors:?}");
    }

    // Prometheus's side.
    let prom = match PromServer::start_with(&PromOptions {
        config_yaml: Some(yaml),
        ..PromOptions::default()
    }) {
        Ok(p) => p,
        Err(e) if e.contains("not found") => {
            eprintln!("SKIPPED: {e}");
            return;
        }
        Err(e) => panic!("{e}"),
    };
    // Discovery reaches the scrape manager on a 5 s tick; wait until the lists are complete.
    let deadline = Instant::now() + Duration::from_secs(60);
    let (active, dropped) = loop {
        let (a, d) = prometheus_targets(&prom);
        if (a.len() >= want_active.len() && d.len() >= want_dropped.len())
            || Instant::now() > deadline
        {
            // One more read after a tick, so a partial list is not mistaken for the answer.
            std::thread::sleep(Duration::from_secs(1));
            break prometheus_targets(&prom);
        }
        std::thread::sleep(Duration::from_millis(500));
    };

    let show = |s: &[String]| s.join("\n");
    let final_labels = |a: &Active| -> BTreeSet<(String, Vec<(String, String)>)> {
        a.iter().map(|(p, l, _)| (p.clone(), l.clone())).collect()
    };
    let (got, want) = (final_labels(&active), final_labels(&want_active));
    let only_prom: Vec<String> = got.difference(&want).map(|t| format!("{t:?}")).collect();
    let only_ours: Vec<String> = want.difference(&got).map(|t| format!("{t:?}")).collect();
    assert!(
        only_prom.is_empty() && only_ours.is_empty(),
        "active targets differ.\nonly Prometheus:\n{}\nonly Tidemark:\n{}",
        show(&only_prom),
        show(&only_ours)
    );
    assert_eq!(active.len(), want_active.len(), "active targets");
    let unmerged = |a: &Active| -> Active {
        a.iter()
            .filter(|(p, l, _)| !merged.contains(&(p.clone(), l.clone())))
            .cloned()
            .collect()
    };
    let (got, want) = (unmerged(&active), unmerged(&want_active));
    let only_prom: Vec<String> = got.difference(&want).map(|t| format!("{t:?}")).collect();
    let only_ours: Vec<String> = want.difference(&got).map(|t| format!("{t:?}")).collect();
    assert!(
        only_prom.is_empty() && only_ours.is_empty(),
        "active targets' discovered labels differ.\nonly Prometheus:\n{}\nonly Tidemark:\n{}",
        show(&only_prom),
        show(&only_ours)
    );
    assert!(
        want.iter().filter(|(p, ..)| p == INTACT_JOB).count() >= 5,
        "{INTACT_JOB} has active targets"
    );
    assert!(
        want.iter().filter(|(p, ..)| p == "utf8-names").count() >= 5,
        "utf8-names has active targets"
    );
    let only_prom: Vec<String> = dropped
        .difference(&want_dropped)
        .map(|t| format!("{t:?}"))
        .collect();
    let only_ours: Vec<String> = want_dropped
        .difference(&dropped)
        .map(|t| format!("{t:?}"))
        .collect();
    assert!(
        only_prom.is_empty() && only_ours.is_empty(),
        "dropped targets differ.\nonly Prometheus:\n{}\nonly Tidemark:\n{}",
        show(&only_prom),
        show(&only_ours)
    );
    eprintln!(
        "agree on {} active and {} dropped targets; {} errors on both sides: {errors:?}",
        active.len(),
        dropped.len(),
        errors.values().sum::<usize>()
    );
}
