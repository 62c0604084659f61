//! What a branch changes under a directory since it left a base ref: the files it adds (the
//! migrations under review with `--base-ref`) and the ones it modifies or deletes (merged
//! history that must not change).

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

/// git could not be run, or refused: one sentence, naming the ref or the directory.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct GitError(String);

type Result<T> = std::result::Result<T, GitError>;

/// Files under `dir` since the branch left a base ref, by path relative to `dir`.
#[derive(Debug, Default)]
pub struct BranchChanges {
    /// Committed, staged, changed in the working tree, or new and untracked.
    pub added: BTreeSet<String>,
    pub modified: BTreeSet<String>,
    pub deleted: BTreeSet<String>,
}

impl BranchChanges {
    /// The file names (without directories) of the added files.
    pub fn added_names(&self) -> BTreeSet<String> {
        self.added
            .iter()
            .filter_map(|path| Path::new(path).file_name())
            .map(|name| name.to_string_lossy().into_owned())
            .collect()
    }
}

pub fn branch_changes(dir: &Path, base_ref: &str) -> Result<BranchChanges> {
    let fork = git(dir, &["merge-base", base_ref, "HEAD"])?;
    let fork = fork.trim();
    // Without rename detection a migration moved or renamed on the branch counts as added
    // (and its old name as deleted); NUL-separated names come unquoted whatever they hold.
    let status = git(
        dir,
        &[
            "diff",
            "--name-status",
            "-z",
            "--no-renames",
            "--relative",
            fork,
            "--",
            ".",
        ],
    )?;
    let untracked = git(
        dir,
        &[
            "ls-files",
            "-z",
            "--others",
            "--exclude-standard",
            "--",
            ".",
        ],
    )?;
    let mut changes = BranchChanges::default();
    let mut fields = status.split('\0').filter(|field| !field.is_empty());
    while let (Some(code), Some(path)) = (fields.next(), fields.next()) {
        let set = match code {
            "A" => &mut changes.added,
            "D" => &mut changes.deleted,
            _ => &mut changes.modified,
        };
        set.insert(path.to_string());
    }
    changes.added.extend(
        untracked
            .split('\0')
            .filter(|path| !path.is_empty())
            .map(str::to_string),
    );
    Ok(changes)
}

fn git(dir: &Path, args: &[&str]) -> Result<String> {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .map_err(|error| GitError(format!("cannot run git: {error}")))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let reason = stderr
            .lines()
            .find(|line| !line.trim().is_empty())
            .unwrap_or("no reason given")
            .trim_start_matches("fatal: ");
        // A shallow clone has no merge base with the base branch: say how CI fetches it.
        let hint = if args[0] == "merge-base" {
            " (in CI, fetch the whole history: fetch-depth: 0, or GIT_DEPTH: 0)"
        } else {
            ""
        };
        return Err(GitError(format!(
            "`git {}` failed: {reason}{hint}",
            args.join(" ")
        )));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}
