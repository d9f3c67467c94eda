//! The XLSX sheet spec (an XLSX template's content), parsed and validated once.
//!
//! `{"sheets": [{"name", "columns": [{"header", "field", "format", "width"}], "totals"}]}`

use serde::Deserialize;

use crate::render::{Diagnostic, RenderError};

/// Excel's limits, and ours.
const MAX_SHEETS: usize = 50;
const MAX_COLUMNS: usize = 500;
const MAX_WIDTH: f64 = 255.0;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SheetSpec {
    pub sheets: Vec<Sheet>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sheet {
    pub name: String,
    pub columns: Vec<Column>,
    /// `true`: a totals row summing every number/money column; a list: those fields only.
    #[serde(default)]
    pub totals: Totals,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Column {
    pub header: String,
    /// A dotted path: `policy.number`, `client.lastName`, `policies.0.premium`.
    pub field: String,
    #[serde(default)]
    pub format: CellFormat,
    /// In Excel character units; a default by format when absent.
    pub width: Option<f64>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CellFormat {
    #[default]
    Text,
    Number,
    /// A number with the row's currency (`policy.currency` beside `policy.premium`).
    Money,
    /// `YYYY-MM-DD` or RFC 3339 strings, written as real Excel dates.
    Date,
    /// A fraction: 0.15 shows as 15.00%.
    Percent,
}

impl CellFormat {
    pub fn is_summable(self) -> bool {
        matches!(self, CellFormat::Number | CellFormat::Money)
    }

    pub(super) fn default_width(self, header: &str) -> f64 {
        let base = match self {
            CellFormat::Text => 16.0,
            CellFormat::Number | CellFormat::Percent => 12.0,
            CellFormat::Money => 18.0,
            CellFormat::Date => 12.0,
        };
        f64::max(base, header.chars().count() as f64 + 4.0).min(60.0)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Totals {
    All(bool),
    Fields(Vec<String>),
}

impl Default for Totals {
    fn default() -> Self {
        Totals::All(false)
    }
}

impl SheetSpec {
    /// Parses and validates a template's content.
    pub fn parse(content: &str) -> Result<Self, RenderError> {
        let spec: SheetSpec = serde_json::from_str(content).map_err(|e| {
            let line = (e.line() > 0).then(|| e.line() as u32);
            RenderError::Template(vec![Diagnostic {
                message: format!("invalid sheet spec: {e}"),
                line,
                column: line.map(|_| e.column() as u32),
                hint: Some(
                    r#"expected {"sheets": [{"name": "…", "columns": [{"header": "…", "field": "policy.number", "format": "text|number|money|date|percent", "width": 20}], "totals": true}]}"#
                        .to_owned(),
                ),
            }])
        })?;
        spec.validate()?;
        Ok(spec)
    }

    pub fn from_value(value: &serde_json::Value) -> Result<Self, RenderError> {
        Self::parse(&value.to_string())
    }

    fn validate(&self) -> Result<(), RenderError> {
        let mut problems = Vec::new();
        if self.sheets.is_empty() {
            problems.push("the spec has no sheets".to_owned());
        }
        if self.sheets.len() > MAX_SHEETS {
            problems.push(format!(
                "the spec has {} sheets (at most {MAX_SHEETS})",
                self.sheets.len()
            ));
        }
        let mut names: Vec<String> = Vec::new();
        for (i, sheet) in self.sheets.iter().enumerate() {
            let at = format!("sheets[{i}]");
            if let Some(problem) = sheet_name_problem(&sheet.name) {
                problems.push(format!("{at}.name {:?}: {problem}", sheet.name));
            }
            let lower = sheet.name.to_lowercase();
            if names.contains(&lower) {
                problems.push(format!(
                    "{at}.name {:?} is used by another sheet",
                    sheet.name
                ));
            }
            names.push(lower);
            if sheet.columns.is_empty() {
                problems.push(format!("{at} has no columns"));
            }
            if sheet.columns.len() > MAX_COLUMNS {
                problems.push(format!(
                    "{at} has {} columns (at most {MAX_COLUMNS})",
                    sheet.columns.len()
                ));
            }
            for (j, column) in sheet.columns.iter().enumerate() {
                let at = format!("{at}.columns[{j}]");
                if column.field.is_empty() || column.field.split('.').any(str::is_empty) {
                    problems.push(format!(
                        "{at}.field {:?} is not a dotted path",
                        column.field
                    ));
                }
                if column.header.chars().count() > 255 {
                    problems.push(format!("{at}.header is longer than 255 characters"));
                }
                if let Some(width) = column.width.filter(|w| !(0.0..=MAX_WIDTH).contains(w)) {
                    problems.push(format!(
                        "{at}.width {width} is not between 0 and {MAX_WIDTH}"
                    ));
                }
            }
            if let Totals::Fields(fields) = &sheet.totals {
                for field in fields {
                    match sheet.columns.iter().find(|c| &c.field == field) {
                        None => problems.push(format!(
                            "{at}.totals names {field:?}, which is no column's field"
                        )),
                        Some(c) if !c.format.is_summable() => problems.push(format!(
                            "{at}.totals names {field:?}, whose format is not number or money"
                        )),
                        Some(_) => {}
                    }
                }
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(RenderError::Template(
                problems
                    .into_iter()
                    .map(|p| Diagnostic::new(format!("invalid sheet spec: {p}")))
                    .collect(),
            ))
        }
    }
}

impl Sheet {
    /// Whether column `index` gets a SUM in the totals row.
    pub fn totals_column(&self, index: usize) -> bool {
        let column = &self.columns[index];
        match &self.totals {
            Totals::All(all) => *all && column.format.is_summable(),
            Totals::Fields(fields) => fields.contains(&column.field),
        }
    }

    pub fn has_totals(&self) -> bool {
        (0..self.columns.len()).any(|i| self.totals_column(i))
    }
}

fn sheet_name_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        Some("is empty")
    } else if name.chars().count() > 31 {
        Some("is longer than 31 characters")
    } else if name.contains(['[', ']', ':', '*', '?', '/', '\\']) {
        Some("contains one of [ ] : * ? / \\")
    } else if name.starts_with('\'') || name.ends_with('\'') {
        Some("starts or ends with an apostrophe")
    } else if name.eq_ignore_ascii_case("history") {
        Some("is reserved by Excel")
    } else {
        None
    }
}
