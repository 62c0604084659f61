//! Data checks: what an upgrade must keep and what a round trip must restore, judged from the
//! checksums taken before and after.

use std::collections::BTreeMap;

use serde_json::json;

use crate::data::TableChecksum;
use crate::report::{Check, CheckStatus, TableFigures};

/// `--allow-change TABLE[.COLUMN]`: tables and columns an upgrade is meant to change.
#[derive(Debug, Clone, Default)]
pub struct AllowedChanges {
    entries: Vec<String>,
}

impl AllowedChanges {
    pub fn new(entries: Vec<String>) -> Self {
        AllowedChanges { entries }
    }

    fn allows(&self, table: &str, column: Option<&str>) -> bool {
        let bare = table.rsplit_once('.').map_or(table, |(_, name)| name);
        self.entries.iter().any(|entry| {
            [table, bare].iter().any(|name| {
                entry == name || column.is_some_and(|column| *entry == format!("{name}.{column}"))
            })
        })
    }
}

fn by_table(checksums: &[TableChecksum]) -> BTreeMap<&str, &TableChecksum> {
    checksums.iter().map(|c| (c.table.as_str(), c)).collect()
}

/// The upgrade keeps every row, and the content of every column present on both sides,
/// except where a change is allowed.
pub fn kept_by_upgrade(
    span: &str,
    before: &[TableChecksum],
    after: &[TableChecksum],
    allowed: &AllowedChanges,
) -> Check {
    let after = by_table(after);
    let mut findings = Vec::new();
    for table in before {
        let name = table.table.as_str();
        if allowed.allows(name, None) {
            continue;
        }
        let Some(now) = after.get(name) else {
            if table.rows > 0 {
                findings.push(format!("dropped {name} with its {} rows", table.rows));
            }
            continue;
        };
        if now.rows != table.rows {
            findings.push(format!(
                "left {} of the {} rows of {name}",
                now.rows, table.rows
            ));
            continue;
        }
        for (column, digest) in &table.columns {
            match now.columns.get(column) {
                Some(now_digest) if now_digest != digest && !allowed.allows(name, Some(column)) => {
                    findings.push(format!("changed the content of {name}.{column}"))
                }
                _ => {}
            }
        }
    }
    data_check(
        "data_upgrade",
        format!("upgrade of {span} kept every row and the content of every column on both sides"),
        format!("upgrade of {span}"),
        findings,
    )
}

/// After up and down again, every table holds exactly what it held.
pub fn restored_by_downgrade(
    span: &str,
    before: &[TableChecksum],
    after: &[TableChecksum],
) -> Check {
    let after = by_table(after);
    let mut findings = Vec::new();
    for table in before {
        let name = table.table.as_str();
        let Some(now) = after.get(name) else {
            findings.push(format!("did not restore {name}"));
            continue;
        };
        if now.rows != table.rows {
            findings.push(format!(
                "left {} of the {} rows of {name}",
                now.rows, table.rows
            ));
            continue;
        }
        let lost: Vec<String> = table
            .columns
            .iter()
            .filter(|(column, digest)| now.columns.get(*column) != Some(digest))
            .map(|(column, _)| format!("{name}.{column}"))
            .collect();
        if !lost.is_empty() {
            findings.push(format!(
                "did not restore the content of {}",
                lost.join(", ")
            ));
        }
    }
    data_check(
        "data_roundtrip",
        format!("up and down over {span} restored every row of every table"),
        format!("up and down over {span}"),
        findings,
    )
}

fn data_check(name: &str, passed: String, subject: String, findings: Vec<String>) -> Check {
    if findings.is_empty() {
        return Check {
            name: name.to_string(),
            status: CheckStatus::Pass,
            message: passed,
            details: json!({}),
        };
    }
    Check {
        name: name.to_string(),
        status: CheckStatus::Fail,
        message: format!("{subject} {}", findings.join("; ")),
        details: json!({ "findings": findings }),
    }
}

/// The per-table figures of the report: before the range and after its upgrade.
pub fn figures(before: &[TableChecksum], after: &[TableChecksum]) -> Vec<TableFigures> {
    let after = by_table(after);
    before
        .iter()
        .map(|table| {
            let now = after.get(table.table.as_str());
            TableFigures {
                table: table.table.clone(),
                rows_before: table.rows,
                rows_after: now.map_or(0, |n| n.rows),
                checksum_before: table.digest.clone(),
                checksum_after: now.map_or_else(String::new, |n| n.digest.clone()),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checksum(table: &str, rows: u64, columns: &[(&str, &str)]) -> TableChecksum {
        TableChecksum {
            table: table.to_string(),
            rows,
            digest: format!("{rows}"),
            columns: columns
                .iter()
                .map(|(c, d)| (c.to_string(), d.to_string()))
                .collect(),
        }
    }

    #[test]
    fn an_upgrade_may_add_and_drop_columns_but_not_change_shared_ones() {
        let before = [checksum(
            "public.orders",
            10,
            &[("id", "a"), ("total", "b"), ("note", "c")],
        )];
        let after = [checksum(
            "public.orders",
            10,
            &[("id", "a"), ("total", "B"), ("extra", "d")],
        )];
        let check = kept_by_upgrade("5", &before, &after, &AllowedChanges::default());
        assert_eq!(
            check.message,
            "upgrade of 5 changed the content of public.orders.total"
        );
        let allowed = AllowedChanges::new(vec!["orders.total".to_string()]);
        assert_eq!(
            kept_by_upgrade("5", &before, &after, &allowed).status,
            CheckStatus::Pass
        );
        let fewer = [checksum("public.orders", 7, &[("id", "a")])];
        let check = kept_by_upgrade("5", &before, &fewer, &AllowedChanges::default());
        assert_eq!(
            check.message,
            "upgrade of 5 left 7 of the 10 rows of public.orders"
        );
    }

    #[test]
    fn a_round_trip_must_restore_every_column() {
        let before = [checksum("public.orders", 10, &[("id", "a"), ("note", "c")])];
        let after = [checksum(
            "public.orders",
            10,
            &[("id", "a"), ("note", "empty")],
        )];
        let check = restored_by_downgrade("5", &before, &after);
        assert_eq!(
            check.message,
            "up and down over 5 did not restore the content of public.orders.note"
        );
        assert_eq!(
            restored_by_downgrade("5", &before, &before).status,
            CheckStatus::Pass
        );
    }
}
