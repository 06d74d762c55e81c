//! Controller configuration: command-line flags, each with an environment-variable fallback
//! so that a Helm chart can set everything through `env:`.

use crate::tenancy::Tenancy;
use std::net::SocketAddr;
use std::time::Duration;

/// Flags of `sagemaker-rollout controller`.
#[derive(clap::Args, Clone, Debug)]
pub struct Config {
    /// Namespaces to watch, comma-separated; empty watches every namespace.
    #[arg(long, env = "WATCH_NAMESPACES", value_delimiter = ',', num_args = 0..)]
    pub namespaces: Vec<String>,
    /// Reconciles running at once, across all namespaces.
    #[arg(long, env = "CONCURRENCY", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub concurrency: u16,
    /// How soon to look again while SageMaker is transitioning.
    #[arg(long, env = "POLL_INTERVAL", default_value = "30s", value_parser = humantime::parse_duration)]
    pub poll_interval: Duration,
    /// Periodic re-check of resources at rest, to notice changes made outside the
    /// controller (±10 % jitter so that resources do not all wake together).
    #[arg(long, env = "RESYNC_INTERVAL", default_value = "10m", value_parser = humantime::parse_duration)]
    pub resync_interval: Duration,
    /// Address of the /metrics, /livez and /readyz server.
    #[arg(long, env = "LISTEN_ADDRESS", default_value = "0.0.0.0:8080")]
    pub listen_address: SocketAddr,
    /// Elect a leader through a coordination.k8s.io Lease (needed with more than one replica).
    #[arg(long, env = "LEADER_ELECTION", default_value_t = true, action = clap::ArgAction::Set)]
    pub leader_election: bool,
    /// Name of the Lease.
    #[arg(long, env = "LEASE_NAME", default_value = "sagemaker-rollout")]
    pub lease_name: String,
    /// Namespace of the Lease (the release namespace; the Downward API sets POD_NAMESPACE).
    #[arg(long, env = "POD_NAMESPACE", default_value = "default")]
    pub lease_namespace: String,
    /// This replica's identity in the Lease and in Events (the Downward API sets POD_NAME).
    #[arg(long, env = "POD_NAME")]
    pub identity: Option<String>,
    /// How long a Lease stays valid without renewal; a standby takes over after it.
    #[arg(long, env = "LEASE_DURATION", default_value = "15s", value_parser = humantime::parse_duration)]
    pub lease_duration: Duration,
    /// Log format.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// AWS region for resources whose spec has none (default: the environment).
    #[arg(long, env = "AWS_REGION")]
    pub aws_region: Option<String>,
    /// Multi-tenant (every ModelDeployment needs a DeploymentPolicy granting what it asks,
    /// and its AWS session carries its tenant) or single-tenant (one team: no policies).
    #[arg(long, env = "TENANCY", value_enum, default_value_t = Tenancy::Multi)]
    pub tenancy: Tenancy,
    /// This cluster's id in ownership tags and session tags, so two clusters sharing an AWS
    /// account never drive one endpoint. Default: the UID of the kube-system namespace.
    #[arg(long, env = "CLUSTER_ID", value_parser = parse_cluster_id)]
    pub cluster_id: Option<String>,
    /// The shard this controller runs: it reconciles only resources labelled
    /// `sagemaker.mlops.dev/shard=<shard>` and holds its own Lease (`<lease-name>-<shard>`).
    /// Without it, the default shard: every resource without that label.
    #[arg(long, env = "SHARD", value_parser = parse_shard)]
    pub shard: Option<String>,
    /// AWS requests per second per account and region, shared by every reconcile (a token
    /// bucket; AWS's own limits are per account and region and shared with every caller).
    #[arg(long, env = "AWS_REQUESTS_PER_SECOND", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub aws_requests_per_second: u32,
    /// Requests the bucket lets through at once before the rate applies.
    #[arg(long, env = "AWS_REQUEST_BURST", default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub aws_request_burst: u32,
    /// A file on a volume that outlives the container (the chart's emptyDir) where artifact
    /// validations are recorded while they run: one that stopped the controller 3 times (out
    /// of memory) is refused after the restart instead of validated again.
    #[arg(long, env = "VALIDATION_JOURNAL", value_name = "FILE")]
    pub validation_journal: Option<std::path::PathBuf>,
}

/// The label that assigns a ModelDeployment to a shard.
pub const SHARD_LABEL: &str = "sagemaker.mlops.dev/shard";

/// A cluster id is a tag value and part of a session tag: at most 63 characters of letters,
/// digits and `-`, `_`, `.` (a subset both accept), and never `cli`, the CLI's driver name.
fn parse_cluster_id(s: &str) -> Result<String, String> {
    let ok = !s.is_empty()
        && s.len() <= 63
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    match (ok, s) {
        (_, "cli") => Err("\"cli\" is the CLI's driver name; pick another cluster id".into()),
        (true, _) => Ok(s.to_owned()),
        (false, _) => Err(format!(
            "\"{s}\" is not a cluster id (1-63 letters, digits, '-', '_', '.')"
        )),
    }
}

