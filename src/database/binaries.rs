//! Finds the PostgreSQL server programs (initdb, postgres) on this machine.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::error::{DatabaseError, Result};

#[derive(Debug, Clone)]
pub struct ServerBinaries {
    pub bindir: PathBuf,
}

impl ServerBinaries {
    /// Looks where DESIGN.md says, in order: `pg_config --bindir`, the newest
    /// `/usr/lib/postgresql/*/bin`, then PATH.
    pub fn locate() -> Result<Self> {
        pg_config_bindir()
            .into_iter()
            .chain(debian_bindirs())
            .chain(path_dirs())
            .find(|dir| has_server_programs(dir))
            .map(|bindir| ServerBinaries { bindir })
            .ok_or(DatabaseError::NoServerBinaries)
    }

    pub fn program(&self, name: &str) -> PathBuf {
        self.bindir.join(name)
    }
}

fn has_server_programs(dir: &Path) -> bool {
    dir.join("initdb").is_file() && dir.join("postgres").is_file()
}

fn pg_config_bindir() -> Option<PathBuf> {
    let output = Command::new("pg_config").arg("--bindir").output().ok()?;
    let text = String::from_utf8(output.stdout).ok()?;
    output.status.success().then(|| PathBuf::from(text.trim()))
}

/// Debian and Ubuntu install each major version under its own directory; prefer the newest.
fn debian_bindirs() -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir("/usr/lib/postgresql") else {
        return Vec::new();
    };
    let mut versions: Vec<(u32, PathBuf)> = entries
        .flatten()
        .filter_map(|entry| {
            let major = entry.file_name().to_str()?.parse().ok()?;
            Some((major, entry.path().join("bin")))
        })
        .collect();
    versions.sort_by_key(|(major, _)| std::cmp::Reverse(*major));
    versions.into_iter().map(|(_, dir)| dir).collect()
}

fn path_dirs() -> Vec<PathBuf> {
    std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect())
        .unwrap_or_default()
}
