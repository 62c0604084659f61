//! The scratch database a run migrates: `migverify_<random>`, on a throwaway cluster or on the
//! server of `--database-url`. It is dropped (or the cluster stopped) when this value is dropped.

use std::time::Duration;

use rand::distr::{Alphanumeric, SampleString};
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::ConnectOptions;

use super::error::{DatabaseError, Result};
use super::reaper::{Leftover, Reaper};
use super::{connect, ServerBinaries, ServerUrl, TempCluster};
use crate::sql::quote_ident;

/// Where the scratch database lives.
#[derive(Debug, Clone)]
pub enum ServerChoice {
    Throwaway,
    Existing(ServerUrl),
}

enum Server {
    Throwaway(TempCluster),
    Existing,
}

pub struct ScratchDatabase {
    server: Option<Server>,
    /// The scratch database, then any siblings made for diagnosis; all are dropped together.
    names: Vec<String>,
    name: String,
    /// Scratch databases left for a fresh one, to drop at the next move.
    retired: Vec<String>,
    /// The next fresh database, being made.
    spare: Option<tokio::task::JoinHandle<Result<String>>>,
    /// Drops the scratch databases on an existing server if migverify is killed before it can;
    /// held for its Drop.
    _reaper: Option<Reaper>,
    /// The role migrations run as, when not the connecting superuser (`--migration-role`).
    migration_role: Option<String>,
    /// The first scratch database's name, and how many fresh ones were named after it.
    stem: String,
    made: usize,
    /// The server's own database (the one the user named, or `postgres`), for CREATE DATABASE.
    admin: PgConnectOptions,
    options: PgConnectOptions,
    keep: bool,
    /// How long making it took (a throwaway cluster's start included).
    created_in: Duration,
}

impl ScratchDatabase {
    pub async fn create(choice: ServerChoice, keep: bool) -> Result<Self> {
        let started = std::time::Instant::now();
        let name = format!(
            "migverify_{}",
            Alphanumeric
                .sample_string(&mut rand::rng(), 10)
                .to_lowercase()
        );
        let (server, admin, reaper) = match choice {
            ServerChoice::Throwaway => {
                let binaries = ServerBinaries::locate()?;
                let cluster = tokio::task::spawn_blocking(move || TempCluster::start(&binaries))
                    .await
                    .map_err(|e| DatabaseError::ClusterStart(e.to_string()))??;
                let admin = cluster.connect_options("postgres");
                (Server::Throwaway(cluster), admin, None)
            }
            ServerChoice::Existing(url) => {
                let admin = url.options().clone();
                let reaper = Reaper::watch(Leftover::Databases {
                    url: url.text(),
                    stem: &name,
                })?;
                (Server::Existing, admin, reaper)
            }
        };
        // Until the database exists there is nothing to drop; `server` going out of scope on
        // an error still stops a throwaway cluster.
        let mut connection = connect(&admin).await?;
        if matches!(server, Server::Existing) {
            warn_if_superuser(&mut connection, &admin).await?;
        }
        sqlx::query(&format!("CREATE DATABASE {}", quote_ident(&name)))
            .execute(&mut connection)
            .await?;
        // A slow migration is what migverify measures, not something for sqlx to warn about.
        let options = admin
            .clone()
            .database(&name)
            .log_slow_statements(log::LevelFilter::Off, Duration::ZERO);
        let database = ScratchDatabase {
            server: Some(server),
            names: vec![name.clone()],
            stem: name.clone(),
            name,
            retired: Vec::new(),
            spare: None,
            made: 0,
            _reaper: reaper,
            migration_role: None,
            admin: admin.clone(),
            options,
            keep,
            created_in: started.elapsed(),
        };
        tracing::info!(database = %database.name, "created the scratch database");
        Ok(database)
    }

    /// Creates another empty database beside the scratch one (`<scratch>_<suffix>`), dropped
    /// with it, and returns how to reach it.
    pub async fn create_sibling(&mut self, suffix: &str) -> Result<PgConnectOptions> {
        let sibling = format!("{}_{suffix}", self.name);
        create_database(&self.admin, &sibling, self.migration_role.as_deref()).await?;
        self.names.push(sibling.clone());
        Ok(self.options.clone().database(&sibling))
    }

