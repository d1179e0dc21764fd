//! Where the reference peers are: Prometheus 3.5 (`prometheus`, `promtool`), Alertmanager and
//! VictoriaMetrics (`victoria-metrics`, `vmagent`, `vmalert`), unpacked from Debian's unstable
//! suite by `scripts/reference-peers.sh` (which `.ci/run` calls) without a system-wide
//! install.
//!
//! Every test that runs a peer finds it here, never through a path of its own. The folder is
//! `$TIDEMARK_REFERENCE_PEERS` if set, else `target/reference-peers/` of the workspace; the
//! binaries are under its `root/usr/bin/`. One peer can be overridden with its own variable
//! (`TIDEMARK_PROMETHEUS_BIN`, `TIDEMARK_PROMTOOL_BIN`, ...).

use std::path::PathBuf;

/// Environment variable naming the folder `scripts/reference-peers.sh` unpacked into.
pub const REFERENCE_PEERS_ENV: &str = "TIDEMARK_REFERENCE_PEERS";

/// The hint every "not found" error carries.
pub const INSTALL_HINT: &str = "run scripts/reference-peers.sh (it fetches Prometheus 3.5, \
     promtool, Alertmanager and VictoriaMetrics from Debian unstable into \
     target/reference-peers/ without installing them)";

/// A reference peer's binary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Peer {
    /// `prometheus` 3.5.x.
    Prometheus,
    /// `promtool` 3.5.x.
    Promtool,
    /// `prometheus-alertmanager` 0.x.
    Alertmanager,
    /// `amtool`, Alertmanager's command-line client.
    Amtool,
    /// `victoria-metrics` (single-node).
    VictoriaMetrics,
    /// `vmagent`.
    VmAgent,
    /// `vmalert`.
    VmAlert,
}

impl Peer {
    /// The file name under `root/usr/bin/`.
    pub fn file_name(self) -> &'static str {
        match self {
            Peer::Prometheus => "prometheus",
            Peer::Promtool => "promtool",
            Peer::Alertmanager => "prometheus-alertmanager",
            Peer::Amtool => "amtool",
            Peer::VictoriaMetrics => "victoria-metrics",
            Peer::VmAgent => "vmagent",
            Peer::VmAlert => "vmalert",
        }
    }

    /// The environment variable that overrides this one binary.
    pub fn env_override(self) -> &'static str {
        match self {
            Peer::Prometheus => "TIDEMARK_PROMETHEUS_BIN",
            Peer::Promtool => "TIDEMARK_PROMTOOL_BIN",
            Peer::Alertmanager => "TIDEMARK_ALERTMANAGER_BIN",
            Peer::Amtool => "TIDEMARK_AMTOOL_BIN",
            Peer::VictoriaMetrics => "TIDEMARK_VICTORIA_METRICS_BIN",
            Peer::VmAgent => "TIDEMARK_VMAGENT_BIN",
            Peer::VmAlert => "TIDEMARK_VMALERT_BIN",
        }
    }
}

/// The folder the peers were unpacked into (it may not exist).
pub fn peers_dir() -> PathBuf {
    match std::env::var_os(REFERENCE_PEERS_ENV) {
        Some(dir) => PathBuf::from(dir),
        None => workspace_root().join("target").join("reference-peers"),
    }
}

/// The workspace's root folder (the parent of this crate's folder).
pub fn workspace_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}

/// The path of `peer`'s binary, or an error naming where it was looked for and how to get it.
pub fn binary(peer: Peer) -> Result<PathBuf, String> {
    let path = match std::env::var_os(peer.env_override()) {
        Some(p) => PathBuf::from(p),
        None => peers_dir()
            .join("root")
            .join("usr")
            .join("bin")
            .join(peer.file_name()),
    };
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!(
            "{} not found at {}: {INSTALL_HINT}",
            peer.file_name(),
            path.display()
        ))
    }
}

/// Like [`binary`], but panics with the same message: for tests that cannot run without it.
pub fn require(peer: Peer) -> PathBuf {
    binary(peer).unwrap_or_else(|e| panic!("{e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_peer_names_the_path_and_the_script() {
        std::env::set_var("TIDEMARK_VMALERT_BIN", "/nonexistent/vmalert");
        let err = binary(Peer::VmAlert).unwrap_err();
        assert!(err.contains("/nonexistent/vmalert"), "{err}");
        assert!(err.contains("scripts/reference-peers.sh"), "{err}");
    }
}
