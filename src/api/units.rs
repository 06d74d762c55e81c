//! String-typed quantities of the resource: durations (`10m`, `1h30m`, `500ms`) and byte
//! sizes (`50Gi`, `512Mi`, `1000000`).
//!
//! They stay strings on the wire so that `kubectl get -o yaml` shows what the user wrote; the
//! schema carries a pattern so the API server rejects malformed values, and `parse` gives the
//! controller the typed value. Parsing never panics: a bad value is an error naming it.

use std::borrow::Cow;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};

/// The pattern the CRD schema enforces for durations: one or more `<digits><unit>` groups.
pub const DURATION_PATTERN: &str = r"^([0-9]+(ms|s|m|h|d))+$";
/// The longest duration any field accepts; fields may bound theirs further.
pub const MAX_DURATION: std::time::Duration = std::time::Duration::from_secs(366 * 86_400);
/// The pattern the CRD schema enforces for byte sizes: digits with an optional SI/IEC suffix.
pub const BYTE_SIZE_PATTERN: &str = r"^[0-9]+(k|M|G|T|Ki|Mi|Gi|Ti)?$";

/// A duration written as Go-style units without spaces: `90s`, `10m`, `1h30m`, `500ms`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DurationString(pub String);

impl DurationString {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    /// The typed value, or a message saying what was expected. Accepts exactly the schema's
    /// pattern ([`DURATION_PATTERN`]: `<digits><unit>` groups, units ms, s, m, h, d) and
    /// nothing longer than [`MAX_DURATION`], so arithmetic on it can never overflow.
    pub fn parse(&self) -> Result<std::time::Duration, String> {
        let s = self.0.as_str();
        let shape = || format!("\"{s}\" is not a duration (expected e.g. 90s, 10m, 1h30m, 500ms)");
        if s.is_empty() {
            return Err(shape());
        }
        let mut total_ms: u128 = 0;
        let mut rest = s;
        while !rest.is_empty() {
            let digits = rest
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len());
            if digits == 0 {
                return Err(shape());
            }
            let (num, tail) = rest.split_at(digits);
            let unit_len = tail
                .find(|c: char| c.is_ascii_digit())
                .unwrap_or(tail.len());
            let (unit, next) = tail.split_at(unit_len);
            let ms_per: u128 = match unit {
                "ms" => 1,
                "s" => 1_000,
                "m" => 60_000,
                "h" => 3_600_000,
                "d" => 86_400_000,
                _ => return Err(shape()),
            };
            // At most 39 digits fit u128; longer is over the cap anyway.
            let n: u128 = num.parse().unwrap_or(u128::MAX / ms_per);
            total_ms = total_ms.saturating_add(n.saturating_mul(ms_per));
            rest = next;
        }
        let max_ms = MAX_DURATION.as_millis();
        if total_ms > max_ms {
            return Err(format!(
                "\"{s}\" is longer than the longest duration accepted ({} days)",
                MAX_DURATION.as_secs() / 86_400
            ));
        }
        Ok(std::time::Duration::from_millis(total_ms as u64))
    }
}

impl fmt::Display for DurationString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl JsonSchema for DurationString {
    fn schema_name() -> Cow<'static, str> {
        "DurationString".into()
    }
    fn inline_schema() -> bool {
        true
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": DURATION_PATTERN,
        })
    }
}

/// A byte count with an optional suffix: `k`/`M`/`G`/`T` (powers of 1000) or
/// `Ki`/`Mi`/`Gi`/`Ti` (powers of 1024), as in Kubernetes quantities.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ByteSize(pub String);

impl ByteSize {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    pub fn parse(&self) -> Result<u64, String> {
        let s = self.0.as_str();
        let digits_end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let (num, suffix) = s.split_at(digits_end);
        let expected = "expected digits with an optional k, M, G, T, Ki, Mi, Gi or Ti suffix";
        let n: u64 = num
            .parse()
            .map_err(|_| format!("\"{s}\" is not a byte size ({expected})"))?;
        let mult: u64 = match suffix {
            "" => 1,
            "k" => 1_000,
            "M" => 1_000_000,
            "G" => 1_000_000_000,
            "T" => 1_000_000_000_000,
            "Ki" => 1 << 10,
            "Mi" => 1 << 20,
            "Gi" => 1 << 30,
            "Ti" => 1 << 40,
            _ => return Err(format!("\"{s}\" has an unknown suffix ({expected})")),
        };
        n.checked_mul(mult)
            .ok_or_else(|| format!("\"{s}\" does not fit in 64 bits"))
    }
}

impl JsonSchema for ByteSize {
    fn schema_name() -> Cow<'static, str> {
        "ByteSize".into()
    }
    fn inline_schema() -> bool {
        true
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": BYTE_SIZE_PATTERN,
        })
    }
}