    /// From now on migrations run as `role`, a role without superuser that owns the scratch
    /// database (created for the run when missing), as on a managed server: a migration that
    /// needs a superuser fails here as it would there. Seeding and checks keep their own
    /// superuser connection. On the throwaway cluster only.
    pub async fn run_migrations_as(&mut self, role: &str) -> Result<()> {
        if !matches!(self.server, Some(Server::Throwaway(_))) {
            return Err(DatabaseError::MigrationRoleNeedsThrowaway);
        }
        let mut admin = connect(&self.admin).await?;
        let quoted = quote_ident(role);
        let exists: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT FROM pg_roles WHERE rolname = $1)")
                .bind(role)
                .fetch_one(&mut admin)
                .await?;
        if !exists {
            sqlx::query(&format!("CREATE ROLE {quoted} LOGIN NOSUPERUSER"))
                .execute(&mut admin)
                .await?;
        }
        sqlx::query(&format!(
            "ALTER DATABASE {} OWNER TO {quoted}",
            quote_ident(&self.name)
        ))
        .execute(&mut admin)
        .await?;
        self.migration_role = Some(role.to_string());
        Ok(())
    }

    /// How a runner reaches `database` (one of these databases): as the migration role, if
    /// there is one.
    pub fn for_migrations(&self, database: &PgConnectOptions) -> PgConnectOptions {
        match &self.migration_role {
            Some(role) => database.clone().username(role),
            None => database.clone(),
        }
    }

    /// Moves to a new, empty scratch database (`<scratch>_<n>`), dropped with the others: a
    /// fresh start for a run that must reach a state another way. The database it leaves is
    /// dropped at the next move, when its sessions are long gone: dropping it now would wait for
    /// them to end. On a throwaway cluster the next one is made ahead, in the background, since
    /// a CREATE DATABASE takes a fifth of a second and a run that moves once often moves again.
    pub async fn start_afresh(&mut self) -> Result<()> {
        let throwaway = matches!(self.server, Some(Server::Throwaway(_)));
        let retired = std::mem::take(&mut self.retired);
        if throwaway {
            // Dropped with the cluster if the run ends first.
            let admin = self.admin.clone();
            tokio::spawn(async move { drop_databases(&admin, &retired).await });
        } else {
            let kept = drop_databases(&self.admin, &retired).await;
            self.names
                .retain(|name| !retired.contains(name) || kept.contains(name));
        }
        let fresh = match self.spare.take() {
            Some(made) => made.await.map_err(|e| {
                DatabaseError::Query(format!("making a spare database failed: {e}"))
            })??,
            None => {
                let fresh = self.next_name();
                create_database(&self.admin, &fresh, self.migration_role.as_deref()).await?;
                fresh
            }
        };
        self.make_spare();
        tracing::info!(database = %fresh, "moved to a fresh scratch database");
        self.options = self.options.clone().database(&fresh);
        self.retired.push(std::mem::replace(&mut self.name, fresh));
        Ok(())
    }

    /// Starts making, in the background, the database the next `start_afresh` moves to: on a
    /// throwaway cluster only, which takes it away with itself whatever the run does.
    fn make_spare(&mut self) {
        if self.spare.is_some() || !matches!(self.server, Some(Server::Throwaway(_))) {
            return;
        }
        let (admin, spare) = (self.admin.clone(), self.next_name());
        let owner = self.migration_role.clone();
        self.spare = Some(tokio::spawn(async move {
            create_database(&admin, &spare, owner.as_deref()).await?;
            Ok(spare)
        }));
    }

    /// A name for one more database beside the first, counted among those dropped at the end.
    fn next_name(&mut self) -> String {
        self.made += 1;
        let name = format!("{}_{}", self.stem, self.made);
        self.names.push(name.clone());
        name
    }

    /// Keeps the database (and its cluster) when this value is dropped, and says how to reach it.
    pub fn created_in(&self) -> Duration {
        self.created_in
    }

    pub fn keep(&mut self) {
        self.keep = true;
    }

    /// Why the server cannot be trusted with the run any more (it stopped, crashed or ran out
    /// of disk), from the throwaway cluster's log; `None` when nothing says so.
    pub fn server_trouble(&mut self) -> Option<String> {
        match &mut self.server {
            Some(Server::Throwaway(cluster)) => cluster.trouble(),
            _ => None,
        }
    }

    /// A session on the server's own database (not the scratch one): a bystander whose death
    /// says that a migration terminated other clients' sessions.
    pub async fn connect_bystander(&self) -> Result<PgConnection> {
        connect(&self.admin).await
    }

    /// A session that may read the server's write-ahead log (`pg_walinspect`), to prove a table
    /// untouched between two readings; on a throwaway cluster only, since the extension is
    /// installed in the server's own database. None elsewhere, or when it cannot be installed.
    pub async fn connect_wal_reader(&self) -> Option<PgConnection> {
        if !matches!(self.server, Some(Server::Throwaway(_))) {
            return None;
        }
        let mut connection = connect(&self.admin).await.ok()?;
        match sqlx::query("CREATE EXTENSION IF NOT EXISTS pg_walinspect")
            .execute(&mut connection)
            .await
        {
            Ok(_) => Some(connection),
            Err(error) => {
                tracing::debug!(%error, "no pg_walinspect: every table is read at every pass");
                None
            }
        }
    }

    /// The name every database migverify made on this server starts with.
    pub fn stem(&self) -> &str {
        &self.stem
    }

    pub fn connect_options(&self) -> &PgConnectOptions {
        &self.options
    }

    pub async fn connect(&self) -> Result<PgConnection> {
        connect(&self.options).await
    }

    /// Cancels the statements of every other session on the scratch database: the watchdog's
    /// way to stop an over-budget step whatever runner (and connection) is executing it.
    pub async fn cancel_other_sessions(
        &self,
        connection: &mut PgConnection,
        terminate: bool,
    ) -> Result<u64> {
        let function = if terminate {
            "pg_terminate_backend"
        } else {
            "pg_cancel_backend"
        };
        // In the select list, the function runs only for the rows WHERE kept; inside WHERE the
        // planner may call it before excluding our own session.
        let signalled: Vec<bool> = sqlx::query_scalar(&format!(
            "SELECT {function}(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ))
        .fetch_all(connection)
        .await?;
        Ok(signalled.into_iter().filter(|s| *s).count() as u64)
    }

    fn drop_on_existing_server(admin: PgConnectOptions, name: String) {
        // Drop runs in async code too (a Ctrl-C drops the whole run); a thread with its own
        // runtime lets it finish the DROP DATABASE synchronously either way.
        let label = name.clone();
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let mut connection = connect(&admin).await?;
                sqlx::query(&format!(
                    "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                    quote_ident(&name)
                ))
                .execute(&mut connection)
                .await?;
                Ok::<_, DatabaseError>(())
            })
        })
        .join();
        match dropped {
            Ok(Ok(())) => tracing::info!("dropped the scratch database"),
            // Not a log line: -q must not hide a database left on someone's server.
            Ok(Err(error)) => {
                eprintln!("warning: could not drop the scratch database {label}: {error}")
            }
            Err(_) => eprintln!("warning: could not drop the scratch database {label}"),
        }
    }
}

