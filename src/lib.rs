//! migverify proves that database migrations are safe to merge. The parts each have one job:
//! `database` (where migrations run), `runner` (how a kind of project migrates), `schema` (what a
//! database holds, as canonical text), `data` (seeding and checksums), `report` (what a run
//! found) and `gate` (the sequence and the policy of a run). `cli` resolves the command line and
//! migverify.toml into settings once; `commands` builds the parts a command needs and calls them.

pub mod cli;
pub mod commands;
pub mod data;
pub mod database;
pub mod error;
pub mod gate;
mod git;
mod impact;
pub mod progress;
pub mod report;
pub mod runner;
pub mod schema;
mod sql;

pub use commands::run_until_interrupted;
pub use error::{Error, Result};
