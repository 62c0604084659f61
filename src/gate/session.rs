//! What every gate sequence does: timed steps under the budget, snapshots, and schema checks
//! recorded in the report.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use sqlx::postgres::PgConnection;

use crate::data::{self, RowDifference, SeedOptions, TableChecksum};
use crate::database::{self, ClusterChange, ClusterState, ScratchDatabase};
use crate::error::Result;
use crate::progress;
use crate::report::{Check, CheckStatus, Details, Report, Step, StepStatus};
use crate::runner::{self, Revisions, Runner, StepError, Target};
use crate::schema::{self, Snapshot};

use super::data_checks::{data_check, DataComparison, DataFinding};
use super::GateConfig;

/// How long a cancelled step may take to give up before its session is terminated, and again
/// before migverify stops it where it runs (the runner's own process).
const CANCEL_GRACE: Duration = Duration::from_secs(1);

pub struct Session<'a> {
    runner: &'a mut dyn Runner,
    database: &'a mut ScratchDatabase,
    /// The state at --from rebuilt beside the scratch database, once a data check needs it.
    before: Option<PgConnection>,
    /// migverify's own connection: snapshots, and the watchdog's cancel.
    observer: PgConnection,
    budget: Duration,
    compare_column_order: bool,
    /// Tables seeding and checksums leave out, besides the runner's records.
    ignore_tables: Vec<String>,
    /// Downgrade failures that declare a revision irreversible.
    irreversible_patterns: Vec<String>,
    /// The schema of the scratch database as it was created.
    empty: Snapshot,
    /// What lives outside the scratch database, as the last step left it.
    cluster: ClusterState,
    /// A session of migverify's on another database, as other clients have theirs.
    bystander: PgConnection,
    /// Kinds of cluster-wide objects a step may change (`--allow-cluster-change`).
    allowed_cluster_changes: Vec<String>,
    pub report: Report,
}

/// How a step ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stepped {
    Done,
    /// Failed, at this revision where the error names one.
    Failed(Option<String>),
    /// A downgrade the project declares irreversible (a pattern, a down with no statement).
    DeclaredIrreversible(String),
}

#[derive(Debug, Clone, Copy)]
enum How {
    Upgrade,
    Downgrade,
    /// From an empty database, the way a fresh deploy does.
    Rebuild,
}

impl How {
    fn name(self) -> &'static str {
        match self {
            How::Upgrade => "upgrade",
            How::Downgrade => "downgrade",
            How::Rebuild => "rebuild",
        }
    }
}

/// Two states of every table: `after` read following `before`, and `before` as it compares.
pub struct Compared {
    pub before: Vec<TableChecksum>,
    pub after: Vec<TableChecksum>,
}

/// How a schema check words its result: `unexpected`/`missing` contain `{}` for the objects.
pub struct Wording<'w> {
    pub subject: String,
    pub passed: String,
    pub unexpected: &'w str,
    pub missing: &'w str,
}

impl Wording<'static> {
    /// A downgrade of `span` must give back the schema of `restored`.
    pub fn downgrade(span: &str, restored: &Target) -> Self {
        Wording {
            subject: format!("downgrade of {span}"),
            passed: format!("downgrade of {span} restored the schema of {restored}"),
            unexpected: "left {} behind",
            missing: "did not restore {}",
        }
    }

    /// Upgrading `span` again must give the schema its first upgrade gave.
    pub fn reapply(span: &str) -> Self {
        Wording {
            subject: format!("upgrade of {span} after its downgrade"),
            passed: format!("upgrade of {span} after its downgrade gave the same schema"),
            unexpected: "created {} that the first upgrade did not",
            missing: "did not create {}",
        }
    }
}

impl<'a> Session<'a> {
    pub async fn open(
        command: &str,
        runner: &'a mut dyn Runner,
        database: &'a mut ScratchDatabase,
        config: &GateConfig,
    ) -> Result<Self> {
        let report = Report::new(command, runner.kind().name(), config.budget.as_secs_f64());
        let mut observer = database.connect().await?;
        let empty = schema::introspect(&mut observer, &runner.bookkeeping_tables()).await?;
        let cluster = ClusterState::read(&mut observer, database.stem()).await?;
        let bystander = database.connect_bystander().await?;
        Ok(Session {
            observer,
            runner,
            database,
            before: None,
            budget: config.budget,
            compare_column_order: config.compare_column_order,
            ignore_tables: config.ignore_tables.clone(),
            irreversible_patterns: config.irreversible_patterns.clone(),
            empty,
            cluster,
            bystander,
            allowed_cluster_changes: config.allowed_cluster_changes.clone(),
            report,
        })
    }

