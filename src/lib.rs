//! tcpgoon checks how many concurrent TCP connections a server, a load balancer or a whole
//! service can really hold.
//!
//! It opens N connections (paced by a sleep or a rate), holds them, watches which the far side
//! closes, and reports how many were dialing, established, closed or errored, with connect-time
//! statistics; its exit code tells a CI pipeline whether the target held them all. It is the
//! successor of the Go tcpgoon and keeps its flags, output lines and exit codes.
//!
//! The library is organised as the program runs: [`cli`] turns arguments into a validated
//! configuration, [`target`] resolves the host once, [`preflight`] checks that the run fits on
//! this machine, [`engine`] runs the single-threaded poll loop over a slab of sockets and a
//! [`wheel`] of timers and returns plain-data [`results`], and [`report`] prints them. See
//! `docs/ARCHITECTURE.md` for the map and the invariants.
#![deny(missing_docs)]

pub mod app;
pub mod cli;
pub mod engine;
pub mod kernel;
pub mod pacing;
pub mod preflight;
pub mod prompt;
pub mod report;
pub mod results;
pub mod server;
pub mod signals;
pub mod source;
pub mod stats;
pub mod target;
pub mod units;
pub mod wheel;
