//! `snapshot` and `diff`: the canonical schema at a revision, and the difference of two.

use std::path::Path;

use crate::cli::settings::{Project, Server, SnapshotOutput};
use crate::cli::Format;
use crate::database::ScratchDatabase;
use crate::error::{Error, Result};
use crate::report::{SchemaDifference, Verdict};
use crate::runner::{self, Runner, Target};
use crate::schema::{self, Snapshot};

use super::{open_runner, scratch_database, write_file};

/// Migrates to `target` and reads the schema there.
async fn snapshot_at(
    runner: &mut dyn Runner,
    database: &ScratchDatabase,
    target: &Target,
) -> Result<Snapshot> {
    runner::migrate(runner, database.connect_options(), target).await?;
    let mut connection = database.connect().await?;
    Ok(schema::introspect(&mut connection, &runner.bookkeeping_tables()).await?)
}

pub async fn snapshot(
    project: &Project,
    server: &Server,
    output: SnapshotOutput,
) -> Result<Verdict> {
    let mut runner = open_runner(project).await?;
    match output {
        SnapshotOutput::Directory(dir) => {
            std::fs::create_dir_all(&dir).map_err(|source| Error::WriteFile {
                path: dir.clone(),
                source,
            })?;
            let database = scratch_database(server).await?;
            // One file per state on the way up from base, named as the gate names it (a
            // revision, or heads joined by `+` between a branch and its merge).
            let targets = runner
                .revisions()
                .walk(&Target::base(), &runner.revisions().head());
            for target in targets {
                let snapshot = snapshot_at(runner.as_mut(), &database, &target).await?;
                let path = dir.join(format!("{target}.txt"));
                write_file(&path, snapshot.text())?;
                eprintln!("wrote {}", path.display());
            }
        }
        SnapshotOutput::Print { ref revision } | SnapshotOutput::File { ref revision, .. } => {
            let target = runner.revisions().resolve(revision)?;
            let database = scratch_database(server).await?;
            let snapshot = snapshot_at(runner.as_mut(), &database, &target).await?;
            match output {
                SnapshotOutput::File { path, .. } => write_file(&path, snapshot.text())?,
                _ => print!("{}", snapshot.text()),
            }
        }
    }
    Ok(Verdict::Pass)
}

/// `diff A B`: each side is a snapshot file when such a file exists, else a revision.
pub async fn diff(
    sides: &[String; 2],
    project: &Project,
    server: &Server,
    compare_column_order: bool,
    format: Format,
    color: bool,
) -> Result<Verdict> {
    let mut snapshots: [Option<Snapshot>; 2] = [None, None];
    // Each side named as resolved: `-1` or `head` is shown as the revision it is.
    let mut labels = sides.clone();
    let mut revisions = Vec::new();
    for (side, spec) in sides.iter().enumerate() {
        if Path::new(spec).is_file() {
            snapshots[side] = Some(Snapshot::read(Path::new(spec))?);
        } else if spec.contains('/') || spec.ends_with(".txt") {
            // A path, not a revision id: say so rather than look for migrations.
            return Err(Error::MissingSnapshotFile(spec.clone()));
        } else {
            revisions.push((side, spec));
        }
    }
    if !revisions.is_empty() {
        let mut runner = open_runner(project).await?;
        let mut targets = revisions
            .into_iter()
            .map(|(side, spec)| Ok((side, runner.revisions().resolve(spec)?)))
            .collect::<Result<Vec<_>>>()?;
        // An older side first, so that the walk goes up where it can.
        targets
            .sort_by_key(|(_, target)| runner.revisions().between(&Target::base(), target).len());
        let database = scratch_database(server).await?;
        for (side, target) in targets {
            labels[side] = target.to_string();
            snapshots[side] = Some(snapshot_at(runner.as_mut(), &database, &target).await?);
        }
    }
    let [old, new] = snapshots.map(|snapshot| snapshot.expect("each side is a file or a revision"));
    let diff = |color| {
        schema::unified_diff(
            &old.comparable_text(compare_column_order),
            &new.comparable_text(compare_column_order),
            &labels[0],
            &labels[1],
            color,
        )
    };
    let same = diff(false).is_empty();
    match format {
        Format::Text => print!("{}", diff(color)),
        Format::Json => {
            let comparison = schema::compare(&old, &new, compare_column_order);
            let [a, b] = labels.clone();
            let difference = SchemaDifference {
                a,
                b,
                same,
                unexpected: comparison.unexpected,
                missing: comparison.missing,
                changed: comparison.changed,
                diff: diff(false),
            };
            println!("{}", difference.to_json());
        }
    }
    Ok(if same { Verdict::Pass } else { Verdict::Fail })
}
