//! One row of a report, typed: the policy's columns a document shows, its client and insurer as
//! the JSON a template sees (made once per client and company, shared by their rows), and what a
//! declaration batch declared for it. PDF and HTML templates see its JSON
//! (`{"policy", "client", "company"}`); the XLSX writer reads it field by field (`xlsx::Row`),
//! so a 100,000-row sheet builds no JSON tree per row and parses no amount or date back.

use std::{cell::OnceCell, sync::Arc};

use chrono::NaiveDate;
use sea_orm::{DbErr, FromQueryResult, QueryResult, QuerySelect, Select};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    currency::Money,
    entities::policy,
    render::xlsx::{self, Cell},
};

/// The columns of a policy that a document shows (and the ids a report joins on).
#[derive(Debug, Clone, PartialEq)]
pub struct ReportPolicy {
    pub id: Uuid,
    pub client_id: Uuid,
    pub company_id: Uuid,
    pub number: String,
    pub product_name: String,
    pub product_type: String,
    pub status: String,
    pub premium_minor: i64,
    pub net_premium_minor: i64,
    pub fees_minor: i64,
    pub taxes_minor: i64,
    pub currency: String,
    pub effective_date: NaiveDate,
    pub expiry_date: NaiveDate,
    pub coverage: Value,
}

/// [`ReportPolicy`]'s columns, in the order `from_query_result` reads them.
const COLUMNS: [policy::Column; 15] = [
    policy::Column::Id,
    policy::Column::ClientId,
    policy::Column::CompanyId,
    policy::Column::Number,
    policy::Column::ProductName,
    policy::Column::ProductType,
    policy::Column::Status,
    policy::Column::PremiumMinor,
    policy::Column::NetPremiumMinor,
    policy::Column::FeesMinor,
    policy::Column::TaxesMinor,
    policy::Column::Currency,
    policy::Column::EffectiveDate,
    policy::Column::ExpiryDate,
    policy::Column::Coverage,
];

impl ReportPolicy {
    /// The policies `selected` selects, as their report columns only (filters and order kept).
    pub fn select(selected: Select<policy::Entity>) -> sea_orm::Selector<sea_orm::SelectModel<ReportPolicy>> {
        selected.select_only().columns(COLUMNS).into_model::<ReportPolicy>()
    }

    pub fn of(policy_row: &policy::Model) -> Self {
        ReportPolicy {
            id: policy_row.id,
            client_id: policy_row.client_id,
            company_id: policy_row.company_id,
            number: policy_row.number.clone(),
            product_name: policy_row.product_name.clone(),
            product_type: policy_row.product_type.clone(),
            status: policy_row.status.clone(),
            premium_minor: policy_row.premium_minor,
            net_premium_minor: policy_row.net_premium_minor,
            fees_minor: policy_row.fees_minor,
            taxes_minor: policy_row.taxes_minor,
            currency: policy_row.currency.clone(),
            effective_date: policy_row.effective_date,
            expiry_date: policy_row.expiry_date,
            coverage: policy_row.coverage.clone(),
        }
    }

    fn amount(&self, minor: i64) -> rust_decimal::Decimal {
        Money::to_decimal(minor, &self.currency)
    }

    /// `policy` as a template sees it.
    pub fn to_json(&self) -> Value {
        json!({
            "number": self.number, "productName": self.product_name, "productType": self.product_type, "status": self.status,
            "premium": self.amount(self.premium_minor).to_string(),
            "netPremium": self.amount(self.net_premium_minor).to_string(),
            "fees": self.amount(self.fees_minor).to_string(),
            "taxes": self.amount(self.taxes_minor).to_string(), "currency": self.currency,
            "effectiveDate": self.effective_date.to_string(), "expiryDate": self.expiry_date.to_string(), "coverage": self.coverage,
        })
    }
}

