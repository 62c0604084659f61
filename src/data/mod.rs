//! Data: seeding a schema with rows that satisfy it, and checksumming what tables hold. This
//! part reads the table model of `schema`; it knows nothing of runners or reports.

mod check_constraints;
mod checksum;
mod error;
mod load;
mod numeric;
mod plan;
mod reading;
mod reuse;
mod row_diff;
mod values;

pub use checksum::{
    checksum_table_like, checksum_tables, checksum_tables_following, ColumnDigest, Readers,
    RowIdentity, TableChecksum,
};
pub use error::DataError;
pub use load::{load, seed, Seeded};
pub use numeric::encode_numeric;
pub use plan::{plan, Plan, SeedOptions};
pub use reuse::Reuse;
pub use row_diff::{differing_rows, RowDifference};
