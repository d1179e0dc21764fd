//! Unit tests of the configuration helpers (the file-level tests are in `ingest/tests/`).
use super::*;

#[test]
fn job_lines_are_found_in_block_and_flow_styles() {
    let text = "scrape_configs:\n  - job_name: a\n  # job_name: commented\n  -   job_name : 'b'\n  - {\"job_name\": c}\n";
    assert_eq!(scan_job_lines(text), vec![2, 4]);
    assert_eq!(scan_job_lines("- 'job_name': x\n"), vec![1]);
}

#[test]
fn file_sd_and_rule_paths_follow_prometheus_patterns() {
    for ok in ["a.json", "/x/*.yml", "x/a*b.YAML", "*.yaml"] {
        assert!(is_valid_file_sd_path(ok), "{ok}");
    }
    for bad in ["a.txt", "*/a.json", "a*b*c.json", "json"] {
        assert!(!is_valid_file_sd_path(bad), "{bad}");
    }
    assert!(is_valid_rule_path("rules/*.rules"));
    assert!(!is_valid_rule_path("r/*/x"));
}

#[test]
fn static_configs_become_target_groups() {
    let cfg = Config::parse(
        "scrape_configs:\n  - job_name: a\n    static_configs:\n      - {targets: ['h:1', 'h:2'], labels: {env: prod}}\n      - {targets: ['h:3']}\n",
    )
    .unwrap();
    let groups = cfg.scrape_configs[0].static_target_groups();
    assert_eq!(groups.len(), 2);
    assert_eq!(groups[0].source, "0");
    assert_eq!(groups[0].targets[1]["__address__"], "h:2");
    assert_eq!(groups[0].labels["env"], "prod");
    assert!(groups[1].labels.is_empty());
}

#[test]
fn oauth2_is_rejected_clearly() {
    let e = Config::parse("scrape_configs:\n  - job_name: a\n    oauth2: {client_id: x}\n")
        .unwrap_err();
    assert!(e.to_string().contains("oauth2 is not supported"), "{e}");
}
