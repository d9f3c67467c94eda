//! Validated newtypes: inputs are parsed once, at the edge, with the input path of the field at fault.

use rust_decimal::Decimal;

use crate::error::{AppError, AppResult};

/// A lower-cased, syntactically valid e-mail address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str, field: &str) -> AppResult<Email> {
        let s = raw.trim().to_lowercase();
        let valid = s.len() <= 254
            && s.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty()
                    && local.len() <= 64
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !domain.contains("..")
                    && domain.chars().all(|c| c.is_alphanumeric() || c == '.' || c == '-')
                    && !local.chars().any(|c| c.is_whitespace() || c == '@')
            });
        if valid { Ok(Email(s)) } else { Err(AppError::invalid(field, "not a valid e-mail address")) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A trimmed, non-empty text of at most `max` characters.
pub fn required_text(raw: &str, field: &str, max: usize) -> AppResult<String> {
    let s = raw.trim();
    if s.is_empty() {
        return Err(AppError::invalid(field, "must not be empty"));
    }
    if s.chars().count() > max {
        return Err(AppError::invalid(field, format!("must be at most {max} characters")));
    }
    Ok(s.to_string())
}

/// An optional text: blank becomes `None`.
pub fn optional_text(raw: Option<&str>, field: &str, max: usize) -> AppResult<Option<String>> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(s) => required_text(s, field, max).map(Some),
    }
}

/// An optional e-mail: blank becomes `None`.
pub fn optional_email(raw: Option<&str>, field: &str) -> AppResult<Option<String>> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(s) => Email::parse(s, field).map(|e| Some(e.into_inner())),
    }
}

/// A phone number: digits, spaces and `+-().`, 6 to 20 digits.
pub fn optional_phone(raw: Option<&str>, field: &str) -> AppResult<Option<String>> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(s) => {
            let digits = s.chars().filter(char::is_ascii_digit).count();
            let allowed = s.chars().all(|c| c.is_ascii_digit() || " +-().".contains(c));
            if allowed && (6..=20).contains(&digits) {
                Ok(Some(s.to_string()))
            } else {
                Err(AppError::invalid(field, "not a valid phone number"))
            }
        }
    }
}

/// An amount of money: positive, at most two decimal places, stored exactly as hundredths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Money {
    pub cents: i64,
}

impl Money {
    pub fn parse(d: Decimal, field: &str) -> AppResult<Money> {
        if d <= Decimal::ZERO {
            return Err(AppError::invalid(field, "must be a positive amount"));
        }
        let d = d.normalize();
        if d.scale() > 2 {
            return Err(AppError::invalid(field, "must have at most two decimal places"));
        }
        let cents = (d * Decimal::ONE_HUNDRED).trunc();
        i64::try_from(cents.mantissa() / 10i128.pow(cents.scale()))
            .ok()
            .filter(|c| *c <= 10i64.pow(15))
            .map(|cents| Money { cents })
            .ok_or_else(|| AppError::invalid(field, "is too large"))
    }

    pub fn to_decimal(cents: i64) -> Decimal {
        Decimal::new(cents, 2)
    }
}

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

/// An ISO 4217 currency code (upper-cased).
pub fn currency(raw: &str, field: &str) -> AppResult<String> {
    let code = raw.trim().to_uppercase();
    if CURRENCIES.binary_search(&code.as_str()).is_ok() {
        Ok(code)
    } else {
        Err(AppError::invalid(field, "not an ISO 4217 currency code"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn emails_are_lowercased_and_checked() {
        assert_eq!(Email::parse(" Ann@Example.COM ", "e").unwrap().as_str(), "ann@example.com");
        for bad in ["", "ann", "ann@", "@x.com", "ann@x", "a b@x.com", "ann@x..com"] {
            assert!(Email::parse(bad, "e").is_err(), "{bad}");
        }
    }

    #[test]
    fn money_is_exact_positive_and_two_places() {
        assert_eq!(Money::parse(Decimal::from_str("125000.50").unwrap(), "p").unwrap().cents, 12_500_050);
        assert_eq!(Money::parse(Decimal::from_str("0.1").unwrap(), "p").unwrap().cents, 10);
        assert_eq!(Money::parse(Decimal::from_str("7.000").unwrap(), "p").unwrap().cents, 700);
        assert!(Money::parse(Decimal::from_str("0").unwrap(), "p").is_err());
        assert!(Money::parse(Decimal::from_str("-5").unwrap(), "p").is_err());
        assert!(Money::parse(Decimal::from_str("1.005").unwrap(), "p").is_err());
        assert_eq!(Money::to_decimal(12_500_050).to_string(), "125000.50");
    }

    #[test]
    fn currencies_are_iso_4217() {
        assert!(CURRENCIES.windows(2).all(|w| w[0] < w[1]), "list must stay sorted");
        assert_eq!(currency("xaf", "c").unwrap(), "XAF");
        assert!(currency("ABC", "c").is_err());
    }
}
