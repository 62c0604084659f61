use std::process::ExitCode;

use clap::Parser as _;
use tracing_subscriber::EnvFilter;

use migverify::error::{Error, Outcome};

/// Parse, resolve the settings, run, and turn the outcome into an exit code.
fn main() -> ExitCode {
    if let Some(code) = migverify::database::reaper::run_if_asked() {
        return ExitCode::from(code as u8);
    }
    let outcome = match migverify::cli::Cli::try_parse() {
        Err(error) if !error.use_stderr() => error.exit(), // --help, --version
        // One sentence, as for every other bad input; `--help` has the usage.
        Err(error) => Outcome::Failed(Error::Arguments(first_line(&error.render().to_string()))),
        Ok(cli) => {
            init_logs(&cli);
            let gate_output = migverify::cli::settings::gate_output(&cli);
            let outcome = match migverify::cli::settings::resolve(cli) {
                Err(error) => Outcome::Failed(error.into()),
                Ok(settings) => match tokio::runtime::Builder::new_multi_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime.block_on(migverify::run_until_interrupted(settings)),
                    Err(error) => Outcome::Failed(Error::Runtime(error)),
                },
            };
            if let Some((kind, output)) = gate_output {
                migverify::commands::report_failure(kind, &output, &outcome);
            }
            outcome
        }
    };
    match &outcome {
        Outcome::Failed(error) => eprintln!("error: {error}"),
        Outcome::Interrupted => eprintln!("migverify: interrupted; the scratch database is gone"),
        Outcome::Finished(_) => {}
    }
    ExitCode::from(outcome.exit_code())
}

/// clap's message as one line: its first, and the one it announces (the missing arguments)
/// when it ends with a colon.
fn first_line(rendered: &str) -> String {
    let mut lines = rendered.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines.next().unwrap_or("bad arguments");
    let first = first.strip_prefix("error: ").unwrap_or(first);
    match (first.strip_suffix(':'), lines.next()) {
        (Some(announced), Some(next)) => format!("{announced}: {next}"),
        _ => first.to_string(),
    }
}

fn init_logs(cli: &migverify::cli::Cli) {
    let default_level = match (cli.quiet, cli.verbose) {
        (true, _) => "error",
        // The server's notices to migverify's own sessions (a crash recovery's "terminating
        // connection") repeat what the error then says in one sentence.
        (false, 0) => "warn,sqlx::postgres::notice=error",
        (false, 1) => "migverify=info,warn",
        (false, _) => "migverify=debug,info",
    };
    let stderr_is_terminal = std::io::IsTerminal::is_terminal(&std::io::stderr());
    migverify::progress::init(!cli.quiet && stderr_is_terminal);
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level)),
        )
        .with_writer(migverify::progress::LogWriter)
        .with_ansi(cli.color.enabled(stderr_is_terminal))
        .init();
}
