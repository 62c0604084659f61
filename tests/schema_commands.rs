//! `revisions`, `snapshot` and `diff`: the DBA's view of a migration project.

mod common;

use common::{fixture, repo_path, Sandbox};

#[test]
fn revisions_lists_base_to_head_with_parents_and_downs() {
    let sandbox = Sandbox::new();
    let run = sandbox.run(&["revisions", "-m", &fixture("broken-no-down")]);
    assert_eq!(run.code, 0, "{}", run.output());
    let lines: Vec<Vec<&str>> = run
        .stdout
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(lines[0][..3], ["20240101", "base", "down"]);
    assert_eq!(lines[1][..3], ["20240102", "20240101", "no-down"]);
    assert_eq!(lines.len(), 2);

    let run = sandbox.run(&["revisions", "-m", &fixture("pos"), "--format", "json"]);
    let revisions: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(revisions.as_array().unwrap().len(), 8);
    assert_eq!(revisions[4]["description"], "add order item count");
    assert_eq!(revisions[4]["parents"][0], "20240101000004");
}

#[test]
fn snapshot_of_head_is_byte_identical_to_the_committed_one() {
    let sandbox = Sandbox::new();
    let run = sandbox.run(&["snapshot", "-m", &fixture("pos")]);
    assert_eq!(run.code, 0, "{}", run.output());
    let committed = std::fs::read_to_string(repo_path("snapshots/pos/20240101000008.txt")).unwrap();
    assert_eq!(run.stdout, committed);
    for object in [
        "type public.order_status\n  enum ('open', 'paid', 'void', 'refunded')",
        "column id bigint not null identity always [position 1]",
        "constraint orders_total_check CHECK (total >= 0::numeric)",
        "trigger public.orders.orders_touch_updated_at",
        "policy public.orders.orders_by_store",
        "view public.daily_store_sales",
        "function public.touch_updated_at()",
        "owned by public.payments.id",
    ] {
        assert!(run.stdout.contains(object), "snapshot lacks {object:?}");
    }
    assert!(
        !run.stdout.contains("_sqlx_migrations"),
        "bookkeeping tables are skipped"
    );
}

#[test]
fn snapshot_dir_writes_one_file_per_revision_and_out_writes_one() {
    let sandbox = Sandbox::new();
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("snaps");
    let run = sandbox.run(&[
        "snapshot",
        "-m",
        &fixture("broken-leftover-enum"),
        "--dir",
        &dir.display().to_string(),
    ]);
    assert_eq!(run.code, 0, "{}", run.output());
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().into_string().unwrap())
        .collect();
    files.sort();
    assert_eq!(files, ["20240101.txt", "20240102.txt", "base.txt"]);
    let at_first = std::fs::read_to_string(dir.join("20240101.txt")).unwrap();
    assert!(at_first.contains("table public.tickets") && !at_first.contains("ticket_priority"));

    let file = out.path().join("one.txt");
    let run = sandbox.run(&[
        "snapshot",
        "20240102",
        "-m",
        &fixture("broken-leftover-enum"),
        "--out",
        &file.display().to_string(),
    ]);
    assert_eq!(run.code, 0, "{}", run.output());
    assert_eq!(run.stdout, "");
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        std::fs::read_to_string(dir.join("20240102.txt")).unwrap()
    );
}

#[test]
fn diff_of_two_revisions_is_a_unified_diff_and_exit_1() {
    let sandbox = Sandbox::new();
    let run = sandbox.run(&["diff", "-m", &fixture("pos"), "-2", "head"]);
    assert_eq!(run.code, 1, "{}", run.output());
    assert!(
        // Each side named as resolved, not as asked (-2, head).
        run.stdout
            .starts_with("--- 20240101000006\n+++ 20240101000008\n@@ "),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("\n+index public.ix_payments_paid_at\n"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("\n+  row level security enabled\n"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("\x1b["), "no colour when piped");

    let same = sandbox.run(&[
        "diff",
        "-m",
        &fixture("pos"),
        "head",
        "snapshots/pos/20240101000008.txt",
    ]);
    assert_eq!(same.code, 0, "{}", same.output());
    assert_eq!(same.stdout, "");

    let json = sandbox.run(&[
        "diff",
        "-m",
        &fixture("pos"),
        "-1",
        "head",
        "--format",
        "json",
    ]);
    assert_eq!(json.code, 1, "{}", json.output());
    let difference = json.json();
    assert_eq!(difference["a"], "20240101000007");
    assert_eq!(difference["b"], "20240101000008");
    assert_eq!(difference["same"], false);
    assert_eq!(
        difference["unexpected"],
        serde_json::json!(["index public.ix_orders_status"])
    );
    assert!(difference["diff"]
        .as_str()
        .unwrap()
        .starts_with("--- 20240101000007\n+++ 20240101000008\n"));
}

#[test]
fn column_order_is_shown_but_compared_only_on_request() {
    let sandbox = Sandbox::new();
    let original = std::fs::read_to_string(repo_path("snapshots/pos/20240101000008.txt")).unwrap();
    // As if item_count had been dropped and re-added: same columns, another position.
    let moved = original
        .replace(
            "column item_count integer not null default 0 [position 8]",
            "column item_count integer not null default 0 [position 9]",
        )
        .replace(
            "column updated_at timestamp with time zone not null default now() [position 9]",
            "column updated_at timestamp with time zone not null default now() [position 8]",
        );
    assert_ne!(moved, original);
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), moved).unwrap();
    let path = file.path().display().to_string();

    let run = sandbox.run(&["diff", "snapshots/pos/20240101000008.txt", &path]);
    assert_eq!(run.code, 0, "{}", run.output());
    let run = sandbox.run(&[
        "diff",
        "snapshots/pos/20240101000008.txt",
        &path,
        "--compare-column-order",
    ]);
    assert_eq!(run.code, 1, "{}", run.output());
    assert!(
        run.stdout
            .contains("+  column item_count integer not null default 0 [position 9]"),
        "{}",
        run.stdout
    );
}
