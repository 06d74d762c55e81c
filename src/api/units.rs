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

    /// The typed value, or a message saying what was expected.
    pub fn parse(&self) -> Result<std::time::Duration, String> {
        let s = self.0.as_str();
        let ok_shape = !s.is_empty()
            && s.chars().all(|c| c.is_ascii_alphanumeric())
            && s.starts_with(|c: char| c.is_ascii_digit());
        if !ok_shape {
            return Err(format!(
                "\"{s}\" is not a duration (expected e.g. 90s, 10m, 1h30m, 500ms)"
            ));
        }
        humantime::parse_duration(s)
            .map_err(|e| format!("\"{s}\" is not a duration ({e}); expected e.g. 90s, 10m, 1h30m"))
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
        for s in ["", "10", "m10", "1 h", "-5m", "10 minutes"] {
            let err = DurationString::new(s).parse().unwrap_err();
            assert!(err.contains(&format!("\"{s}\"")), "{err}");
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
