//! Typed cells: a JSON value at a path, written as text, number, money, date or percent.

use std::collections::HashMap;
use std::str::FromStr;

use rust_xlsxwriter::{Format, FormatBorder, Worksheet};
use serde_json::Value;

use super::{CellFormat, internal};
use crate::render::RenderError;

const MAX_STRING: usize = 32_767;
const DATE: &str = "yyyy-mm-dd";
const DATETIME: &str = "yyyy-mm-dd hh:mm";
pub(super) const INTEGER: &str = "#,##0";
pub(super) const DECIMAL: &str = "#,##0.00";
pub(super) const MONEY: &str = "#,##0.00";
const PERCENT: &str = "0.00%";

/// The cell formats of one sheet.
pub(super) struct Formats {
    integer: Format,
    decimal: Format,
    percent: Format,
    date: Format,
    datetime: Format,
    money: Format,
    money_by_currency: HashMap<String, Format>,
    pub total: Format,
}

impl Formats {
    pub(super) fn new() -> Self {
        Self {
            integer: Format::new().set_num_format(INTEGER),
            decimal: Format::new().set_num_format(DECIMAL),
            percent: Format::new().set_num_format(PERCENT),
            date: Format::new().set_num_format(DATE),
            datetime: Format::new().set_num_format(DATETIME),
            money: Format::new().set_num_format(MONEY),
            money_by_currency: HashMap::new(),
            total: Format::new().set_bold().set_border_top(FormatBorder::Thin),
        }
    }

    fn money(&mut self, currency: Option<&str>) -> &Format {
        match currency {
            None => &self.money,
            Some(code) => self
                .money_by_currency
                .entry(code.to_owned())
                .or_insert_with(|| Format::new().set_num_format(format!("{MONEY} \"{code}\""))),
        }
    }

    /// Writes the value at `path` in `data`; returns the number written, if any, and
    /// notes a money cell's currency in `currency` (`Some(None)` once two differ).
    pub(super) fn write_value<S: AsRef<str>>(
        &mut self,
        ws: &mut Worksheet,
        (row, col): (u32, u16),
        format: CellFormat,
        path: &[S],
        data: &Value,
        currency: &mut Option<Option<String>>,
    ) -> Result<Option<f64>, RenderError> {
        let Some(value) = lookup(data, path) else {
            return Ok(None);
        };
        match (format, value) {
            (_, Value::Null) => Ok(None),
            (CellFormat::Text, _) | (CellFormat::Date, Value::Number(_)) => {
                self.write_text(ws, row, col, value).map(|_| None)
            }
            (CellFormat::Date, _) => {
                match value.as_str().and_then(parse_date) {
                    Some(When::Day(d)) => ws.write_datetime_with_format(row, col, d, &self.date),
                    Some(When::Moment(t)) => {
                        ws.write_datetime_with_format(row, col, t, &self.datetime)
                    }
                    None => return self.write_text(ws, row, col, value).map(|_| None),
                }
                .map_err(internal)?;
                Ok(None)
            }
            (_, _) => {
                let Some(n) = as_number(value) else {
                    return self.write_text(ws, row, col, value).map(|_| None);
                };
                let fmt = match format {
                    CellFormat::Money => {
                        let code = currency_of(data, path);
                        match currency {
                            None => *currency = Some(code.map(str::to_owned)),
                            Some(Some(seen)) if Some(seen.as_str()) != code => {
                                *currency = Some(None)
                            }
                            _ => {}
                        }
                        self.money(code)
                    }
                    CellFormat::Percent => &self.percent,
                    _ if n.fract() == 0.0 => &self.integer,
                    _ => &self.decimal,
                };
                ws.write_number_with_format(row, col, n, fmt)
                    .map_err(internal)?;
                Ok(Some(n))
            }
        }
    }

    fn write_text(
        &self,
        ws: &mut Worksheet,
        row: u32,
        col: u16,
        value: &Value,
    ) -> Result<(), RenderError> {
        match value {
            Value::Bool(b) => ws.write_boolean(row, col, *b).map(|_| ()).map_err(internal),
            Value::String(s) => self.write_string(ws, row, col, s),
            other => self.write_string(ws, row, col, &other.to_string()),
        }
    }

    pub(super) fn write_string(
        &self,
        ws: &mut Worksheet,
        row: u32,
        col: u16,
        text: &str,
    ) -> Result<(), RenderError> {
        let text = match text.char_indices().nth(MAX_STRING) {
            Some((cut, _)) => &text[..cut],
            None => text,
        };
        // No format: the default style, and no per-cell format lookup (a hash of the Format).
        ws.write_string(row, col, text).map(|_| ()).map_err(internal)
    }
}

fn lookup<'a, S: AsRef<str>>(mut value: &'a Value, path: &[S]) -> Option<&'a Value> {
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

/// The `currency` beside a money field (`policy.currency` for `policy.premium`), if it
/// looks like an ISO-4217 code (it goes into a number format, so nothing else passes).
fn currency_of<'a, S: AsRef<str>>(data: &'a Value, path: &[S]) -> Option<&'a str> {
    let parent = lookup(data, &path[..path.len().saturating_sub(1)])?;
    let code = parent.get("currency")?.as_str()?;
    (code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase())).then_some(code)
}

/// JSON numbers, and decimal strings like `"125000.50"` (never "NaN" or "inf").
pub(super) fn as_number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64().filter(|f| f.is_finite()),
        Value::String(s) => {
            let s = s.trim();
            let d = rust_decimal::Decimal::from_str(s)
                .or_else(|_| rust_decimal::Decimal::from_scientific(s))
                .ok()?;
            rust_decimal::prelude::ToPrimitive::to_f64(&d)
        }
        _ => None,
    }
}

enum When {
    Day(chrono::NaiveDate),
    Moment(chrono::NaiveDateTime),
}

/// `YYYY-MM-DD` → a date; RFC 3339 → a date and time in UTC (the API's `DateTime`).
fn parse_date(text: &str) -> Option<When> {
    if let Ok(day) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Some(When::Day(day));
    }
    let moment = chrono::DateTime::parse_from_rfc3339(text).ok()?.naive_utc();
    Some(When::Moment(moment))
}
