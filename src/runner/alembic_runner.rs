//! Runs alembic projects through one long-lived Python helper in the project's own interpreter
//! (`alembic_helper.py`, shipped inside the binary), speaking JSON lines. Starting Python per
//! step would cost seconds over a long history.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use super::alembic_protocol::{Reply, Request};
use async_trait::async_trait;
use sqlx::postgres::PgConnectOptions;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::task::JoinHandle;

use super::error::{Result, RunnerError};
use super::{Kind, Revision, Revisions, Runner, RunnerOptions, StepError, Target};

const HELPER: &str = include_str!("alembic_helper.py");
/// In an `--env` value or an `-x` argument, the scratch database's URL.
const URL_PLACEHOLDER: &str = "{url}";

pub struct AlembicRunner {
    /// `None` once a step was abandoned at the budget: the next request starts another.
    helper: Option<Helper>,
    launch: Launch,
    /// The PostgreSQL driver the project's interpreter has, for SQLAlchemy URLs.
    driver: String,
    revisions: Revisions,
    /// Databases env.py has been seen to reach as asked; see `verify_env_py`.
    verified: Vec<String>,
    /// alembic's -x arguments, passed with every step.
    x: Vec<String>,
    /// The version table env.py configures (`alembic_version` unless it says otherwise),
    /// schema-qualified when it names a schema.
    version_table: String,
}

struct Helper {
    /// Killed when dropped, so the helper never outlives a run.
    _process: Child,
    requests: ChildStdin,
    replies: Lines<BufReader<ChildStdout>>,
    driver: String,
    /// Drains the helper's stderr (where migrations print too) and gives back its last line
    /// once the helper is gone, to say why it went.
    last_words: Option<JoinHandle<Option<String>>>,
}

/// How to start the helper: once at open, and again after a step was abandoned.
struct Launch {
    python: PathBuf,
    project: PathBuf,
    ini: PathBuf,
    env: Vec<(String, String)>,
    url_options: Vec<String>,
    /// How long the interpreter may take to say it is ready.
    startup_timeout: Duration,
}

impl Helper {
    async fn start(launch: &Launch) -> Result<Self> {
        let Launch {
            python,
            project,
            ini,
            env,
            url_options,
            startup_timeout,
        } = launch;
        let unavailable = |message: String| RunnerError::PythonUnavailable {
            python: python.to_path_buf(),
            message,
        };
        let project = std::path::absolute(project)?;
        // A value holding `{url}` is the helper's to fill in with each step's database.
        let (url_env, plain_env): (Vec<_>, Vec<_>) = env
            .iter()
            .partition(|(_, value)| value.contains(URL_PLACEHOLDER));
        let url_env: std::collections::BTreeMap<&String, &String> =
            url_env.into_iter().map(|(k, v)| (k, v)).collect();
        let mut process = Command::new(python)
            .arg("-c")
            .arg(HELPER)
            .arg(&project)
            .arg(ini)
            .arg(serde_json::to_string(url_options).expect("names serialize"))
            .arg(serde_json::to_string(&url_env).expect("variables serialize"))
            .envs(plain_env.into_iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| unavailable(e.to_string()))?;
        let requests = process.stdin.take().expect("piped");
        let replies = BufReader::new(process.stdout.take().expect("piped")).lines();
        let mut stderr = BufReader::new(process.stderr.take().expect("piped")).lines();
        let last_words = tokio::spawn(async move {
            let mut last = None;
            while let Ok(Some(line)) = stderr.next_line().await {
                if !line.trim().is_empty() {
                    last = Some(line);
                }
            }
            last
        });
        let mut helper = Helper {
            _process: process,
            requests,
            replies,
            driver: String::new(),
            last_words: Some(last_words),
        };
        let hello = match tokio::time::timeout(*startup_timeout, helper.reply()).await {
            Ok(hello) => hello.map_err(|error| match error {
                StepError::Helper(message) => unavailable(format!("it {message}")),
                other => unavailable(other.to_string()),
            })?,
            Err(_) => {
                return Err(unavailable(format!(
                    "it did not say it was ready within {}s",
                    startup_timeout.as_secs_f64()
                )))
            }
        };
        if !hello.ok {
            return Err(unavailable(
                hello
                    .error
                    .unwrap_or_else(|| "the helper did not start".to_string()),
            ));
        }
        helper.driver = hello.driver.unwrap_or_else(|| "psycopg2".to_string());
        Ok(helper)
    }

