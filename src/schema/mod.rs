//! Schemas: what pg_catalog says a database holds, written as canonical text that is sorted,
//! stable across runs, one object per block, and compared object by object. This part knows
//! nothing of migration tools: the caller names the tables to leave out.

mod canonical;
mod catalog;
mod compare;
mod diff;
mod error;
mod introspect;
mod relations;
mod tables;

pub use canonical::{SchemaObject, Snapshot};
pub use compare::{compare, Comparison};
pub use diff::unified_diff;
pub use error::SchemaError;
pub use introspect::introspect;
pub use tables::{
    find_table, load_tables, names_table, Column, DataType, ForeignKey, Table, UniqueKey,
};
