//! `spec.notify`: the SNS topic a rollout's milestones are published to.

/// An SNS topic, from its ARN: Publish must be sent in the topic's own region (SNS-3), and a
/// FIFO topic needs group and deduplication ids (SNS-11, SNS-12).
#[derive(Clone, Debug, PartialEq)]
pub struct SnsTopic {
    pub arn: String,
    pub region: String,
    pub fifo: bool,
}

impl SnsTopic {
    /// `arn:<partition>:sns:<region>:<12-digit account>:<name>`, name 1-256 of `A-Za-z0-9_-`
    /// with `.fifo` allowed at the end (SNS-2).
    pub fn parse(arn: &str) -> Result<Self, String> {
        let parts: Vec<&str> = arn.split(':').collect();
        let ok = parts.len() == 6
            && parts[0] == "arn"
            && parts[1].starts_with("aws")
            && parts[2] == "sns"
            && !parts[3].is_empty()
            && parts[3]
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && parts[4].len() == 12
            && parts[4].chars().all(|c| c.is_ascii_digit());
        let name = parts.get(5).copied().unwrap_or_default();
        let base = name.strip_suffix(".fifo").unwrap_or(name);
        if !ok
            || !(1..=256).contains(&name.chars().count())
            || base.is_empty()
            || !base
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(format!(
                "\"{arn}\" is not an SNS topic ARN (arn:aws:sns:<region>:<12-digit account>:<topic name of letters, digits, _ and -, optionally ending .fifo>)"
            ));
        }
        Ok(Self {
            arn: arn.to_owned(),
            region: parts[3].to_owned(),
            fifo: name.ends_with(".fifo"),
        })
    }
}
