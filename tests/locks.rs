//! What a migration would do to production (issue 13), measured on seeded data: the locks each
//! step holds on relations that existed before it, what they block, rewrites and index builds,
//! and `lock_impact` against `--lock-budget`. Dangerous forms are named with their mode and
//! relation; their safe forms pass.

mod common;

use common::Sandbox;

/// `cycle` over one revision of a fixture, on `rows` rows, sampling every millisecond.
fn cycle_over(
    fixture_name: &str,
    from: &str,
    to: &str,
    rows: &str,
    budget: &str,
) -> serde_json::Value {
    // The values the later constraints need (a foreign key to customers 1-3, a note for SET
    // NOT NULL), for the tables that have those columns.
    let values: &[&str] = match fixture_name {
        "locks-alembic" => &[
            "--values",
            "orders.customer_id=1,2,3",
            "--values",
            "orders.amount=1,2,3",
            "--values",
            "orders.note=a,b",
        ],
        _ => &[
            "--values",
            "orders.customer_id=1,2,3",
            "--values",
            "orders.note=a,b",
        ],
    };
    let run = Sandbox::new().gate(
        "cycle",
        fixture_name,
        &[
            "--from",
            from,
            "--to",
            to,
            "--rows",
            rows,
            "--no-full",
            "--lock-budget",
            budget,
            "--lock-sample-ms",
            "1",
        ]
        .iter()
        .chain(values)
        .copied()
        .collect::<Vec<&str>>(),
    );
    assert!(run.code == 0 || run.code == 1, "{}", run.output());
    run.json()
}

/// The hold on `relation` of the range's upgrade (the step after the climb to --from).
fn upgrade_hold<'r>(report: &'r serde_json::Value, relation: &str) -> &'r serde_json::Value {
    let step = &report["steps"][1];
    assert_eq!(step["name"], "upgrade", "{report}");
    step["locks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|hold| hold["relation"] == relation)
        .unwrap_or_else(|| panic!("no hold on {relation} in {step}"))
}

