//! How one table is read for its checksum: which columns, in what order, and how its rows are
//! told apart, for itself or following an earlier state of it (each column found again by its
//! number, which a rename keeps; the earlier key kept while its columns survive).

use super::checksum::{RowIdentity, TableChecksum};
use crate::schema::{DataType, Table};

/// What to read of one table, and in what order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Reading {
    pub(super) table: String,
    pub(super) oid: u32,
    pub(super) columns: Vec<ReadColumn>,
    pub(super) identity: RowIdentity,
    /// The key columns' names in the state read (`identity` names them as followed).
    pub(super) order: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ReadColumn {
    pub(super) name: String,
    pub(super) follows: String,
    pub(super) attnum: i16,
    pub(super) numeric: bool,
}

impl ReadColumn {
    fn of(column: &crate::schema::Column, follows: &str) -> Self {
        ReadColumn {
            name: column.name.clone(),
            follows: follows.to_string(),
            attnum: column.attnum,
            numeric: matches!(column.data_type, DataType::Numeric { .. }),
        }
    }
}

impl Reading {
    /// A table read for itself: by its row key if it has one.
    pub(super) fn natural(table: &Table) -> Self {
        let key = table.row_key().map(|key| key.columns.clone());
        Reading {
            table: table.name.clone(),
            oid: table.oid,
            columns: table
                .columns
                .iter()
                .map(|c| ReadColumn::of(c, &c.name))
                .collect(),
            identity: key.clone().map_or(RowIdentity::WholeRow, RowIdentity::Key),
            order: key,
        }
    }

    /// A later state of `earlier`'s table: each earlier column found again by its number in
    /// the same table (a rename keeps it), else by its name (a table or column made again),
    /// less the columns `excluded` names.
    pub(super) fn following(
        table: &Table,
        earlier: &TableChecksum,
        excluded: &dyn Fn(&str) -> bool,
    ) -> Self {
        let mut claimed = vec![false; table.columns.len()];
        let mut found: Vec<Option<usize>> = earlier
            .columns
            .iter()
            .map(|column| {
                let at = (table.oid == earlier.oid)
                    .then(|| table.columns.iter().position(|c| c.attnum == column.attnum))
                    .flatten();
                if let Some(at) = at {
                    claimed[at] = true;
                }
                at
            })
            .collect();
        for (column, slot) in earlier.columns.iter().zip(&mut found) {
            if slot.is_none() {
                *slot = table
                    .columns
                    .iter()
                    .enumerate()
                    .position(|(i, c)| !claimed[i] && c.name == column.name);
                if let Some(at) = *slot {
                    claimed[at] = true;
                }
            }
        }
        let columns: Vec<ReadColumn> = earlier
            .columns
            .iter()
            .zip(found)
            .filter(|(column, _)| !excluded(&column.name))
            .filter_map(|(column, at)| Some(ReadColumn::of(&table.columns[at?], &column.name)))
            .collect();
        let order = match &earlier.identity {
            RowIdentity::Key(key) => key
                .iter()
                .map(|name| {
                    columns
                        .iter()
                        .find(|c| c.follows == *name)
                        .map(|c| c.name.clone())
                })
                .collect::<Option<Vec<String>>>(),
            RowIdentity::WholeRow => None,
        };
        Reading {
            table: table.name.clone(),
            oid: table.oid,
            identity: match (&order, &earlier.identity) {
                (Some(_), identity) => identity.clone(),
                (None, _) => RowIdentity::WholeRow,
            },
            columns,
            order,
        }
    }

    /// `table` (an earlier state) read as `later` was read following it: the same columns,
    /// rows told apart the same way.
    pub(super) fn like(table: &Table, later: &TableChecksum) -> Self {
        let columns = later
            .columns
            .iter()
            .filter_map(|c| table.column(&c.follows))
            .map(|c| ReadColumn::of(c, &c.name))
            .collect();
        Reading {
            table: table.name.clone(),
            oid: table.oid,
            columns,
            identity: later.identity.clone(),
            order: match &later.identity {
                RowIdentity::Key(key) => Some(key.clone()),
                RowIdentity::WholeRow => None,
            },
        }
    }
}
