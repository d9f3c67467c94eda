//! Typed cells: a row's value at a column's field, written as text, number, money, date or percent.

use std::collections::HashMap;
use std::str::FromStr;

use chrono::Datelike;
use rust_decimal::prelude::ToPrimitive;
use rust_xlsxwriter::{Format, FormatBorder, Worksheet};
use serde_json::Value;

use super::{CellFormat, internal, row::Cell};
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
            Some(code) => {
                // Looked up before it is inserted: no code copied per cell.
                if !self.money_by_currency.contains_key(code) {
                    let format = Format::new().set_num_format(format!("{MONEY} \"{code}\""));
                    self.money_by_currency.insert(code.to_owned(), format);
                }
                &self.money_by_currency[code]
            }
        }
    }

    /// Writes `cell` as `format` says; returns the number written, if any, and notes a money
    /// cell's currency (`currency()`, the code beside it) in `seen` (`Some(None)` once two differ).
    pub(super) fn write_value<'a>(
        &mut self,
        ws: &mut Worksheet,
        (row, col): (u32, u16),
        format: CellFormat,
        cell: Cell<'a>,
        currency: impl FnOnce() -> Option<&'a str>,
        seen: &mut Option<Option<String>>,
    ) -> Result<Option<f64>, RenderError> {
        match (format, cell) {
            (_, Cell::Empty) => Ok(None),
            (CellFormat::Text, cell) | (CellFormat::Date, cell @ Cell::Json(Value::Number(_))) => {
                self.write_text(ws, row, col, cell).map(|_| None)
            }
            (CellFormat::Date, cell) => {
                let when = match &cell {
                    // A day of four digits reads back as itself; any other goes the way of its text.
                    Cell::Day(day) if (0..=9999).contains(&day.year()) => Some(When::Day(*day)),
                    Cell::Day(day) => parse_date(&day.to_string()),
                    Cell::Json(value) => value.as_str().and_then(parse_date),
                    Cell::Text(text) => parse_date(text),
                    // A decimal string is no date.
                    Cell::Amount(_) | Cell::Empty => None,
                };
                match when {
                    Some(When::Day(d)) => ws.write_datetime_with_format(row, col, d, &self.date),
                    Some(When::Moment(t)) => {
                        ws.write_datetime_with_format(row, col, t, &self.datetime)
                    }
                    None => return self.write_text(ws, row, col, cell).map(|_| None),
                }
                .map_err(internal)?;
                Ok(None)
            }
            (_, cell) => {
                let number = match &cell {
                    Cell::Json(value) => as_number(value),
                    Cell::Text(text) => parse_number(text),
                    Cell::Amount(amount) => amount.to_f64(),
                    // `YYYY-MM-DD` is no number.
                    Cell::Day(_) | Cell::Empty => None,
                };
                let Some(n) = number else {
                    return self.write_text(ws, row, col, cell).map(|_| None);
                };
                let fmt = match format {
                    CellFormat::Money => {
                        let code = currency().filter(|code| is_currency_code(code));
                        match seen {
                            None => *seen = Some(code.map(str::to_owned)),
                            Some(Some(known)) if Some(known.as_str()) != code => *seen = Some(None),
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

    fn write_text(&self, ws: &mut Worksheet, row: u32, col: u16, cell: Cell<'_>) -> Result<(), RenderError> {
        match cell {
            Cell::Empty => Ok(()),
            Cell::Json(Value::Bool(b)) => ws.write_boolean(row, col, *b).map(|_| ()).map_err(internal),
            Cell::Json(Value::String(s)) => self.write_string(ws, row, col, s),
            Cell::Json(other) => self.write_string(ws, row, col, &other.to_string()),
            Cell::Text(text) => self.write_string(ws, row, col, text),
            Cell::Amount(amount) => self.write_string(ws, row, col, &amount.to_string()),
            Cell::Day(day) => self.write_string(ws, row, col, &day.to_string()),
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

/// A money cell's currency goes into a number format: an ISO-4217-looking code, nothing else.
fn is_currency_code(code: &str) -> bool {
    code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase())
}

/// JSON numbers, and decimal strings like `"125000.50"` (never "NaN" or "inf").
pub(super) fn as_number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64().filter(|f| f.is_finite()),
        Value::String(s) => parse_number(s),
        _ => None,
    }
}

fn parse_number(text: &str) -> Option<f64> {
    let text = text.trim();
    let d = rust_decimal::Decimal::from_str(text)
        .or_else(|_| rust_decimal::Decimal::from_scientific(text))
        .ok()?;
    d.to_f64()
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
