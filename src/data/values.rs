//! Writes the values of a plan as binary COPY fields. Scalars go through postgres-types'
//! `ToSql` encoders; NUMERIC, which it lacks, through our own encoder.

use bytes::{BufMut, BytesMut};
use postgres_types::{ToSql, Type};

use super::numeric::encode_numeric;
use super::plan::{ColumnPlan, Plan, Source};
use crate::schema::DataType;

/// PostgreSQL's epoch (2000-01-01) is where dates and timestamps count from; generated times
/// fall in the five years after 2020-01-01.
const DAYS_2000_TO_2020: i64 = 7305;
const MICROS_PER_DAY: i64 = 86_400_000_000;
const FIVE_YEARS_SECONDS: u64 = 5 * 365 * 86_400;

/// splitmix64: a fast, well-mixed hash of the row, the column and the seed.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e3779b97f4a7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58476d1ce4e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d049bb133111eb);
    x ^ (x >> 31)
}

impl Plan {
    /// Appends one tuple of table `table` at `row` to a binary COPY stream.
    pub fn write_row(&self, table: usize, row: u64, out: &mut BytesMut) {
        let columns = &self.tables[table].columns;
        out.put_i16(columns.len() as i16);
        for column in 0..columns.len() {
            self.write_field(table, column, row, out);
        }
    }

    fn write_field(&self, table: usize, column: usize, row: u64, out: &mut BytesMut) {
        let plan = &self.tables[table].columns[column];
        let hash = mix(self.seed ^ plan.salt ^ mix(row));
        match &plan.source {
            Source::Null => out.put_i32(-1),
            Source::Unique => write_value(&plan.data_type, plan, Pick::Nth(row), out),
            Source::Free if !plan.not_null && hash.is_multiple_of(10) => out.put_i32(-1),
            Source::Free => write_value(&plan.data_type, plan, Pick::Hash(hash), out),
            Source::Parent {
                table: parent,
                column: parent_column,
                distinct,
                nullable,
                link,
            } => {
                let link_hash = mix(self.seed ^ link ^ mix(row));
                let parent_rows = self.tables[*parent].rows;
                if parent_rows == 0 || (*nullable && link_hash.is_multiple_of(10)) {
                    return out.put_i32(-1);
                }
                let parent_row = self.tables[*parent].first_row
                    + match distinct {
                        Some((divisor, modulus)) => (row / divisor) % modulus,
                        None => mix(link_hash) % parent_rows,
                    };
                self.write_field(*parent, *parent_column, parent_row, out);
            }
        }
    }
}

/// Which value: the n-th distinct one, or one picked by a hash.
#[derive(Clone, Copy)]
enum Pick {
    Nth(u64),
    Hash(u64),
}

impl Pick {
    fn number(self) -> u64 {
        match self {
            Pick::Nth(n) | Pick::Hash(n) => n,
        }
    }

    /// A number in `low..=high`: the n-th from `low`, or any by hash.
    fn within(self, low: i128, high: i128) -> i128 {
        match self {
            Pick::Nth(n) => low + n as i128,
            Pick::Hash(h) => low + (h as i128).rem_euclid((high - low + 1).max(1)),
        }
    }
}

/// Writes a field: its length, then `encode`'s bytes.
fn field(out: &mut BytesMut, encode: impl FnOnce(&mut BytesMut)) {
    let at = out.len();
    out.put_i32(0);
    encode(out);
    let length = (out.len() - at - 4) as i32;
    out[at..at + 4].copy_from_slice(&length.to_be_bytes());
}

fn to_sql<T: ToSql>(value: T, ty: &Type, out: &mut BytesMut) {
    field(out, |out| {
        value.to_sql(ty, out).expect("scalar encoders do not fail");
    });
}

