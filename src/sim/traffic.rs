//! The simulator's traffic model, for the alarms that depend on requests arriving: a floor
//! on Invocations ([`AlarmKind::Below`], missing data breaching) is in ALARM while its
//! variant has no requests — from creation, as CloudWatch treats "all data missing" when
//! missing data is breaching (CW-19) — and OK once the variant has had requests for the
//! alarm's evaluation periods. The simulated endpoint is assumed to receive steady traffic
//! split by the current weights (a shadow variant gets its copy) unless the scenario says
//! `noTraffic: true`; how fast CloudWatch publishes and evaluates is not modelled beyond
//! whole periods (docs silent).

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};

use super::State;
use crate::plan::AlarmState;
use crate::plan::actions::AlarmKind;

impl State {
    /// Sets every floor's state from the traffic its variant has had up to `now`.
    pub(super) fn floors(&mut self, now: Timestamp) {
        let serving: BTreeMap<(String, String), bool> = self
            .endpoints
            .values()
            .flat_map(|e| {
                let shadowed = e.desc.shadow_variants.iter().map(|v| (v, true));
                e.desc
                    .variants
                    .iter()
                    .map(|v| (v, v.current_weight > 0.0))
                    .chain(shadowed)
                    .map(|(v, gets)| ((e.desc.name.clone(), v.name.clone()), gets))
            })
            .collect();
        let no_traffic = self.no_traffic;
        for (name, (alarm, plan)) in self.alarms.iter_mut() {
            let Some(plan) = plan.as_ref().filter(|p| p.kind == AlarmKind::Below) else {
                continue;
            };
            let key = (
                plan.dimensions
                    .get("EndpointName")
                    .cloned()
                    .unwrap_or_default(),
                plan.dimensions
                    .get("VariantName")
                    .cloned()
                    .unwrap_or_default(),
            );
            let gets = !no_traffic && serving.get(&key).copied().unwrap_or(false);
            let since = if gets {
                Some(*self.traffic_since.entry(name.clone()).or_insert(now))
            } else {
                self.traffic_since.remove(name);
                None
            };
            let window = SignedDuration::from_secs(60 * i64::from(plan.periods));
            let ok = since.is_some_and(|s| now.duration_since(s) >= window);
            let state = if ok {
                AlarmState::Ok
            } else {
                AlarmState::Alarm
            };
            if alarm.state != state {
                alarm.state = state;
                alarm.since = Some(now);
            }
        }
    }
}