fn lock_impact(report: &serde_json::Value) -> Vec<(String, String)> {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["name"] == "lock_impact")
        .map(|c| {
            (
                c["status"].as_str().unwrap().to_string(),
                c["message"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn each_dangerous_operation_is_named_with_its_mode_relation_and_hold() {
    // (revision, mode on public.orders, what it blocks, rewrite, cause)
    let cases = [
        (
            "20240102",
            "ACCESS EXCLUSIVE",
            "reads and writes",
            true,
            Some("rewrote public.orders (200000 rows)"),
        ),
        (
            "20240103",
            "ACCESS EXCLUSIVE",
            "reads and writes",
            true,
            Some("rewrote public.orders (200000 rows)"),
        ),
        (
            "20240104",
            "SHARE",
            "writes",
            false,
            Some("built index public.ix_orders_customer_id on public.orders (200000 rows)"),
        ),
        // Validating scans: no new storage, every row read under the lock.
        (
            "20240105",
            "SHARE ROW EXCLUSIVE",
            "writes",
            false,
            Some("read 200000 rows of public.orders"),
        ),
        (
            "20240106",
            "ACCESS EXCLUSIVE",
            "reads and writes",
            false,
            Some("read 200000 rows of public.orders"),
        ),
    ];
    for (revision, mode, blocks, rewrite, cause) in cases {
        let from = (revision.parse::<u64>().unwrap() - 1).to_string();
        let report = cycle_over("locks-dangerous", &from, revision, "200000", "0.003");
        let hold = upgrade_hold(&report, "public.orders");
        assert_eq!(hold["mode"], mode, "{revision}: {hold}");
        assert_eq!(hold["kind"], "table");
        assert_eq!(hold["rewrite"], rewrite, "{revision}: {hold}");
        let held = hold["held_s"].as_f64().unwrap();
        assert!(held > 0.003, "{revision}: held {held} s");
        if let Some(cause) = cause {
            assert_eq!(hold["causes"][0], cause, "{revision}: {hold}");
        }
        let blocks_reads = blocks == "reads and writes";
        assert_eq!(hold["blocks_reads"], blocks_reads, "{revision}: {hold}");
        assert_eq!(hold["blocks_writes"], true, "{revision}: {hold}");
        // Over the budget: the upgrade's lock_impact fails, naming mode and relation.
        let (status, message) = &lock_impact(&report)[0];
        assert_eq!(status, "fail", "{revision}: {message}");
        assert!(
            message.starts_with(&format!("upgrade of {revision} held "))
                && message.contains(&format!("{mode} on public.orders for ")),
            "{revision}: {message}"
        );
        assert!(message.contains(&format!("blocks {blocks}")), "{message}");
        if revision == "20240105" {
            // A foreign key added VALID checks the referenced table too.
            let customers = upgrade_hold(&report, "public.customers");
            assert_eq!(customers["mode"], mode);
            // Every row, and the few index entries the planner reads for the check's plan.
            let read = customers["rows_read"].as_u64().unwrap();
            assert!((200000..200100).contains(&read), "{customers}");
        }
    }
}

#[test]
fn a_rewrite_holds_its_lock_longer_on_more_rows() {
    let held = |rows: &str| {
        let report = cycle_over("locks-dangerous", "20240102", "20240103", rows, "0");
        // A budget of 0 reports without failing.
        assert_eq!(report["verdict"], "pass", "{report}");
        // The shorter of the upgrade and the upgrade again: other tests load the machine, and
        // load only ever adds time.
        [1, 3]
            .iter()
            .map(|step| {
                report["steps"][step]["locks"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|hold| hold["relation"] == "public.orders")
                    .unwrap_or_else(|| panic!("{report}"))["held_s"]
                    .as_f64()
                    .unwrap()
            })
            .fold(f64::INFINITY, f64::min)
    };
    let (small, large) = (held("40000"), held("200000"));
    assert!(
        large > 2.5 * small,
        "held {small} s on 40000 rows and {large} s on 200000"
    );
}

#[test]
fn the_safe_forms_pass() {
    let report = cycle_over("locks-safe", "20240101", "20240105", "200000", "0.02");
    assert_eq!(report["verdict"], "pass", "{report}");
    let impact = lock_impact(&report);
    assert_eq!(impact.len(), 1, "{impact:?}");
    assert_eq!(impact[0].0, "pass", "{impact:?}");
    // CREATE INDEX CONCURRENTLY built its index without blocking: its cause is there, and no
    // hold that blocks writes lasted.
    let hold = upgrade_hold(&report, "public.orders");
    let causes = hold["causes"].to_string();
    assert!(
        causes.contains("built index public.ix_orders_customer_id on public.orders"),
        "{hold}"
    );
    for step in report["steps"].as_array().unwrap() {
        for hold in step["locks"].as_array().unwrap() {
            if hold["blocks_writes"] == true {
                assert!(hold["held_s"].as_f64().unwrap() <= 0.02, "{step}");
            }
        }
    }
}

#[test]
fn a_lock_of_known_length_is_measured_to_within_the_resolution() {
    let run = Sandbox::new().gate("cycle", "locks-sleep", &["--rows", "10", "--no-full"]);
    assert_eq!(run.code, 0, "{}", run.output());
    let report = run.json();
    let resolution = report["lock_resolution_ms"].as_f64().unwrap() / 1000.0;
    assert!(resolution > 0.0 && resolution < 0.02, "{resolution}");
    let hold = upgrade_hold(&report, "public.tills");
    assert_eq!(hold["mode"], "ACCESS EXCLUSIVE");
    let held = hold["held_s"].as_f64().unwrap();
    // Held for one second (pg_sleep(1)); seen from one sample after it was taken to one
    // sample before it was let go.
    assert!(
        held <= 1.0 + resolution && held >= 1.0 - 2.0 * resolution - 0.01,
        "held {held} s, resolution {resolution} s"
    );
}

#[test]
fn an_alembic_rewrite_is_named_and_its_concurrent_index_passes() {
    // The sampler watches the server, not the runner: alembic's helper is watched the same way.
    let rewrite = cycle_over("locks-alembic", "0001", "0002", "100000", "0.003");
    let hold = upgrade_hold(&rewrite, "public.orders");
    assert_eq!(hold["mode"], "ACCESS EXCLUSIVE", "{hold}");
    assert_eq!(hold["rewrite"], true, "{hold}");
    assert_eq!(lock_impact(&rewrite)[0].0, "fail");

    let concurrent = cycle_over("locks-alembic", "0002", "0003", "100000", "0.003");
    let hold = upgrade_hold(&concurrent, "public.orders");
    assert_eq!(hold["mode"], "SHARE UPDATE EXCLUSIVE", "{hold}");
    assert_eq!(hold["blocks_writes"], false, "{hold}");
    assert!(
        hold["causes"][0]
            .as_str()
            .unwrap()
            .starts_with("built index public.ix_orders_customer_id on public.orders"),
        "{hold}"
    );
    assert_eq!(lock_impact(&concurrent)[0].0, "pass", "{concurrent}");

    // The other dangerous forms, through alembic's operations: a volatile default, an index
    // built in place, a CHECK and a foreign key added valid, SET NOT NULL.
    for (revision, mode, rewrite, cause) in [
        (
            "0004",
            "ACCESS EXCLUSIVE",
            true,
            "rewrote public.orders (200000 rows)",
        ),
        (
            "0005",
            "SHARE",
            false,
            "built index public.ix_orders_amount on public.orders (200000 rows)",
        ),
        (
            "0006",
            "ACCESS EXCLUSIVE",
            false,
            "read 200000 rows of public.orders",
        ),
        (
            "0007",
            "SHARE ROW EXCLUSIVE",
            false,
            "read 200000 rows of public.orders",
        ),
        (
            "0008",
            "ACCESS EXCLUSIVE",
            false,
            "read 200000 rows of public.orders",
        ),
    ] {
        let from = format!("{:04}", revision.parse::<u32>().unwrap() - 1);
        let report = cycle_over("locks-alembic", &from, revision, "200000", "0.003");
        let hold = upgrade_hold(&report, "public.orders");
        assert_eq!(hold["mode"], mode, "{revision}: {hold}");
        assert_eq!(hold["rewrite"], rewrite, "{revision}: {hold}");
        assert_eq!(hold["causes"][0], cause, "{revision}: {hold}");
        // The scan under the lock takes some 20 ms; a sampler starved of CPU on a busy
        // machine may see only its first 2 ms in one of the two upgrades, never in both.
        assert!(
            lock_impact(&report)
                .iter()
                .any(|(status, _)| status == "fail"),
            "{revision}: {report}"
        );
    }
}

#[test]
fn a_lock_the_step_queued_for_is_recorded_with_its_wait() {
    // 0009 adds a column while a second session of the migration reads orders for 0.5 s: the
    // ALTER queues for ACCESS EXCLUSIVE, and in production every query on orders would queue
    // behind it.
    let report = cycle_over("locks-alembic", "0008", "0009", "1000", "0.3");
    let hold = upgrade_hold(&report, "public.orders");
    assert_eq!(hold["mode"], "ACCESS EXCLUSIVE", "{hold}");
    let waited = hold["waited_s"].as_f64().unwrap();
    assert!((0.4..0.7).contains(&waited), "waited {waited} s: {hold}");
    assert!(hold["held_s"].as_f64().unwrap() < 0.3, "{hold}");
    // The wait counts against the lock budget: queued, it blocked reads and writes.
    let (status, message) = &lock_impact(&report)[0];
    assert_eq!(status, "fail", "{message}");
    assert!(
        message.contains("ACCESS EXCLUSIVE on public.orders for ")
            && message.contains(" after queueing 0.")
            && message.contains("over the lock budget of 0.3 s"),
        "{message}"
    );
}

/// The rewrite of locks-dangerous (a volatile default) timed at three sizes, predicted as
/// `prediction` asks; the prediction fails the run.
fn rewrite_growth(prediction: &[&str]) -> serde_json::Value {
    let mut args = vec![
        "--from",
        "20240102",
        "--to",
        "20240103",
        "--rows",
        "20000,60000,200000",
        "--no-full",
        "--values",
        "orders.customer_id=1,2,3",
    ];
    args.extend_from_slice(prediction);
    let run = Sandbox::new().gate("cycle", "locks-dangerous", &args);
    assert_eq!(run.code, 1, "{}", run.output());
    run.json()
}

#[test]
fn a_rows_list_fits_the_growth_and_fails_on_the_prediction() {
    let report = rewrite_growth(&["--predict-rows", "50000000"]);
    let growth = &report["growth"];
    let sizes: Vec<u64> = growth["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["rows"].as_u64().unwrap())
        .collect();
    assert_eq!(sizes, [20000, 60000, 200000]);
    // The steps of the run are the run's own: the smaller sizes are not among them.
    assert_eq!(report["steps"].as_array().unwrap().len(), 4, "{report}");
    // The upgrade on empty tables is its fixed cost, under the time at any size.
    let fixed = growth["fixed_s"].as_f64().unwrap();
    let smallest = growth["points"][0]["upgrade_s"].as_f64().unwrap();
    assert!(fixed > 0.0 && fixed < smallest, "{growth}");
    let lock = growth["fits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["what"] == "ACCESS EXCLUSIVE on public.orders")
        .unwrap_or_else(|| panic!("{growth}"));
    // A rewrite reads and writes every row once: linear.
    let exponent = lock["exponent"].as_f64().unwrap();
    assert!((0.7..1.3).contains(&exponent), "{lock}");
    assert!(lock["r_squared"].as_f64().unwrap() > 0.9, "{lock}");
    assert!(lock["predicted_s"].as_f64().unwrap() > 5.0, "{lock}");
    let predicted: Vec<&str> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "fail")
        .map(|c| c["message"].as_str().unwrap())
        .collect();
    assert!(
        predicted.iter().any(|m| m.starts_with(
            "predicted at 50000000 rows: the upgrade of 20240103 would hold ACCESS EXCLUSIVE on public.orders ≈ "
        )),
        "{predicted:?}"
    );
}

#[test]
fn the_pos_histories_rewrite_is_named_and_predicted() {
    // POS's eight revisions and a ninth that widens order_items.quantity to bigint.
    let run = Sandbox::new().gate(
        "cycle",
        "pos-rewrite",
        &["--rows", "20000,100000", "--predict-rows", "50000000"],
    );
    assert_eq!(run.code, 1, "{}", run.output());
    let report = run.json();
    let hold = upgrade_hold(&report, "public.order_items");
    assert_eq!(hold["mode"], "ACCESS EXCLUSIVE", "{hold}");
    assert_eq!(hold["rewrite"], true, "{hold}");
    assert_eq!(
        hold["causes"][0], "rewrote public.order_items (100000 rows)",
        "{hold}"
    );
    let fit = report["growth"]["fits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["what"] == "ACCESS EXCLUSIVE on public.order_items")
        .unwrap_or_else(|| panic!("{report}"));
    // Two sizes timed while other tests load the machine give an exponent too noisy to pin
    // (the three-size test above pins it): it is fitted, and the prediction judged.
    assert!(fit["exponent"].as_f64().unwrap() > 0.5, "{fit}");
    let message = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "lock_impact" && c["status"] == "fail")
        .map(|c| c["message"].as_str().unwrap().to_string())
        .unwrap_or_else(|| panic!("{report}"));
    assert!(
        message.starts_with(
            "predicted at 50000000 rows: the upgrade of 20240101000009 would hold ACCESS EXCLUSIVE on public.order_items ≈ "
        ),
        "{message}"
    );
}

/// `psql URL -Atc SQL`, its output.
#[test]
fn stats_reads_sizes_without_writing_and_predicts_at_each_tables_size() {
    let sandbox = Sandbox::new();
    let project = common::fixture("locks-dangerous");
    // Kept running: `run` would find the cluster left behind, as it should.
    let seeded = sandbox
        .command(&[
            "seed",
            "--at",
            "20240103",
            "--rows",
            "5000",
            "--values",
            "orders.customer_id=1,2,3",
            "-m",
            &project,
        ])
        .output()
        .unwrap();
    let seeded = common::to_run(seeded, std::time::Duration::ZERO);
    assert_eq!(seeded.code, 0, "{}", seeded.output());
    let url = common::kept_line(&seeded.stderr, "its URL: ");
    let writes = "SELECT tup_inserted + tup_updated + tup_deleted FROM pg_stat_database \
                  WHERE datname = current_database()";
    let dump = |url: &str| common::pg_dump(url, &[]);
    let (writes_before, dump_before) = (common::psql(&url, writes), dump(&url));

    let reader = Sandbox::new();
    let stats = reader.run(&["stats", "--database-url", &url]);
    assert_eq!(stats.code, 0, "{}", stats.output());
    let mut sizes = stats.json();
    let orders = sizes["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["table"] == "public.orders")
        .unwrap_or_else(|| panic!("{sizes}"))
        .clone();
    assert_eq!(orders["rows"], 5000, "{orders}");
    assert!(orders["bytes"].as_u64().unwrap() > 0);
    assert_eq!(
        common::psql(&url, writes),
        writes_before,
        "stats wrote to the database"
    );
    assert!(dump(&url) == dump_before, "stats changed the database");

    let stop = common::kept_line(&seeded.stderr, "stop the cluster when done: ");
    let words: Vec<&str> = stop.split_whitespace().collect();
    assert_eq!(reader.run(&words[1..]).code, 0);
    sandbox.assert_nothing_left();

    // Production: 48 million orders. Each lock is predicted at its own table's size.
    for table in sizes["tables"].as_array_mut().unwrap() {
        if table["table"] == "public.orders" {
            table["rows"] = serde_json::json!(48_000_000);
        }
    }
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), sizes.to_string()).unwrap();
    let report = rewrite_growth(&["--stats", &file.path().display().to_string()]);
    let fits = report["growth"]["fits"].as_array().unwrap();
    for fit in fits {
        assert_eq!(fit["at_rows"], 48_000_000, "{fit}");
        assert_eq!(fit["at_table"], "public.orders", "{fit}");
    }
    assert!(
        report["checks"].as_array().unwrap().iter().any(|c| c["message"]
            .as_str()
            .unwrap()
            .starts_with("predicted at 48000000 rows in public.orders: the upgrade of 20240103 would hold ACCESS EXCLUSIVE on public.orders")),
        "{report}"
    );
}
