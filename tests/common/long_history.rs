//! A long synthetic sqlx history with failures where asked: for the test that one stairway
//! reports them all, and for the bench that times it against the same history without them.

/// A long sqlx history, each revision a comment on one table; the `broken` ones also create an
/// enum type their down leaves behind, so that their round trip fails and so does their
/// upgrade again.
pub fn write(dir: &std::path::Path, revisions: usize, broken: &[usize]) {
    let write = |name: String, sql: String| std::fs::write(dir.join(name), sql).unwrap();
    write(
        "00000_create.up.sql".into(),
        "CREATE TABLE ledger (id bigint PRIMARY KEY);".into(),
    );
    write("00000_create.down.sql".into(), "DROP TABLE ledger;".into());
    for i in 1..revisions {
        let comment = format!("COMMENT ON TABLE ledger IS 'v{i}';");
        let before = match i {
            1 => "COMMENT ON TABLE ledger IS NULL;".to_string(),
            _ => format!("COMMENT ON TABLE ledger IS 'v{}';", i - 1),
        };
        let up = match broken.contains(&i) {
            true => format!("CREATE TYPE kind_{i} AS ENUM ('a');\n{comment}"),
            false => comment,
        };
        write(format!("{i:05}_v{i}.up.sql"), up);
        write(format!("{i:05}_v{i}.down.sql"), before);
    }
}

/// `count` revisions spread through a 250-revision history, the first revision among them.
pub fn broken(count: usize) -> Vec<usize> {
    (0..count).map(|k| 1 + k * 22).collect()
}
