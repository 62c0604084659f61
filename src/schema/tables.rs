//! The tables of a schema as data: columns with their resolved types, keys, foreign keys and
//! checks. The canonical text is for people; this model is for the code that fills and reads
//! tables.

use std::collections::HashMap;

use sqlx::postgres::PgConnection;

use super::catalog::{relation_rows, user_relation};
use super::error::Result;

/// A column type as far as generating and reading values goes. Domains appear as their base
/// type; `Other` names a type the data part has no generator for.
#[derive(Debug, Clone, PartialEq)]
pub enum DataType {
    Int2,
    Int4,
    Int8,
    Numeric {
        precision: Option<u16>,
        scale: u16,
    },
    Float4,
    Float8,
    Text {
        max_chars: Option<u32>,
    },
    Char {
        chars: u32,
    },
    Bool,
    Date,
    Time,
    Timestamp,
    Timestamptz,
    Interval,
    Uuid,
    Json,
    Jsonb,
    Bytea,
    Enum {
        labels: Vec<String>,
    },
    Array {
        element: Box<DataType>,
        element_oid: u32,
    },
    Other {
        name: String,
    },
}

#[derive(Debug, Clone)]
pub struct Column {
    pub name: String,
    /// The column's number in its table: kept across a rename, never reused after a drop.
    pub attnum: i16,
    /// The column's own type (a domain stays a domain here: binary COPY wants its oid).
    pub type_oid: u32,
    pub data_type: DataType,
    pub not_null: bool,
    pub identity: bool,
    pub generated: bool,
    /// The sequence behind an identity or serial column: to move past the loaded values.
    pub sequence: Option<String>,
}

#[derive(Debug, Clone)]
pub struct UniqueKey {
    pub name: String,
    pub columns: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct ForeignKey {
    pub name: String,
    pub columns: Vec<String>,
    pub references: String,
    pub referenced_columns: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct CheckConstraint {
    pub name: String,
    pub definition: String,
}

#[derive(Debug, Clone)]
pub struct Table {
    /// Qualified and quoted as SQL wants it: `public.orders`, `app."Order"`.
    pub name: String,
    /// The table's oid: the same table across a step unless it was dropped and created again.
    pub oid: u32,
    pub columns: Vec<Column>,
    pub primary_key: Option<UniqueKey>,
    pub uniques: Vec<UniqueKey>,
    pub foreign_keys: Vec<ForeignKey>,
    pub checks: Vec<CheckConstraint>,
}

/// Whether `name`, as a user writes a table in any option (`orders`, `public.orders`,
/// `"Order"`, `app."Order"`), names the table `qualified` (as the server prints it).
pub fn names_table(qualified: &str, name: &str) -> bool {
    let (qualified, name) = (qualified.replace('"', ""), name.replace('"', ""));
    qualified == name
        || qualified
            .rsplit_once('.')
            .is_some_and(|(_, bare)| bare == name)
}

/// The table `name` names (see `names_table`).
pub fn find_table<'t>(tables: &'t [Table], name: &str) -> Option<&'t Table> {
    tables.iter().find(|t| names_table(&t.name, name))
}

impl Table {
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// Every key whose values must be distinct: the primary key and the unique constraints.
    pub fn keys(&self) -> impl Iterator<Item = &UniqueKey> {
        self.primary_key.iter().chain(&self.uniques)
    }

    /// The key that tells its rows apart: the primary key, else the first unique key whose
    /// columns are all NOT NULL (a unique key over nullable columns lets NULLs repeat).
    pub fn row_key(&self) -> Option<&UniqueKey> {
        self.keys().find(|key| {
            key.columns
                .iter()
                .all(|name| self.column(name).is_some_and(|c| c.not_null))
        })
    }
}

