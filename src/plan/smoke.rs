//! Judging a smoke-test response against `spec.smokeTest.expect` (pure; the body pattern was
//! compiled when the spec was validated).

use crate::api::valid::SmokeTest;

/// `Ok` when the response meets the expectation, else what differed.
pub fn evaluate(test: &SmokeTest, status: i32, body: &str) -> Result<(), String> {
    if status != test.expect_status {
        return Err(format!("status {status}, expected {}", test.expect_status));
    }
    if let Some(re) = &test.body_matches
        && !re.is_match(body)
    {
        let shown: String = body.chars().take(200).collect();
        return Err(format!("body {shown:?} does not match /{}/", re.as_str()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test(status: i32, re: Option<&str>) -> SmokeTest {
        SmokeTest {
            content_type: "text/csv".into(),
            body: "1,2".into(),
            expect_status: status,
            body_matches: re.map(|r| regex::Regex::new(r).expect("regex")),
        }
    }

    #[test]
    fn smoke_expectations_check_status_and_body() {
        assert_eq!(
            evaluate(&test(200, Some("\"score\"")), 200, r#"{"score": 0.7}"#),
            Ok(())
        );
        assert_eq!(
            evaluate(&test(200, None), 500, "boom"),
            Err("status 500, expected 200".into())
        );
        let err = evaluate(&test(200, Some("^\\{\"score")), 200, "nope").unwrap_err();
        assert!(err.contains("does not match"), "{err}");
    }
}