    /// Tables seeding and checksums leave out: the runner's records (whose name alembic's
    /// helper learns at the first step) and the ignored tables.
    fn data_skip(&self) -> Vec<String> {
        let mut skip = self.runner.bookkeeping_tables();
        skip.extend(self.ignore_tables.iter().cloned());
        skip
    }

    /// Moves the database from `from` to `to`, timed and under the budget, and records the
    /// step. Returns whether it completed.
    pub async fn step(&mut self, from: &Target, to: &Target) -> Result<bool> {
        Ok(self.try_step(from, to).await? == Stepped::Done)
    }

    /// `step`, saying how it ended.
    pub async fn try_step(&mut self, from: &Target, to: &Target) -> Result<Stepped> {
        let upward = self.runner.revisions().includes(to, from);
        let how = if upward { How::Upgrade } else { How::Downgrade };
        self.timed_step(how, from, to).await
    }

    /// Starts the scratch database again, empty, and takes it to `to` the way a fresh deploy
    /// does (one command where the tool has one): the way on when stepping cannot get there.
    /// Recorded as a `rebuild` step; returns whether it completed.
    pub async fn rebuild(&mut self, to: &Target) -> Result<bool> {
        tracing::info!(%to, "rebuilding the scratch database");
        self.runner.disconnect();
        if !self.emptied().await? {
            self.database.start_afresh().await?;
            self.observer = self.database.connect().await?;
        }
        Ok(self.timed_step(How::Rebuild, &Target::base(), to).await? == Stepped::Done)
    }

    /// Empties the scratch database in place, which takes a fiftieth of the time a new
    /// database does: every schema dropped with what it holds, `public` made again as
    /// PostgreSQL makes it. True when the schema is then the one the database was created
    /// with, object for object; otherwise the caller moves to a new database.
    async fn emptied(&mut self) -> Result<bool> {
        let emptied = sqlx::raw_sql(
            "DO $$ DECLARE s text; BEGIN \
               FOR s IN SELECT nspname FROM pg_namespace \
                 WHERE nspname NOT IN ('pg_catalog', 'information_schema') \
                   AND nspname !~ '^pg_(toast|temp_|toast_temp_)' LOOP \
                 EXECUTE format('DROP SCHEMA %I CASCADE', s); \
               END LOOP; END $$; \
             CREATE SCHEMA public AUTHORIZATION pg_database_owner; \
             COMMENT ON SCHEMA public IS 'standard public schema'; \
             GRANT USAGE ON SCHEMA public TO PUBLIC;",
        )
        .execute(&mut self.observer)
        .await;
        if let Err(error) = emptied {
            tracing::debug!(%error, "cannot empty the scratch database in place");
            return Ok(false);
        }
        Ok(self.snapshot().await? == self.empty)
    }

    /// Whether the database records `target` as its state.
    pub async fn is_at(&mut self, target: &Target) -> Result<bool> {
        let options = self
            .database
            .for_migrations(self.database.connect_options());
        Ok(match self.runner.current(&options).await {
            Ok(heads) => self.runner.revisions().target_of(&heads) == *target,
            Err(_) => false,
        })
    }

    /// After the last step failed at `revision`, outside the range under test: says so, as a
    /// warning (the step is tolerated) or, when `strict`, a failure; `then` says how the gate
    /// goes on.
    pub fn note_history_failure(&mut self, revision: &str, strict: bool, then: &str) {
        let error = self
            .report
            .steps
            .last()
            .and_then(|step| step.error.clone())
            .unwrap_or_default();
        if !strict {
            self.report.tolerate_last_step();
        }
        let message = format!(
            "{revision}, outside the range under test, failed ({}); {then}{}",
            error.lines().next().unwrap_or(""),
            if strict {
                ""
            } else {
                " (--strict-history makes this a failure)"
            }
        );
        tracing::warn!("{message}");
        self.report.push_check(Check {
            name: "history".to_string(),
            status: if strict {
                CheckStatus::Fail
            } else {
                CheckStatus::Warn
            },
            message,
            details: Details::RevisionError {
                revision: revision.to_string(),
                error: Some(error),
            },
        });
    }

    /// Records that a downgrade was declared irreversible and tolerated: its round trip is
    /// not tested.
    pub fn tolerate_declared_irreversible(&mut self, revision: &str) {
        let error = self.report.steps.last().and_then(|s| s.error.clone());
        self.report.tolerate_last_step();
        self.report.push_check(Check {
            name: "irreversible".to_string(),
            status: CheckStatus::Pass,
            message: format!(
                "{revision} is declared irreversible, so its round trip is not tested"
            ),
            details: Details::RevisionError {
                revision: revision.to_string(),
                error,
            },
        });
    }

