use std::process::ExitCode;

use clap::Parser as _;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    if let Some(code) = migverify::database::reaper::run_if_asked() {
        return ExitCode::from(code as u8);
    }
    let cli = match migverify::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) if !error.use_stderr() => error.exit(), // --help, --version
        Err(error) => {
            // One sentence, as for every other bad input; `--help` has the usage.
            let rendered = error.render().to_string();
            eprintln!(
                "{}",
                rendered.lines().next().unwrap_or("error: bad arguments")
            );
            return ExitCode::from(migverify::error::exit_code::BAD_INPUT as u8);
        }
    };
    let default_level = match (cli.quiet, cli.verbose) {
        (true, _) => "error",
        // The server's notices to migverify's own sessions (a crash recovery's "terminating
        // connection") repeat what the error then says in one sentence.
        (false, 0) => "warn,sqlx::postgres::notice=error",
        (false, 1) => "migverify=info,warn",
        (false, _) => "migverify=debug,info",
    };
    migverify::progress::init(!cli.quiet && std::io::IsTerminal::is_terminal(&std::io::stderr()));
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level)),
        )
        .with_writer(migverify::progress::LogWriter)
        .with_ansi(
            cli.color
                .enabled(std::io::IsTerminal::is_terminal(&std::io::stderr())),
        )
        .init();

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::from(migverify::error::exit_code::ENVIRONMENT as u8);
        }
    };
    let code = runtime.block_on(migverify::run_until_interrupted(cli));
    ExitCode::from(code as u8)
}
