//! How a schema is seeded: tables in an order where parents load before children, and for
//! every column where its values come from. Every value is a pure function of (table, column,
//! row number, seed), so a child can compute its parent's key for any row without storing it,
//! and the same seed gives the same bytes.

use std::collections::{HashMap, HashSet};

use super::check_constraints::{apply_check, Bounds};
use super::error::{DataError, Result};
use crate::schema::{find_table, names_table, DataType, Table};

#[derive(Debug, Clone)]
pub struct SeedOptions {
    pub rows: u64,
    /// Per-table row counts, by qualified name (`public.orders`) or bare name (`orders`).
    pub table_rows: HashMap<String, u64>,
    /// Values for particular columns, by `table.column` (the table qualified or bare): for
    /// columns whose constraints the seeder cannot read.
    pub values: HashMap<String, Vec<String>>,
    pub seed: u64,
}

#[derive(Debug, Clone)]
pub enum Source {
    /// Distinct for every row: derived from the row number.
    Unique,
    /// Any value the type and checks allow; NULL now and then when the column allows it.
    Free,
    /// Always NULL: a nullable reference that would otherwise close a cycle between tables.
    Null,
    /// The value of `column` of `table` (both indexes into the plan) at a parent row. With
    /// `distinct`, row r takes parent row (r / divisor) % modulus, so that the references of a
    /// unique key never repeat; otherwise a parent row is picked by a hash salted by the
    /// foreign key, `link`, so that every column of a composite key takes the same parent row
    /// (and is NULL together).
    Parent {
        table: usize,
        column: usize,
        distinct: Option<(u64, u64)>,
        nullable: bool,
        link: u64,
    },
}

#[derive(Debug, Clone)]
pub struct ColumnPlan {
    pub name: String,
    pub type_oid: u32,
    pub data_type: DataType,
    /// Never NULL: a NOT NULL column, or one given its values.
    pub not_null: bool,
    pub source: Source,
    pub bounds: Bounds,
    /// Mixed into the hash of every value of this column.
    pub salt: u64,
}

#[derive(Debug, Clone)]
pub struct TablePlan {
    pub name: String,
    pub rows: u64,
    /// The number of the first row seeded: past the rows the table already holds.
    pub first_row: u64,
    /// The columns COPY writes (generated columns are left to the server).
    pub columns: Vec<ColumnPlan>,
    /// Sequences to move past the loaded values: (sequence, column).
    pub sequences: Vec<(String, String)>,
}

/// What a table holds before seeding.
#[derive(Debug, Clone, Copy, Default)]
pub struct Existing {
    pub rows: u64,
    /// The highest value of any integer column of its keys.
    pub highest_key: i64,
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub tables: Vec<TablePlan>,
    pub seed: u64,
}

pub fn plan(tables: &[Table], options: &SeedOptions) -> Result<Plan> {
    plan_beside(tables, options, &HashMap::new())
}

