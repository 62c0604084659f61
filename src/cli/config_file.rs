//! `migverify.toml`: the settings a team keeps in version control beside its migrations, as
//! written. A key it does not know is an error naming key, line and file; `settings` merges it
//! under the flags.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::settings::SettingsError;

pub const FILE_NAME: &str = "migverify.toml";

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// The file it was read from.
    #[serde(skip)]
    pub(super) path: PathBuf,
    /// The kind of project (`--kind`).
    pub(super) kind: Option<super::KindArg>,
    /// Rows seeded per table.
    pub(super) rows: Option<u64>,
    /// Rows for particular tables.
    #[serde(default)]
    pub(super) table_rows: BTreeMap<String, u64>,
    pub(super) seed: Option<u64>,
    /// Per-step budget in seconds.
    pub(super) budget: Option<f64>,
    /// Seconds a blocking lock on an existing table may be held.
    pub(super) lock_budget: Option<f64>,
    #[serde(default)]
    pub(super) allow_change: Vec<String>,
    #[serde(default)]
    pub(super) irreversible_ok: Vec<String>,
    /// The role migrations run as on the throwaway cluster.
    pub(super) migration_role: Option<String>,
    /// Kinds of cluster-wide objects the migrations may change.
    #[serde(default)]
    pub(super) allow_cluster_change: Vec<String>,
    /// Downgrade errors that declare a revision irreversible.
    #[serde(default)]
    pub(super) irreversible: Vec<String>,
    #[serde(default)]
    pub(super) strict_history: bool,
    #[serde(default)]
    pub(super) allow_heads: bool,
    /// Tables neither seeded nor checked.
    #[serde(default)]
    pub(super) ignore_tables: Vec<String>,
    /// Values for columns the seeder cannot fill by itself, by `table.column`.
    #[serde(default)]
    pub(super) values: BTreeMap<String, Vec<String>>,
    /// The git ref whose migrations count as merged (see `--base-ref`).
    pub(super) base_ref: Option<String>,
    #[serde(default)]
    pub(super) alembic: AlembicConfig,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AlembicConfig {
    pub(super) python: Option<PathBuf>,
    pub(super) ini: Option<PathBuf>,
    #[serde(default)]
    pub(super) x: Vec<String>,
    #[serde(default)]
    pub(super) env: BTreeMap<String, String>,
    #[serde(default)]
    pub(super) url_options: Vec<String>,
}

impl ConfigFile {
    /// Reads `explicit`, else the nearest migverify.toml: in the project, or in a directory
    /// above it up to the root of its repository (a team keeps one at the root for every
    /// project in it).
    pub fn find(
        explicit: Option<&Path>,
        project: &Path,
    ) -> Result<Option<ConfigFile>, SettingsError> {
        let path = match explicit {
            Some(path) => path.to_path_buf(),
            None => match nearest(project) {
                Some(path) => path,
                None => {
                    tracing::info!(
                        "no {FILE_NAME} in {} or above it: defaults and flags only",
                        project.display()
                    );
                    return Ok(None);
                }
            },
        };
        let text = std::fs::read_to_string(&path).map_err(|source| SettingsError::ReadConfig {
            path: path.clone(),
            source,
        })?;
        let mut config = ConfigFile::parse(&text).map_err(|message| SettingsError::BadConfig {
            path: path.clone(),
            message,
        })?;
        config.path = path;
        Ok(Some(config))
    }

    /// The file's settings, or one sentence naming what is wrong and on which line.
    fn parse(text: &str) -> Result<ConfigFile, String> {
        toml::from_str(text).map_err(|error| {
            let message = error.message().trim().replace('\n', " ");
            match error.span() {
                Some(span) => {
                    let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
                    format!("line {line}: {message}")
                }
                None => message,
            }
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// `project/migverify.toml`, else the same in each directory above, stopping at the root of
/// the repository (the directory holding `.git`) or of the file system.
fn nearest(project: &Path) -> Option<PathBuf> {
    let start = std::path::absolute(project).ok()?;
    for dir in start.ancestors() {
        let candidate = dir.join(FILE_NAME);
        if candidate.is_file() {
            return Some(candidate);
        }
        if dir.join(".git").exists() {
            break;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_key_is_named_with_its_line() {
        let message =
            ConfigFile::parse("rows = 5\n\n[alembic]\npyhton = \"python3\"\n").unwrap_err();
        assert!(
            message.starts_with("line 4: unknown field `pyhton`"),
            "{message}"
        );
        let message = ConfigFile::parse("rowz = 5\n").unwrap_err();
        assert!(
            message.starts_with("line 1: unknown field `rowz`"),
            "{message}"
        );
        let message = ConfigFile::parse("rows = \"many\"\n").unwrap_err();
        assert!(message.starts_with("line 1: invalid type"), "{message}");
    }

    #[test]
    fn every_documented_key_parses() {
        let config = ConfigFile::parse(
            r#"
rows = 5000
seed = 7
budget = 120
allow_change = ["prices.amount"]
irreversible_ok = ["0002"]
ignore_tables = ["audit_log"]
base_ref = "origin/main"
[table_rows]
orders = 20000
[values]
"stores.region" = ["emea", "apac"]
[alembic]
python = ".venv/bin/python"
ini = "alembic.ini"
x = ["tenant=demo"]
env = { POS_REGION = "apac" }
"#,
        )
        .unwrap();
        assert_eq!(config.rows, Some(5000));
        assert_eq!(config.table_rows["orders"], 20000);
        assert_eq!(config.values["stores.region"], ["emea", "apac"]);
        assert_eq!(config.alembic.env["POS_REGION"], "apac");
        assert_eq!(
            config.alembic.python.as_deref(),
            Some(Path::new(".venv/bin/python"))
        );
    }
}
