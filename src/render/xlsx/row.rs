//! What the sheet writer reads a row through: a column's field is resolved once per sheet
//! ([`Row::field`]), then each row gives the [`Cell`] at that field. JSON rows (`{"policy": …}`)
//! are one kind of row; a caller with typed rows gives numbers and days as they are, so that a
//! report needs neither a JSON tree per row nor a decimal or date parsed back per cell.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde_json::Value;

/// A row's value at one column's field, as the column's format reads it.
pub enum Cell<'a> {
    /// No such field, or `null`: nothing is written.
    Empty,
    /// A JSON value: a string is read as a number or a date when the column's format says so.
    Json(&'a Value),
    /// Text, read as a JSON string would be.
    Text(&'a str),
    /// An exact amount, read as its decimal string (`"125000.50"`) would be.
    Amount(Decimal),
    /// A calendar day, read as its `YYYY-MM-DD` string would be.
    Day(NaiveDate),
}

/// A report row the sheet writer can read.
pub trait Row {
    /// A column's field, resolved once per sheet.
    type Field;

    /// The field a dotted path names (`policy.number`, `policies.0.premium`).
    fn field(path: &str) -> Self::Field;

    /// The row's value at `field`.
    fn cell(&self, field: &Self::Field) -> Cell<'_>;

    /// The `currency` beside `field` (`policy.currency` for `policy.premium`), as it is; the
    /// writer checks it looks like an ISO-4217 code. Asked only for money cells.
    fn currency(&self, field: &Self::Field) -> Option<&str>;
}

/// A JSON row: each field is a path into it.
impl Row for Value {
    type Field = Vec<String>;

    fn field(path: &str) -> Self::Field {
        path.split('.').map(str::to_owned).collect()
    }

    fn cell(&self, field: &Self::Field) -> Cell<'_> {
        match lookup(self, field) {
            None | Some(Value::Null) => Cell::Empty,
            Some(value) => Cell::Json(value),
        }
    }

    fn currency(&self, field: &Self::Field) -> Option<&str> {
        currency_beside(self, field)
    }
}

/// The value at `path` in `value`: object keys, and array indexes.
pub fn lookup<'a, S: AsRef<str>>(mut value: &'a Value, path: &[S]) -> Option<&'a Value> {
    for key in path {
        let key = key.as_ref();
        value = match value {
            Value::Object(map) => map.get(key)?,
            Value::Array(items) => items.get(key.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(value)
}

/// The string `currency` of the object holding the value at `path` in `value`.
pub fn currency_beside<'a, S: AsRef<str>>(value: &'a Value, path: &[S]) -> Option<&'a str> {
    let parent = lookup(value, &path[..path.len().saturating_sub(1)])?;
    parent.get("currency")?.as_str()
}
