//! The reaper: a small watchdog process that outlives a migverify killed outright (SIGKILL, the
//! OOM killer, a CI runner's last resort) and removes what it left: the throwaway cluster (its
//! server stopped, its directory deleted) or the scratch databases on a `--database-url` server.
//! It is migverify itself, started again with `MIGVERIFY_REAPER` set, in a session of its own so
//! that a kill of migverify's process group spares it. It waits on a pipe from migverify: when
//! migverify cleaned up itself, it says `done` and the reaper leaves; when the pipe closes
//! without that word, migverify died, and the reaper cleans up.

use std::io::{BufRead, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use std::sync::atomic::{AtomicBool, Ordering};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use super::error::{DatabaseError, Result};

const TRIGGER: &str = "MIGVERIFY_REAPER";

/// Set in the migverify binary: a reaper is that binary started again, so a program that only
/// links the library (a test, a bench) has none.
static ENABLED: AtomicBool = AtomicBool::new(false);
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// What a dead migverify would leave behind.
pub enum Leftover<'a> {
    /// A throwaway cluster: its directory and its postmaster.
    Cluster { dir: &'a Path, postmaster: u32 },
    /// Scratch databases on a server: every database whose name starts with `stem`. The URL
    /// travels on the pipe, never on a command line, since it may hold a password.
    Databases { url: &'a str, stem: &'a str },
}

/// The watch on one leftover. Dropping it tells the reaper that nothing is left for it (cleaned
/// up or kept, on every path that unwinds, an early error included); only a migverify that dies
/// without dropping it leaves the reaper work to do.
pub struct Reaper {
    pipe: ChildStdin,
    process: Child,
}

impl Reaper {
    /// Starts a reaper for `leftover`; none outside the migverify binary.
    pub fn watch(leftover: Leftover) -> Result<Option<Self>> {
        if !ENABLED.load(Ordering::Relaxed) {
            return Ok(None);
        }
        let exe = std::env::current_exe()?;
        let mut command = Command::new(exe);
        let secret = match &leftover {
            Leftover::Cluster { dir, postmaster } => {
                command
                    .env(TRIGGER, "cluster")
                    .arg(dir)
                    .arg(postmaster.to_string());
                String::new()
            }
            Leftover::Databases { url, stem } => {
                command.env(TRIGGER, "databases").arg(stem);
                format!("{url}\n")
            }
        };
        let mut process = command
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .process_group(0)
            .spawn()
            .map_err(|e| DatabaseError::ClusterStart(format!("cannot start the reaper: {e}")))?;
        let mut pipe = process.stdin.take().expect("piped");
        pipe.write_all(secret.as_bytes())?;
        Ok(Some(Reaper { pipe, process }))
    }
}

impl Drop for Reaper {
    fn drop(&mut self) {
        let _ = self.pipe.write_all(b"done\n");
        let _ = self.process.wait();
    }
}

/// When this process is a reaper, does its work and returns its exit code; otherwise lets it
/// start reapers of its own (only the migverify binary calls this).
pub fn run_if_asked() -> Option<i32> {
    let Ok(kind) = std::env::var(TRIGGER) else {
        ENABLED.store(true, Ordering::Relaxed);
        return None;
    };
    // A terminal's Ctrl-C or a closed SSH session must not stop the watch.
    for signal in [
        Signal::SIGINT,
        Signal::SIGHUP,
        Signal::SIGQUIT,
        Signal::SIGTERM,
    ] {
        // SAFETY: ignoring a signal installs no handler code.
        let _ = unsafe { nix::sys::signal::signal(signal, nix::sys::signal::SigHandler::SigIgn) };
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut lines = std::io::stdin().lock().lines();
    let url = match kind.as_str() {
        "databases" => lines.next().and_then(|line| line.ok()),
        _ => None,
    };
    // Blocks until migverify says `done` or dies (the pipe closes).
    let done = lines.any(|line| line.is_ok_and(|line| line == "done"));
    if done {
        return Some(0);
    }
    match (kind.as_str(), args.as_slice(), url) {
        ("cluster", [dir, postmaster], _) => {
            let pid = postmaster.parse().unwrap_or(0);
            remove_cluster(Path::new(dir), pid);
            eprintln!("migverify died; its reaper stopped the throwaway cluster and removed {dir}");
        }
        ("databases", [stem], Some(url)) => match drop_databases(&url, stem) {
            Ok(()) => eprintln!("migverify died; its reaper dropped its scratch databases"),
            Err(error) => eprintln!("migverify died; its reaper could not drop its scratch databases ({stem}…): {error}"),
        },
        _ => return Some(2),
    }
    Some(0)
}

/// Stops the postmaster `pid` (fast shutdown, then a kill of its group) and deletes `dir`.
pub fn remove_cluster(dir: &Path, pid: i32) {
    if pid > 0 {
        let pid = Pid::from_raw(pid);
        let _ = kill(pid, Signal::SIGINT);
        let deadline = Instant::now() + STOP_TIMEOUT;
        while kill(pid, None).is_ok() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = kill(Pid::from_raw(-pid.as_raw()), Signal::SIGKILL);
    }
    let _ = std::fs::remove_dir_all(dir);
}

fn drop_databases(url: &str, stem: &str) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let url = super::ServerUrl::parse(url)?;
        let options = url.options();
        let mut connection = super::connect(options).await?;
        let names: Vec<String> = sqlx::query_scalar(
            "SELECT datname::text FROM pg_database WHERE left(datname, length($1)) = $1",
        )
        .bind(stem)
        .fetch_all(&mut connection)
        .await?;
        for name in names {
            sqlx::query(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                crate::sql::quote_ident(&name)
            ))
            .execute(&mut connection)
            .await?;
        }
        Ok(())
    })
}

/// Clusters of migverify runs that died before anything could clean up (their reaper killed
/// too): a directory `migverify-*` in the temp dir whose owner process is gone.
pub fn remove_stale_clusters() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let dir: PathBuf = entry.path();
        let named = entry
            .file_name()
            .to_string_lossy()
            .starts_with("migverify-");
        let Some(owner) = named
            .then(|| std::fs::read_to_string(dir.join(OWNER_FILE)).ok())
            .flatten()
            .and_then(|pid| pid.trim().parse::<i32>().ok())
        else {
            continue;
        };
        if kill(Pid::from_raw(owner), None).is_ok() {
            continue;
        }
        let postmaster = std::fs::read_to_string(dir.join("data/postmaster.pid"))
            .ok()
            .and_then(|text| text.lines().next().and_then(|pid| pid.trim().parse().ok()))
            .unwrap_or(0);
        remove_cluster(&dir, postmaster);
        eprintln!(
            "removed the throwaway cluster of a migverify run that died (pid {owner}): {}",
            dir.display()
        );
    }
}

/// The file in a cluster's directory that names the migverify process it belongs to.
pub const OWNER_FILE: &str = "migverify.pid";
