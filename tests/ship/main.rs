//! What ships: the Helm chart and kustomize base (lint, template, schema validation, RBAC),
//! the IAM policies checked against the adapters, the Argo CD health check and the image.

mod chart;
mod docs;
mod gitops_and_image;
mod iam_policy;
