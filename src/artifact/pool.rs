//! An order-preserving worker pool with bounded depth: jobs run on `workers` threads, results
//! come out in submission order, and at most `depth` jobs are in flight, which bounds memory
//! whatever the input size. Used to compress (package) and inflate (validate) gzip members in
//! parallel.

use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread;

type Job<I, O> = (I, SyncSender<O>);

/// The submitting half.
pub struct Submitter<I, O> {
    jobs: Option<SyncSender<Job<I, O>>>,
    order: SyncSender<Receiver<O>>,
}

/// The consuming half: results in submission order.
pub struct Ordered<O> {
    order: Receiver<Receiver<O>>,
}

/// The pool was torn down (the other half was dropped).
#[derive(Debug)]
pub struct Closed;

/// Starts `workers` threads applying `f`.
pub fn spawn<I, O, F>(workers: usize, depth: usize, f: F) -> (Submitter<I, O>, Ordered<O>)
where
    I: Send + 'static,
    O: Send + 'static,
    F: Fn(I) -> O + Send + Sync + 'static,
{
    let (job_tx, job_rx) = sync_channel::<Job<I, O>>(depth.max(1));
    let (order_tx, order_rx) = sync_channel::<Receiver<O>>(depth.max(1));
    let job_rx = Arc::new(Mutex::new(job_rx));
    let f = Arc::new(f);
    for _ in 0..workers.max(1) {
        let job_rx = Arc::clone(&job_rx);
        let f = Arc::clone(&f);
        thread::spawn(move || {
            loop {
                // The lock is held only while waiting for the next job.
                let job = match job_rx.lock() {
                    Ok(rx) => rx.recv(),
                    Err(_) => return,
                };
                let Ok((input, reply)) = job else { return };
                // A dropped consumer is not an error for the worker.
                let _ = reply.send(f(input));
            }
        });
    }
    (
        Submitter {
            jobs: Some(job_tx),
            order: order_tx,
        },
        Ordered { order: order_rx },
    )
}

impl<I, O> Submitter<I, O> {
    /// Queues a job; blocks while `depth` results are pending.
    pub fn submit(&self, input: I) -> Result<(), Closed> {
        let (tx, rx) = sync_channel(1);
        self.order.send(rx).map_err(|_| Closed)?;
        self.jobs
            .as_ref()
            .ok_or(Closed)?
            .send((input, tx))
            .map_err(|_| Closed)
    }

    /// Queues a result computed by the caller, in order with the jobs.
    pub fn ready(&self, output: O) -> Result<(), Closed> {
        let (tx, rx) = sync_channel(1);
        tx.send(output).map_err(|_| Closed)?;
        self.order.send(rx).map_err(|_| Closed)
    }
}

impl<O> Ordered<O> {
    /// The next result in order, or None once the submitter is gone and all are consumed.
    pub fn next(&self) -> Option<O> {
        let rx = self.order.recv().ok()?;
        rx.recv().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_out_in_submission_order() {
        let (tx, out) = spawn(4, 3, |n: u64| {
            thread::sleep(std::time::Duration::from_millis((10 - n % 10) * 2));
            n * n
        });
        let producer = thread::spawn(move || {
            for n in 0..50 {
                if n % 7 == 0 {
                    tx.ready(n * n).expect("open");
                } else {
                    tx.submit(n).expect("open");
                }
            }
        });
        let got: Vec<u64> = std::iter::from_fn(|| out.next()).collect();
        producer.join().expect("producer");
        assert_eq!(got, (0..50).map(|n| n * n).collect::<Vec<_>>());
    }
}