/// Read by position, not by name: a name is a hash lookup per column and row.
impl FromQueryResult for ReportPolicy {
    fn from_query_result(row: &QueryResult, _prefix: &str) -> Result<Self, DbErr> {
        Ok(ReportPolicy {
            id: row.try_get_by_index(0)?,
            client_id: row.try_get_by_index(1)?,
            company_id: row.try_get_by_index(2)?,
            number: row.try_get_by_index(3)?,
            product_name: row.try_get_by_index(4)?,
            product_type: row.try_get_by_index(5)?,
            status: row.try_get_by_index(6)?,
            premium_minor: row.try_get_by_index(7)?,
            net_premium_minor: row.try_get_by_index(8)?,
            fees_minor: row.try_get_by_index(9)?,
            taxes_minor: row.try_get_by_index(10)?,
            currency: row.try_get_by_index(11)?,
            effective_date: row.try_get_by_index(12)?,
            expiry_date: row.try_get_by_index(13)?,
            coverage: row.try_get_by_index(14)?,
        })
    }
}

/// What a declaration batch declared for a policy: its premium and commission then, in the
/// batch's currency.
#[derive(Debug, Clone, PartialEq)]
pub struct Declared {
    pub premium_minor: i64,
    pub commission_minor: i64,
    pub currency: String,
}

/// A policy with its client and insurer (`null` when gone), and what was declared for it.
pub struct ReportRow {
    pub policy: ReportPolicy,
    pub client: Option<Arc<Value>>,
    pub company: Option<Arc<Value>>,
    pub declared: Option<Declared>,
    /// `policy` as JSON, made only if a column shows the whole object.
    whole_policy: OnceCell<Value>,
}

impl ReportRow {
    pub fn new(policy: ReportPolicy, client: Option<Arc<Value>>, company: Option<Arc<Value>>) -> Self {
        ReportRow { policy, client, company, declared: None, whole_policy: OnceCell::new() }
    }

    /// `policy` as a template sees it: a declared policy shows its declared premium and
    /// commission, in the batch's currency.
    fn policy_json(&self) -> Value {
        let mut json = self.policy.to_json();
        if let Some(declared) = &self.declared {
            json["premium"] = json!(Money::to_decimal(declared.premium_minor, &declared.currency).to_string());
            json["commission"] = json!(Money::to_decimal(declared.commission_minor, &declared.currency).to_string());
            json["currency"] = json!(declared.currency);
        }
        json
    }

    /// `{"policy", "client", "company"}`, what a PDF or HTML report template sees of the row.
    pub fn to_json(&self) -> Value {
        json!({"policy": self.policy_json(), "client": self.client.as_deref(), "company": self.company.as_deref()})
    }

    /// The currency of the row's amounts: the batch's for a declared policy.
    fn currency(&self) -> &str {
        match &self.declared {
            Some(declared) => &declared.currency,
            None => &self.policy.currency,
        }
    }
}

/// A report column's field, resolved once for every row.
pub enum ReportField {
    /// One of the policy's own values (`policy.number`).
    Policy(PolicyField),
    /// `policy.coverage`, and the path inside it.
    Coverage(Vec<String>),
    /// `policy` itself.
    WholePolicy,
    /// `client…` and `company…`: the path inside them.
    Client(Vec<String>),
    Company(Vec<String>),
    /// No row has it.
    Missing,
}

#[derive(Clone, Copy)]
pub enum PolicyField {
    Number,
    ProductName,
    ProductType,
    Status,
    Currency,
    Premium,
    NetPremium,
    Fees,
    Taxes,
    Commission,
    EffectiveDate,
    ExpiryDate,
}

impl PolicyField {
    fn named(key: &str) -> Option<Self> {
        Some(match key {
            "number" => PolicyField::Number,
            "productName" => PolicyField::ProductName,
            "productType" => PolicyField::ProductType,
            "status" => PolicyField::Status,
            "currency" => PolicyField::Currency,
            "premium" => PolicyField::Premium,
            "netPremium" => PolicyField::NetPremium,
            "fees" => PolicyField::Fees,
            "taxes" => PolicyField::Taxes,
            "commission" => PolicyField::Commission,
            "effectiveDate" => PolicyField::EffectiveDate,
            "expiryDate" => PolicyField::ExpiryDate,
            _ => return None,
        })
    }
}

