//! `spec.tags`: the lineage tags a team adds, within AWS's tag rules and clear of the keys
//! the controller writes.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;

use super::collect::*;
use crate::tags;

pub(super) static TAG_CHARS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$").expect("static regex"));

pub(super) fn check_tags(c: &mut Collector, user_tags: &BTreeMap<String, String>) {
    if user_tags.len() > tags::MAX_USER_TAGS {
        c.err(
            "spec.tags",
            format!(
                "{} tags; at most {} (AWS allows 50 and lineage uses the rest)",
                user_tags.len(),
                tags::MAX_USER_TAGS
            ),
        );
    }
    for (k, v) in user_tags {
        let path = format!("spec.tags[{k}]");
        if k.is_empty() || k.chars().count() > tags::MAX_KEY_CHARS {
            c.err(&path, "keys are 1-128 characters");
        }
        if k.to_ascii_lowercase().starts_with("aws:") {
            c.err(&path, "the aws: prefix is reserved by AWS");
        }
        if tags::is_reserved(k) {
            c.err(
                &path,
                "is written by the controller (lineage or progress) and cannot be set here",
            );
        }
        if v.chars().count() > tags::MAX_VALUE_CHARS {
            c.err(
                &path,
                format!("value is {} characters; at most 256", v.chars().count()),
            );
        }
        if !(TAG_CHARS.is_match(k) && TAG_CHARS.is_match(v)) {
            c.err(
                &path,
                "may only use letters, digits, spaces and _ . : / = + - @",
            );
        }
    }
}
