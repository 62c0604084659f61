//! What a branch adds: the files under a directory that exist now but not at the point where
//! the branch left a base ref. That is how `--base-ref` finds the migrations under review.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

/// git could not be run, or refused: one sentence, naming the ref or the directory.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct GitError(String);

type Result<T> = std::result::Result<T, GitError>;

/// The names of the files under `dir` added since the branch left `base_ref`: committed,
/// staged, changed in the working tree, or new and untracked.
pub fn added_files(dir: &Path, base_ref: &str) -> Result<BTreeSet<String>> {
    let fork = git(dir, &["merge-base", base_ref, "HEAD"])?;
    let fork = fork.trim();
    // Without rename detection a migration moved or renamed on the branch counts as added,
    // and NUL-separated names come unquoted whatever characters they hold.
    let added = git(
        dir,
        &[
            "diff",
            "--name-only",
            "-z",
            "--no-renames",
            "--diff-filter=A",
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
    Ok(added
        .split('\0')
        .chain(untracked.split('\0'))
        .filter(|path| !path.is_empty())
        .filter_map(|path| Path::new(path).file_name())
        .map(|name| name.to_string_lossy().into_owned())
        .collect())
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