    /// A step, then a look outside the scratch database for what it changed there.
    async fn timed_step(&mut self, how: How, from: &Target, to: &Target) -> Result<Stepped> {
        let stepped = self.step_under_budget(how, from, to).await?;
        let subject = match how {
            How::Rebuild => format!("rebuild of {to}"),
            How::Upgrade | How::Downgrade => format!("{} of {}", how.name(), self.span(from, to)),
        };
        self.check_cluster_untouched(&subject).await?;
        Ok(stepped)
    }

    async fn step_under_budget(&mut self, how: How, from: &Target, to: &Target) -> Result<Stepped> {
        let name = how.name();
        let options = self
            .database
            .for_migrations(self.database.connect_options());
        let span = self.span(from, to);
        let started = Instant::now();
        tracing::info!(%from, %to, "{name}");
        let progress = progress::spinner(format!("{name} {from} → {to}"));

        let (outcome, abandoned) = {
            let runner = &mut *self.runner;
            let work = async move {
                match how {
                    How::Rebuild => runner::deploy(runner, &options, to).await,
                    How::Upgrade | How::Downgrade => runner::migrate(runner, &options, to).await,
                }
            };
            tokio::pin!(work);
            let outcome = tokio::select! {
                outcome = &mut work => Some(outcome),
                _ = tokio::time::sleep(self.budget) => None,
            };
            match outcome {
                Some(outcome) => (Some(outcome), false),
                None => {
                    // Cancel every statement on the scratch database (per statement timeouts
                    // would let a migration of many statements run on), then end the sessions.
                    let mut ended = false;
                    for terminate in [false, true] {
                        self.database
                            .cancel_other_sessions(&mut self.observer, terminate)
                            .await?;
                        if tokio::time::timeout(CANCEL_GRACE, &mut work).await.is_ok() {
                            ended = true;
                            break;
                        }
                    }
                    (None, !ended)
                }
            }
        };
        if abandoned {
            // Still running outside the server's reach (a migration sleeping in Python).
            self.runner.abandon();
        }
        let (status, error, stepped) = match outcome {
            // Not a finding about the migrations: the run cannot go on anywhere safe.
            Some(Err(error @ (StepError::ElsewhereMigrated { .. } | StepError::EnvPy(_)))) => {
                return Err(error.into())
            }
            Some(Ok(())) => (StepStatus::Ok, None, Stepped::Done),
            Some(Err(error)) => {
                let error = declared_irreversible(&self.irreversible_patterns, how, error);
                let stepped = match &error {
                    StepError::Irreversible {
                        revision,
                        declared: true,
                        ..
                    } => Stepped::DeclaredIrreversible(revision.clone()),
                    StepError::Failed { revision, .. }
                    | StepError::NoDown { revision }
                    | StepError::Irreversible { revision, .. } => {
                        Stepped::Failed(Some(revision.clone()))
                    }
                    _ => Stepped::Failed(None),
                };
                (StepStatus::Error, Some(error.to_string()), stepped)
            }
            None => {
                let message = format!(
                    "{span} ran past the budget of {}s and was cancelled",
                    self.budget.as_secs_f64()
                );
                (StepStatus::OverBudget, Some(message), Stepped::Failed(None))
            }
        };
        progress.finish_and_clear();
        self.report.push_step(Step {
            name: name.to_string(),
            from: from.to_string(),
            to: to.to_string(),
            seconds: started.elapsed().as_secs_f64(),
            status,
            error,
        });
        Ok(stepped)
    }

    /// Fails `cluster_untouched` for what the step just made changed outside the scratch
    /// database (a role, another database, an ALTER SYSTEM setting), unless allowed.
    async fn check_cluster_untouched(&mut self, subject: &str) -> Result<()> {
        let now = ClusterState::read(&mut self.observer, self.database.stem()).await?;
        let mut changes = self.cluster.changes(&now);
        self.cluster = now;
        let bystander_alive = sqlx::query("SELECT 1")
            .execute(&mut self.bystander)
            .await
            .is_ok();
        if !bystander_alive {
            changes.push((false, ClusterChange::sessions_terminated()));
            self.bystander = self.database.connect_bystander().await?;
        }
        let changes: Vec<_> = changes
            .into_iter()
            .filter(|(_, change)| !self.allowed_cluster_changes.contains(&change.kind))
            .collect();
        let found: Vec<String> = changes
            .iter()
            .map(|(created, change)| change.describe(*created))
            .collect();
        if found.is_empty() {
            return Ok(());
        }
        let kinds: BTreeSet<&str> = changes.iter().map(|(_, c)| c.kind.as_str()).collect();
        let allow: Vec<String> = kinds
            .iter()
            .map(|kind| format!("--allow-cluster-change {kind}"))
            .collect();
        self.report.push_check(Check {
            name: "cluster_untouched".to_string(),
            status: CheckStatus::Fail,
            message: format!(
                "{subject} {}, outside the scratch database (allow it with {})",
                found.join(", "),
                allow.join(" ")
            ),
            details: Details::Changes { changes: found },
        });
        Ok(())
    }

