//! Relations and what hangs on them, as schema objects: tables (columns, constraints and table
//! options), sequences, indexes, views, triggers, policies, rules and extended statistics.

use std::collections::BTreeMap;

use sqlx::postgres::PgConnection;

use super::canonical::{quote_literal, with_position, SchemaObject};
use super::catalog::{relation_rows, user_relation};
use super::error::Result;
use super::introspect::one_line_objects;

/// Sequences other than the ones behind identity columns (those show as the column's identity).
pub(super) async fn sequences(tx: &mut PgConnection, skip: &[String]) -> Result<Vec<SchemaObject>> {
    type Row = (
        String,
        String,
        i64,
        i64,
        i64,
        i64,
        i64,
        bool,
        Option<String>,
        Option<String>,
    );
    let rows: Vec<Row> = relation_rows(tx, &format!(
        "SELECT c.oid::regclass::text, format_type(s.seqtypid, NULL), s.seqstart, s.seqincrement, \
           s.seqmin, s.seqmax, s.seqcache, s.seqcycle, \
           (SELECT d.refobjid::regclass::text || '.' || quote_ident(a.attname) FROM pg_depend d \
              JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid \
            WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.refclassid = 'pg_class'::regclass \
              AND d.deptype = 'a' LIMIT 1), \
           obj_description(c.oid, 'pg_class') \
         FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE {} AND NOT EXISTS (SELECT 1 FROM pg_depend i WHERE i.classid = 'pg_class'::regclass \
           AND i.objid = c.oid AND i.deptype = 'i')",
        user_relation()
    ), skip).await?;
    Ok(rows
        .into_iter()
        .map(|(name, data_type, start, increment, min, max, cache, cycle, owner, comment)| {
            let mut object = SchemaObject::new("sequence", name);
            let cycle = if cycle { " cycle" } else { "" };
            object.line(format!(
                "{data_type} start {start} increment {increment} min {min} max {max} cache {cache}{cycle}"
            ));
            if let Some(owner) = owner {
                object.line(format!("owned by {owner}"));
            }
            object.comment(comment);
            object
        })
        .collect())
}

pub(super) async fn tables(tx: &mut PgConnection, skip: &[String]) -> Result<Vec<SchemaObject>> {
    type TableRow = (
        String,
        bool,
        bool,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        bool,
        Option<Vec<String>>,
        Vec<String>,
    );
    let table_rows: Vec<TableRow> = relation_rows(&mut *tx, &format!(
        "SELECT c.oid::regclass::text, c.relrowsecurity, c.relforcerowsecurity, \
           CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END, \
           (SELECT string_agg(i.inhparent::regclass::text, ', ' ORDER BY i.inhseqno) FROM pg_inherits i WHERE i.inhrelid = c.oid), \
           CASE WHEN c.relispartition THEN pg_get_expr(c.relpartbound, c.oid) END, \
           obj_description(c.oid, 'pg_class'), c.relpersistence = 'u', c.reloptions, \
           ARRAY(SELECT g FROM (SELECT a.privilege_type || ' to ' || \
                   CASE WHEN a.grantee = 0 THEN 'public' ELSE a.grantee::regrole::text END AS g \
                 FROM aclexplode(c.relacl) a WHERE a.grantee <> c.relowner) grants ORDER BY g COLLATE \"C\") \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relkind IN ('r', 'p') AND {}",
        user_relation()
    ), skip).await?;

    let mut tables: BTreeMap<String, SchemaObject> = BTreeMap::new();
    let mut trailers: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, rls, force_rls, partition_key, parent, bound, comment, unlogged, options, grants) in
        table_rows
    {
        let mut trailer = Vec::new();
        if unlogged {
            trailer.push("unlogged".to_string());
        }
        if let Some(options) = options {
            trailer.push(format!("with ({})", options.join(", ")));
        }
        trailer.extend(grants.into_iter().map(|grant| format!("grant {grant}")));
        if let Some(key) = partition_key {
            trailer.push(format!("partition by {key}"));
        }
        match (parent, bound) {
            (Some(parent), Some(bound)) => trailer.push(format!("partition of {parent} {bound}")),
            (Some(parent), None) => trailer.push(format!("inherits {parent}")),
            _ => {}
        }
        if rls {
            trailer.push(format!(
                "row level security enabled{}",
                if force_rls { ", forced" } else { "" }
            ));
        }
        if let Some(comment) = comment {
            trailer.push(format!("comment {}", quote_literal(&comment)));
        }
        trailers.insert(name.clone(), trailer);
        tables.insert(name.clone(), SchemaObject::new("table", name));
    }

    for (table, line) in columns(tx, skip).await? {
        if let Some(object) = tables.get_mut(&table) {
            object.line(line);
        }
    }
    let constraints: Vec<(String, String, String, Option<String>)> = relation_rows(&mut *tx, &format!(
        "SELECT k.conrelid::regclass::text, quote_ident(k.conname), pg_get_constraintdef(k.oid, true), \
           obj_description(k.oid, 'pg_constraint') \
         FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE {} ORDER BY k.conrelid::regclass::text COLLATE \"C\", quote_ident(k.conname) COLLATE \"C\"",
        user_relation()
    ), skip).await?;
    for (table, name, definition, comment) in constraints {
        if let Some(object) = tables.get_mut(&table) {
            object.line(format!("constraint {name} {definition}"));
            if let Some(comment) = comment {
                object.line(format!(
                    "comment on constraint {name} {}",
                    quote_literal(&comment)
                ));
            }
        }
    }
    Ok(tables
        .into_iter()
        .map(|(name, mut object)| {
            object
                .lines
                .extend(trailers.remove(&name).unwrap_or_default());
            object
        })
        .collect())
}

