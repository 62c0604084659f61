//! The connection an in-process runner keeps between steps, with the database it is for.

use futures_util::future::BoxFuture;
use sqlx::postgres::{PgConnectOptions, PgConnection};

use super::StepError;

#[derive(Default)]
pub(super) struct KeptConnection(Option<(String, PgConnection)>);

impl KeptConnection {
    /// The kept connection to `database`. A new one is kept only once `prepare` has run on
    /// it (a runner makes its bookkeeping table there, as its tool does when it connects).
    pub async fn to<P>(
        &mut self,
        database: &PgConnectOptions,
        prepare: P,
    ) -> Result<&mut PgConnection, StepError>
    where
        P: for<'c> FnOnce(&'c mut PgConnection) -> BoxFuture<'c, Result<(), StepError>>,
    {
        let wanted = format!(
            "{}:{}/{}",
            database.get_host(),
            database.get_port(),
            database.get_database().unwrap_or_default()
        );
        if self
            .0
            .as_ref()
            .is_none_or(|(current, _)| *current != wanted)
        {
            self.0 = None;
            let mut connection = crate::database::connect(database)
                .await
                .map_err(|e| StepError::Connection(e.to_string()))?;
            prepare(&mut connection).await?;
            self.0 = Some((wanted, connection));
        }
        Ok(&mut self.0.as_mut().expect("kept above").1)
    }

    /// Drops the connection: after a failure, so that nothing a failed migration left open on
    /// it (a transaction, a lock) can block the next step; or before its database is dropped.
    pub fn forget(&mut self) {
        self.0 = None;
    }
}
