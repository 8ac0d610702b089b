//! tcpgoon checks how many concurrent TCP connections a server, a load balancer or a whole
//! service can really hold.
//!
//! It opens N connections (paced by a sleep or a rate), holds them, watches which the far side
//! closes, and reports how many were dialing, established, closed or errored, with connect-time
//! statistics; its exit code tells a CI pipeline whether the target held them all. It is the
//! successor of the Go tcpgoon and keeps its flags, output lines and exit codes.
//!
//! The crate is organised as a run proceeds, in rooms with one-way doors between them (see
//! `docs/ARCHITECTURE.md`, checked by a test): the command line becomes a [`config`]; the
//! targets are discovered and the pre-flight checks that the run fits and builds the [`local`]
//! endpoints; the [`engine`] runs one poll loop and returns plain-data [`results`]; the
//! [`verdict`] turns them into an exit code, the [`report`] into text and the [`export`] into
//! files for machines (JSON with a schema, JUnit XML, an HTML page). What an embedder needs is
//! public: the configuration, the engine with its plan, the results and their reporters and
//! exporters, and the built-in [`server`] to test against.
#![deny(missing_docs)]
#![deny(missing_debug_implementations)]

pub mod app;
pub(crate) mod cli;
pub mod config;
pub(crate) mod discover;
pub mod engine;
pub mod export;
pub mod local;
pub(crate) mod preflight;
pub mod report;
pub mod results;
pub mod server;
pub(crate) mod units;
pub mod verdict;