/// One line per column, sorted by name, with the physical position marked so that it can be
/// left out of comparisons.
async fn columns(tx: &mut PgConnection, skip: &[String]) -> Result<Vec<(String, String)>> {
    type Row = (
        String,
        String,
        String,
        bool,
        Option<String>,
        String,
        String,
        Option<String>,
        i64,
        Option<String>,
        String,
    );
    let rows: Vec<Row> = relation_rows(tx, &format!(
        "SELECT c.oid::regclass::text, quote_ident(a.attname), format_type(a.atttypid, a.atttypmod), a.attnotnull, \
           pg_get_expr(d.adbin, d.adrelid), a.attidentity::text, a.attgenerated::text, \
           CASE WHEN a.attcollation <> t.typcollation THEN a.attcollation::regcollation::text END, \
           row_number() OVER (PARTITION BY a.attrelid ORDER BY a.attnum), \
           col_description(a.attrelid, a.attnum), \
           concat_ws(' ', CASE WHEN a.attstattarget >= 0 THEN 'statistics ' || a.attstattarget END, \
             CASE WHEN a.attstorage <> t.typstorage THEN 'storage ' || a.attstorage::text END) \
         FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
           JOIN pg_type t ON t.oid = a.atttypid \
           LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
         WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p') AND {} \
         ORDER BY c.oid::regclass::text COLLATE \"C\", quote_ident(a.attname) COLLATE \"C\"",
        user_relation()
    ), skip).await?;
    Ok(rows
        .into_iter()
        .map(
            |(
                table,
                name,
                data_type,
                not_null,
                expression,
                identity,
                generated,
                collation,
                position,
                comment,
                tuning,
            )| {
                let mut line = format!("column {name} {data_type}");
                if let Some(collation) = collation {
                    line.push_str(&format!(" collate {collation}"));
                }
                if not_null {
                    line.push_str(" not null");
                }
                match (generated.as_str(), expression) {
                    ("s", Some(expression)) => {
                        line.push_str(&format!(" generated always as ({expression}) stored"))
                    }
                    (_, Some(default)) => line.push_str(&format!(" default {default}")),
                    _ => {}
                }
                match identity.as_str() {
                    "a" => line.push_str(" identity always"),
                    "d" => line.push_str(" identity by default"),
                    _ => {}
                }
                if !tuning.is_empty() {
                    line.push_str(&format!(" {tuning}"));
                }
                if let Some(comment) = comment {
                    line.push_str(&format!(" comment {}", quote_literal(&comment)));
                }
                (table, with_position(line, position))
            },
        )
        .collect())
}

/// Indexes that are not the implementation of a primary key, unique or exclusion constraint
/// (those show as the constraint).
pub(super) async fn indexes(tx: &mut PgConnection, skip: &[String]) -> Result<Vec<SchemaObject>> {
    let rows: Vec<(String, String, Option<String>, bool)> = relation_rows(tx, &format!(
        "SELECT x.indexrelid::regclass::text, pg_get_indexdef(x.indexrelid), obj_description(x.indexrelid, 'pg_class'), \
           x.indisvalid \
         FROM pg_index x JOIN pg_class c ON c.oid = x.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE {} AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid \
           AND k.conrelid = x.indrelid AND k.contype IN ('p', 'u', 'x'))",
        user_relation()
    ), skip).await?;
    Ok(rows
        .into_iter()
        .map(|(name, definition, comment, valid)| {
            let mut object = SchemaObject::new("index", name);
            object.line(definition);
            if !valid {
                object.line(
                    "invalid: a CREATE INDEX CONCURRENTLY that failed, or one still building",
                );
            }
            object.comment(comment);
            object
        })
        .collect())
}

