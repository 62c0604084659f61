//! Reads pg_catalog into schema objects. Every query runs with an empty search_path, so the
//! server qualifies every name it prints (as pg_dump does) and the text never depends on the
//! session that produced it. Objects that belong to an extension are the extension's business
//! and are left out; so are the tables the caller names (migration bookkeeping).

use sqlx::postgres::PgConnection;
use sqlx::Connection;

use super::canonical::{SchemaObject, Snapshot};
use super::catalog::{not_from_extension, USER_NAMESPACE};
use super::error::Result;
use super::relations::{indexes, policies, rules, sequences, statistics, tables, triggers, views};

pub async fn introspect(
    connection: &mut PgConnection,
    skip_tables: &[impl AsRef<str>],
) -> Result<Snapshot> {
    let skip: Vec<String> = skip_tables.iter().map(|t| t.as_ref().to_string()).collect();
    let mut tx = connection.begin().await?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *tx)
        .await?;
    sqlx::query("SET LOCAL search_path = ''")
        .execute(&mut *tx)
        .await?;
    let server_major: i32 =
        sqlx::query_scalar("SELECT current_setting('server_version_num')::int / 10000")
            .fetch_one(&mut *tx)
            .await?;

    let mut objects = Vec::new();
    objects.extend(extensions(&mut tx).await?);
    objects.extend(schemas(&mut tx).await?);
    objects.extend(types(&mut tx).await?);
    objects.extend(sequences(&mut tx, &skip).await?);
    objects.extend(tables(&mut tx, &skip).await?);
    objects.extend(indexes(&mut tx, &skip).await?);
    objects.extend(views(&mut tx, &skip).await?);
    objects.extend(routines(&mut tx).await?);
    objects.extend(triggers(&mut tx, &skip).await?);
    objects.extend(policies(&mut tx, &skip).await?);
    objects.extend(rules(&mut tx, &skip).await?);
    objects.extend(statistics(&mut tx, &skip).await?);
    objects.extend(collations(&mut tx).await?);
    tx.commit().await?;
    Ok(Snapshot::from_objects(server_major as u32, objects))
}

async fn extensions(tx: &mut PgConnection) -> Result<Vec<SchemaObject>> {
    let rows: Vec<(String, String, String, Option<String>)> = sqlx::query_as(
        "SELECT e.extname::text, n.nspname::text, e.extversion, obj_description(e.oid, 'pg_extension') \
         FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace",
    )
    .fetch_all(tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(name, schema, version, comment)| {
            let mut object = SchemaObject::new("extension", name);
            object
                .line(format!("schema {schema}"))
                .line(format!("version {version}"))
                .comment(comment);
            object
        })
        .collect())
}

async fn schemas(tx: &mut PgConnection) -> Result<Vec<SchemaObject>> {
    let rows: Vec<(String, Option<String>)> = sqlx::query_as(&format!(
        "SELECT quote_ident(n.nspname), obj_description(n.oid, 'pg_namespace') FROM pg_namespace n \
         WHERE {USER_NAMESPACE} AND {}",
        not_from_extension("pg_namespace", "n.oid")
    ))
    .fetch_all(tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(name, comment)| {
            let mut object = SchemaObject::new("schema", name);
            object.comment(comment);
            object
        })
        .collect())
}

