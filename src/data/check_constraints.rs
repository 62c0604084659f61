//! The simple CHECK constraints the seeder honours, read from pg_get_constraintdef text:
//! `col >= 0`, `col > x AND col < y`, `col IN (...)` (which PostgreSQL prints as
//! `col = ANY (ARRAY[...])`) and `length(col) <= n`. Anything else is left to the server.

use std::collections::HashMap;

/// What the checks of a table allow for one column.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Bounds {
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub allowed: Option<Vec<String>>,
    pub max_chars: Option<u32>,
}

/// Applies one constraint's terms to the bounds of the columns they name. Returns false when
/// a term was not understood.
pub fn apply_check(definition: &str, bounds: &mut HashMap<String, Bounds>) -> bool {
    let body = definition
        .trim()
        .strip_prefix("CHECK")
        .unwrap_or(definition)
        .trim();
    let body = body.strip_suffix(" NOT VALID").unwrap_or(body);
    let mut understood = true;
    for term in split_and(strip_parens(body)) {
        understood &= apply_term(strip_parens(term), bounds);
    }
    understood
}

fn apply_term(term: &str, columns: &mut HashMap<String, Bounds>) -> bool {
    // `col = ANY (ARRAY[...])`, or for varchar `(col)::text = ANY ((ARRAY[...])::text[])`.
    let any = term
        .split_once(" = ANY (ARRAY[")
        .or_else(|| term.split_once(" = ANY ((ARRAY["));
    if let Some((column, list)) = any {
        let list = &list[..list.find("])").unwrap_or(list.len())];
        let values: Vec<String> = list.split(", ").map(literal).collect();
        return match columns.get_mut(column_name(column)) {
            Some(bounds) => {
                bounds.allowed = Some(values);
                true
            }
            None => false,
        };
    }
    for op in [">=", "<=", "<>", ">", "<", "="] {
        let Some((left, right)) = term.split_once(&format!(" {op} ")) else {
            continue;
        };
        let (left, right) = (strip_parens(left), strip_parens(right));
        if let Some(inner) = left
            .strip_prefix("length(")
            .or_else(|| left.strip_prefix("char_length("))
        {
            let (Some(bounds), Some(limit)) = (
                columns.get_mut(column_name(inner.trim_end_matches(')'))),
                number(right),
            ) else {
                return false;
            };
            // Only an upper limit shapes the text generated; a lower one is left to the server.
            if !matches!(op, "<=" | "<") {
                return false;
            }
            let limit = if op == "<" { limit - 1.0 } else { limit };
            bounds.max_chars = Some(limit.max(1.0) as u32);
            return true;
        }
        // column OP number, or number OP column (flip the operator).
        let (column, value, op) = match (number(right), number(left)) {
            (Some(value), _) => (left, value, op),
            (None, Some(value)) => (right, value, flip(op)),
            _ => return false,
        };
        let Some(bounds) = columns.get_mut(column_name(column)) else {
            return false;
        };
        // Exclusive bounds move by one unit of the smallest scale the seeder generates.
        let step = 0.01;
        match op {
            ">=" => bounds.min = Some(bounds.min.map_or(value, |m| m.max(value))),
            ">" => bounds.min = Some(bounds.min.map_or(value + step, |m| m.max(value + step))),
            "<=" => bounds.max = Some(bounds.max.map_or(value, |m| m.min(value))),
            "<" => bounds.max = Some(bounds.max.map_or(value - step, |m| m.min(value - step))),
            "=" => {
                bounds.min = Some(value);
                bounds.max = Some(value);
            }
            _ => return false,
        }
        return true;
    }
    term.ends_with(" IS NOT NULL")
}

fn flip(op: &str) -> &str {
    match op {
        ">=" => "<=",
        "<=" => ">=",
        ">" => "<",
        "<" => ">",
        other => other,
    }
}

/// Splits on top-level AND.
fn split_and(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0i32, 0);
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'(' => depth += 1,
            b')' => depth -= 1,
            b' ' if depth == 0 && text[i..].starts_with(" AND ") => {
                parts.push(&text[start..i]);
                start = i + 5;
                i += 4;
            }
            _ => {}
        }
        i += 1;
    }
    parts.push(&text[start..]);
    parts
}

/// Removes parentheses that wrap the whole text.
fn strip_parens(mut text: &str) -> &str {
    loop {
        text = text.trim();
        let Some(inner) = text.strip_prefix('(').and_then(|t| t.strip_suffix(')')) else {
            return text;
        };
        let mut depth = 0;
        let balanced = inner.chars().all(|c| {
            depth += match c {
                '(' => 1,
                ')' => -1,
                _ => 0,
            };
            depth >= 0
        });
        if !balanced {
            return text;
        }
        text = inner;
    }
}

/// `(0)::numeric`, `'5'::integer`, `0` → 0.
fn number(text: &str) -> Option<f64> {
    let value = text.split("::").next()?;
    strip_parens(value).trim_matches('\'').parse().ok()
}

/// `'paid'::text` → paid.
fn literal(text: &str) -> String {
    let value = text.trim().split("::").next().unwrap_or("");
    let value = strip_parens(value);
    value.trim_matches('\'').replace("''", "'")
}

/// `status`, `(status)::text` or `"Status"` → the column's name.
fn column_name(text: &str) -> &str {
    let uncast = strip_parens(text).split("::").next().unwrap_or(text);
    strip_parens(uncast).trim_matches('"')
}

#[cfg(test)]
mod tests {
    use super::*;
    fn bounds_after(definition: &str) -> (bool, HashMap<String, Bounds>) {
        let mut columns: HashMap<String, Bounds> = ["total", "quantity", "status", "code", "price"]
            .iter()
            .map(|c| (c.to_string(), Bounds::default()))
            .collect();
        let understood = apply_check(definition, &mut columns);
        (understood, columns)
    }

    #[test]
    fn reads_the_forms_postgres_prints() {
        let (ok, b) = bounds_after("CHECK ((total >= (0)::numeric))");
        assert!(ok);
        assert_eq!(b["total"].min, Some(0.0));
        let (ok, b) =
            bounds_after("CHECK (((price > (1)::numeric) AND (price < (1000)::numeric)))");
        assert!(ok);
        assert_eq!((b["price"].min, b["price"].max), (Some(1.01), Some(999.99)));
        let (ok, b) = bounds_after("CHECK ((status = ANY (ARRAY['open'::text, 'it''s'::text])))");
        assert!(ok);
        assert_eq!(
            b["status"].allowed,
            Some(vec!["open".to_string(), "it's".to_string()])
        );
        let (ok, b) = bounds_after(
            "CHECK (((status)::text = ANY ((ARRAY['open'::character varying, 'done'::character varying])::text[])))",
        );
        assert!(ok);
        assert_eq!(
            b["status"].allowed,
            Some(vec!["open".to_string(), "done".to_string()])
        );
        let (ok, b) = bounds_after("CHECK ((length((code)::text) <= 4))");
        assert!(ok);
        assert_eq!(b["code"].max_chars, Some(4));
        let (ok, b) = bounds_after("CHECK ((length(code) > 0))");
        assert!(!ok, "a lower length bound is left to the server");
        assert_eq!(b["code"].max_chars, None);
        let (ok, b) = bounds_after("CHECK ((length(code) <= 5))");
        assert!(ok);
        assert_eq!(b["code"].max_chars, Some(5));
        let (ok, b) = bounds_after("CHECK ((0 < quantity))");
        assert!(ok);
        assert_eq!(b["quantity"].min, Some(0.01));
        let (ok, _) = bounds_after("CHECK ((lower(code) <> code))");
        assert!(!ok);
    }
}
