//! Money, exactly: ISO 4217 codes, each currency's minor unit, and amounts held as integers of
//! that unit (`1250.50 EUR` is `125050`, `125000 XAF` is `125000`: XAF has no minor unit).
//! Input decimals are rounded half-even to the currency's minor unit; nothing is ever a float.

use rust_decimal::{Decimal, RoundingStrategy};

use crate::error::{AppError, AppResult};

/// ISO 4217 currency codes in circulation.
const CURRENCIES: &[&str] = &[
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT", "BGN", "BHD", "BIF",
    "BMD", "BND", "BOB", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD", "CDF", "CHF", "CLP", "CNY", "COP", "CRC",
    "CUP", "CVE", "CZK", "DJF", "DKK", "DOP", "DZD", "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS",
    "GIP", "GMD", "GNF", "GTQ", "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IQD", "IRR", "ISK", "JMD",
    "JOD", "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD", "KZT", "LAK", "LBP", "LKR", "LRD", "LSL",
    "LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR", "MWK", "MXN", "MYR", "MZN", "NAD",
    "NGN", "NIO", "NOK", "NPR", "NZD", "OMR", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD",
    "RUB", "RWF", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLE", "SOS", "SRD", "SSP", "STN", "SYP", "SZL",
    "THB", "TJS", "TMT", "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UGX", "USD", "UYU", "UZS", "VES", "VND",
    "VUV", "WST", "XAF", "XCD", "XOF", "XPF", "YER", "ZAR", "ZMW", "ZWG",
];

/// Currencies whose minor unit has no decimals (ISO 4217 exponent 0).
pub const NO_DECIMALS: &[&str] = &[
    "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF",
];
/// Currencies with three decimals (ISO 4217 exponent 3).
pub const THREE_DECIMALS: &[&str] = &["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"];

/// The largest amount accepted, in minor units (10 billion EUR; a trillion XAF): an amount times a
/// rate in parts per million, and sums over millions of policies, stay inside an `i64`, in SQL too.
pub const MAX_MINOR: i64 = 1_000_000_000_000;

/// An ISO 4217 currency code (upper-cased).
pub fn currency(raw: &str, field: &str) -> AppResult<String> {
    let code = raw.trim().to_uppercase();
    if CURRENCIES.binary_search(&code.as_str()).is_ok() {
        Ok(code)
    } else {
        Err(AppError::invalid(field, "not an ISO 4217 currency code"))
    }
}

/// How many decimals the currency's minor unit has (XAF 0, EUR 2, KWD 3).
pub fn decimals(code: &str) -> u32 {
    if NO_DECIMALS.contains(&code) {
        0
    } else if THREE_DECIMALS.contains(&code) {
        3
    } else {
        2
    }
}

/// An amount in the minor unit of its currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Money {
    pub minor: i64,
}

impl Money {
    /// A positive amount, rounded half-even to the currency's minor unit.
    pub fn parse(amount: Decimal, code: &str, field: &str) -> AppResult<Money> {
        let money = Money::parse_non_negative(amount, code, field)?;
        if money.minor == 0 {
            return Err(AppError::invalid(field, "must be a positive amount"));
        }
        Ok(money)
    }

    /// A positive or zero amount (fees, taxes), rounded half-even to the currency's minor unit.
    pub fn parse_non_negative(amount: Decimal, code: &str, field: &str) -> AppResult<Money> {
        if amount < Decimal::ZERO {
            return Err(AppError::invalid(field, "must not be negative"));
        }
        let places = decimals(code);
        let rounded = amount.round_dp_with_strategy(places, RoundingStrategy::MidpointNearestEven);
        let scaled = rounded.checked_mul(Decimal::from(10i64.pow(places)));
        scaled
            .and_then(|scaled| i64::try_from(scaled.trunc().mantissa() / 10i128.pow(scaled.trunc().scale())).ok())
            .filter(|minor| *minor <= MAX_MINOR)
            .map(|minor| Money { minor })
            .ok_or_else(|| AppError::invalid(field, "is too large"))
    }

    /// The decimal an amount in minor units stands for, with the currency's decimals (`"125000.50"`).
    pub fn to_decimal(minor: i64, code: &str) -> Decimal {
        Decimal::new(minor, decimals(code))
    }

    /// `minor` × `percent` / 100, rounded half-even to the minor unit (a commission).
    pub fn percent_of(minor: i64, percent: Decimal) -> i64 {
        let product = Decimal::from(minor) * percent / Decimal::ONE_HUNDRED;
        let rounded = product.round_dp_with_strategy(0, RoundingStrategy::MidpointNearestEven);
        i64::try_from(rounded.mantissa() / 10i128.pow(rounded.scale())).unwrap_or(i64::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(text: &str) -> Decimal {
        Decimal::from_str(text).unwrap()
    }

    #[test]
    fn amounts_round_half_even_to_the_minor_unit() {
        assert_eq!(Money::parse(d("125000.50"), "EUR", "p").unwrap().minor, 12_500_050);
        assert_eq!(Money::parse(d("0.125"), "EUR", "p").unwrap().minor, 12);
        assert_eq!(Money::parse(d("0.135"), "EUR", "p").unwrap().minor, 14);
        assert_eq!(Money::parse(d("7.000"), "USD", "p").unwrap().minor, 700);
        // XAF has no minor unit: halves go to the even franc.
        assert_eq!(Money::parse(d("1000.5"), "XAF", "p").unwrap().minor, 1000);
        assert_eq!(Money::parse(d("1001.5"), "XAF", "p").unwrap().minor, 1002);
        assert_eq!(Money::parse(d("1.2345"), "KWD", "p").unwrap().minor, 1234);
        assert!(Money::parse(d("0"), "EUR", "p").is_err());
        assert!(Money::parse(d("0.004"), "EUR", "p").is_err(), "rounds to zero");
        assert!(Money::parse(d("-5"), "EUR", "p").is_err());
        assert_eq!(Money::parse_non_negative(d("0"), "EUR", "p").unwrap().minor, 0);
        assert!(Money::parse(d("100000000000000000"), "EUR", "p").is_err());
        assert_eq!(Money::to_decimal(12_500_050, "EUR").to_string(), "125000.50");
        assert_eq!(Money::to_decimal(125_000, "XAF").to_string(), "125000");
        assert_eq!(Money::to_decimal(1_234, "KWD").to_string(), "1.234");
    }

    #[test]
    fn percentages_round_half_even() {
        assert_eq!(Money::percent_of(100_000, d("12.5")), 12_500);
        assert_eq!(Money::percent_of(1, d("50")), 0);
        assert_eq!(Money::percent_of(3, d("50")), 2);
        assert_eq!(Money::percent_of(100, d("33.333")), 33);
    }

    #[test]
    fn currencies_are_iso_4217() {
        assert!(CURRENCIES.windows(2).all(|w| w[0] < w[1]), "list must stay sorted");
        assert!(NO_DECIMALS.iter().chain(THREE_DECIMALS).all(|c| CURRENCIES.contains(c)));
        assert_eq!(currency("xaf", "c").unwrap(), "XAF");
        assert!(currency("ABC", "c").is_err());
    }
}
