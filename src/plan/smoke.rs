//! Judging a smoke-test response against `spec.smokeTest.expect` (pure).

use regex::Regex;

use crate::api::SmokeExpect;

/// `Ok` when the response meets the expectation, else what differed.
pub fn evaluate(expect: &SmokeExpect, status: i32, body: &str) -> Result<(), String> {
    if status != expect.status {
        return Err(format!("status {status}, expected {}", expect.status));
    }
    if let Some(pattern) = &expect.body_matches {
        let re = Regex::new(pattern)
            .map_err(|e| format!("bodyMatches is not a valid regular expression: {e}"))?;
        if !re.is_match(body) {
            let shown: String = body.chars().take(200).collect();
            return Err(format!("body {shown:?} does not match /{pattern}/"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expect(status: i32, re: Option<&str>) -> SmokeExpect {
        SmokeExpect {
            status,
            body_matches: re.map(str::to_owned),
        }
    }

    #[test]
    fn smoke_expectations_check_status_and_body() {
        assert_eq!(
            evaluate(&expect(200, Some("\"score\"")), 200, r#"{"score": 0.7}"#),
            Ok(())
        );
        assert_eq!(
            evaluate(&expect(200, None), 500, "boom"),
            Err("status 500, expected 200".into())
        );
        let err = evaluate(&expect(200, Some("^\\{\"score")), 200, "nope").unwrap_err();
        assert!(err.contains("does not match"), "{err}");
    }
}
