//! The endpoint's 50-tag budget (SageMaker: at most 50 tags per resource). The controller's
//! tags — markers, lineage, `spec.tags` — share it with tags other people put on the
//! endpoint, which are counted and never removed. A plan whose tag writes would end above
//! the limit does nothing and says which tags to remove, instead of failing half-way on
//! AWS's validation error.

use std::collections::BTreeMap;

use super::actions::Action;
use super::markers::{KEYS, Markers};
use crate::tags::{self, MARKER_PREFIX};

/// The tags the endpoint would carry after `actions` ran on `current` (a write of an empty
/// value removes the key, as the adapter's DeleteTags does).
fn after(current: &BTreeMap<String, String>, actions: &[Action]) -> BTreeMap<String, String> {
    let mut tags = current.clone();
    for action in actions {
        if let Action::TagEndpoint { tags: write } = action {
            for (k, v) in write {
                if v.is_empty() {
                    tags.remove(k);
                } else {
                    tags.insert(k.clone(), v.clone());
                }
            }
        }
    }
    tags
}

/// Whether a tag key is one the controller writes for `spec_tags` (its vocabulary, its
/// markers, a `spec.tags` key, or one it applied earlier and removes at the rollout's end).
fn ours(
    key: &str,
    spec_tags: &BTreeMap<String, String>,
    current: &BTreeMap<String, String>,
) -> bool {
    key.starts_with(MARKER_PREFIX)
        || tags::is_reserved(key)
        || spec_tags.contains_key(key)
        || tags::applied_user_tag(current, key)
}

/// Checks the tag writes of a plan against the budget; the error explains the overflow.
pub(super) fn check(
    current: &BTreeMap<String, String>,
    actions: &[Action],
    spec_tags: &BTreeMap<String, String>,
) -> Result<(), String> {
    if !actions
        .iter()
        .any(|a| matches!(a, Action::TagEndpoint { .. }))
    {
        return Ok(());
    }
    let end = after(current, actions);
    if end.len() <= tags::MAX_TAGS {
        return Ok(());
    }
    let foreign: Vec<&String> = (end.keys())
        .filter(|k| !ours(k, spec_tags, current))
        .collect();
    let mine = end.len() - foreign.len();
    Err(format!(
        "the endpoint would carry {} tags and SageMaker allows {}: the controller needs {mine} (progress markers, lineage, spec.tags) and {} others are set outside it ({}); remove {} of those or shorten spec.tags",
        end.len(),
        tags::MAX_TAGS,
        foreign.len(),
        foreign
            .iter()
            .map(|k| k.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        end.len() - tags::MAX_TAGS
    ))
}

/// Whether a whole rollout fits before it starts: every marker set, the candidate's lineage
/// written and the old lineage it lacks removed, on top of what the endpoint carries now.
pub(super) fn rollout_fits(
    current: &BTreeMap<String, String>,
    lineage: &BTreeMap<String, String>,
    spec_tags: &BTreeMap<String, String>,
) -> Result<(), String> {
    let mut end: BTreeMap<String, String> = Markers::default()
        .to_tags()
        .into_keys()
        .map(|k| (k, String::new()))
        .collect();
    for k in KEYS {
        end.insert(format!("{MARKER_PREFIX}{k}"), "set".into());
    }
    for k in tags::LINEAGE_KEYS {
        end.insert((*k).to_owned(), String::new());
    }
    // `spec.tags` keys applied earlier and no longer listed go at the rollout's end.
    for k in tags::stale_user_tags(spec_tags, current) {
        end.insert(k.clone(), String::new());
    }
    end.insert(tags::USER_TAGS_KEY.to_owned(), "set".into());
    end.extend(lineage.clone());
    check(current, &[Action::TagEndpoint { tags: end }], spec_tags)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(pairs: &[(&str, &str)]) -> Action {
        Action::TagEndpoint {
            tags: pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        }
    }

    #[test]
    fn removals_make_room_and_foreign_tags_count() {
        let foreign: BTreeMap<String, String> = (0..48)
            .map(|i| (format!("team-{i}"), "x".to_owned()))
            .collect();
        let none = BTreeMap::new();
        let two = write(&[
            ("sagemaker-rollout:owner", "a/b"),
            ("sagemaker-rollout:state", "s"),
        ]);
        assert!(check(&foreign, &[two], &none).is_ok(), "50 is allowed");
        let three = write(&[
            ("sagemaker-rollout:owner", "a/b"),
            ("sagemaker-rollout:state", "s"),
            ("managed-by", "sagemaker-rollout"),
        ]);
        let err = check(&foreign, &[three], &none).unwrap_err();
        assert!(
            err.contains("51 tags") && err.contains("48 others") && err.contains("remove 1"),
            "{err}"
        );
        let mut with_stale = foreign.clone();
        with_stale.insert("data_version".into(), "old".into());
        let replace = write(&[
            ("data_version", ""),
            ("sagemaker-rollout:owner", "a/b"),
            ("sagemaker-rollout:state", "s"),
        ]);
        assert!(
            check(&with_stale, &[replace], &none).is_ok(),
            "a removed key frees its slot"
        );
        assert!(
            check(&with_stale, &[], &none).is_ok(),
            "no write, nothing to check"
        );
    }
}