/// A superuser's migrations can reach every database, role and file of the server: say so once,
/// up front, since the gate cannot stop them.
async fn warn_if_superuser(connection: &mut PgConnection, admin: &PgConnectOptions) -> Result<()> {
    let superuser: bool =
        sqlx::query_scalar("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
            .fetch_one(connection)
            .await?;
    if superuser {
        tracing::warn!(
            user = admin.get_username(),
            "--database-url connects as a superuser: the migrations under test can reach every database, role, setting and file of that server; a role with CREATEDB alone is enough for migverify"
        );
    }
    Ok(())
}

/// Drops databases whose sessions have ended; returns those it could not drop (still in use:
/// the final clean-up drops them with the others).
async fn drop_databases(admin: &PgConnectOptions, names: &[String]) -> Vec<String> {
    let mut kept = Vec::new();
    let Ok(mut admin) = connect(admin).await else {
        return names.to_vec();
    };
    for name in names {
        let dropped = sqlx::query(&format!("DROP DATABASE IF EXISTS {}", quote_ident(name)))
            .execute(&mut admin)
            .await;
        if let Err(error) = dropped {
            tracing::debug!(%error, database = %name, "left for the end");
            kept.push(name.clone());
        }
    }
    kept
}

/// Creates the database `name`, owned by `owner` when migrations run as a role of their own.
async fn create_database(admin: &PgConnectOptions, name: &str, owner: Option<&str>) -> Result<()> {
    let mut admin = connect(admin).await?;
    let owner = owner.map_or(String::new(), |role| {
        format!(" OWNER {}", quote_ident(role))
    });
    sqlx::query(&format!("CREATE DATABASE {}{owner}", quote_ident(name)))
        .execute(&mut admin)
        .await?;
    Ok(())
}

impl ScratchDatabase {
    /// How to reach a kept database (psql, and a URL that `--database-url` takes), and how to
    /// be rid of it.
    fn how_to_reach(&self) -> String {
        let name = &self.name;
        match &self.server {
            Some(Server::Throwaway(cluster)) => {
                let (dir, port) = (cluster.socket_dir().display(), cluster.port());
                format!(
                    "kept the scratch database; connect with: psql -h {dir} -p {port} -U postgres -d {name}\n  \
                     its URL: postgres://postgres@/{name}?host={dir}&port={port}\n  \
                     stop the cluster when done: migverify stop {dir}"
                )
            }
            _ => {
                let (host, port, user) = (
                    self.admin.get_host(),
                    self.admin.get_port(),
                    self.admin.get_username(),
                );
                format!(
                    "kept the scratch database; connect with: psql -h {host} -p {port} -U {user} -d {name}\n  \
                     its URL: postgres://{user}@{host}:{port}/{name}\n  \
                     drop it when done: DROP DATABASE {}",
                    quote_ident(name)
                )
            }
        }
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        if self.keep && self.server.is_some() {
            eprintln!("{}", self.how_to_reach());
        }
        let Some(server) = self.server.take() else {
            return;
        };
        if self.keep {
            if let Server::Throwaway(cluster) = server {
                cluster.keep();
            }
        } else {
            match server {
                // Stopping the cluster removes the database with it.
                Server::Throwaway(cluster) => drop(cluster),
                Server::Existing => {
                    for name in std::mem::take(&mut self.names) {
                        Self::drop_on_existing_server(self.admin.clone(), name)
                    }
                }
            }
        }
        // The reaper, a field, is let go after this: once nothing is left.
    }
}