    async fn reply(&mut self) -> std::result::Result<Reply, StepError> {
        match self.replies.next_line().await {
            Ok(Some(line)) => serde_json::from_str(&line)
                .map_err(|e| StepError::Helper(format!("answered {line:?} ({e})"))),
            Ok(None) => Err(StepError::Helper(match self.last_words().await {
                Some(line) => format!("exited without answering; its last words: {line}"),
                None => "exited without answering (a migration may have ended the interpreter)"
                    .to_string(),
            })),
            Err(error) => Err(StepError::Helper(format!("is unreachable ({error})"))),
        }
    }

    /// The last line the helper wrote to stderr, once it has closed it (briefly waited for).
    async fn last_words(&mut self) -> Option<String> {
        let task = self.last_words.take()?;
        tokio::time::timeout(std::time::Duration::from_secs(2), task)
            .await
            .ok()?
            .ok()?
    }

    async fn call(&mut self, request: &Request<'_>) -> std::result::Result<Reply, StepError> {
        let line = format!(
            "{}\n",
            serde_json::to_string(request).expect("requests serialize")
        );
        if let Err(error) = self.requests.write_all(line.as_bytes()).await {
            return Err(StepError::Helper(format!("is gone ({error})")));
        }
        self.reply().await
    }
}

impl AlembicRunner {
    pub async fn open(dir: &Path, options: &RunnerOptions) -> Result<Self> {
        let python = choose_python(dir, options.python.as_deref());
        let ini = match &options.alembic_ini {
            Some(ini) => std::path::absolute(ini)?,
            None => std::path::absolute(dir)?.join("alembic.ini"),
        };
        let launch = Launch {
            python,
            project: dir.to_path_buf(),
            ini,
            env: options.env.clone(),
            url_options: options.url_options.clone(),
            startup_timeout: options.startup_timeout,
        };
        let mut helper = Helper::start(&launch).await?;
        let listed = helper
            .call(&Request::Revisions)
            .await
            .map_err(|e| malformed(dir, e.to_string()))?;
        if !listed.ok {
            let message = listed
                .error
                .unwrap_or_else(|| "cannot read the revisions".to_string());
            return Err(malformed(dir, message));
        }
        let revisions = listed.revisions.unwrap_or_default();
        if revisions.is_empty() {
            return Err(RunnerError::NoAlembicRevisions(dir.to_path_buf()));
        }
        Ok(AlembicRunner {
            driver: helper.driver.clone(),
            helper: Some(helper),
            launch,
            revisions: Revisions::new(revisions),
            verified: Vec::new(),
            x: options.x.clone(),
            version_table: "alembic_version".to_string(),
        })
    }

    fn url(&self, database: &PgConnectOptions) -> String {
        sqlalchemy_url(database, &self.driver)
    }

    /// Sends a request to the helper, starting it again first if a step was abandoned.
    async fn call(&mut self, request: &Request<'_>) -> std::result::Result<Reply, StepError> {
        if self.helper.is_none() {
            let helper = Helper::start(&self.launch)
                .await
                .map_err(|e| StepError::Helper(format!("could not be started again: {e}")))?;
            // The new helper has not seen env.py yet: let it look again.
            self.verified.clear();
            self.helper = Some(helper);
        }
        self.helper
            .as_mut()
            .expect("started above")
            .call(request)
            .await
    }

    /// Before the first migration on a database, runs env.py read-only and checks that it
    /// connects where it is told. An env.py that ignores every channel migverify sets would
    /// otherwise migrate some other database.
    async fn verify_env_py(
        &mut self,
        database: &PgConnectOptions,
    ) -> std::result::Result<(), StepError> {
        let expected = database.get_database().unwrap_or("postgres").to_string();
        if self.verified.contains(&expected) {
            return Ok(());
        }
        let (url, x) = (self.url(database), self.x.clone());
        let reply = self.call(&Request::Probe { url: &url, x: &x }).await?;
        if let Some(table) = &reply.version_table {
            self.version_table = match &reply.version_table_schema {
                Some(schema) => format!("{schema}.{table}"),
                None => table.clone(),
            };
        }
        match reply.databases.as_slice() {
            [only] if *only == expected => {
                self.verified.push(expected);
                Ok(())
            }
            // Nothing was reached: env.py failed on its own, and says why.
            [] if !reply.ok => Err(StepError::EnvPy(reply.error_line("no answer").to_string())),
            [] => Err(StepError::ElsewhereMigrated {
                reached: "no database".to_string(),
            }),
            reached => Err(StepError::ElsewhereMigrated {
                reached: format!("database {}", reached.join(", ")),
            }),
        }
    }