fn write_value(data_type: &DataType, plan: &ColumnPlan, pick: Pick, out: &mut BytesMut) {
    if let Some(allowed) = &plan.bounds.allowed {
        let label = &allowed[(pick.number() % allowed.len().max(1) as u64) as usize];
        return write_text_as(data_type, label, out);
    }
    let (min, max) = (plan.bounds.min, plan.bounds.max);
    let integer_range = |default_high: i128, type_max: i128| {
        let low = min.map_or(if matches!(pick, Pick::Nth(_)) { 1 } else { 0 }, |m| {
            m.ceil() as i128
        });
        let high = max
            .map_or(default_high, |m| m.floor() as i128)
            .min(type_max);
        pick.within(low, high)
    };
    match data_type {
        DataType::Int2 => to_sql(
            integer_range(999, i16::MAX as i128) as i16,
            &Type::INT2,
            out,
        ),
        DataType::Int4 => to_sql(
            integer_range(999_999, i32::MAX as i128) as i32,
            &Type::INT4,
            out,
        ),
        DataType::Int8 => to_sql(
            integer_range(999_999_999, i64::MAX as i128) as i64,
            &Type::INT8,
            out,
        ),
        DataType::Numeric { precision, scale } => {
            let unit = 10i128.pow(*scale as u32);
            let integer_digits = precision.map_or(6, |p| p.saturating_sub(*scale).min(6)) as u32;
            let low = min.map_or(
                if matches!(pick, Pick::Nth(_)) {
                    unit
                } else {
                    0
                },
                |m| (m * unit as f64).ceil() as i128,
            );
            let high = max.map_or(10i128.pow(integer_digits) * unit - 1, |m| {
                (m * unit as f64).floor() as i128
            });
            let unscaled = match pick {
                Pick::Nth(n) => low + n as i128 * unit,
                Pick::Hash(_) => pick.within(low, high),
            };
            field(out, |out| {
                let mut bytes = Vec::with_capacity(16);
                encode_numeric(unscaled, *scale, &mut bytes);
                out.put_slice(&bytes);
            });
        }
        DataType::Float4 => to_sql(float_within(pick, min, max) as f32, &Type::FLOAT4, out),
        DataType::Float8 => to_sql(float_within(pick, min, max), &Type::FLOAT8, out),
        DataType::Text { max_chars } => {
            let limit = max_chars.iter().copied().chain(plan.bounds.max_chars).min();
            write_text_as(data_type, &text_value(&plan.name, pick, limit), out)
        }
        DataType::Char { chars } => {
            let text = match pick {
                Pick::Nth(n) => format!("{:0>width$}", base36(n), width = *chars as usize),
                Pick::Hash(h) => (0..*chars)
                    .map(|i| (b'A' + ((h >> (i * 5)) % 26) as u8) as char)
                    .collect(),
            };
            to_sql(text.as_str(), &Type::BPCHAR, out)
        }
        DataType::Bool => to_sql(pick.number() % 2 == 1, &Type::BOOL, out),
        DataType::Date => {
            let days = DAYS_2000_TO_2020 + (pick.within(0, 5 * 365) as i64);
            to_sql(days as i32, &Type::INT4, out)
        }
        DataType::Timestamp | DataType::Timestamptz => {
            let seconds = pick.within(0, FIVE_YEARS_SECONDS as i128) as i64;
            to_sql(
                DAYS_2000_TO_2020 * MICROS_PER_DAY + seconds * 1_000_000,
                &Type::INT8,
                out,
            )
        }
        DataType::Time => to_sql(
            (pick.within(0, 86_399) as i64 % 86_400) * 1_000_000,
            &Type::INT8,
            out,
        ),
        DataType::Interval => field(out, |out| {
            out.put_i64((pick.within(0, 86_400) as i64) * 1_000_000);
            out.put_i32(0);
            out.put_i32(0);
        }),
        DataType::Uuid => field(out, |out| {
            let n = pick.number();
            let high = mix(n ^ 0x5eed);
            // Version 4, variant 1; the low half carries n itself, so distinct n stay distinct.
            out.put_u64((high & 0xffff_ffff_ffff_0fff) | 0x4000);
            out.put_u64((n & 0x3fff_ffff_ffff_ffff) | 0x8000_0000_0000_0000);
        }),
        DataType::Json => to_sql(
            format!("{{\"n\": {}}}", pick.number() % 1000).as_str(),
            &Type::TEXT,
            out,
        ),
        DataType::Jsonb => field(out, |out| {
            out.put_u8(1); // jsonb's binary format version
            out.put_slice(format!("{{\"n\": {}}}", pick.number() % 1000).as_bytes());
        }),
        DataType::Bytea => to_sql(&pick.number().to_be_bytes()[..], &Type::BYTEA, out),
        DataType::Enum { labels } => {
            let label = &labels[(pick.number() % labels.len().max(1) as u64) as usize];
            to_sql(label.as_str(), &Type::TEXT, out)
        }
        DataType::Array {
            element,
            element_oid,
        } => field(out, |out| {
            let length = (pick.number() % 4) as i32;
            out.put_i32(1); // dimensions
            out.put_i32(0); // no NULL elements
            out.put_u32(*element_oid);
            out.put_i32(length);
            out.put_i32(1); // lower bound
            for i in 0..length {
                write_value(
                    element,
                    plan,
                    Pick::Hash(mix(pick.number() ^ i as u64)),
                    out,
                );
            }
        }),
        DataType::Other { .. } => out.put_i32(-1),
    }
}

/// A float within the checks' bounds: the n-th step of 0.01 from the lower one, or any by hash.
fn float_within(pick: Pick, min: Option<f64>, max: Option<f64>) -> f64 {
    let low = min.unwrap_or(0.0);
    let high = max.unwrap_or(low + 10_000.0).max(low);
    match pick {
        Pick::Nth(n) => low + n as f64 * 0.01,
        Pick::Hash(h) => low + (h % 1_000_001) as f64 / 1_000_000.0 * (high - low),
    }
}

/// A label from a list of allowed values, encoded for the column's type.
fn write_text_as(data_type: &DataType, text: &str, out: &mut BytesMut) {
    match data_type {
        DataType::Int2 | DataType::Int4 | DataType::Int8 | DataType::Numeric { .. } => {
            let value: f64 = text.parse().unwrap_or(0.0);
            match data_type {
                DataType::Int2 => to_sql(value as i16, &Type::INT2, out),
                DataType::Int4 => to_sql(value as i32, &Type::INT4, out),
                DataType::Int8 => to_sql(value as i64, &Type::INT8, out),
                DataType::Numeric { scale, .. } => field(out, |out| {
                    let mut bytes = Vec::new();
                    let unscaled = (value * 10f64.powi(*scale as i32)).round() as i128;
                    encode_numeric(unscaled, *scale, &mut bytes);
                    out.put_slice(&bytes);
                }),
                _ => unreachable!("matched as a number above"),
            }
        }
        _ => to_sql(text, &Type::TEXT, out),
    }
}

/// Readable text within `limit` characters: `<column>-<n>` when it fits, else base 36.
fn text_value(column: &str, pick: Pick, limit: Option<u32>) -> String {
    let n = match pick {
        Pick::Nth(n) => n,
        Pick::Hash(h) => h % 100_000,
    };
    let readable = format!("{column}-{n}");
    match limit {
        Some(limit) if readable.chars().count() > limit as usize => {
            base36(n).chars().take(limit.max(1) as usize).collect()
        }
        _ => readable,
    }
}

fn base36(mut n: u64) -> String {
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut text = Vec::new();
    loop {
        text.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    text.reverse();
    String::from_utf8(text).expect("ascii")
}
