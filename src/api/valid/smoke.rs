//! `spec.smokeTest`: the request sent to the candidate variant before any traffic moves,
//! bounded by SageMaker's payload limit, and what its answer must look like.

use regex::Regex;

use super::collect::*;
use crate::api::spec::*;

/// The smoke test, with its body pattern compiled.
#[derive(Clone, Debug)]
pub struct SmokeTest {
    pub content_type: String,
    pub body: String,
    pub expect_status: i32,
    pub body_matches: Option<Regex>,
}

/// SageMaker's limit on an InvokeEndpoint payload.
pub(super) const MAX_INVOKE_BYTES: usize = 6 * 1024 * 1024;

pub(super) fn smoke_test(c: &mut Collector, st: &SmokeTestSpec) -> Option<SmokeTest> {
    if st.content_type.trim().is_empty() {
        c.err(
            "spec.smokeTest.contentType",
            "must be a MIME type such as text/csv",
        );
    }
    if st.body.len() > MAX_INVOKE_BYTES {
        c.err(
            "spec.smokeTest.body",
            format!(
                "is {} bytes; InvokeEndpoint accepts at most 6 MiB",
                st.body.len()
            ),
        );
    }
    c.range(
        "spec.smokeTest.expect.status",
        st.expect.status.into(),
        100,
        599,
    );
    let body_matches = match &st.expect.body_matches {
        None => None,
        Some(pattern) => match Regex::new(pattern) {
            Ok(re) => Some(re),
            Err(e) => {
                let detail = e.to_string();
                let detail = detail
                    .lines()
                    .last()
                    .unwrap_or_default()
                    .trim_start_matches("error: ");
                c.err(
                    "spec.smokeTest.expect.bodyMatches",
                    format!("\"{pattern}\" is not a valid regular expression ({detail})"),
                );
                return None;
            }
        },
    };
    Some(SmokeTest {
        content_type: st.content_type.clone(),
        body: st.body.clone(),
        expect_status: st.expect.status,
        body_matches,
    })
}
