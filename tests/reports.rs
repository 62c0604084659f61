//! The reports are part of the interface: text, markdown and JSON of a passing run and of two
//! failing ones (a schema failure with its diff, a data failure with its rows) are committed as
//! snapshots, so that any change to what a user or a CI job reads shows up in review
//! (`cargo insta review`, or INSTA_UPDATE=always). Step times are redacted; everything else is
//! deterministic (the seed is fixed).

mod common;

use common::{fixture, Sandbox};

/// The three renderings of one `cycle` over `fixture_name`: text on stdout, and the JSON and
/// markdown written beside it.
fn reports(fixture_name: &str, extra: &[&str]) -> (String, String, String) {
    let sandbox = Sandbox::new();
    let out = tempfile::tempdir().unwrap();
    let (json, markdown) = (out.path().join("r.json"), out.path().join("r.md"));
    let project = fixture(fixture_name);
    let (json_arg, markdown_arg) = (json.display().to_string(), markdown.display().to_string());
    // Which brief locks a sample catches varies: the lock table has tests of its own.
    let mut args = vec![
        "cycle",
        "-m",
        &project,
        "--rows",
        "100",
        "--no-full",
        "--lock-sample-ms",
        "0",
    ];
    args.extend_from_slice(extra);
    args.extend(["--report", &json_arg, "--markdown", &markdown_arg]);
    let run = sandbox.run(&args);
    assert!(run.code == 0 || run.code == 1, "{}", run.output());
    let mut report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap();
    for step in report["steps"].as_array_mut().unwrap() {
        step["seconds"] = serde_json::json!(0.0);
    }
    for phase in report["phases"].as_array_mut().unwrap() {
        phase["seconds"] = serde_json::json!(0.0);
        for table in phase["tables"].as_array_mut().into_iter().flatten() {
            table["seconds"] = serde_json::json!(0.0);
        }
    }
    let markdown = std::fs::read_to_string(markdown).unwrap();
    (
        redact_times(&without_time(&run.stdout, "\ntime\n", "\n\n")),
        serde_json::to_string_pretty(&report).unwrap(),
        redact_slowest(&redact_times(&without_time(
            &markdown,
            "\n<details><summary>Where the time went",
            "</details>\n",
        ))),
    )
}

/// The report without its time section, whose slowest tables vary from run to run (the JSON
/// snapshot keeps the phases, their times zeroed).
fn without_time(text: &str, start: &str, end: &str) -> String {
    let Some(from) = text.find(start) else {
        return text.to_string();
    };
    // Up to `end` and one line end: the blank line before what follows stays.
    let to = text[from + 1..].find(end).map_or(text.len(), |i| {
        from + 1 + i + end.trim_end_matches('\n').len() + 1
    });
    format!("{}{}", &text[..from], &text[to..])
}

/// Which step was slowest varies from run to run: the summary's clause naming it goes.
fn redact_slowest(markdown: &str) -> String {
    let Some(start) = markdown.find("slowest step ") else {
        return markdown.to_string();
    };
    let end = markdown[start..]
        .find(" · ")
        .map_or(markdown.len(), |i| start + i);
    format!(
        "{}slowest step (redacted){}",
        &markdown[..start],
        &markdown[end..]
    )
}

/// Every decimal number (a step's seconds) as `#.###`. The fixtures' revision ids have no dot.
fn redact_times(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut number = String::new();
    let flush = |number: &mut String, out: &mut String| {
        let decimal = number.contains('.') && !number.ends_with('.') && !number.starts_with('.');
        out.push_str(if decimal { "#.###" } else { number.as_str() });
        number.clear();
    };
    for c in text.chars() {
        if c.is_ascii_digit() || (c == '.' && !number.is_empty()) {
            number.push(c);
        } else {
            flush(&mut number, &mut out);
            out.push(c);
        }
    }
    flush(&mut number, &mut out);
    out
}

#[test]
fn a_passing_run() {
    let (text, json, markdown) = reports("pos", &[]);
    insta::assert_snapshot!("pass_text", text);
    insta::assert_snapshot!("pass_json", json);
    insta::assert_snapshot!("pass_markdown", markdown);
}

#[test]
fn a_schema_failure_with_its_diff() {
    let (text, json, markdown) = reports("broken-leftover-index", &[]);
    insta::assert_snapshot!("schema_failure_text", text);
    insta::assert_snapshot!("schema_failure_json", json);
    insta::assert_snapshot!("schema_failure_markdown", markdown);
}

#[test]
fn a_data_failure_with_its_rows() {
    let (text, json, markdown) = reports("rewrite-on-purpose", &[]);
    insta::assert_snapshot!("data_failure_text", text);
    insta::assert_snapshot!("data_failure_json", json);
    insta::assert_snapshot!("data_failure_markdown", markdown);
}

#[test]
fn times_are_redacted_and_nothing_else() {
    assert_eq!(
        redact_times("upgrade 0.016s of 300s, 20240102, sha 9f8e7d, 1.50 s."),
        "upgrade #.###s of 300s, 20240102, sha 9f8e7d, #.### s."
    );
}
