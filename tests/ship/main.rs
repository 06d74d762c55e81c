//! What ships: the Helm chart and kustomize base (lint, template, schema validation, RBAC),
//! the IAM policies checked against the adapters, the Argo CD health check and actions, the
//! image, and the Grafana dashboard and alerting rules (promtool, metric names).

mod chart;
mod docs;
mod gitops_and_image;
mod iam_policy;
mod monitoring;
