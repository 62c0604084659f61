//! A throwaway PostgreSQL cluster: initdb in a temp dir, a postgres listening on a unix socket
//! in that dir only, tuned for speed rather than durability. It trusts whoever connects, so it
//! has no TCP listener and its socket is reachable only by the user running it (and the cluster's
//! owner): the directory and the socket are theirs alone. Dropping a
//! `TempCluster` stops the server and deletes the directory, so every exit path that unwinds
//! (success, error, Ctrl-C) leaves nothing behind.

use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::{Pid, Uid, User};
use sqlx::postgres::PgConnectOptions;
use tempfile::TempDir;

use super::binaries::ServerBinaries;
use super::error::{DatabaseError, Result};
use super::reaper::{self, Leftover, Reaper};

const SUPERUSER: &str = "postgres";
const READY_TIMEOUT: Duration = Duration::from_secs(30);
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

pub struct TempCluster {
    dir: Option<TempDir>,
    postmaster: Child,
    port: u16,
    /// Removes the cluster if migverify is killed before it can.
    reaper: Option<Reaper>,
}

impl TempCluster {
    pub fn start(binaries: &ServerBinaries) -> Result<Self> {
        let started = Instant::now();
        reaper::remove_stale_clusters();
        let owner = ServerOwner::for_current_user()?;
        let dir = tempfile::Builder::new()
            .prefix("migverify-")
            .tempdir()
            .map_err(|e| DatabaseError::ClusterStart(format!("cannot create a temp dir: {e}")))?;
        owner.take_ownership(dir.path())?;
        std::fs::write(
            dir.path().join(reaper::OWNER_FILE),
            std::process::id().to_string(),
        )?;
        let data = dir.path().join("data");

        let initdb = owner
            .command(&binaries.program("initdb"), dir.path())
            .arg("--pgdata")
            .arg(&data)
            .args([
                "--username",
                SUPERUSER,
                "--auth",
                "trust",
                "--encoding",
                "UTF8",
            ])
            .args(["--locale", "C", "--no-sync", "--no-instructions"])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| DatabaseError::ClusterStart(format!("cannot run initdb: {e}")))?;
        if !initdb.status.success() {
            return Err(DatabaseError::ClusterStart(format!(
                "initdb failed: {}",
                String::from_utf8_lossy(&initdb.stderr).trim()
            )));
        }

        let port = free_port()?;
        let log_path = dir.path().join("postgres.log");
        let log = File::create(&log_path)?;
        let postmaster = owner
            .command(&binaries.program("postgres"), dir.path())
            .arg("-D")
            .arg(&data)
            .arg("-k")
            .arg(dir.path())
            // The port only names the socket: no TCP listener.
            .args(["-p", &port.to_string(), "-h", ""])
            .args(["-c", "unix_socket_permissions=0700"])
            .args(["-c", "fsync=off", "-c", "synchronous_commit=off"])
            .args(["-c", "full_page_writes=off", "-c", "max_connections=50"])
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            // Its own process group: a terminal's Ctrl-C reaches migverify, which stops the
            // server itself, instead of killing it under a running step.
            .process_group(0)
            .spawn()
            .map_err(|e| DatabaseError::ClusterStart(format!("cannot run postgres: {e}")))?;