/// `plan`, for tables some of which already hold rows (`existing`, by table: rows a migration
/// inserted). Those rows stay: seeded rows are numbered past them, so that integer keys go
/// past theirs, and a key with a few allowed values gets only the values left.
pub fn plan_beside(
    tables: &[Table],
    options: &SeedOptions,
    existing: &HashMap<String, Existing>,
) -> Result<Plan> {
    check_names(tables, options)?;
    let order = load_order(tables)?;
    let position: HashMap<&str, usize> = order
        .iter()
        .enumerate()
        .map(|(i, t)| (tables[*t].name.as_str(), i))
        .collect();

    let mut planned: Vec<TablePlan> = Vec::new();
    for &index in &order {
        let table = &tables[index];
        let given_rows = named_for(&options.table_rows, &table.name, |name| {
            names_table(&table.name, name)
        });
        let mut rows = given_rows.copied().unwrap_or(options.rows);
        let already = existing.get(&table.name).copied().unwrap_or_default();
        let mut columns: Vec<ColumnPlan> = table
            .columns
            .iter()
            .filter(|c| !c.generated)
            .map(|c| ColumnPlan {
                name: c.name.clone(),
                type_oid: c.type_oid,
                data_type: c.data_type.clone(),
                not_null: c.not_null,
                source: Source::Free,
                bounds: Bounds::default(),
                salt: fnv(&format!("{}.{}", table.name, c.name)),
            })
            .collect();
        let column_index =
            |columns: &[ColumnPlan], name: &str| columns.iter().position(|c| c.name == name);

        let mut bounds: HashMap<String, Bounds> = columns
            .iter()
            .map(|c| (c.name.clone(), Bounds::default()))
            .collect();
        for check in &table.checks {
            if !apply_check(&check.definition, &mut bounds) {
                tracing::debug!(table = %table.name, check = %check.name, "check not understood; left to the server");
            }
        }
        for column in &mut columns {
            column.bounds = bounds.remove(&column.name).unwrap_or_default();
            let qualified = format!("{}.{}", table.name, column.name);
            let given = named_for(&options.values, &qualified, |key| {
                key.rsplit_once('.').is_some_and(|(named, col)| {
                    col.replace('"', "") == column.name && names_table(&table.name, named)
                })
            });
            if let Some(values) = given {
                if !takes_values_as_text(&column.data_type) {
                    return Err(unseedable(table, &column.name, "--values", "--values fills text, character, enum, json, integer and numeric columns only"));
                }
                column.bounds.allowed = Some(values.clone());
                // The values given are the ones it takes: NULL is not among them.
                column.not_null = true;
            }
        }

        // References first: a key made of references must combine its parents distinctly.
        let mut referenced_by_fk: HashSet<String> = HashSet::new();
        for fk in &table.foreign_keys {
            let Some(&parent_position) = position.get(fk.references.as_str()) else {
                continue;
            };
            let cyclic = parent_position > planned.len();
            let nullable = fk
                .columns
                .iter()
                .all(|c| table.column(c).is_some_and(|c| !c.not_null));
            for (column, referenced) in fk.columns.iter().zip(&fk.referenced_columns) {
                let Some(i) = column_index(&columns, column) else {
                    continue;
                };
                referenced_by_fk.insert(column.clone());
                if cyclic {
                    if !nullable {
                        return Err(unseedable(
                            table,
                            column,
                            &fk.name,
                            "it closes a cycle of NOT NULL references between tables",
                        ));
                    }
                    columns[i].source = Source::Null;
                    continue;
                }
                let parent_columns = if parent_position == planned.len() {
                    &columns
                } else {
                    &planned[parent_position].columns
                };
                let Some(parent_column) = column_index(parent_columns, referenced) else {
                    continue;
                };
                let parent_rows = if parent_position == planned.len() {
                    rows
                } else {
                    planned[parent_position].rows
                };
                if parent_rows == 0 && rows > 0 && !nullable {
                    return Err(unseedable(
                        table,
                        column,
                        &fk.name,
                        &format!("its parent {} gets no rows", fk.references),
                    ));
                }
                columns[i].source = Source::Parent {
                    table: parent_position,
                    column: parent_column,
                    distinct: None,
                    nullable,
                    link: fnv(&format!("{}.{}", table.name, fk.name)),
                };
            }
        }

        for key in table.keys() {
            // The uniqueness goes on the roomiest column the key owns (an email, not a flag).
            let roomy = |name: &&&String| {
                let narrow = column_index(&columns, name)
                    .map(|i| &columns[i].data_type)
                    .is_some_and(|t| matches!(t, DataType::Bool | DataType::Enum { .. }));
                !narrow
            };
            let owned: Vec<&String> = key
                .columns
                .iter()
                .filter(|c| !referenced_by_fk.contains(*c))
                .collect();
            if let Some(free) = owned.iter().find(roomy).or(owned.first()).copied() {
                let Some(i) = column_index(&columns, free) else {
                    continue;
                };
                // A key pinned to a few values (`CHECK (id = 1)`, an IN list) holds that many
                // rows, less those already there: seeded without asking.
                if let Some(domain) = finite_domain(&columns[i]) {
                    let room = domain.saturating_sub(already.rows);
                    if room < rows && given_rows.is_none() {
                        tracing::info!(table = %table.name, column = %free, rows = room, "the key allows only so many rows");
                        rows = room;
                    }
                }
                check_unique_fits(table, &columns[i], &key.name, rows)?;
                columns[i].source = Source::Unique;
                continue;
            }
            // Every column of the key is a reference: count through the parents' rows.
            let mut divisor: u64 = 1;
            for fk in table
                .foreign_keys
                .iter()
                .filter(|fk| fk.columns.iter().all(|c| key.columns.contains(c)))
            {
                let Some(&parent_position) = position.get(fk.references.as_str()) else {
                    continue;
                };
                let parent_rows = if parent_position == planned.len() {
                    rows
                } else {
                    planned[parent_position].rows
                };
                for column in &fk.columns {
                    if let Some(i) = column_index(&columns, column) {
                        if let Source::Parent {
                            distinct, nullable, ..
                        } = &mut columns[i].source
                        {
                            *distinct = Some((divisor, parent_rows.max(1)));
                            *nullable = false;
                        }
                    }
                }
                divisor = divisor.saturating_mul(parent_rows.max(1));
            }
            if divisor < rows {
                return Err(unseedable(
                    table,
                    &key.columns.join(", "),
                    &key.name,
                    &format!("its referenced rows give only {divisor} distinct combinations for {rows} rows"),
                ));
            }
        }

        let sequences = table
            .columns
            .iter()
            .filter_map(|c| Some((c.sequence.clone()?, c.name.clone())))
            .collect();
        planned.push(TablePlan {
            name: table.name.clone(),
            rows,
            first_row: already.rows.max(already.highest_key.max(0) as u64),
            columns,
            sequences,
        });
    }
    Ok(Plan {
        tables: planned,
        seed: options.seed,
    })
}