/// Enums (labels in their order), domains (base type, default, constraints) and composite types.
async fn types(tx: &mut PgConnection) -> Result<Vec<SchemaObject>> {
    type Row = (
        String,
        String,
        Option<Vec<String>>,
        String,
        bool,
        Option<String>,
        Option<Vec<String>>,
        Option<String>,
    );
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT t.oid::regtype::text, t.typtype::text, \
           (SELECT array_agg(quote_literal(l.enumlabel) ORDER BY l.enumsortorder) FROM pg_enum l WHERE l.enumtypid = t.oid), \
           format_type(t.typbasetype, t.typtypmod), t.typnotnull, t.typdefault, \
           CASE t.typtype \
             WHEN 'd' THEN (SELECT array_agg(quote_ident(k.conname) || ' ' || pg_get_constraintdef(k.oid, true) ORDER BY k.conname COLLATE \"C\") \
                            FROM pg_constraint k WHERE k.contypid = t.oid) \
             WHEN 'c' THEN (SELECT array_agg(quote_ident(a.attname) || ' ' || format_type(a.atttypid, a.atttypmod) ORDER BY a.attnum) \
                            FROM pg_attribute a WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped) \
             WHEN 'r' THEN (SELECT ARRAY[concat_ws(' ', format_type(r.rngsubtype, NULL), \
                              'opclass ' || (SELECT quote_ident(o.opcname) FROM pg_opclass o WHERE o.oid = r.rngsubopc), \
                              'collation ' || NULLIF(r.rngcollation, 0)::regcollation::text, \
                              'canonical ' || NULLIF(r.rngcanonical, 0)::regproc::text, \
                              'subdiff ' || NULLIF(r.rngsubdiff, 0)::regproc::text)] \
                            FROM pg_range r WHERE r.rngtypid = t.oid) \
           END, \
           obj_description(t.oid, 'pg_type') \
         FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace \
         WHERE (t.typtype IN ('e', 'd', 'r') OR (t.typtype = 'c' AND (SELECT c.relkind FROM pg_class c WHERE c.oid = t.typrelid) = 'c')) \
           AND {USER_NAMESPACE} AND {}",
        not_from_extension("pg_type", "t.oid")
    ))
    .fetch_all(tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(name, typtype, labels, base, not_null, default, parts, comment)| {
                let mut object = SchemaObject::new("type", name);
                match typtype.as_str() {
                    "e" => {
                        object.line(format!("enum ({})", labels.unwrap_or_default().join(", ")));
                    }
                    "d" => {
                        let mut line = format!("domain over {base}");
                        if not_null {
                            line.push_str(" not null");
                        }
                        if let Some(default) = default {
                            line.push_str(&format!(" default {default}"));
                        }
                        object.line(line);
                        for constraint in parts.unwrap_or_default() {
                            object.line(format!("constraint {constraint}"));
                        }
                    }
                    "r" => {
                        object.line(format!("range over {}", parts.unwrap_or_default().join("")));
                    }
                    _ => {
                        object.line(format!(
                            "composite ({})",
                            parts.unwrap_or_default().join(", ")
                        ));
                    }
                }
                object.comment(comment);
                object
            },
        )
        .collect())
}

async fn routines(tx: &mut PgConnection) -> Result<Vec<SchemaObject>> {
    let rows: Vec<(String, String, String, Option<String>)> = sqlx::query_as(&format!(
        "SELECT p.oid::regprocedure::text, p.prokind::text, \
           CASE WHEN p.prokind = 'a' THEN \
             (SELECT concat_ws(' ', 'sfunc ' || a.aggtransfn::regproc::text, 'stype ' || format_type(a.aggtranstype, NULL), \
                       'finalfunc ' || NULLIF(a.aggfinalfn, 0)::regproc::text, 'initcond ' || quote_literal(a.agginitval)) \
              FROM pg_aggregate a WHERE a.aggfnoid = p.oid) \
           ELSE pg_get_functiondef(p.oid) END, \
           obj_description(p.oid, 'pg_proc') \
         FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace \
         WHERE p.prokind IN ('f', 'p', 'a', 'w') AND {USER_NAMESPACE} AND {} \
           AND NOT EXISTS (SELECT 1 FROM pg_depend i WHERE i.classid = 'pg_proc'::regclass \
             AND i.objid = p.oid AND i.deptype = 'i')",
        not_from_extension("pg_proc", "p.oid")
    ))
    .fetch_all(tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(name, prokind, definition, comment)| {
            let kind = match prokind.as_str() {
                "p" => "procedure",
                "a" => "aggregate",
                _ => "function",
            };
            let mut object = SchemaObject::new(kind, name);
            object
                .definition("definition", &definition)
                .comment(comment);
            object
        })
        .collect())
}

/// Named objects whose whole definition the server prints in one call: (name, definition,
/// comment) rows become one-line blocks of `kind`.
pub(super) fn one_line_objects(
    kind: &'static str,
    rows: Vec<(String, String, Option<String>)>,
) -> Vec<SchemaObject> {
    rows.into_iter()
        .map(|(name, definition, comment)| {
            let mut object = SchemaObject::new(kind, name);
            for line in definition.lines() {
                object.line(line.trim_end());
            }
            object.comment(comment);
            object
        })
        .collect()
}

async fn collations(tx: &mut PgConnection) -> Result<Vec<SchemaObject>> {
    let rows = sqlx::query_as(&format!(
        "SELECT co.oid::regcollation::text, \
           concat_ws(' ', 'provider ' || co.collprovider::text, 'collate ' || NULLIF(co.collcollate, ''), \
             'ctype ' || NULLIF(co.collctype, ''), \
             'locale ' || coalesce(to_jsonb(co) ->> 'colllocale', to_jsonb(co) ->> 'colliculocale'), \
             CASE WHEN NOT co.collisdeterministic THEN 'nondeterministic' END), \
           obj_description(co.oid, 'pg_collation') \
         FROM pg_collation co JOIN pg_namespace n ON n.oid = co.collnamespace \
         WHERE {USER_NAMESPACE} AND {}",
        not_from_extension("pg_collation", "co.oid")
    ))
    .fetch_all(tx)
    .await?;
    Ok(one_line_objects("collation", rows))
}
