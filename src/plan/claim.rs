//! Who may drive an endpoint. The owner marker names the ModelDeployment (`namespace/name`),
//! the driver acting for it — a controller, by its cluster id, or `cli` — and the resource's
//! UID. Two clusters sharing an account, or a laptop running `apply`, see an endpoint another
//! driver holds as someone else's: a controller never takes one from another cluster, the
//! CLI only when told to (`--take-over`), a controller from the CLI only with `adopt: true`.
//! An endpoint marked before drivers existed (no driver) is claimed and marked.

use super::markers::Markers;
use super::{Action, Health, Phase, Planner};
use crate::tags;
use std::collections::BTreeMap;

/// The CLI's driver name (a cluster id can never be it).
pub const CLI: &str = "cli";

/// Who acts for the owner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Driver {
    /// The controller's cluster id, or [`CLI`].
    pub name: String,
    /// The ModelDeployment's UID (the controller; the CLI has none).
    pub uid: Option<String>,
    /// Claim the endpoint from another driver of the same owner (CLI `--take-over`).
    pub take_over: bool,
}

impl Driver {
    pub fn cli() -> Self {
        Self {
            name: CLI.into(),
            uid: None,
            take_over: false,
        }
    }

    pub fn controller(cluster: &str, uid: Option<&str>) -> Self {
        Self {
            name: cluster.into(),
            uid: uid.map(str::to_owned),
            take_over: false,
        }
    }

    fn describe(name: &str) -> String {
        if name == CLI {
            "the CLI (sagemaker-rollout apply)".into()
        } else {
            format!("the controller of cluster {name:?}")
        }
    }
}

/// How the markers relate to an owner and its driver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Claim {
    /// This owner, this driver (and this UID, where both know one).
    Ours,
    /// This owner, marked before drivers were recorded.
    Unmarked,
    /// This owner and driver, another UID: an earlier resource of the same name.
    Earlier { uid: String },
    /// This owner, another driver: another cluster, or the CLI against a controller.
    OtherDriver { driver: String },
    /// Another owner.
    Other { owner: String },
    /// No owner at all.
    Unowned,
}

impl Claim {
    /// Whether this driver may act as the owner without claiming anything.
    pub fn is_ours(&self) -> bool {
        matches!(self, Self::Ours | Self::Unmarked)
    }
}

/// The claim `driver`, acting for `owner`, has on an endpoint with these markers.
pub fn claim_of(m: &Markers, owner: &str, driver: &Driver) -> Claim {
    match (&m.owner, &m.driver) {
        (None, _) => Claim::Unowned,
        (Some(o), _) if o != owner => Claim::Other { owner: o.clone() },
        (Some(_), None) => Claim::Unmarked,
        (Some(_), Some(d)) if *d != driver.name => Claim::OtherDriver { driver: d.clone() },
        (Some(_), Some(_)) => match (&m.uid, &driver.uid) {
            (Some(theirs), Some(mine)) if theirs != mine => Claim::Earlier {
                uid: theirs.clone(),
            },
            _ => Claim::Ours,
        },
    }
}

impl Planner<'_> {
    /// Ownership: ours, claimable (marked by an earlier version, an earlier resource of the
    /// same name with `adopt`, the CLI with `--take-over`, an adoptable endpoint), or
    /// someone else's.
    pub(super) fn claim(&mut self, what: &str, tags: &BTreeMap<String, String>) -> bool {
        let me = self.input.owner;
        let driver = self.input.driver;
        let adopt = self.spec().adopt;
        match claim_of(&self.markers, me, driver) {
            Claim::Ours => true,
            Claim::Unmarked => {
                self.mark(Vec::new());
                true
            }
            Claim::Earlier { .. } if adopt => {
                self.mark(Vec::new());
                self.event("Adopted", format!("took over {what} from an earlier ModelDeployment of the same name (adopt: true)"), false);
                true
            }
            Claim::Earlier { uid } => self.conflict(format!(
                "{what} is driven by an earlier ModelDeployment {me} (uid {uid}); if it was deleted with deletionPolicy Retain, set spec.adopt: true to take the endpoint over; if another cluster uses the same cluster id, give each its own --cluster-id"
            )),
            Claim::OtherDriver { driver: d }
                if driver.take_over || (adopt && d == CLI && driver.name != CLI) =>
            {
                self.mark(Vec::new());
                let from = Driver::describe(&d);
                self.event("Adopted", format!("took over {what} from {from}"), false);
                true
            }
            Claim::OtherDriver { driver: d } => {
                let how = if driver.name == CLI {
                    "pass --take-over to drive it from here (the controller then stops with a Conflict until it is given back)"
                } else if d == CLI {
                    "set spec.adopt: true to take it over from the CLI"
                } else {
                    "a controller never drives an endpoint another cluster drives; delete the ModelDeployment there (deletionPolicy Retain) first"
                };
                self.conflict(format!(
                    "{what} is driven for {me} by {}: {how}",
                    Driver::describe(&d)
                ))
            }
            Claim::Other { owner } => self.conflict(format!(
                "{what} is managed by ModelDeployment {owner}; two resources cannot drive one endpoint"
            )),
            Claim::Unowned if adopt => self.adopt_unowned(what, tags),
            Claim::Unowned => {
                self.judge(
                    Phase::Failed,
                    Health::Stalled,
                    "NotOwned",
                    format!(
                        "{what} exists and is not managed by this resource; set spec.adopt: true to take it over"
                    ),
                );
                false
            }
        }
    }

    fn conflict(&mut self, message: String) -> bool {
        self.judge(Phase::Failed, Health::Stalled, "Conflict", message);
        false
    }

    /// Writes the owner marker as this owner and driver, with `extra` tags in the same
    /// request.
    fn mark(&mut self, extra: Vec<(String, String)>) {
        let mut m = self.markers.clone();
        m.owner = Some(self.input.owner.to_owned());
        m.driver = Some(self.input.driver.name.clone());
        m.uid = self.input.driver.uid.clone();
        let mut tags = m.to_tags();
        tags.extend(extra);
        self.push(Action::TagEndpoint { tags });
        self.markers = m;
    }

    /// Adoption of an endpoint nobody owns: only one an administrator tagged adoptable by
    /// this namespace, as the shipped IAM policies require.
    fn adopt_unowned(&mut self, what: &str, tags: &BTreeMap<String, String>) -> bool {
        let me = self.input.owner;
        let namespace = tags::namespace_of(me);
        let adoptable = tags.get(tags::ADOPT_BY_KEY).map(String::as_str);
        if adoptable != Some(tags::tag_safe(namespace).as_str()) {
            let why = match adoptable {
                Some(other) => format!("it is marked adoptable by namespace {other:?} only"),
                None => format!(
                    "an administrator must first tag it {}={namespace} (the IAM policies allow adoption only then)",
                    tags::ADOPT_BY_KEY
                ),
            };
            self.judge(
                Phase::Failed,
                Health::Stalled,
                "AdoptionNotPermitted",
                format!("{what} cannot be adopted: {why}"),
            );
            return false;
        }
        // With managed-by and the namespace in the same request: the tenant role's policy
        // allows this tag write only that way.
        let mut extra = vec![(tags::MANAGED_BY_KEY.to_owned(), tags::MANAGED_BY.to_owned())];
        extra.extend(tags::ownership(me));
        self.mark(extra);
        self.event("Adopted", format!("took over {what} (adopt: true)"), false);
        true
    }
}