pub(super) async fn views(tx: &mut PgConnection, skip: &[String]) -> Result<Vec<SchemaObject>> {
    let rows: Vec<(String, String, String, Option<String>)> = relation_rows(tx, &format!(
        "SELECT c.oid::regclass::text, c.relkind::text, pg_get_viewdef(c.oid, true), obj_description(c.oid, 'pg_class') \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relkind IN ('v', 'm') AND {}",
        user_relation()
    ), skip).await?;
    Ok(rows
        .into_iter()
        .map(|(name, relkind, definition, comment)| {
            let kind = if relkind == "m" {
                "materialized view"
            } else {
                "view"
            };
            let mut object = SchemaObject::new(kind, name);
            object.definition("as", &definition).comment(comment);
            object
        })
        .collect())
}

pub(super) async fn triggers(tx: &mut PgConnection, skip: &[String]) -> Result<Vec<SchemaObject>> {
    let rows: Vec<(String, String, String, Option<String>)> = relation_rows(tx, &format!(
        "SELECT g.tgrelid::regclass::text || '.' || quote_ident(g.tgname), pg_get_triggerdef(g.oid, true), \
           g.tgenabled::text, obj_description(g.oid, 'pg_trigger') \
         FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE NOT g.tgisinternal AND {}",
        user_relation()
    ), skip).await?;
    Ok(rows
        .into_iter()
        .map(|(name, definition, enabled, comment)| {
            let mut object = SchemaObject::new("trigger", name);
            object.line(definition);
            match enabled.as_str() {
                "D" => {
                    object.line("disabled");
                }
                "R" => {
                    object.line("enabled on replicas only");
                }
                "A" => {
                    object.line("enabled always");
                }
                _ => {}
            }
            object.comment(comment);
            object
        })
        .collect())
}

pub(super) async fn policies(tx: &mut PgConnection, skip: &[String]) -> Result<Vec<SchemaObject>> {
    type Row = (
        String,
        bool,
        String,
        Vec<String>,
        Option<String>,
        Option<String>,
        Option<String>,
    );
    let rows: Vec<Row> = relation_rows(tx, &format!(
        "SELECT p.polrelid::regclass::text || '.' || quote_ident(p.polname), p.polpermissive, p.polcmd::text, \
           ARRAY(SELECT role FROM (SELECT CASE WHEN r = 0 THEN 'public' ELSE r::regrole::text END AS role \
                 FROM unnest(p.polroles) r) roles ORDER BY role COLLATE \"C\"), \
           pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid), \
           obj_description(p.oid, 'pg_policy') \
         FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE {}",
        user_relation()
    ), skip).await?;
    Ok(rows
        .into_iter()
        .map(
            |(name, permissive, command, roles, using, check, comment)| {
                let mut object = SchemaObject::new("policy", name);
                let command = match command.as_str() {
                    "r" => "select",
                    "a" => "insert",
                    "w" => "update",
                    "d" => "delete",
                    _ => "all",
                };
                let mode = if permissive {
                    "permissive"
                } else {
                    "restrictive"
                };
                object.line(format!("{mode} for {command} to {}", roles.join(", ")));
                if let Some(using) = using {
                    object.line(format!("using ({using})"));
                }
                if let Some(check) = check {
                    object.line(format!("with check ({check})"));
                }
                object.comment(comment);
                object
            },
        )
        .collect())
}

/// Rewrite rules, but a view's own `_RETURN` rule, which is the view.
pub(super) async fn rules(tx: &mut PgConnection, skip: &[String]) -> Result<Vec<SchemaObject>> {
    let rows = relation_rows(tx, &format!(
        "SELECT r.ev_class::regclass::text || '.' || quote_ident(r.rulename), pg_get_ruledef(r.oid), \
           obj_description(r.oid, 'pg_rewrite') \
         FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE r.rulename <> '_RETURN' AND {}",
        user_relation()
    ), skip).await?;
    Ok(one_line_objects("rule", rows))
}

/// Extended statistics (CREATE STATISTICS).
pub(super) async fn statistics(
    tx: &mut PgConnection,
    skip: &[String],
) -> Result<Vec<SchemaObject>> {
    let rows = relation_rows(tx, &format!(
        "SELECT quote_ident(sn.nspname) || '.' || quote_ident(s.stxname), pg_get_statisticsobjdef(s.oid), \
           obj_description(s.oid, 'pg_statistic_ext') \
         FROM pg_statistic_ext s JOIN pg_namespace sn ON sn.oid = s.stxnamespace \
           JOIN pg_class c ON c.oid = s.stxrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE {}",
        user_relation()
    ), skip).await?;
    Ok(one_line_objects("statistics", rows))
}
