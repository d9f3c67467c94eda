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

/// A formatted cell's format, by name: compared per cell instead of the `Format` itself.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Style {
    Integer,
    Decimal,
    Percent,
    Date,
    Datetime,
    /// With the currency's code, when it looks like one.
    Money(Option<[u8; 3]>),
}

/// A column's own format. rust_xlsxwriter finds a cell's format by hashing the whole `Format`
/// (17 % of the writer's time over a 100,000-row report); a cell written without one takes its
/// column's format instead, which costs nothing. So the first formatted cell of a column sets the
/// column's format, and the cells of that same format are written without one; the others keep
/// theirs.
/// The file is the same: each cell still names its format (`s="…"`); but the column's empty
/// cells show that format too, and so does a text cell in it (a date column's "not a date"),
/// which a number format does not change.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum ColumnStyle {
    /// Every cell names its format (a sheet of fields, not of rows).
    PerCell,
    /// The column has no format yet: its first formatted cell gives it one.
    Unset,
    Set(Style),
}

/// What a sheet remembers of one column while its rows are written.
#[derive(Clone)]
pub(super) struct ColumnState {
    /// The money cells' currency: `Some(None)` once two differ.
    pub currency: Option<Option<String>>,
    pub style: ColumnStyle,
}

impl ColumnState {
    pub(super) fn new(style: ColumnStyle) -> Self {
        Self { currency: None, style }
    }
}

/// What a formatted cell holds.
enum Styled {
    Number(f64),
    Day(chrono::NaiveDate),
    Moment(chrono::NaiveDateTime),
}

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

    fn format(&mut self, style: Style) -> &Format {
        match style {
            Style::Integer => &self.integer,
            Style::Decimal => &self.decimal,
            Style::Percent => &self.percent,
            Style::Date => &self.date,
            Style::Datetime => &self.datetime,
            Style::Money(None) => &self.money,
            Style::Money(Some(code)) => {
                let code = std::str::from_utf8(&code).expect("an ASCII currency code");
                // Looked up before it is inserted: no code copied per cell.
                if !self.money_by_currency.contains_key(code) {
                    let format = Format::new().set_num_format(format!("{MONEY} \"{code}\""));
                    self.money_by_currency.insert(code.to_owned(), format);
                }
                &self.money_by_currency[code]
            }
        }
    }

    /// Writes a formatted cell, without its format when it is its column's (see [`ColumnStyle`]).
    fn write_styled(
        &mut self,
        ws: &mut Worksheet,
        (row, col): (u32, u16),
        value: Styled,
        style: Style,
        column: &mut ColumnStyle,
    ) -> Result<(), RenderError> {
        let own_format = match *column {
            ColumnStyle::PerCell => true,
            ColumnStyle::Unset => {
                ws.set_column_format(col, self.format(style)).map_err(internal)?;
                *column = ColumnStyle::Set(style);
                false
            }
            ColumnStyle::Set(of_column) => of_column != style,
        };
        if own_format {
            let format = self.format(style);
            match value {
                Styled::Number(n) => ws.write_number_with_format(row, col, n, format),
                Styled::Day(d) => ws.write_datetime_with_format(row, col, d, format),
                Styled::Moment(t) => ws.write_datetime_with_format(row, col, t, format),
            }
        } else {
            match value {
                Styled::Number(n) => ws.write_number(row, col, n),
                Styled::Day(d) => ws.write_datetime(row, col, d),
                Styled::Moment(t) => ws.write_datetime(row, col, t),
            }
        }
        .map(|_| ())
        .map_err(internal)
    }

    /// Writes `cell` as `format` says; returns the number written, if any, and notes a money
    /// cell's currency (`currency()`, the code beside it) in `column`.
    pub(super) fn write_value<'a>(
        &mut self,
        ws: &mut Worksheet,
        (row, col): (u32, u16),
        format: CellFormat,
        cell: Cell<'a>,
        currency: impl FnOnce() -> Option<&'a str>,
        column: &mut ColumnState,
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
                let (value, style) = match when {
                    Some(When::Day(d)) => (Styled::Day(d), Style::Date),
                    Some(When::Moment(t)) => (Styled::Moment(t), Style::Datetime),
                    None => return self.write_text(ws, row, col, cell).map(|_| None),
                };
                self.write_styled(ws, (row, col), value, style, &mut column.style)?;
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
                let style = match format {
                    CellFormat::Money => {
                        let code = currency().filter(|code| is_currency_code(code));
                        let seen = &mut column.currency;
                        match seen {
                            None => *seen = Some(code.map(str::to_owned)),
                            Some(Some(known)) if Some(known.as_str()) != code => *seen = Some(None),
                            _ => {}
                        }
                        Style::Money(code.and_then(|code| code.as_bytes().try_into().ok()))
                    }
                    CellFormat::Percent => Style::Percent,
                    _ if n.fract() == 0.0 => Style::Integer,
                    _ => Style::Decimal,
                };
                self.write_styled(ws, (row, col), Styled::Number(n), style, &mut column.style)?;
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
