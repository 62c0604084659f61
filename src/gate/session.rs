//! A gate run's session: the runner, the scratch database and migverify's own connections to it,
//! and the report; snapshots, seeding and the schema checks recorded in it. Steps are in
//! `step.rs`, data checks and their evidence in `evidence.rs`.

use std::path::Path;
use std::time::Instant;

use sqlx::postgres::PgConnection;

use crate::data::{self, SeedOptions, TableChecksum};
use crate::database::{ClusterState, ScratchDatabase};
use crate::error::Result;
use crate::progress;
use crate::report::{Check, CheckStatus, Details, Report, TableTime};
use crate::runner::{Revisions, Runner, Target};
use crate::schema::{self, Snapshot};

use super::locks::Sampling;
use super::{GatePlan, Rules};

pub struct Session<'a> {
    pub(super) runner: &'a mut dyn Runner,
    pub(super) database: &'a mut ScratchDatabase,
    /// The state at --from rebuilt beside the scratch database, once a data check needs it.
    pub(super) before: Option<PgConnection>,
    /// migverify's own connection: snapshots, and the watchdog's cancel.
    pub(super) observer: PgConnection,
    pub(super) rules: Rules,
    /// The schema of the scratch database as it was created.
    pub(super) empty: Snapshot,
    /// What lives outside the scratch database, as the last step left it.
    pub(super) cluster: ClusterState,
    /// A session of migverify's on another database, as other clients have theirs.
    pub(super) bystander: PgConnection,
    /// Steps whose locks `lock_impact` judges at the end: (index, subject, always).
    pub(super) locks_under_test: Vec<(usize, String, bool)>,
    pub(super) sampling: Sampling,
    /// Checksums kept from one pass to the next, where the server can prove a table untouched.
    pub(super) reuse: Option<data::Reuse>,
    /// When the session opened, for the time no phase names.
    opened: Instant,
    /// Where the run is in its plan, on a terminal.
    phases: Option<indicatif::ProgressBar>,
    pub report: Report,
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
        config: &GatePlan,
    ) -> Result<Self> {
        let mut report = Report::new(
            command,
            runner.kind().name(),
            config.rules.budget.as_secs_f64(),
        );
        report.lock_budget_s = config.rules.lock_budget.as_secs_f64();
        let opened = Instant::now();
        report.add_phase(
            "scratch database",
            database.created_in().as_secs_f64(),
            Vec::new(),
        );
        let mut observer = database.connect().await?;
        let empty = schema::introspect(&mut observer, &runner.bookkeeping_tables()).await?;
        let cluster = ClusterState::read(&mut observer, database.stem()).await?;
        let bystander = database.connect_bystander().await?;
        let reuse = database.connect_wal_reader().await.map(data::Reuse::new);
        Ok(Session {
            reuse,
            observer,
            runner,
            database,
            before: None,
            rules: config.rules.clone(),
            locks_under_test: Vec::new(),
            opened,
            phases: None,
            sampling: Sampling::default(),
            empty,
            cluster,
            bystander,
            report,
        })
    }

    /// Shows the run's `total` phases, the first of which begins with `begin_phase`.
    pub(super) fn plan_phases(&mut self, total: u64) {
        self.phases = Some(progress::phases(total));
    }

    /// The run moves on to the phase `name` of those planned.
    pub(super) fn begin_phase(&self, name: &str) {
        if let Some(phases) = &self.phases {
            progress::begin(phases, name);
        }
    }

    /// The scratch database's readers for a checksum pass: the observer, a second session,
    /// and the checksums kept from the passes before.
    pub(super) fn readers(&mut self) -> data::Readers<'_> {
        data::Readers {
            connection: &mut self.observer,
            beside: Some(self.database.connect_options()),
            reuse: self.reuse.as_mut(),
        }
    }

    /// Tables seeding and checksums leave out: the runner's records (whose name alembic's
    /// helper learns at the first step) and the ignored tables.
    pub(super) fn data_skip(&self) -> Vec<String> {
        let mut skip = self.runner.bookkeeping_tables();
        skip.extend(self.rules.ignore_tables.iter().cloned());
        skip
    }

    pub async fn seed(&mut self, options: &SeedOptions) -> Result<()> {
        // A misspelt --ignore-table would otherwise seed and check the table it meant to leave.
        let tables =
            schema::load_tables(&mut self.observer, &self.runner.bookkeeping_tables()).await?;
        if let Some(unknown) = self
            .rules
            .ignore_tables
            .iter()
            .find(|name| schema::find_table(&tables, name).is_none())
        {
            return Err(data::DataError::UnknownName {
                option: "--ignore-table",
                name: unknown.clone(),
                why: "no such table where the data is seeded".to_string(),
            }
            .into());
        }
        let skip = self.data_skip();
        let started = Instant::now();
        let seeded = data::seed(
            &mut self.observer,
            self.database.connect_options(),
            &skip,
            options,
        )
        .await?;
        let tables = seeded
            .into_iter()
            .map(|s| TableTime {
                table: s.table,
                seconds: s.loaded_in.as_secs_f64(),
                reused: false,
            })
            .collect();
        self.report
            .add_phase("seeding", started.elapsed().as_secs_f64(), tables);
        Ok(())
    }

    /// Records a checksum pass among the run's phases, each table's read time with it.
    pub(super) fn record_checksum_pass(&mut self, started: Instant, checksums: &[TableChecksum]) {
        let pass = self
            .report
            .phases
            .iter()
            .filter(|p| p.name.starts_with("checksum pass"))
            .count()
            + 1;
        let tables = checksums
            .iter()
            .map(|c| TableTime {
                table: c.table.clone(),
                seconds: c.read_in.as_secs_f64(),
                reused: c.reused,
            })
            .collect();
        self.report.add_phase(
            &format!("checksum pass {pass}"),
            started.elapsed().as_secs_f64(),
            tables,
        );
    }

    /// Every table's checksum, each read for itself.
    pub async fn checksums(&mut self) -> Result<Vec<TableChecksum>> {
        let started = Instant::now();
        let skip = self.data_skip();
        let tables = schema::load_tables(&mut self.observer, &skip).await?;
        let checksums = data::checksum_tables(self.readers(), &tables).await?;
        self.record_checksum_pass(started, &checksums);
        Ok(checksums)
    }

    pub async fn snapshot(&mut self) -> Result<Snapshot> {
        let started = Instant::now();
        let skip = self.runner.bookkeeping_tables();
        let snapshot = schema::introspect(&mut self.observer, &skip).await?;
        self.report.add_phase(
            "schema snapshots",
            started.elapsed().as_secs_f64(),
            Vec::new(),
        );
        Ok(snapshot)
    }

    /// Compares `actual` with `expected` object by object and records a check.
    pub fn check_schema(
        &mut self,
        name: &str,
        expected: &Snapshot,
        actual: &Snapshot,
        wording: Wording,
    ) {
        let comparison = schema::compare(expected, actual, self.rules.compare_column_order);
        let (status, message, details) = if comparison.is_same() {
            (CheckStatus::Pass, wording.passed, Details::None {})
        } else {
            let found = comparison.describe(wording.unexpected, wording.missing);
            let diff = schema::unified_diff(
                &expected.comparable_text(self.rules.compare_column_order),
                &actual.comparable_text(self.rules.compare_column_order),
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
    /// Records the range under test, and the checks on the history as a whole: one head, and
    /// merged migrations unchanged by the branch under review.
    pub fn record_range(&mut self, config: &GatePlan) {
        let (from, to) = (&config.from, &config.to);
        self.report.from = from.to_string();
        self.report.to = to.to_string();
        self.report.revisions = self
            .runner
            .revisions()
            .between(from, to)
            .iter()
            .map(|r| r.id.clone())
            .collect();
        self.check_single_head();
        if !config.history_changes.is_empty() {
            self.report.push_check(Check {
                name: "history_unchanged".to_string(),
                status: CheckStatus::Fail,
                message: format!(
                    "{}: a migration that is merged may already have run where it was deployed, so change it with a new revision instead",
                    config.history_changes.join("; ")
                ),
                details: Details::None {},
            });
        }
    }

    /// Records what the range does to the schema, for a reviewer.
    pub fn record_schema_diff(
        &mut self,
        (from, before): (&Target, &Snapshot),
        (to, after): (&Target, &Snapshot),
    ) {
        self.report.schema_diff = schema::unified_diff(
            &before.comparable_text(self.rules.compare_column_order),
            &after.comparable_text(self.rules.compare_column_order),
            &from.to_string(),
            &to.to_string(),
            false,
        );
    }

    /// The downgrade to base must not pass silently through revisions that have no down
    /// migration (a downgrade of `pass` under an upgrade that does something): `has_down`
    /// fails naming them. Those accepted with `--irreversible-ok` are never downgraded.
    pub fn check_downgrades_exist(&mut self, to: &Target) {
        let missing: Vec<String> = self
            .runner
            .revisions()
            .between(&Target::base(), to)
            .into_iter()
            .filter(|r| !r.has_down)
            .map(|r| r.id.clone())
            .collect();
        if missing.is_empty() {
            return;
        }
        self.report.push_check(Check {
            name: "has_down".to_string(),
            status: CheckStatus::Fail,
            message: format!(
                "{} no down migration (`migverify revisions` lists it as no-down), and the downgrade to base passes through it: give it a downgrade, or accept it with --irreversible-ok",
                match missing.as_slice() {
                    [one] => format!("{one} has"),
                    many => format!("{} have", many.join(", ")),
                }
            ),
            details: Details::Revisions { revisions: missing },
        });
    }

    /// A history with several heads fails `single_head` (a merge revision is missing), unless
    /// `--allow-heads` says that is on purpose; the gate then tests them all.
    fn check_single_head(&mut self) {
        let head = self.runner.revisions().head();
        let heads = head.heads();
        if heads.len() < 2 {
            return;
        }
        let listed = format!(
            "the history has {} heads ({})",
            heads.len(),
            heads.join(", ")
        );
        let (status, message) = if self.rules.allow_heads {
            (
                CheckStatus::Pass,
                format!("{listed}; the gate tests them all (--allow-heads)"),
            )
        } else {
            (
                CheckStatus::Fail,
                format!("{listed}: merge them into one (alembic merge heads), or pass --allow-heads if they are meant to stay apart"),
            )
        };
        tracing::warn!("{message}");
        self.report.push_check(Check {
            name: "single_head".to_string(),
            status,
            message,
            details: Details::Heads {
                heads: heads.to_vec(),
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

    /// The report, once the steps under test have had their locks judged and the time of the
    /// steps, and of what no phase names, is added up.
    pub fn finish(mut self) -> Report {
        self.check_lock_impact();
        let steps: f64 = self.report.steps.iter().map(|s| s.seconds).sum();
        self.report.add_phase("migration steps", steps, Vec::new());
        let total = self.database.created_in().as_secs_f64() + self.opened.elapsed().as_secs_f64();
        let named: f64 = self.report.phases.iter().map(|p| p.seconds).sum();
        self.report
            .add_phase("other", (total - named).max(0.0), Vec::new());
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
