//! Data checks as a session runs them: the tables read following their state before the step,
//! the state at `--from` rebuilt beside the scratch database where the earlier reading does not
//! compare (or rows must be shown), and the rows that show each finding.

use sqlx::postgres::PgConnection;

use crate::data::{self, RowDifference, SeedOptions, TableChecksum};
use crate::database;
use crate::error::Result;
use crate::runner::{self, Target};
use crate::schema;

use super::data_verdicts::{data_check, DataComparison, DataFinding};
use super::session::Session;

/// Two states of every table: `after` read following `before`, and `before` as it compares.
pub struct Compared {
    pub before: Vec<TableChecksum>,
    pub after: Vec<TableChecksum>,
}

impl Session<'_> {
    /// Every table's checksum read following `before`, with `before` as it compares with it:
    /// where a table's rows can no longer be matched the way `before` matched them (its key
    /// did not survive, or whole rows lost a column), that table is read again as it was, from
    /// the state at `from` rebuilt beside the scratch database.
    pub async fn checksums_following(
        &mut self,
        before: &[TableChecksum],
        excluded: &dyn Fn(&str, &str) -> bool,
        from: &Target,
        options: &SeedOptions,
    ) -> Result<Compared> {
        let started = std::time::Instant::now();
        let skip = self.data_skip();
        let tables = schema::load_tables(&mut self.observer, &skip).await?;
        let after =
            data::checksum_tables_following(self.readers(), &tables, before, excluded).await?;
        self.record_checksum_pass(started, &after);
        let mut before = before.to_vec();
        // The rebuilt state's tables, read once, the first time a table needs them.
        let mut rebuilt_tables: Option<Vec<schema::Table>> = None;
        for earlier in &mut before {
            let Some(later) = after.iter().find(|a| a.table == earlier.table) else {
                continue;
            };
            if later.compares_with(earlier) {
                continue;
            }
            tracing::info!(table = %earlier.table, "reading the table again as it was, to compare whole rows");
            let rebuilt = self.rebuilt_before(from, options).await?;
            if rebuilt_tables.is_none() {
                rebuilt_tables = Some(schema::load_tables(rebuilt, &skip).await?);
            }
            let tables = rebuilt_tables.as_deref().unwrap_or_default();
            let Some(table) = tables.iter().find(|t| t.name == earlier.table) else {
                continue;
            };
            let again =
                data::checksum_tables(data::Readers::one(rebuilt), std::slice::from_ref(table))
                    .await?;
            if again[0].digest != earlier.digest {
                tracing::warn!(table = %earlier.table, "the rebuilt state differs from the seeded one; its rows compare as rebuilt");
            }
            let mut again = data::checksum_table_like(rebuilt, table, later).await?;
            // The columns left out of the rows compared still count as dropped or excluded.
            let left_out: Vec<_> = earlier
                .columns
                .iter()
                .filter(|c| again.following(&c.name).is_none())
                .cloned()
                .collect();
            again.columns.extend(left_out);
            *earlier = again;
        }
        Ok(Compared { before, after })
    }

    /// Records a data check: passed when nothing was found, else failed with the rows that
    /// show each finding.
    pub async fn check_data(
        &mut self,
        name: &str,
        wording: (String, String),
        comparison: DataComparison,
        compared: &Compared,
        (from, options): (&Target, &SeedOptions),
    ) -> Result<()> {
        let (subject, passed) = wording;
        // The rows are evidence for a finding already made: failing to fetch them must not
        // turn the finding into an error.
        let rows = match self
            .differing_rows(&comparison.findings, compared, from, options)
            .await
        {
            Ok(rows) => rows,
            Err(error) => {
                tracing::warn!(%error, "could not fetch the differing rows");
                Vec::new()
            }
        };
        self.report
            .push_check(data_check(name, &subject, passed, &comparison, rows));
        Ok(())
    }

    /// The state at `from`, seeded, in a database beside the scratch one: built the first
    /// time it is needed (seeding is deterministic, so it holds the very rows seeded).
    async fn rebuilt_before(
        &mut self,
        from: &Target,
        options: &SeedOptions,
    ) -> Result<&mut PgConnection> {
        if self.before.is_none() {
            let started = std::time::Instant::now();
            let before = self.database.create_sibling("before").await?;
            let as_runner = self.database.for_migrations(&before);
            runner::migrate(&mut *self.runner, &as_runner, from).await?;
            let mut connection = database::connect(&before).await?;
            let skip = self.data_skip();
            data::seed(&mut connection, &before, &skip, options).await?;
            self.before = Some(connection);
            self.report.add_phase(
                "evidence database",
                started.elapsed().as_secs_f64(),
                Vec::new(),
            );
        }
        Ok(self.before.as_mut().expect("rebuilt above"))
    }

    /// Up to 5 rows per finding that show it, read from the state at `from` rebuilt beside the
    /// scratch database and from the scratch database.
    async fn differing_rows(
        &mut self,
        findings: &[DataFinding],
        compared: &Compared,
        from: &Target,
        options: &SeedOptions,
    ) -> Result<Vec<RowDifference>> {
        const ROWS_PER_FINDING: usize = 5;
        let wanted: Vec<&DataFinding> = findings
            .iter()
            .filter(|f| !f.columns.is_empty())
            .take(3)
            .collect();
        if wanted.is_empty() {
            return Ok(Vec::new());
        }
        self.rebuilt_before(from, options).await?;
        let before = self.before.as_mut().expect("rebuilt above");
        let mut rows = Vec::new();
        for finding in wanted {
            let pair = (
                compared.before.iter().find(|t| t.table == finding.table),
                compared.after.iter().find(|t| t.table == finding.table),
            );
            if let (Some(earlier), Some(later)) = pair {
                rows.extend(
                    data::differing_rows(
                        before,
                        &mut self.observer,
                        (earlier, later),
                        &finding.columns,
                        ROWS_PER_FINDING,
                    )
                    .await?,
                );
            }
        }
        Ok(rows)
    }
}