/// A JSON value found inside a row, `null` or not found being nothing.
fn inside(value: Option<&Value>) -> Cell<'_> {
    match value {
        None | Some(Value::Null) => Cell::Empty,
        Some(value) => Cell::Json(value),
    }
}

/// Reads as [`ReportRow::to_json`] would through its path, without making it.
impl xlsx::Row for ReportRow {
    type Field = ReportField;

    fn field(path: &str) -> ReportField {
        let mut keys = path.split('.');
        let root = keys.next().unwrap_or_default();
        let rest: Vec<String> = keys.map(str::to_owned).collect();
        match (root, rest.as_slice()) {
            ("policy", []) => ReportField::WholePolicy,
            ("policy", [key, inside @ ..]) if key == "coverage" => ReportField::Coverage(inside.to_vec()),
            // A scalar has nothing inside.
            ("policy", [key]) => PolicyField::named(key).map_or(ReportField::Missing, ReportField::Policy),
            ("client", _) => ReportField::Client(rest),
            ("company", _) => ReportField::Company(rest),
            _ => ReportField::Missing,
        }
    }

    fn cell(&self, field: &ReportField) -> Cell<'_> {
        let policy = &self.policy;
        match field {
            ReportField::Policy(key) => match key {
                PolicyField::Number => Cell::Text(&policy.number),
                PolicyField::ProductName => Cell::Text(&policy.product_name),
                PolicyField::ProductType => Cell::Text(&policy.product_type),
                PolicyField::Status => Cell::Text(&policy.status),
                PolicyField::Currency => Cell::Text(self.currency()),
                PolicyField::Premium => match &self.declared {
                    Some(declared) => Cell::Amount(Money::to_decimal(declared.premium_minor, &declared.currency)),
                    None => Cell::Amount(policy.amount(policy.premium_minor)),
                },
                PolicyField::NetPremium => Cell::Amount(policy.amount(policy.net_premium_minor)),
                PolicyField::Fees => Cell::Amount(policy.amount(policy.fees_minor)),
                PolicyField::Taxes => Cell::Amount(policy.amount(policy.taxes_minor)),
                PolicyField::Commission => match &self.declared {
                    Some(declared) => Cell::Amount(Money::to_decimal(declared.commission_minor, &declared.currency)),
                    None => Cell::Empty,
                },
                PolicyField::EffectiveDate => Cell::Day(policy.effective_date),
                PolicyField::ExpiryDate => Cell::Day(policy.expiry_date),
            },
            ReportField::Coverage(path) => inside(xlsx::lookup(&policy.coverage, path)),
            ReportField::WholePolicy => Cell::Json(self.whole_policy.get_or_init(|| self.policy_json())),
            ReportField::Client(path) => inside(self.client.as_deref().and_then(|client| xlsx::lookup(client, path))),
            ReportField::Company(path) => inside(self.company.as_deref().and_then(|company| xlsx::lookup(company, path))),
            ReportField::Missing => Cell::Empty,
        }
    }

    fn currency(&self, field: &ReportField) -> Option<&str> {
        match field {
            // Beside a policy's value, and beside `policy.coverage` itself: the policy's currency.
            ReportField::Policy(_) => Some(self.currency()),
            ReportField::Coverage(path) if path.is_empty() => Some(self.currency()),
            ReportField::Coverage(path) => xlsx::currency_beside(&self.policy.coverage, path),
            // Beside `policy`, `client` and `company` is the row itself, which has no currency.
            ReportField::WholePolicy | ReportField::Missing => None,
            ReportField::Client(path) | ReportField::Company(path) if path.is_empty() => None,
            ReportField::Client(path) => self.client.as_deref().and_then(|client| xlsx::currency_beside(client, path)),
            ReportField::Company(path) => self.company.as_deref().and_then(|company| xlsx::currency_beside(company, path)),
        }
    }
}

#[cfg(test)]
#[path = "report_row_tests.rs"]
mod tests;
