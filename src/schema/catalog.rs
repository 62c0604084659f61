//! Which parts of pg_catalog belong to the schema under test: not the server's own namespaces,
//! not what an extension created, not the tables the caller skips (migration bookkeeping).

use sqlx::postgres::{PgConnection, PgRow};

use super::error::Result;

/// Namespaces that belong to the server, not to the schema under test.
pub(super) const USER_NAMESPACE: &str = "n.nspname NOT IN ('pg_catalog', 'information_schema') \
     AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'";

pub(super) fn not_from_extension(catalog: &str, oid: &str) -> String {
    format!(
        "NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = '{catalog}'::regclass \
         AND e.objid = {oid} AND e.deptype = 'e')"
    )
}

/// The relations of the schema under test: `c` in user namespaces, not from an extension and
/// not one of the skipped tables (bound as `$1`).
pub(super) fn user_relation() -> String {
    format!(
        "{USER_NAMESPACE} AND {} AND NOT (c.relname = ANY($1) OR format('%s.%s', n.nspname, c.relname) = ANY($1))",
        not_from_extension("pg_class", "c.oid")
    )
}

/// The rows of a query over the user's relations (`user_relation`), the skipped tables bound as
/// `$1`.
pub(super) async fn relation_rows<R>(
    tx: &mut PgConnection,
    sql: &str,
    skip: &[String],
) -> Result<Vec<R>>
where
    R: for<'r> sqlx::FromRow<'r, PgRow> + Send + Unpin,
{
    Ok(sqlx::query_as(sql).bind(skip).fetch_all(tx).await?)
}
