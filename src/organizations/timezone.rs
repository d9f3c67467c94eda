//! An organization's time zone: an IANA name parsed by `chrono-tz`, and what "today" is there.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;

use crate::error::{AppError, AppResult};

/// Where the brokerages this was built for are.
pub const DEFAULT_TIMEZONE: &str = "Africa/Douala";

/// An IANA time zone name (`Europe/Paris`); anything else is `BAD_USER_INPUT` on `field`.
pub fn parse(raw: &str, field: &str) -> AppResult<Tz> {
    raw.trim()
        .parse::<Tz>()
        .map_err(|_| AppError::invalid(field, format!("{raw:?} is not an IANA time zone name (e.g. Africa/Douala, Europe/Paris)")))
}

/// The date at `now` in the zone named `name` (a stored name that no longer parses counts as the default).
pub fn today_in(name: &str, now: DateTime<Utc>) -> NaiveDate {
    let zone = name.parse::<Tz>().unwrap_or(chrono_tz::Africa::Douala);
    now.with_timezone(&zone).date_naive()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_and_today_follows_the_zone() {
        assert!(parse("Europe/Paris", "tz").is_ok());
        assert_eq!(parse("Mars/Olympus", "tz").unwrap_err().code(), "BAD_USER_INPUT");
        let now: DateTime<Utc> = "2026-12-31T23:30:00Z".parse().unwrap();
        assert_eq!(today_in("Africa/Douala", now).to_string(), "2027-01-01");
        assert_eq!(today_in("America/New_York", now).to_string(), "2026-12-31");
    }
}