    /// One revision up (`apply`) or down (`revert`); a failure names it.
    async fn step(
        &mut self,
        database: &PgConnectOptions,
        upgrade: bool,
        revision: &str,
    ) -> std::result::Result<(), StepError> {
        self.verify_env_py(database).await?;
        let (url, x) = (self.url(database), self.x.clone());
        let request = match upgrade {
            true => Request::Apply {
                url: &url,
                revision,
                x: &x,
            },
            false => Request::Revert {
                url: &url,
                revision,
                x: &x,
            },
        };
        let reply = self.call(&request).await?;
        if reply.ok {
            // The version table on the scratch database must have moved with the step.
            let heads = self.current(database).await?;
            let recorded = heads.iter().any(|head| head == revision);
            if recorded == upgrade {
                return Ok(());
            }
            return Err(StepError::ElsewhereMigrated {
                reached: format!(
                    "a database other than the scratch one (whose {} stayed at {})",
                    self.version_table,
                    if heads.is_empty() {
                        "base".to_string()
                    } else {
                        heads.join(", ")
                    }
                ),
            });
        }
        if reply.irreversible && !upgrade {
            let error = reply.error.as_deref().unwrap_or("failed");
            return Err(StepError::Irreversible {
                revision: revision.to_string(),
                message: format!("its downgrade raises NotImplementedError ({error})"),
                declared: false,
            });
        }
        Err(failure(revision, &reply))
    }
}

#[async_trait]
impl Runner for AlembicRunner {
    fn kind(&self) -> Kind {
        Kind::Alembic
    }

    fn revisions(&self) -> &Revisions {
        &self.revisions
    }

    fn bookkeeping_tables(&self) -> Vec<String> {
        vec![self.version_table.clone()]
    }

    async fn current(
        &mut self,
        database: &PgConnectOptions,
    ) -> std::result::Result<Vec<String>, StepError> {
        let url = self.url(database);
        let reply = self.call(&Request::Current { url: &url }).await?;
        if !reply.ok {
            let error = reply.error_line("cannot read alembic_version").to_string();
            return Err(StepError::Connection(error));
        }
        Ok(reply.heads)
    }

    async fn apply(
        &mut self,
        database: &PgConnectOptions,
        revision: &Revision,
    ) -> std::result::Result<(), StepError> {
        self.step(database, true, &revision.id).await
    }

    async fn revert(
        &mut self,
        database: &PgConnectOptions,
        revision: &Revision,
    ) -> std::result::Result<(), StepError> {
        self.step(database, false, &revision.id).await
    }

    fn abandon(&mut self) {
        // Dropping the helper kills it: a Python sleeping in a migration ignores the server's
        // cancel.
        self.helper = None;
    }

    async fn upgrade_at_once(
        &mut self,
        database: &PgConnectOptions,
        target: &Target,
    ) -> std::result::Result<bool, StepError> {
        self.verify_env_py(database).await?;
        let (url, x) = (self.url(database), self.x.clone());
        let reply = self
            .call(&Request::Upgrade {
                url: &url,
                heads: target.heads(),
                x: &x,
            })
            .await?;
        match reply.ok {
            true => Ok(true),
            false => Err(failure(&target.to_string(), &reply)),
        }
    }
}

/// A failed request, naming what failed, with the end of its traceback.
fn failure(what: &str, reply: &Reply) -> StepError {
    let message = reply.error.clone().unwrap_or_else(|| "failed".to_string());
    let traceback = reply.traceback.as_deref().unwrap_or("").trim().to_string();
    StepError::Failed {
        revision: what.to_string(),
        message: if traceback.is_empty() {
            message
        } else {
            format!("{message}\n{traceback}")
        },
    }
}

/// `--python`, else `$MIGVERIFY_PYTHON`, else the project's `.venv`, else `python3`.
fn choose_python(project: &Path, given: Option<&Path>) -> PathBuf {
    if let Some(python) = given {
        return python.to_path_buf();
    }
    if let Some(python) = std::env::var_os("MIGVERIFY_PYTHON") {
        return PathBuf::from(python);
    }
    let venv = project.join(".venv/bin/python");
    if venv.is_file() {
        return venv;
    }
    PathBuf::from("python3")
}

/// The scratch database as SQLAlchemy names it through `driver` (no password: libpq takes one
/// from PGPASSWORD or .pgpass).
fn sqlalchemy_url(options: &PgConnectOptions, driver: &str) -> String {
    let database = options.get_database().unwrap_or("postgres");
    let user = options.get_username();
    match options.get_socket() {
        Some(dir) => format!(
            "postgresql+{driver}://{user}@/{database}?host={}&port={}",
            dir.display(),
            options.get_port()
        ),
        None => format!(
            "postgresql+{driver}://{user}@{}:{}/{database}",
            options.get_host(),
            options.get_port()
        ),
    }
}

fn malformed(dir: &Path, message: String) -> RunnerError {
    RunnerError::MalformedMigration {
        dir: dir.to_path_buf(),
        message,
    }
}
