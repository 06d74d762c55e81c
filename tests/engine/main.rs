//! The engine on the simulator in virtual time: candidate resolution, every strategy end to
//! end, rollbacks, failures, throttling, crash and restart after every mutating call.

mod picture;
mod requests;
mod resolve;
mod sim;
mod sources;
mod watch;
