//! The command line's help: commands listed in groups (rollout, on call, artifact, cluster),
//! each with a one-line summary, its long help and examples. clap derives the commands and
//! their flags from the types in [`super`]; it cannot group subcommands under headings
//! (clap issue 1553), so the top-level help template is written here from the commands'
//! own summaries, and the examples are attached to each command in one table.

use clap::{Command, CommandFactory};

/// The groups of commands, in the order the help lists them.
pub(crate) const GROUPS: [(&str, &[&str]); 4] = [
    (
        "Rollout (a manifest, on the simulator or AWS)",
        &["check", "simulate", "plan", "apply", "delete"],
    ),
    (
        "On call (a ModelDeployment in the cluster)",
        &[
            "status", "list", "history", "pause", "resume", "promote", "abort", "retry", "undo",
        ],
    ),
    ("Artifact", &["validate", "package", "register"]),
    ("Cluster", &["controller", "crd", "completion"]),
];

/// Examples of each command, as a person types them.
const EXAMPLES: [(&str, &[&str]); 20] = [
    (
        "check",
        &[
            "sagemaker-rollout check -f deploy/examples/canary.yaml",
            "sagemaker-rollout check -f manifests/*.yaml --policy deploy/policies/ml-prod.yaml",
        ],
    ),
    (
        "simulate",
        &[
            "sagemaker-rollout simulate -f deploy/examples/canary.yaml",
            "sagemaker-rollout simulate -f deploy/examples/canary.yaml --scenario deploy/scenarios/silent-rollback.yaml --expect Failed",
            "sagemaker-rollout simulate -f deploy/examples/canary-approval.yaml --scenario deploy/scenarios/approval.yaml --svg rollout.svg",
            "sagemaker-rollout simulate -f deploy/examples/canary.yaml -o json | jq '.[0].status.phase'",
        ],
    ),
    (
        "plan",
        &[
            "sagemaker-rollout plan -f churn.yaml",
            "sagemaker-rollout plan -f churn.yaml -o yaml",
        ],
    ),
    (
        "apply",
        &[
            "sagemaker-rollout apply -f churn.yaml --wait",
            "AWS_ENDPOINT_URL=http://localhost:5000 sagemaker-rollout apply -f churn.yaml --wait",
        ],
    ),
    ("delete", &["sagemaker-rollout delete -f churn.yaml"]),
    (
        "status",
        &[
            "sagemaker-rollout status churn -n ml-prod",
            "sagemaker-rollout status churn -n ml-prod --watch --timeout 2h",
            "kubectl sagemaker-rollout status churn -n ml-prod --context prod-eu -o json",
        ],
    ),
    (
        "list",
        &[
            "sagemaker-rollout list -n ml-prod",
            "sagemaker-rollout list -A",
            "sagemaker-rollout list -A -o json | jq -r '.[] | select(.phase == \"RolledBack\") | .name'",
        ],
    ),
    (
        "history",
        &[
            "sagemaker-rollout history churn -n ml-prod",
            "sagemaker-rollout history churn -n ml-prod -o yaml",
        ],
    ),
    ("pause", &["sagemaker-rollout pause churn -n ml-prod"]),
    ("resume", &["sagemaker-rollout resume churn -n ml-prod"]),
    ("promote", &["sagemaker-rollout promote churn -n ml-prod"]),
    ("abort", &["sagemaker-rollout abort churn -n ml-prod"]),
    ("retry", &["sagemaker-rollout retry churn -n ml-prod"]),
    ("undo", &["sagemaker-rollout undo churn -n ml-prod"]),
    (
        "validate",
        &[
            "sagemaker-rollout validate model.tar.gz",
            "sagemaker-rollout validate s3://ml-models/churn/2026-11-20/model.tar.gz --output json",
        ],
    ),
    (
        "package",
        &["sagemaker-rollout package ./model-dir -o model.tar.gz"],
    ),
    (
        "register",
        &["sagemaker-rollout register model.tar.gz --bucket ml-models --group churn-models"],
    ),
    (
        "controller",
        &["sagemaker-rollout controller --namespaces ml-prod,ml-staging"],
    ),
    (
        "crd",
        &[
            "sagemaker-rollout crd | kubectl apply -f -",
            "sagemaker-rollout crd deploymentpolicies",
        ],
    ),
    (
        "completion",
        &[
            "source <(sagemaker-rollout completion bash)",
            "sagemaker-rollout completion zsh > \"${fpath[1]}/_sagemaker-rollout\"",
            "sagemaker-rollout completion fish > ~/.config/fish/completions/sagemaker-rollout.fish",
        ],
    ),
];

/// The first sentence of a command's help: its one-line summary.
fn summary(long: &str) -> String {
    let flat = long.split_whitespace().collect::<Vec<_>>().join(" ");
    match flat.find(". ") {
        Some(i) => flat[..=i].trim_end_matches('.').to_owned(),
        None => flat.trim_end_matches('.').to_owned(),
    }
}

/// The command line as clap sees it, with summaries, long help, examples and the grouped
/// command list.
pub(crate) fn command() -> Command {
    let mut cmd = super::Cli::command();
    let mut listing = String::new();
    for (group, names) in GROUPS {
        listing.push_str(&format!("{group}:\n"));
        for name in names {
            let about = cmd
                .find_subcommand(name)
                .and_then(|s| s.get_long_about().or(s.get_about()))
                .map(|a| summary(&a.to_string()))
                .unwrap_or_default();
            listing.push_str(&format!("  {name:<11} {about}\n"));
        }
        listing.push('\n');
    }
    for (name, lines) in EXAMPLES {
        cmd = cmd.mut_subcommand(name, |s| {
            let long = s
                .get_long_about()
                .or(s.get_about())
                .map(|a| a.to_string())
                .unwrap_or_default();
            let examples: String = lines.iter().map(|l| format!("  $ {l}\n")).collect();
            s.about(summary(&long))
                .long_about(long)
                .after_help(format!("Examples:\n{examples}"))
        });
    }
    cmd.help_template(format!(
        "{{about-with-newline}}\n{{usage-heading}} {{usage}}\n\n{listing}Options:\n{{options}}\n\nRun `sagemaker-rollout <command> --help` for a command's flags and examples.\n"
    ))
}
