//! SQL text that several parts write, and the server's errors as several parts report them.

/// Quotes an identifier the way PostgreSQL's quote_ident does.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// One sentence for a sqlx error, without the driver's debug noise.
pub fn describe_error(error: &sqlx::Error) -> String {
    match error {
        sqlx::Error::Database(db) => {
            let mut message = db.message().to_string();
            if let Some(pg) = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
                if let Some(detail) = pg.detail() {
                    message.push_str(&format!(" ({detail})"));
                }
            }
            message
        }
        other => other.to_string(),
    }
}
