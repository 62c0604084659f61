//! migverify proves that database migrations are safe to merge. The parts each have one job:
//! `database` (where migrations run), `runner` (how a kind of project migrates), `schema` (what a
//! database holds, as canonical text), `report` (what a run found) and `gate` (the sequence of a
//! run). `commands` wires them together for the command line, with defaults from `config`.

pub mod cli;
pub mod commands;
pub mod config;
pub mod data;
pub mod database;
pub mod error;
pub mod gate;
mod git;
pub mod progress;
pub mod report;
pub mod runner;
pub mod schema;
mod sql;

pub use commands::run_until_interrupted;
pub use error::{Error, Result};
