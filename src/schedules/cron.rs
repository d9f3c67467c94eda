//! Cron expressions (5 fields, parsed by `croner`) and their next run in a time zone (`chrono-tz`).

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use croner::{
    Cron,
    parser::{CronParser, Seconds, Year},
};

use crate::error::{AppError, AppResult};

/// A 5-field cron expression (`0 7 * * MON`: minute, hour, day of month, month, day of week).
pub fn parse(raw: &str, field: &str) -> AppResult<Cron> {
    let text = raw.trim();
    let fields = text.split_whitespace().count();
    if fields != 5 {
        return Err(AppError::invalid(
            field,
            format!("has {fields} field(s); a schedule has 5: minute hour day-of-month month day-of-week (e.g. `0 7 * * MON`)"),
        ));
    }
    CronParser::builder()
        .seconds(Seconds::Disallowed)
        .year(Year::Disallowed)
        .build()
        .parse(text)
        .map_err(|e| AppError::invalid(field, format!("is not a valid cron expression: {e}")))
}

/// The first run strictly after `after`, in zone `zone`; `None` when the expression never matches again.
pub fn next_after(cron: &Cron, zone: Tz, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
    cron.find_next_occurrence(&after.with_timezone(&zone), false).ok().map(|at| at.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_fields_in_a_zone() {
        let cron = parse("0 7 * * MON", "cron").unwrap();
        // Sunday 2026-12-06 12:00 UTC → Monday 07:00 in Douala (UTC+1) = 06:00 UTC.
        let after: DateTime<Utc> = "2026-12-06T12:00:00Z".parse().unwrap();
        let next = next_after(&cron, chrono_tz::Africa::Douala, after).unwrap();
        assert_eq!(next.to_rfc3339(), "2026-12-07T06:00:00+00:00");
        for bad in ["0 7 * *", "0 0 7 * * MON", "61 7 * * *", "nonsense"] {
            assert_eq!(parse(bad, "cron").unwrap_err().code(), "BAD_USER_INPUT", "{bad}");
        }
    }
}