/// `s3://bucket/key`: where artifacts, captures and audit records live.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct S3Uri {
    pub bucket: String,
    pub key: String,
}

impl S3Uri {
    /// Parses `s3://bucket/key`, or the virtual-hosted and path-style `https://` forms S3
    /// itself prints (`https://bucket.s3.region.amazonaws.com/key`,
    /// `https://s3.region.amazonaws.com/bucket/key`).
    pub fn parse(s: &str) -> Result<Self, String> {
        let not_s3 = || format!("\"{s}\" is not an s3:// URI or an https:// S3 object URL");
        let (bucket, key) = if let Some(rest) = s.strip_prefix("s3://") {
            rest.split_once('/').unwrap_or((rest, ""))
        } else if let Some(rest) = s.strip_prefix("https://") {
            let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
            let host = host.to_ascii_lowercase();
            let is_s3 = |h: &str| h == "s3" || h.starts_with("s3.") || h.starts_with("s3-");
            match host.split_once('.') {
                // Path style: https://s3.<region>.amazonaws.com/<bucket>/<key>
                Some(_) if is_s3(&host) && host.ends_with(".amazonaws.com") => {
                    path.split_once('/').unwrap_or((path, ""))
                }
                // Virtual-hosted style: https://<bucket>.s3.<region>.amazonaws.com/<key>
                Some((bucket, domain)) if is_s3(domain) && domain.ends_with(".amazonaws.com") => {
                    return Self::new(bucket, path, s);
                }
                _ => return Err(not_s3()),
            }
        } else {
            return Err(not_s3());
        };
        Self::new(bucket, key, s)
    }

    fn new(bucket: &str, key: &str, original: &str) -> Result<Self, String> {
        if bucket.is_empty() {
            return Err(format!("\"{original}\" has no bucket"));
        }
        Ok(Self {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
        })
    }

    /// This URI with `name` appended as a path segment.
    pub fn join(&self, name: &str) -> Self {
        let key = if self.key.is_empty() || self.key.ends_with('/') {
            format!("{}{name}", self.key)
        } else {
            format!("{}/{name}", self.key)
        };
        Self {
            bucket: self.bucket.clone(),
            key,
        }
    }
}

impl fmt::Display for S3Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn durations_parse_in_every_unit_we_document() {
        for (s, want) in [
            ("90s", Duration::from_secs(90)),
            ("10m", Duration::from_secs(600)),
            ("1h30m", Duration::from_secs(5400)),
            ("500ms", Duration::from_millis(500)),
            ("1d", Duration::from_secs(86400)),
        ] {
            assert_eq!(DurationString::new(s).parse(), Ok(want), "{s}");
        }
    }

    #[test]
    fn malformed_durations_name_the_value() {
        for s in ["", "10", "m10", "1 h", "-5m", "10 minutes", "5min"] {
            let err = DurationString::new(s).parse().unwrap_err();
            assert!(err.contains(&format!("\"{s}\"")), "{err}");
        }
    }

    #[test]
    fn durations_outside_the_schema_pattern_or_too_long_are_refused() {
        for s in [
            "5min",
            "1w",
            "1.5h",
            "3650000d",
            "99999999999999999999999999999999999999999d",
        ] {
            assert!(DurationString::new(s).parse().is_err(), "{s}");
        }
        assert!(DurationString::new("366d").parse().is_ok());
    }

    #[test]
    fn s3_uris_parse_in_the_s3_and_https_forms() {
        let want = S3Uri {
            bucket: "ml-models".into(),
            key: "churn/model.tar.gz".into(),
        };
        for s in [
            "s3://ml-models/churn/model.tar.gz",
            "https://ml-models.s3.us-east-1.amazonaws.com/churn/model.tar.gz",
            "https://ml-models.s3.amazonaws.com/churn/model.tar.gz",
            "https://s3.us-east-1.amazonaws.com/ml-models/churn/model.tar.gz",
        ] {
            assert_eq!(S3Uri::parse(s), Ok(want.clone()), "{s}");
        }
        for s in [
            "https://example.com/model.tar.gz",
            "gs://bucket/key",
            "s3:///key",
        ] {
            assert!(S3Uri::parse(s).is_err(), "{s}");
        }
    }

    #[test]
    fn byte_sizes_use_kubernetes_suffixes() {
        assert_eq!(ByteSize::new("50Gi").parse(), Ok(50 << 30));
        assert_eq!(ByteSize::new("2k").parse(), Ok(2000));
        assert_eq!(ByteSize::new("123").parse(), Ok(123));
        assert!(
            ByteSize::new("5GB")
                .parse()
                .unwrap_err()
                .contains("unknown suffix")
        );
        assert!(
            ByteSize::new("99999999999Ti")
                .parse()
                .unwrap_err()
                .contains("64 bits")
        );
        assert!(ByteSize::new("Gi").parse().is_err());
    }
}
