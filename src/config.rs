//! `migverify.toml`: the defaults a team keeps in version control beside its migrations. Flags
//! on the command line override it; a key it does not know is an error naming key and file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::cli::{budget_from_seconds, Command, GateArgs, ProjectArgs, SeedArgs};
use crate::error::{Error, Result};

pub const FILE_NAME: &str = "migverify.toml";

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The file it was read from.
    #[serde(skip)]
    path: PathBuf,
    /// Rows seeded per table.
    rows: Option<u64>,
    /// Rows for particular tables.
    #[serde(default)]
    table_rows: BTreeMap<String, u64>,
    seed: Option<u64>,
    /// Per-step budget in seconds.
    budget: Option<f64>,
    #[serde(default)]
    allow_change: Vec<String>,
    #[serde(default)]
    irreversible_ok: Vec<String>,
    /// The role migrations run as on the throwaway cluster.
    migration_role: Option<String>,
    /// Kinds of cluster-wide objects the migrations may change.
    #[serde(default)]
    allow_cluster_change: Vec<String>,
    /// Downgrade errors that declare a revision irreversible.
    #[serde(default)]
    irreversible: Vec<String>,
    #[serde(default)]
    strict_history: bool,
    /// Tables neither seeded nor checked.
    #[serde(default)]
    ignore_tables: Vec<String>,
    /// Values for columns the seeder cannot fill by itself, by `table.column`.
    #[serde(default)]
    values: BTreeMap<String, Vec<String>>,
    /// The git ref whose migrations count as merged (see `--base-ref`).
    base_ref: Option<String>,
    #[serde(default)]
    alembic: AlembicConfig,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AlembicConfig {
    python: Option<PathBuf>,
    ini: Option<PathBuf>,
    #[serde(default)]
    x: Vec<String>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    #[serde(default)]
    url_options: Vec<String>,
}

impl Config {
    /// Reads `explicit`, else `<project>/migverify.toml` if there is one.
    pub fn find(explicit: Option<&Path>, project: &Path) -> Result<Option<Config>> {
        let path = match explicit {
            Some(path) => path.to_path_buf(),
            None => match project.join(FILE_NAME) {
                path if path.is_file() => path,
                _ => return Ok(None),
            },
        };
        let text = std::fs::read_to_string(&path).map_err(|source| Error::ReadConfig {
            path: path.clone(),
            source,
        })?;
        let mut config = Config::parse(&text).map_err(|message| Error::BadConfig {
            path: path.clone(),
            message,
        })?;
        config.path = path;
        Ok(Some(config))
    }

    /// The file's settings, or one sentence naming what is wrong and on which line.
    fn parse(text: &str) -> std::result::Result<Config, String> {
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

    /// Fills in what the command line left unsaid. Paths in the file are relative to it.
    pub fn apply(&self, command: &mut Command) -> Result<()> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        match command {
            Command::Cycle(gate) | Command::Stairway(gate) => {
                self.apply_gate(gate)?;
                self.apply_project(&mut gate.project, dir);
            }
            Command::Seed { project, data, .. } => {
                self.apply_seed(data);
                self.apply_project(project, dir);
            }
            Command::Revisions { project, .. }
            | Command::Snapshot { project, .. }
            | Command::Diff { project, .. } => self.apply_project(project, dir),
            Command::Checksum { .. } | Command::Completions { .. } => {}
        }
        Ok(())
    }

    fn apply_gate(&self, gate: &mut GateArgs) -> Result<()> {
        if let (None, Some(seconds)) = (gate.budget, self.budget) {
            let budget = budget_from_seconds(seconds).map_err(|message| Error::BadConfig {
                path: self.path.clone(),
                message: format!("budget: {message}"),
            })?;
            gate.budget = Some(budget);
        }
        fill(&mut gate.allow_change, &self.allow_change);
        fill(&mut gate.irreversible_ok, &self.irreversible_ok);
        fill(&mut gate.irreversible_patterns, &self.irreversible);
        fill(&mut gate.allow_cluster_change, &self.allow_cluster_change);
        if gate.migration_role.is_none() {
            gate.migration_role.clone_from(&self.migration_role);
        }
        gate.strict_history |= self.strict_history;
        // An explicit --from chooses the range itself; the file's base ref must not override it.
        if gate.base_ref.is_none() && gate.from.is_none() {
            gate.base_ref.clone_from(&self.base_ref);
        }
        self.apply_seed(&mut gate.data);
        Ok(())
    }

    fn apply_seed(&self, data: &mut SeedArgs) {
        data.rows = data.rows.or(self.rows);
        data.seed = data.seed.or(self.seed);
        fill(&mut data.ignore_tables, &self.ignore_tables);
        merge(&mut data.table_rows, &self.table_rows);
        merge(&mut data.values, &self.values);
    }

    fn apply_project(&self, project: &mut ProjectArgs, dir: &Path) {
        let alembic = &self.alembic;
        if project.python.is_none() {
            project.python = alembic.python.as_ref().map(|p| program(dir, p));
        }
        if project.alembic_ini.is_none() {
            project.alembic_ini = alembic.ini.as_ref().map(|p| dir.join(p));
        }
        fill(&mut project.x, &alembic.x);
        fill(&mut project.url_options, &alembic.url_options);
        merge(&mut project.env, &alembic.env);
    }
}

/// Per-key settings from the file, the command line winning for a key both name.
fn merge<V: Clone>(given: &mut Vec<(String, V)>, configured: &BTreeMap<String, V>) {
    for (key, value) in configured {
        if !given.iter().any(|(k, _)| k == key) {
            given.push((key.clone(), value.clone()));
        }
    }
}

/// A list from the file, unless the command line gave one.
fn fill(given: &mut Vec<String>, configured: &[String]) {
    if given.is_empty() {
        given.extend_from_slice(configured);
    }
}

/// A bare command name (`python3`) is looked up on PATH; anything with a slash is a path,
/// relative to the file.
fn program(dir: &Path, path: &Path) -> PathBuf {
    if path.components().count() == 1 {
        path.to_path_buf()
    } else {
        dir.join(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_key_is_named_with_its_line() {
        let message = Config::parse("rows = 5\n\n[alembic]\npyhton = \"python3\"\n").unwrap_err();
        assert!(
            message.starts_with("line 4: unknown field `pyhton`"),
            "{message}"
        );
        let message = Config::parse("rowz = 5\n").unwrap_err();
        assert!(
            message.starts_with("line 1: unknown field `rowz`"),
            "{message}"
        );
        let message = Config::parse("rows = \"many\"\n").unwrap_err();
        assert!(message.starts_with("line 1: invalid type"), "{message}");
    }

    #[test]
    fn every_documented_key_parses() {
        let config = Config::parse(
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
            program(Path::new("/p"), config.alembic.python.as_ref().unwrap()),
            Path::new("/p/.venv/bin/python")
        );
        assert_eq!(
            program(Path::new("/p"), Path::new("python3")),
            Path::new("python3")
        );
    }
}
