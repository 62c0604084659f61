//! What migverify and its alembic helper say to each other: one JSON request a line, one JSON
//! reply a line (`alembic_helper.py` is the other side).

use serde::{Deserialize, Serialize};

use super::Revision;

#[derive(Debug, Serialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum Request<'a> {
    /// Every revision of the project.
    Revisions,
    /// Runs env.py read-only and says which databases it connected to.
    Probe { url: &'a str, x: &'a [String] },
    /// The heads the database's version table records.
    Current { url: &'a str },
    /// One revision up.
    Apply {
        url: &'a str,
        revision: &'a str,
        x: &'a [String],
    },
    /// One revision down.
    Revert {
        url: &'a str,
        revision: &'a str,
        x: &'a [String],
    },
    /// `alembic upgrade <head>` for each head, as a fresh deploy.
    Upgrade {
        url: &'a str,
        heads: &'a [String],
        x: &'a [String],
    },
}

/// A reply; which fields are filled depends on the request.
#[derive(Debug, Default, Deserialize)]
pub struct Reply {
    pub ok: bool,
    /// The first words of the helper: the driver it found.
    pub driver: Option<String>,
    pub error: Option<String>,
    pub traceback: Option<String>,
    /// The downgrade raised NotImplementedError.
    #[serde(default)]
    pub irreversible: bool,
    pub revisions: Option<Vec<Revision>>,
    /// The databases env.py connected to (probe).
    #[serde(default)]
    pub databases: Vec<String>,
    pub version_table: Option<String>,
    pub version_table_schema: Option<String>,
    #[serde(default)]
    pub heads: Vec<String>,
}

impl Reply {
    /// The error's first line, or `fallback`.
    pub fn error_line<'r>(&'r self, fallback: &'r str) -> &'r str {
        self.error
            .as_deref()
            .and_then(|error| error.lines().next())
            .unwrap_or(fallback)
    }
}