/// A shard name is a label value: at most 63 characters, alphanumeric at both ends, `-`, `_`
/// and `.` inside (and short enough to suffix the Lease name).
fn parse_shard(s: &str) -> Result<String, String> {
    let inner_ok = s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    let ends_ok = s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.ends_with(|c: char| c.is_ascii_alphanumeric());
    if !s.is_empty() && s.len() <= 63 && inner_ok && ends_ok {
        Ok(s.to_owned())
    } else {
        Err(format!(
            "\"{s}\" is not a label value (at most 63 characters: letters, digits, '-', '_', '.', alphanumeric at both ends)"
        ))
    }
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

impl Config {
    /// The defaults, as the flags would give them with no argument and no environment.
    pub fn defaults() -> Self {
        Self {
            namespaces: Vec::new(),
            concurrency: 4,
            poll_interval: Duration::from_secs(30),
            resync_interval: Duration::from_secs(600),
            listen_address: SocketAddr::from(([0, 0, 0, 0], 8080)),
            leader_election: true,
            lease_name: "sagemaker-rollout".into(),
            lease_namespace: "default".into(),
            identity: None,
            lease_duration: Duration::from_secs(15),
            log_format: LogFormat::Text,
            aws_region: None,
            tenancy: Tenancy::Multi,
            cluster_id: None,
            shard: None,
            aws_requests_per_second: 10,
            aws_request_burst: 20,
            validation_journal: None,
        }
    }

    /// The label selector of this controller's shard (Flux's convention: a named shard
    /// selects its label value, the default shard the resources without the label).
    pub fn shard_selector(&self) -> String {
        match &self.shard {
            Some(s) => format!("{SHARD_LABEL}={s}"),
            None => format!("!{SHARD_LABEL}"),
        }
    }

    /// The Lease this controller's shard elects its leader with.
    pub fn shard_lease(&self) -> String {
        match &self.shard {
            Some(s) => format!("{}-{s}", self.lease_name),
            None => self.lease_name.clone(),
        }
    }

    /// The request bucket's rate.
    pub fn request_rate(&self) -> crate::aws::limit::RequestRate {
        crate::aws::limit::RequestRate::new(self.aws_requests_per_second, self.aws_request_burst)
    }

    /// The identity used in the Lease: the flag, else the host name, else a random suffix.
    pub fn identity(&self) -> String {
        self.identity
            .clone()
            .or_else(|| std::env::var("HOSTNAME").ok())
            .unwrap_or_else(|| format!("sagemaker-rollout-{:08x}", fastrand::u32(..)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        config: Config,
    }

    fn parse(args: &[&str]) -> Config {
        Cli::try_parse_from(std::iter::once("controller").chain(args.iter().copied()))
            .unwrap()
            .config
    }

    #[test]
    fn defaults_match_the_flags_defaults() {
        let parsed = parse(&[]);
        let d = Config::defaults();
        // Environment variables of the machine running the tests could set these.
        if std::env::var_os("POD_NAMESPACE").is_none() && std::env::var_os("AWS_REGION").is_none() {
            assert_eq!(format!("{parsed:?}"), format!("{d:?}"));
        }
    }

    #[test]
    fn flags_parse_lists_durations_and_booleans() {
        let c = parse(&[
            "--namespaces",
            "ml-prod,ml-staging",
            "--poll-interval",
            "45s",
            "--resync-interval",
            "1h",
            "--leader-election",
            "false",
            "--log-format",
            "json",
            "--concurrency",
            "8",
        ]);
        assert_eq!(c.namespaces, ["ml-prod", "ml-staging"]);
        assert_eq!(c.poll_interval, Duration::from_secs(45));
        assert_eq!(c.resync_interval, Duration::from_secs(3600));
        assert!(!c.leader_election);
        assert_eq!(c.log_format, LogFormat::Json);
        assert_eq!(c.concurrency, 8);
        assert!(
            Cli::try_parse_from(["controller", "--concurrency", "0"]).is_err(),
            "concurrency 0 is refused"
        );
    }

    #[test]
    fn a_shard_selects_its_label_and_elects_with_its_own_lease() {
        let d = parse(&[]);
        assert_eq!(d.shard_selector(), "!sagemaker.mlops.dev/shard");
        assert_eq!(d.shard_lease(), d.lease_name);
        let eu = parse(&["--shard", "eu-1"]);
        assert_eq!(eu.shard_selector(), "sagemaker.mlops.dev/shard=eu-1");
        assert_eq!(eu.shard_lease(), format!("{}-eu-1", eu.lease_name));
        for bad in ["", "-eu", "eu_", "a/b", "a=b", &"x".repeat(64)] {
            assert!(
                Cli::try_parse_from(["controller", "--shard", bad]).is_err(),
                "shard {bad:?} is refused"
            );
        }
    }
}
