//! The connection an in-process runner keeps between steps, with the database it is for.

use sqlx::postgres::{PgConnectOptions, PgConnection};

use super::StepError;

#[derive(Default)]
pub(super) struct KeptConnection(Option<(String, PgConnection)>);

impl KeptConnection {
    /// The kept connection to `database`, and whether it was made just now (a runner then
    /// makes its bookkeeping table, as its tool does when it connects).
    pub async fn to(
        &mut self,
        database: &PgConnectOptions,
    ) -> Result<(&mut PgConnection, bool), StepError> {
        let wanted = format!(
            "{}:{}/{}",
            database.get_host(),
            database.get_port(),
            database.get_database().unwrap_or_default()
        );
        let fresh = self
            .0
            .as_ref()
            .is_none_or(|(current, _)| *current != wanted);
        if fresh {
            let connection = crate::database::connect(database)
                .await
                .map_err(|e| StepError::Connection(e.to_string()))?;
            self.0 = Some((wanted, connection));
        }
        Ok((&mut self.0.as_mut().expect("connected above").1, fresh))
    }

    /// Drops the connection: after a failure, so that nothing a failed migration left open on
    /// it (a transaction, a lock) can block the next step; or before its database is dropped.
    pub fn forget(&mut self) {
        self.0 = None;
    }
}