/// The user tables of the database, a partitioned table as one (its partitions hold its rows,
/// which are seeded and read through it), in the
/// order of their names.
pub async fn load_tables(
    connection: &mut PgConnection,
    skip_tables: &[impl AsRef<str>],
) -> Result<Vec<Table>> {
    let skip: Vec<String> = skip_tables.iter().map(|t| t.as_ref().to_string()).collect();
    sqlx::query("SET search_path = ''")
        .execute(&mut *connection)
        .await?;
    let types = load_types(connection).await?;

    type ColumnRow = (
        String,
        i64,
        String,
        i16,
        i64,
        i32,
        bool,
        String,
        String,
        Option<String>,
    );
    let column_rows: Vec<ColumnRow> = relation_rows(&mut *connection, &format!(
        "SELECT c.oid::regclass::text, c.oid::int8, a.attname::text, a.attnum, a.atttypid::int8, a.atttypmod, a.attnotnull, \
           a.attidentity::text, a.attgenerated::text, pg_get_serial_sequence(c.oid::regclass::text, a.attname) \
         FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p') AND NOT c.relispartition AND {} \
         ORDER BY 1, a.attnum",
        user_relation()
    ), &skip).await?;

    let mut tables: Vec<Table> = Vec::new();
    for (table, oid, name, attnum, type_oid, typmod, not_null, identity, generated, sequence) in
        column_rows
    {
        if tables.last().map(|t| &t.name) != Some(&table) {
            tables.push(Table {
                name: table.clone(),
                oid: oid as u32,
                columns: Vec::new(),
                primary_key: None,
                uniques: Vec::new(),
                foreign_keys: Vec::new(),
                checks: Vec::new(),
            });
        }
        let type_oid = type_oid as u32;
        let columns = &mut tables.last_mut().expect("pushed above").columns;
        columns.push(Column {
            name,
            attnum,
            type_oid,
            data_type: types.resolve(type_oid, typmod),
            not_null,
            identity: !identity.is_empty(),
            generated: !generated.is_empty(),
            sequence,
        });
    }

    type ConstraintRow = (
        String,
        String,
        String,
        Vec<String>,
        Option<String>,
        Option<Vec<String>>,
        String,
    );
    let constraints: Vec<ConstraintRow> = relation_rows(&mut *connection, &format!(
        "SELECT c.oid::regclass::text, k.conname::text, k.contype::text, \
           ARRAY(SELECT a.attname::text FROM unnest(k.conkey) WITH ORDINALITY u(n, i) \
                 JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.n ORDER BY u.i), \
           CASE WHEN k.contype = 'f' THEN k.confrelid::regclass::text END, \
           CASE WHEN k.contype = 'f' THEN ARRAY(SELECT a.attname::text FROM unnest(k.confkey) WITH ORDINALITY u(n, i) \
                 JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.n ORDER BY u.i) END, \
           pg_get_constraintdef(k.oid) \
         FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE k.contype IN ('p', 'u', 'f', 'c') AND c.relkind IN ('r', 'p') AND NOT c.relispartition AND {} ORDER BY 1, 2",
        user_relation()
    ), &skip).await?;
    for (table, name, kind, columns, references, referenced_columns, definition) in constraints {
        let Some(table) = tables.iter_mut().find(|t| t.name == table) else {
            continue;
        };
        match kind.as_str() {
            "p" => table.primary_key = Some(UniqueKey { name, columns }),
            "u" => table.uniques.push(UniqueKey { name, columns }),
            "f" => table.foreign_keys.push(ForeignKey {
                name,
                columns,
                references: references.unwrap_or_default(),
                referenced_columns: referenced_columns.unwrap_or_default(),
            }),
            _ => table.checks.push(CheckConstraint { name, definition }),
        }
    }
    // Unique indexes that are not constraints (CREATE UNIQUE INDEX) hold keys all the same.
    let unique_indexes: Vec<(String, String, Vec<String>)> = relation_rows(&mut *connection, &format!(
        "SELECT c.oid::regclass::text, x.indexrelid::regclass::text, \
           ARRAY(SELECT a.attname::text FROM unnest(x.indkey) WITH ORDINALITY u(n, i) \
                 JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = u.n ORDER BY u.i) \
         FROM pg_index x JOIN pg_class c ON c.oid = x.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE x.indisunique AND NOT x.indisprimary AND c.relkind IN ('r', 'p') AND NOT c.relispartition AND {} \
           AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid AND k.conrelid = x.indrelid)",
        user_relation()
    ), &skip).await?;
    for (table, name, columns) in unique_indexes {
        // An expression in the index shows as attribute 0, which has no name: its table's
        // columns are then left to the server.
        if let Some(table) = tables
            .iter_mut()
            .find(|t| t.name == table)
            .filter(|_| !columns.is_empty())
        {
            table.uniques.push(UniqueKey { name, columns });
        }
    }
    sqlx::query("RESET search_path")
        .execute(&mut *connection)
        .await?;
    Ok(tables)
}