    pub async fn seed(&mut self, options: &SeedOptions) -> Result<()> {
        // A misspelt --ignore-table would otherwise seed and check the table it meant to leave.
        let tables =
            schema::load_tables(&mut self.observer, &self.runner.bookkeeping_tables()).await?;
        if let Some(unknown) = self
            .ignore_tables
            .iter()
            .find(|name| schema::find_table(&tables, name).is_none())
        {
            return Err(crate::error::Error::UnknownName {
                option: "--ignore-table",
                name: unknown.clone(),
                why: "no such table where the data is seeded".to_string(),
            });
        }
        let skip = self.data_skip();
        data::seed(
            &mut self.observer,
            self.database.connect_options(),
            &skip,
            options,
        )
        .await?;
        Ok(())
    }

    /// Every table's checksum, each read for itself.
    pub async fn checksums(&mut self) -> Result<Vec<TableChecksum>> {
        let skip = self.data_skip();
        let tables = schema::load_tables(&mut self.observer, &skip).await?;
        data::checksum_tables(&mut self.observer, &tables).await
    }

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
        let skip = self.data_skip();
        let tables = schema::load_tables(&mut self.observer, &skip).await?;
        let after =
            data::checksum_tables_following(&mut self.observer, &tables, before, excluded).await?;
        let mut before = before.to_vec();
        for earlier in &mut before {
            let Some(later) = after.iter().find(|a| a.table == earlier.table) else {
                continue;
            };
            if later.compares_with(earlier) {
                continue;
            }
            tracing::info!(table = %earlier.table, "reading the table again as it was, to compare whole rows");
            let rebuilt = self.rebuilt_before(from, options).await?;
            let tables = schema::load_tables(rebuilt, &skip).await?;
            let Some(table) = tables.iter().find(|t| t.name == earlier.table) else {
                continue;
            };
            let again = data::checksum_tables(rebuilt, std::slice::from_ref(table)).await?;
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
            let before = self.database.create_sibling("before").await?;
            let as_runner = self.database.for_migrations(&before);
            runner::migrate(&mut *self.runner, &as_runner, from).await?;
            let mut connection = database::connect(&before).await?;
            let skip = self.data_skip();
            data::seed(&mut connection, &before, &skip, options).await?;
            self.before = Some(connection);
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

    pub async fn snapshot(&mut self) -> Result<Snapshot> {
        let skip = self.runner.bookkeeping_tables();
        schema::introspect(&mut self.observer, &skip).await
    }

    /// Compares `actual` with `expected` object by object and records a check.
    pub fn check_schema(
        &mut self,
        name: &str,
        expected: &Snapshot,
        actual: &Snapshot,
        wording: Wording,
    ) {
        let comparison = schema::compare(expected, actual, self.compare_column_order);
        let (status, message, details) = if comparison.is_same() {
            (CheckStatus::Pass, wording.passed, Details::None {})
        } else {
            let found = comparison.describe(wording.unexpected, wording.missing);
            let diff = schema::unified_diff(
                &expected.comparable_text(self.compare_column_order),
                &actual.comparable_text(self.compare_column_order),
                "expected",
                "actual",
                false,
            );
            let details = Details::SchemaDiff {
                unexpected: comparison.unexpected,
                missing: comparison.missing,
                changed: comparison.changed,
                diff,
            };
            (
                CheckStatus::Fail,
                format!("{} {found}", wording.subject),
                details,
            )
        };
        self.report.push_check(Check {
            name: name.to_string(),
            status,
            message,
            details,
        });
    }

    /// Compares the schema at `revision` with its committed snapshot file, when a directory of
    /// them was given. A revision without a file fails: it has no reviewed schema yet.
    pub fn check_committed(
        &mut self,
        dir: Option<&Path>,
        revision: &Target,
        actual: &Snapshot,
    ) -> Result<()> {
        let Some(dir) = dir else {
            return Ok(());
        };
        let path = dir.join(format!("{revision}.txt"));
        if !path.is_file() {
            self.report.push_check(Check {
                name: "snapshot_file".to_string(),
                status: CheckStatus::Fail,
                message: format!(
                    "no committed snapshot for {revision}: {} is missing (write it with `migverify snapshot {revision} --dir {}`)",
                    path.display(),
                    dir.display()
                ),
                details: Details::File { file: path },
            });
            return Ok(());
        }
        let committed = Snapshot::read(&path)?;
        self.check_schema(
            "snapshot_file",
            &committed,
            actual,
            Wording {
                subject: format!("schema at {revision} differs from {}:", path.display()),
                passed: format!("schema at {revision} matches {}", path.display()),
                unexpected: "{} not in the file",
                missing: "{} missing from the database",
            },
        );
        Ok(())
    }

    /// Records the range under test, and says when it ends at several heads.
    pub fn record_range(&mut self, from: &Target, to: &Target) {
        self.report.from = from.to_string();
        self.report.to = to.to_string();
        self.report.revisions = self
            .runner
            .revisions()
            .between(from, to)
            .iter()
            .map(|r| r.id.clone())
            .collect();
        self.note_heads(to);
    }

    /// Records what the range does to the schema, for a reviewer.
    pub fn record_schema_diff(
        &mut self,
        (from, before): (&Target, &Snapshot),
        (to, after): (&Target, &Snapshot),
    ) {
        self.report.schema_diff = schema::unified_diff(
            &before.comparable_text(self.compare_column_order),
            &after.comparable_text(self.compare_column_order),
            &from.to_string(),
            &to.to_string(),
            false,
        );
    }

    /// Says, in the report, that the range ends at several heads and that all are tested.
    fn note_heads(&mut self, to: &Target) {
        if to.heads().len() < 2 {
            return;
        }
        let message = format!(
            "the history has {} heads ({}); the gate tests them all",
            to.heads().len(),
            to.heads().join(", ")
        );
        tracing::warn!("{message}");
        self.report.push_check(Check {
            name: "heads".to_string(),
            status: CheckStatus::Pass,
            message,
            details: Details::Heads {
                heads: to.heads().to_vec(),
            },
        });
    }

    /// Records that the gate stops short of reverting `span` because the user accepted the
    /// irreversible revisions in it.
    pub fn note_irreversible(&mut self, revisions: &[String], span: &str) {
        self.report.push_check(Check {
            name: "irreversible_accepted".to_string(),
            status: CheckStatus::Pass,
            message: format!(
                "{} accepted as irreversible (--irreversible-ok), so the gate does not downgrade {span}",
                revisions.join(", ")
            ),
            details: Details::Revisions {
                revisions: revisions.to_vec(),
            },
        });
    }

    pub fn runner_revisions(&self) -> Revisions {
        self.runner.revisions().clone()
    }

    pub fn finish(self) -> Report {
        self.report
    }
}

impl Session<'_> {
    /// The revisions a step between `from` and `to` crosses, as a person names them:
    /// "20240105", "20240103..20240105" for a line of them, "0006, 0007" for a few on branches,
    /// "5 revisions from 0005 to 0009" for more.
    pub fn span(&self, from: &Target, to: &Target) -> String {
        let crossed = self.runner.revisions().between(from, to);
        let chain = crossed
            .windows(2)
            .all(|pair| pair[1].parents == [pair[0].id.clone()]);
        match crossed.as_slice() {
            [] => "nothing".to_string(),
            [one] => one.id.clone(),
            few if !chain && few.len() <= 4 => few
                .iter()
                .map(|r| r.id.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            [first, .., last] if chain => format!("{}..{}", first.id, last.id),
            [first, .., last] => format!(
                "{} revisions from {} to {}",
                crossed.len(),
                first.id,
                last.id
            ),
        }
    }
}

/// A failed downgrade whose error matches an `irreversible` pattern is a declared
/// irreversible revision, whatever the runner made of it.
fn declared_irreversible(patterns: &[String], how: How, error: StepError) -> StepError {
    let StepError::Failed { revision, message } = &error else {
        return error;
    };
    let matched = patterns
        .iter()
        .find(|pattern| message.contains(pattern.as_str()));
    match (how, matched) {
        (How::Downgrade, Some(pattern)) => StepError::Irreversible {
            revision: revision.clone(),
            message: format!(
                "its downgrade fails with {}, which matches the irreversible pattern {pattern:?}",
                message.lines().next().unwrap_or("")
            ),
            declared: true,
        },
        _ => error,
    }
}