        let reaper = Reaper::watch(Leftover::Cluster {
            dir: dir.path(),
            postmaster: postmaster.id(),
        });
        let mut cluster = TempCluster {
            dir: Some(dir),
            postmaster,
            port,
            reaper: None,
        };
        cluster.reaper = reaper?;
        cluster.wait_until_ready(&data, &log_path)?;
        tracing::info!(
            elapsed_ms = started.elapsed().as_millis() as u64,
            port,
            "throwaway PostgreSQL ready"
        );
        Ok(cluster)
    }

    /// The server writes "ready" on the status line of postmaster.pid once it accepts
    /// connections; polling that file is cheaper than polling with connection attempts.
    fn wait_until_ready(&mut self, data: &Path, log_path: &Path) -> Result<()> {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Ok(pid_file) = std::fs::read_to_string(data.join("postmaster.pid")) {
                if pid_file.lines().nth(7).map(str::trim) == Some("ready") {
                    return Ok(());
                }
            }
            if let Ok(Some(status)) = self.postmaster.try_wait() {
                let log = std::fs::read_to_string(log_path).unwrap_or_default();
                return Err(DatabaseError::ClusterStart(format!(
                    "postgres exited ({status}): {}",
                    last_lines(&log, 5)
                )));
            }
            if Instant::now() > deadline {
                return Err(DatabaseError::ClusterStart(format!(
                    "postgres was not ready after {}s",
                    READY_TIMEOUT.as_secs()
                )));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Why the server is in trouble, from its log: it stopped, a backend crashed (the server
    /// then restarts every session), or the disk is full. The postmaster logs a crash a moment
    /// after the sessions see it: the log is read again for up to a second.
    pub fn trouble(&mut self) -> Option<String> {
        let deadline = Instant::now() + Duration::from_secs(1);
        loop {
            let trouble = self.trouble_now();
            if trouble.is_some() || Instant::now() > deadline {
                return trouble;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn trouble_now(&mut self) -> Option<String> {
        let stopped = matches!(self.postmaster.try_wait(), Ok(Some(_)));
        let log =
            std::fs::read_to_string(self.socket_dir().join("postgres.log")).unwrap_or_default();
        // The root cause first: a full disk makes a backend PANIC, which makes it abort.
        let cause = ["No space left on device", "PANIC:", "terminated by signal"]
            .iter()
            .find_map(|sign| {
                log.lines()
                    .rev()
                    .map(str::trim)
                    .find(|line| line.contains(sign))
            });
        match (stopped, cause) {
            (true, cause) => Some(format!(
                "the PostgreSQL server stopped: {}",
                cause.unwrap_or_else(|| log.lines().last().unwrap_or("its log says nothing"))
            )),
            (false, Some(cause)) => Some(format!("the PostgreSQL server crashed: {cause}")),
            (false, None) => None,
        }
    }

    pub fn socket_dir(&self) -> &Path {
        self.dir
            .as_ref()
            .map(TempDir::path)
            .expect("dir lives until drop")
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn connect_options(&self, database: &str) -> PgConnectOptions {
        PgConnectOptions::new()
            .socket(self.socket_dir())
            .port(self.port)
            .username(SUPERUSER)
            .database(database)
    }

    /// Leaves the server running and its directory in place, for `--keep`.
    pub fn keep(mut self) {
        if let Some(dir) = self.dir.take() {
            // A kept cluster is nobody's leftover: no later run may take it for one.
            let _ = std::fs::remove_file(dir.path().join(reaper::OWNER_FILE));
            let _ = dir.keep();
        }
        // Forgetting the cluster must not forget to let its reaper go.
        drop(self.reaper.take());
        std::mem::forget(self);
    }

    fn stop(&mut self) {
        let pid = Pid::from_raw(self.postmaster.id() as i32);
        // SIGINT is PostgreSQL's "fast" shutdown: it aborts running transactions and exits.
        let _ = kill(pid, Signal::SIGINT);
        let deadline = Instant::now() + STOP_TIMEOUT;
        while Instant::now() < deadline {
            if matches!(self.postmaster.try_wait(), Ok(Some(_)) | Err(_)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        // A server that crashed (a full disk) may never answer a fast shutdown: killing it is
        // the way out, and whatever made the run fail has been said already.
        tracing::debug!("postgres did not stop in time; killing it");
        let _ = kill(Pid::from_raw(-pid.as_raw()), Signal::SIGKILL);
        let _ = self.postmaster.wait();
    }
}

impl Drop for TempCluster {
    fn drop(&mut self) {
        self.stop();
        if let Some(dir) = self.dir.take() {
            let path = dir.path().to_path_buf();
            if let Err(error) = dir.close() {
                tracing::warn!(dir = %path.display(), %error, "could not remove the cluster directory");
            }
        }
        // The reaper, a field, is let go after this: once nothing is left.
    }
}

/// `migverify stop DIR`: stops a throwaway cluster that `--keep` or `seed` left running and
/// removes its directory. Anything that is not such a cluster (a directory not named as
/// migverify names them, or without a data directory) is refused untouched.
pub fn stop_kept(dir: &Path) -> Result<()> {
    let named_ours = dir
        .file_name()
        .is_some_and(|name| name.to_string_lossy().starts_with("migverify-"));
    if !named_ours || !dir.join("data/PG_VERSION").is_file() {
        return Err(DatabaseError::NotAKeptCluster(dir.to_path_buf()));
    }
    let postmaster = std::fs::read_to_string(dir.join("data/postmaster.pid"))
        .ok()
        .and_then(|text| text.lines().next()?.trim().parse::<i32>().ok())
        .map(Pid::from_raw);
    if let Some(pid) = postmaster {
        // SIGINT is PostgreSQL's "fast" shutdown; a postmaster already gone needs none.
        if kill(pid, Signal::SIGINT).is_ok() {
            let deadline = Instant::now() + STOP_TIMEOUT;
            while kill(pid, None).is_ok() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            if kill(pid, None).is_ok() {
                let _ = kill(pid, Signal::SIGKILL);
            }
        }
    }
    std::fs::remove_dir_all(dir)?;
    Ok(())
}

/// initdb and postgres refuse to run as root; then they run as an unprivileged user who owns
/// the cluster directory.
enum ServerOwner {
    CurrentUser,
    Switch(User),
}

impl ServerOwner {
    fn for_current_user() -> Result<Self> {
        if !Uid::effective().is_root() {
            return Ok(ServerOwner::CurrentUser);
        }
        ["postgres", "nobody"]
            .into_iter()
            .find_map(|name| User::from_name(name).ok().flatten())
            .map(ServerOwner::Switch)
            .ok_or(DatabaseError::NoUnprivilegedUser)
    }

    fn take_ownership(&self, dir: &Path) -> Result<()> {
        if let ServerOwner::Switch(user) = self {
            nix::unistd::chown(dir, Some(user.uid), Some(user.gid)).map_err(|e| {
                DatabaseError::ClusterStart(format!(
                    "cannot hand {} to {}: {e}",
                    dir.display(),
                    user.name
                ))
            })?;
        }
        Ok(())
    }

    fn command(&self, program: &Path, workdir: &Path) -> Command {
        let mut command = Command::new(program);
        command.current_dir(workdir);
        if let ServerOwner::Switch(user) = self {
            command.uid(user.uid.as_raw()).gid(user.gid.as_raw());
        }
        command
    }
}

fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
    Ok(listener.local_addr()?.port())
}

fn last_lines(text: &str, count: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(count)..].join(" | ")
}