/// Every table and column the options name exists: a misspelt one would otherwise be ignored.
fn check_names(tables: &[Table], options: &SeedOptions) -> Result<()> {
    let unknown = |option: &'static str, name: &str, why: String| DataError::UnknownName {
        option,
        name: name.to_string(),
        why,
    };
    for name in options.table_rows.keys() {
        if find_table(tables, name).is_none() {
            return Err(unknown(
                "--table-rows",
                name,
                "no such table to seed".to_string(),
            ));
        }
    }
    for name in options.values.keys() {
        let Some((table, column)) = name.rsplit_once('.') else {
            return Err(unknown(
                "--values",
                name,
                "expected TABLE.COLUMN".to_string(),
            ));
        };
        match find_table(tables, table) {
            None => {
                return Err(unknown(
                    "--values",
                    name,
                    format!("no table {table} to seed"),
                ))
            }
            Some(found) if found.column(column).is_none() => {
                return Err(unknown(
                    "--values",
                    name,
                    format!("{} has no column {column}", found.name),
                ))
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// Parents before children (Kahn's algorithm over foreign keys); a cycle is broken at the
/// tables that remain, in name order, and its references are then left NULL.
fn load_order(tables: &[Table]) -> Result<Vec<usize>> {
    let index: HashMap<&str, usize> = tables
        .iter()
        .enumerate()
        .map(|(i, t)| (t.name.as_str(), i))
        .collect();
    let parents: Vec<HashSet<usize>> = tables
        .iter()
        .enumerate()
        .map(|(i, t)| {
            t.foreign_keys
                .iter()
                .filter_map(|fk| index.get(fk.references.as_str()).copied())
                .filter(|p| *p != i)
                .collect()
        })
        .collect();
    let mut order = Vec::new();
    let mut placed = vec![false; tables.len()];
    while order.len() < tables.len() {
        let ready: Vec<usize> = (0..tables.len())
            .filter(|i| !placed[*i] && parents[*i].iter().all(|p| placed[*p]))
            .collect();
        let next = if ready.is_empty() {
            // A cycle: take the first remaining table; its references to later tables go NULL.
            vec![(0..tables.len())
                .find(|i| !placed[*i])
                .expect("a table remains")]
        } else {
            ready
        };
        for i in next {
            placed[i] = true;
            order.push(i);
        }
    }
    Ok(order)
}

/// The setting an option gives for something, by a key that names it the way every option names
/// tables (`names`); a key written exactly as `qualified` wins over a bare one.
fn named_for<'o, V>(
    settings: &'o HashMap<String, V>,
    qualified: &str,
    names: impl Fn(&str) -> bool,
) -> Option<&'o V> {
    settings
        .get(qualified)
        .or_else(|| settings.iter().find(|(key, _)| names(key)).map(|(_, v)| v))
}

/// How many values a column's checks allow, when they pin it to a few.
fn finite_domain(column: &ColumnPlan) -> Option<u64> {
    if let Some(allowed) = &column.bounds.allowed {
        return Some(allowed.len() as u64);
    }
    match (column.bounds.min, column.bounds.max) {
        (Some(min), Some(max)) if min == max => Some(1),
        _ => None,
    }
}

/// Whether `rows` distinct values of the column's type exist within its bounds.
fn check_unique_fits(
    table: &Table,
    column: &ColumnPlan,
    constraint: &str,
    rows: u64,
) -> Result<()> {
    let capacity: Option<u64> = match &column.data_type {
        DataType::Int2 => Some(i16::MAX as u64),
        DataType::Numeric {
            precision: Some(precision),
            scale,
        } => Some(10u64.saturating_pow(precision.saturating_sub(*scale) as u32) - 1),
        DataType::Bool => Some(2),
        DataType::Enum { labels } => Some(labels.len() as u64),
        DataType::Text { max_chars: Some(n) } | DataType::Char { chars: n } => {
            Some(36u64.saturating_pow(*n))
        }
        DataType::Other { name } => {
            return Err(unseedable(
                table,
                &column.name,
                constraint,
                &format!("migverify has no generator for type {name}"),
            ))
        }
        _ => None,
    };
    let capacity = match (&column.bounds.allowed, column.bounds.max) {
        (Some(allowed), _) => Some(allowed.len() as u64),
        (None, Some(max))
            if matches!(
                column.data_type,
                DataType::Int2 | DataType::Int4 | DataType::Int8
            ) =>
        {
            Some((max - column.bounds.min.unwrap_or(1.0)).max(0.0) as u64 + 1)
        }
        _ => capacity,
    };
    match capacity {
        Some(capacity) if capacity < rows => Err(unseedable(
            table,
            &column.name,
            constraint,
            &format!("{rows} distinct values are asked for and only {capacity} exist"),
        )),
        _ => Ok(()),
    }
}

fn unseedable(table: &Table, column: &str, constraint: &str, reason: &str) -> DataError {
    DataError::Unseedable {
        table: table.name.clone(),
        column: column.to_string(),
        constraint: constraint.to_string(),
        reason: reason.to_string(),
    }
}

/// Types whose values `--values` can give as text.
fn takes_values_as_text(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::Text { .. }
            | DataType::Char { .. }
            | DataType::Enum { .. }
            | DataType::Json
            | DataType::Int2
            | DataType::Int4
            | DataType::Int8
            | DataType::Numeric { .. }
    )
}

/// FNV-1a: a stable hash of names, the same on every run and platform.
pub fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf29ce484222325, |hash, byte| {
        (hash ^ byte as u64).wrapping_mul(0x100000001b3)
    })
}
