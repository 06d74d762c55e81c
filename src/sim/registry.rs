//! The simulator's SageMaker Model Registry: package groups, packages with their approval
//! and tags, and the rules registration follows.

use std::collections::BTreeMap;

use async_trait::async_trait;

use super::Simulator;
use super::rules::invalid;
use crate::aws::AwsError;
use crate::aws::registry::{ModelRegistry, NewPackage, PackageInfo};
#[async_trait]
impl ModelRegistry for Simulator {
    async fn ensure_group(&self, name: &str, _description: &str) -> Result<(), AwsError> {
        let mut st = self.enter("sagemaker", "CreateModelPackageGroup", true)?;
        if !st.groups.iter().any(|g| g == name) {
            st.groups.push(name.to_owned());
        }
        Ok(())
    }

    async fn create_package(&self, p: &NewPackage) -> Result<String, AwsError> {
        {
            let st = self.enter("sagemaker", "CreateModelPackage", true)?;
            // The same ClientToken returns the package the first call made.
            if let Some(arn) = p
                .client_token
                .as_ref()
                .and_then(|t| st.client_tokens.get(t))
            {
                return Ok(arn.clone());
            }
        }
        let arn = self.add_package(
            &p.group,
            p.metadata.clone(),
            &p.approval,
            bytes::Bytes::new(),
        );
        let mut st = self.lock();
        if let Some(t) = &p.client_token {
            st.client_tokens.insert(t.clone(), arn.clone());
        }
        st.objects
            .retain(|k, v| !(v.is_empty() && k.contains(&p.group)));
        if let Some(pkg) = st.packages.iter_mut().find(|x| x.info.arn == arn) {
            pkg.info.model_data_url = Some(p.model_data_url.clone());
            pkg.info.metadata = p.metadata.clone();
            pkg.info.image = Some(p.image.clone());
        }
        Ok(arn)
    }

    async fn describe_package(&self, arn: &str) -> Result<PackageInfo, AwsError> {
        let st = self.enter("sagemaker", "DescribeModelPackage", false)?;
        st.packages
            .iter()
            .find(|p| p.info.arn == arn)
            .map(|p| p.info.clone())
            .ok_or_else(|| {
                invalid(
                    "DescribeModelPackage",
                    format!("Model package {arn} does not exist"),
                )
            })
    }

    async fn list_packages(&self, group: &str) -> Result<Vec<String>, AwsError> {
        let st = self.enter("sagemaker", "ListModelPackages", false)?;
        if !st.groups.iter().any(|g| g == group) {
            return Err(invalid(
                "ListModelPackages",
                format!("Model package group {group} does not exist"),
            ));
        }
        Ok(st
            .packages
            .iter()
            .rev()
            .filter(|p| p.info.group.as_deref() == Some(group))
            .map(|p| p.info.arn.clone())
            .collect())
    }

    async fn package_tags(&self, arn: &str) -> Result<BTreeMap<String, String>, AwsError> {
        let st = self.enter("sagemaker", "ListTags", false)?;
        Ok(st
            .packages
            .iter()
            .find(|p| p.info.arn == arn)
            .map(|p| p.tags.clone())
            .unwrap_or_default())
    }
}
