//! Progress of long work (seeding, checksums, migration steps) as indicatif bars on stderr, when
//! stderr is a terminal and the user has not asked for quiet. Everywhere else every bar is
//! hidden, so that piped output and CI logs carry no control sequences. Logs go through
//! `LogWriter`, which clears the bars while it writes and draws them again after, so a log line
//! never breaks a bar.

use std::io::Write;
use std::sync::OnceLock;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressFinish, ProgressStyle};

static BARS: OnceLock<MultiProgress> = OnceLock::new();

/// Decides once, at start-up, whether bars are drawn.
pub fn init(visible: bool) {
    let target = if visible {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let _ = BARS.set(MultiProgress::with_draw_target(target));
}

fn bars() -> &'static MultiProgress {
    // A library caller that never called `init` gets no bars.
    BARS.get_or_init(|| MultiProgress::with_draw_target(ProgressDrawTarget::hidden()))
}

/// A bar counting `total` units of `what` (rows, tables). Like every bar here, it clears itself
/// when dropped, so work that stops on an error leaves no stale bar behind.
pub fn counter(total: u64, what: &str, message: String) -> ProgressBar {
    let style = ProgressStyle::with_template(&format!(
        "{{spinner}} {{msg:32}} [{{bar:30}}] {{human_pos}}/{{human_len}} {what} ({{elapsed}}, {{eta}} left)"
    ))
    .expect("a valid template")
    .progress_chars("=> ");
    let bar = bars().add(
        ProgressBar::new(total)
            .with_style(style)
            .with_message(message)
            .with_finish(ProgressFinish::AndClear),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// The run's place in its plan, above the bar of the work in hand: "phase 3 of 9: checksum
/// pass 1 (0:12)". Advanced by `begin`.
pub fn phases(total: u64) -> ProgressBar {
    let style = ProgressStyle::with_template("phase {pos} of {len}: {msg} ({elapsed})")
        .expect("a valid template");
    let bar = bars().add(
        ProgressBar::new(total)
            .with_style(style)
            .with_finish(ProgressFinish::AndClear),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// Moves `phases` on to the phase `name`.
pub fn begin(phases: &ProgressBar, name: &str) {
    phases.inc(1);
    phases.set_message(name.to_string());
}

/// A spinner with the time spent so far, for work of unknown length (a migration step).
pub fn spinner(message: String) -> ProgressBar {
    let style =
        ProgressStyle::with_template("{spinner} {msg} {elapsed}").expect("a valid template");
    let bar = bars().add(
        ProgressBar::new_spinner()
            .with_style(style)
            .with_message(message)
            .with_finish(ProgressFinish::AndClear),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// stderr for tracing, writing between bars.
#[derive(Clone, Copy, Default)]
pub struct LogWriter;

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        bars().suspend(|| std::io::stderr().write(buf))
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogWriter {
    type Writer = LogWriter;

    fn make_writer(&'a self) -> Self::Writer {
        *self
    }
}
