//! Validated newtypes: inputs are parsed once, at the edge, with the input path of the field at fault.

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_lowercased_and_checked() {
        assert_eq!(Email::parse(" Ann@Example.COM ", "e").unwrap().as_str(), "ann@example.com");
        for bad in ["", "ann", "ann@", "@x.com", "ann@x", "a b@x.com", "ann@x..com"] {
            assert!(Email::parse(bad, "e").is_err(), "{bad}");
        }
    }
}
