//! The reconcile slot a pass holds, and stepping out of it for a long validation.
//!
//! The controller runs at most `--concurrency` passes at once, each holding a slot. An
//! artifact validation can take minutes (a large archive, a slow bucket), and a tenant's
//! archive must not take a slot that another team's alarm-triggered rollback needs: so a
//! validation gives its pass's slot back, waits for one of the few validation slots (their
//! own, smaller, pool), and takes a pass slot again only when it is done. The pass still
//! awaits its validation — its plan is the same — it just no longer counts against the
//! others while it does. Outside a slot (the CLI, the simulator) [`aside`] only runs.
//!
//! The slot travels in a tokio task-local, set by the controller around a pass ([`hold`]):
//! the engine's code stays the same for every front end.

use std::future::Future;
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Artifacts validated at once (each up to `MAX_VALIDATION_WORKERS` cores, out of its slot).
pub const VALIDATIONS: usize = 2;

/// The pools a pass's slot comes from.
#[derive(Clone, Debug)]
pub struct Pools {
    /// Slots of passes (`--concurrency`).
    pub passes: Arc<Semaphore>,
    /// Slots of validations: how many archives are validated at once.
    pub validations: Arc<Semaphore>,
}

impl Pools {
    /// `passes` passes at once, and [`VALIDATIONS`] validations.
    pub fn new(passes: usize) -> Self {
        Self {
            passes: Arc::new(Semaphore::new(passes)),
            validations: Arc::new(Semaphore::new(VALIDATIONS)),
        }
    }
}

struct Slot {
    pools: Pools,
    held: Mutex<Option<OwnedSemaphorePermit>>,
}

tokio::task_local! {
    static SLOT: Slot;
}

/// Runs `pass` holding a slot of `pools.passes` (waiting for one first).
pub async fn hold<F: Future>(pools: Pools, pass: F) -> F::Output {
    let permit = pools.passes.clone().acquire_owned().await.ok();
    let slot = Slot {
        pools,
        held: Mutex::new(permit),
    };
    SLOT.scope(slot, pass).await
}

/// Runs `validation` out of the pass's slot: the slot is given back, a validation slot is
/// held meanwhile, and a pass slot is taken again afterwards.
pub async fn aside<F: Future>(validation: F) -> F::Output {
    let Ok(pools) = SLOT.try_with(|s| {
        if let Ok(mut held) = s.held.lock() {
            held.take();
        }
        s.pools.clone()
    }) else {
        return validation.await;
    };
    let out = {
        let _validating = pools.validations.clone().acquire_owned().await.ok();
        validation.await
    };
    let again = pools.passes.clone().acquire_owned().await.ok();
    let _ = SLOT.try_with(|s| {
        if let Ok(mut held) = s.held.lock() {
            *held = again;
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn pools(passes: usize, validations: usize) -> Pools {
        Pools {
            passes: Arc::new(Semaphore::new(passes)),
            validations: Arc::new(Semaphore::new(validations)),
        }
    }

    /// With one pass slot, a pass validating for a minute does not keep another pass (an
    /// alarm's rollback) waiting for that minute.
    #[tokio::test(start_paused = true)]
    async fn a_validating_pass_gives_its_slot_to_the_others() {
        let p = pools(1, 1);
        let long = tokio::spawn(hold(p.clone(), async {
            aside(tokio::time::sleep(Duration::from_secs(60))).await;
        }));
        tokio::time::sleep(Duration::from_millis(10)).await;
        let start = tokio::time::Instant::now();
        hold(p.clone(), async {}).await;
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "{:?}",
            start.elapsed()
        );
        long.await.unwrap();
        assert_eq!(p.passes.available_permits(), 1, "every slot given back");
    }

    /// Validations have their own, smaller pool: three at once with two slots take twice
    /// as long as one.
    #[tokio::test(start_paused = true)]
    async fn validations_take_turns_in_their_own_pool() {
        let p = pools(4, 2);
        let start = tokio::time::Instant::now();
        let runs: Vec<_> = (0..3)
            .map(|_| {
                tokio::spawn(hold(p.clone(), async {
                    // The sleep starts when the validation does (a Sleep counts from its
                    // creation).
                    aside(async { tokio::time::sleep(Duration::from_secs(10)).await }).await;
                }))
            })
            .collect();
        for r in runs {
            r.await.unwrap();
        }
        let took = start.elapsed();
        assert!(
            took >= Duration::from_secs(20) && took < Duration::from_secs(21),
            "{took:?}"
        );
    }

    #[tokio::test]
    async fn outside_a_slot_a_validation_just_runs() {
        assert_eq!(aside(async { 7 }).await, 7);
    }
}
