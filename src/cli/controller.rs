//! `sagemaker-rollout controller`: logging, the Kubernetes client, signal handling, then
//! the controller itself (`sagemaker_rollout::controller::run`).

use std::process::ExitCode;

use anyhow::Context;

use super::runtime;

pub(super) fn run(config: sagemaker_rollout::controller::Config) -> anyhow::Result<ExitCode> {
    use sagemaker_rollout::controller::{self, Deps, LogFormat};
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match config.log_format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
    runtime()?.block_on(async move {
        let client = kube::Client::try_default()
            .await
            .context("connecting to the Kubernetes API (in-cluster or KUBECONFIG)")?;
        let stop = tokio_util::sync::CancellationToken::new();
        tokio::spawn(shutdown_on_signal(stop.clone()));
        tracing::info!(
            namespaces = ?config.namespaces,
            concurrency = config.concurrency,
            leader_election = config.leader_election,
            listen = %config.listen_address,
            "starting controller"
        );
        controller::run(client, config, Deps::production(), stop).await?;
        tracing::info!("stopped");
        Ok(ExitCode::SUCCESS)
    })
}

/// SIGTERM (Kubernetes stopping the pod) or Ctrl-C: finish in-flight reconciles, release the
/// lease, exit.
async fn shutdown_on_signal(stop: tokio_util::sync::CancellationToken) {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("shutdown requested");
    stop.cancel();
}
