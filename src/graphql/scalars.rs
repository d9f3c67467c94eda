//! Custom GraphQL scalars of the public contract: `Date` (`YYYY-MM-DD`).

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};
use chrono::NaiveDate;

/// A calendar date without time zone, written `YYYY-MM-DD` (e.g. `2026-01-31`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub struct Date(pub NaiveDate);

impl Date {
    /// Parses exactly `YYYY-MM-DD` (four-digit year, zero-padded month and day) into a real date.
    pub fn parse_str(text: &str) -> Option<Date> {
        let b = text.as_bytes();
        let shape_ok = b.len() == 10
            && b[4] == b'-'
            && b[7] == b'-'
            && b.iter().enumerate().all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
        if !shape_ok {
            return None;
        }
        NaiveDate::parse_from_str(text, "%Y-%m-%d").ok().map(Date)
    }
}

impl From<NaiveDate> for Date {
    fn from(date: NaiveDate) -> Self {
        Date(date)
    }
}

impl From<Date> for NaiveDate {
    fn from(date: Date) -> Self {
        date.0
    }
}

impl Date {
    /// `YYYY-MM-DD`, written digit by digit: `chrono`'s `format` parses its pattern on every call,
    /// and a page of policies writes hundreds of dates. Years outside 0..=9999 (which the API never
    /// stores) fall back to `chrono`.
    pub fn to_iso(self) -> String {
        use chrono::Datelike;
        let (year, month, day) = (self.0.year(), self.0.month(), self.0.day());
        if !(0..=9999).contains(&year) {
            return self.0.format("%Y-%m-%d").to_string();
        }
        let digit = |n: u32| b'0' + (n % 10) as u8;
        let year = year as u32;
        let bytes = [
            digit(year / 1000),
            digit(year / 100),
            digit(year / 10),
            digit(year),
            b'-',
            digit(month / 10),
            digit(month),
            b'-',
            digit(day / 10),
            digit(day),
        ];
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

impl std::fmt::Display for Date {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(&self.to_iso())
    }
}

/// A calendar date without time zone, written `YYYY-MM-DD` (e.g. `2026-01-31`).
#[Scalar(name = "Date")]
impl ScalarType for Date {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => Date::parse_str(s)
                .ok_or_else(|| InputValueError::custom(format!("`{s}` is not a date in the form YYYY-MM-DD"))),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn is_valid(value: &Value) -> bool {
        matches!(value, Value::String(s) if Date::parse_str(s).is_some())
    }

    fn to_value(&self) -> Value {
        Value::String(self.to_iso())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_parse_only_in_iso_form() {
        assert_eq!(Date::parse_str("2026-01-31").map(|d| d.to_string()).as_deref(), Some("2026-01-31"));
        for bad in ["", "2026-1-31", "2026-02-30", "31/01/2026", "2026-01-31T00:00:00", "+2026-01-3", "２026-01-31"] {
            assert!(Date::parse_str(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn the_scalar_rejects_non_strings_and_round_trips() {
        assert!(<Date as ScalarType>::parse(Value::from(20260131)).is_err());
        let d = <Date as ScalarType>::parse(Value::String("2024-02-29".into())).unwrap();
        assert_eq!(ScalarType::to_value(&d), Value::String("2024-02-29".into()));
        for text in ["0001-01-01", "0999-12-31", "2026-10-05", "9999-12-31"] {
            assert_eq!(Date::parse_str(text).unwrap().to_iso(), text);
        }
    }
}
