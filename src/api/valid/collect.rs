//! What every section's rules share: the collector that gathers every problem with its
//! field path, the checks of a pattern, a name, a range and a duration, and the patterns
//! more than one section uses.

use std::time::Duration;

use jiff::SignedDuration;
use regex::Regex;

use super::*;
use crate::api::units::DurationString;

/// SageMaker's name pattern (endpoints, configs, models, package groups); length separately.
pub(super) const NAME: &str = r"^[a-zA-Z0-9](-*[a-zA-Z0-9])*$";

pub(super) const ROLE_ARN: &str = r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]+$";

/// Longest bake or shadow period accepted: a month of one step is a stuck rollout.
pub(super) const MAX_STAGE: Duration = Duration::from_secs(30 * 86_400);

pub(super) const S3_URI: &str = r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?$";

#[derive(Default)]
pub(super) struct Collector(pub(super) Vec<FieldError>);

impl Collector {
    pub(super) fn err(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError::new(path, message));
    }

    pub(super) fn pattern(&mut self, path: &str, value: &str, re: &Regex, expected: &str) -> bool {
        let ok = re.is_match(value);
        if !ok {
            self.err(path, format!("\"{value}\" is not {expected}"));
        }
        ok
    }

    /// A SageMaker resource name: 1–63 characters of the documented pattern.
    pub(super) fn name(&mut self, path: &str, value: &str, expected: &str) {
        let chars = value.chars().count();
        if chars == 0 || chars > 63 || !re!(NAME).is_match(value) {
            self.err(path, format!("\"{value}\" is not {expected}"));
        }
    }

    pub(super) fn range(&mut self, path: &str, value: i64, min: i64, max: i64) -> bool {
        let ok = (min..=max).contains(&value);
        if !ok {
            self.err(path, format!("{value} must be between {min} and {max}"));
        }
        ok
    }

    /// A duration above zero and at most `max`.
    pub(super) fn duration(
        &mut self,
        path: &str,
        d: &DurationString,
        max: Duration,
    ) -> Option<Duration> {
        match d.parse() {
            Ok(v) if v.is_zero() => {
                self.err(path, format!("\"{d}\" must be longer than zero"));
                None
            }
            Ok(v) if v > max => {
                self.err(
                    path,
                    format!("\"{d}\" is longer than the {} allowed", humanize(max)),
                );
                None
            }
            Ok(v) => Some(v),
            Err(e) => {
                self.err(path, e);
                None
            }
        }
    }
}

pub(super) fn humanize(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        s if s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s % 3_600 == 0 => format!("{}h", s / 3_600),
        s => format!("{s}s"),
    }
}

pub(super) fn signed(d: Duration) -> SignedDuration {
    // Bounded by MAX_DURATION where parsed, so this cannot saturate in practice.
    SignedDuration::try_from(d).unwrap_or(SignedDuration::MAX)
}
