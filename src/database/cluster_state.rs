//! What lives outside the scratch database, on the server as a whole: the other databases,
//! roles and memberships, tablespaces, and settings written by ALTER SYSTEM. A migration that
//! changes any of them does what it could not undo on a managed server, or should not do to
//! one; comparing this state around each step finds it.

use std::collections::BTreeSet;

use sqlx::postgres::PgConnection;

use super::error::Result;

/// The kinds of cluster-wide objects, as `--allow-cluster-change` names them.
pub const CLUSTER_OBJECT_KINDS: &[&str] = &[
    "database",
    "role",
    "membership",
    "tablespace",
    "setting",
    "session",
];

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterState {
    /// `(kind, description)`, e.g. `("role", "app_readonly (login)")`.
    objects: BTreeSet<(String, String)>,
}

/// One object that appeared or went between two states.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterChange {
    pub kind: String,
    pub description: String,
}

impl ClusterState {
    /// Reads the server's cluster-wide objects; databases named `ours*` (the scratch database
    /// and those made beside it) are left out. Settings need the right to read the server's
    /// configuration files: without it they are left out too.
    pub async fn read(connection: &mut PgConnection, ours: &str) -> Result<Self> {
        let mut objects: BTreeSet<(String, String)> = sqlx::query_as(
            "SELECT 'database', datname::text FROM pg_database WHERE left(datname, length($1)) <> $1 \
             UNION ALL SELECT 'role', rolname || CASE WHEN rolsuper THEN ' (superuser)' ELSE '' END \
                 || CASE WHEN rolcanlogin THEN ' (login)' ELSE '' END FROM pg_roles \
             UNION ALL SELECT 'membership', r.rolname || ' to ' || m.rolname FROM pg_auth_members a \
                 JOIN pg_roles r ON r.oid = a.roleid JOIN pg_roles m ON m.oid = a.member \
             UNION ALL SELECT 'tablespace', spcname::text FROM pg_tablespace",
        )
        .bind(ours)
        .fetch_all(&mut *connection)
        .await?
        .into_iter()
        .collect();
        let settings: std::result::Result<Vec<(String, String)>, _> = sqlx::query_as(
            "SELECT 'setting', name || ' = ' || coalesce(setting, '') FROM pg_file_settings \
             WHERE sourcefile LIKE '%postgresql.auto.conf'",
        )
        .fetch_all(&mut *connection)
        .await;
        match settings {
            Ok(settings) => objects.extend(settings),
            Err(error) => tracing::debug!(%error, "cannot read ALTER SYSTEM settings"),
        }
        Ok(ClusterState { objects })
    }

    /// What appeared (`created`) and went (`dropped`) since `self`.
    pub fn changes(&self, after: &ClusterState) -> Vec<(bool, ClusterChange)> {
        let change = |(kind, description): &(String, String)| ClusterChange {
            kind: kind.clone(),
            description: description.clone(),
        };
        let created = after
            .objects
            .difference(&self.objects)
            .map(|o| (true, change(o)));
        let dropped = self
            .objects
            .difference(&after.objects)
            .map(|o| (false, change(o)));
        created.chain(dropped).collect()
    }
}

impl ClusterChange {
    /// Other clients' sessions ended by the step: migverify's own bystander session, on
    /// another database of the server, among them.
    pub fn sessions_terminated() -> Self {
        ClusterChange {
            kind: "session".to_string(),
            description: "other clients' sessions on the server (migverify's own on another database among them)".to_string(),
        }
    }

    /// "created role app_readonly", "dropped database victim", "ran ALTER SYSTEM SET work_mem =
    /// 64MB".
    pub fn describe(&self, created: bool) -> String {
        match (self.kind.as_str(), created) {
            ("setting", true) => format!("ran ALTER SYSTEM SET {}", self.description),
            ("setting", false) => format!("ran ALTER SYSTEM RESET of {}", self.description),
            ("membership", true) => format!("granted role {}", self.description),
            ("membership", false) => format!("revoked role {}", self.description),
            ("session", _) => format!("terminated {}", self.description),
            (kind, true) => format!("created {kind} {}", self.description),
            (kind, false) => format!("dropped {kind} {}", self.description),
        }
    }
}