/// What pg_type says of every type a column could use, keyed by oid.
struct Types {
    by_oid: HashMap<u32, TypeRow>,
}

struct TypeRow {
    name: String,
    typtype: String,
    element: u32,
    base: u32,
    base_typmod: i32,
    labels: Vec<String>,
}

async fn load_types(connection: &mut PgConnection) -> Result<Types> {
    type Row = (i64, String, String, i64, i64, i32, Vec<String>);
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT t.oid::int8, t.typname::text, t.typtype::text, t.typelem::int8, t.typbasetype::int8, t.typtypmod, \
           ARRAY(SELECT e.enumlabel::text FROM pg_enum e WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder) \
         FROM pg_type t WHERE t.oid IN (SELECT atttypid FROM pg_attribute) \
            OR t.oid IN (SELECT typelem FROM pg_type) OR t.oid IN (SELECT typbasetype FROM pg_type)",
    )
    .fetch_all(connection)
    .await?;
    let by_oid = rows
        .into_iter()
        .map(|(oid, name, typtype, element, base, base_typmod, labels)| {
            let row = TypeRow {
                name,
                typtype,
                element: element as u32,
                base: base as u32,
                base_typmod,
                labels,
            };
            (oid as u32, row)
        })
        .collect();
    Ok(Types { by_oid })
}

impl Types {
    fn resolve(&self, oid: u32, typmod: i32) -> DataType {
        let Some(row) = self.by_oid.get(&oid) else {
            return DataType::Other {
                name: format!("type {oid}"),
            };
        };
        // typmod of varchar/bpchar counts 4 header bytes; numeric packs precision and scale.
        let chars = (typmod >= 4).then(|| (typmod - 4) as u32);
        match (row.typtype.as_str(), row.name.as_str()) {
            ("d", _) => self.resolve(row.base, if typmod >= 0 { typmod } else { row.base_typmod }),
            ("e", _) => DataType::Enum {
                labels: row.labels.clone(),
            },
            ("b", _) if row.element != 0 && row.name.starts_with('_') => DataType::Array {
                element: Box::new(self.resolve(row.element, typmod)),
                element_oid: row.element,
            },
            (_, "int2") => DataType::Int2,
            (_, "int4") => DataType::Int4,
            (_, "int8") => DataType::Int8,
            (_, "numeric") => DataType::Numeric {
                precision: (typmod >= 4).then(|| (((typmod - 4) >> 16) & 0xffff) as u16),
                scale: if typmod >= 4 {
                    ((typmod - 4) & 0xffff) as u16
                } else {
                    2
                },
            },
            (_, "float4") => DataType::Float4,
            (_, "float8") => DataType::Float8,
            (_, "text") => DataType::Text { max_chars: None },
            (_, "varchar") => DataType::Text { max_chars: chars },
            (_, "bpchar") => DataType::Char {
                chars: chars.unwrap_or(1),
            },
            (_, "bool") => DataType::Bool,
            (_, "date") => DataType::Date,
            (_, "time") => DataType::Time,
            (_, "timestamp") => DataType::Timestamp,
            (_, "timestamptz") => DataType::Timestamptz,
            (_, "interval") => DataType::Interval,
            (_, "uuid") => DataType::Uuid,
            (_, "json") => DataType::Json,
            (_, "jsonb") => DataType::Jsonb,
            (_, "bytea") => DataType::Bytea,
            (_, name) => DataType::Other {
                name: name.to_string(),
            },
        }
    }
}
