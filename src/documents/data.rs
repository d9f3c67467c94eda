//! What a template sees: the data of a document as JSON, with the field names of the GraphQL types.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::{
    entities::{client, company, organization, policy, user},
    validation::Money,
};

pub fn organization(o: &organization::Model) -> Value {
    json!({"id": o.id.to_string(), "name": o.name, "slug": o.slug})
}

pub fn company(c: &company::Model) -> Value {
    json!({
        "name": c.name, "code": c.code, "contactEmail": c.contact_email, "phone": c.phone,
        "address": c.address, "apiMode": c.api_mode,
    })
}

pub fn client(c: &client::Model) -> Value {
    let display = match (c.kind.as_str(), &c.company_name) {
        ("BUSINESS", Some(name)) => name.clone(),
        _ => [c.first_name.as_deref(), c.last_name.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(" "),
    };
    json!({
        "kind": c.kind, "firstName": c.first_name, "lastName": c.last_name, "companyName": c.company_name,
        "displayName": display, "email": c.email, "phone": c.phone, "address": c.address, "externalRef": c.external_ref,
    })
}

pub fn policy(p: &policy::Model) -> Value {
    json!({
        "number": p.number, "productName": p.product_name, "productType": p.product_type, "status": p.status,
        "premium": Money::to_decimal(p.premium_cents).to_string(), "currency": p.currency,
        "effectiveDate": p.effective_date.to_string(), "expiryDate": p.expiry_date.to_string(), "coverage": p.coverage,
    })
}

/// One row of a report: a policy with its client and company.
pub fn report_row(p: &policy::Model, c: Option<&client::Model>, co: Option<&company::Model>) -> Value {
    json!({"policy": policy(p), "client": c.map(client), "company": co.map(company)})
}

/// The common envelope: who generated it, when, and the document's number.
pub fn envelope(org: &organization::Model, by: Option<&user::Model>, at: DateTime<Utc>, number: &str) -> Value {
    json!({
        "organization": organization(org),
        "generatedAt": at.to_rfc3339(),
        "generatedBy": by.map(|u| json!({"fullName": u.full_name, "email": u.email})),
        "document": {"number": number},
    })
}

/// Merges `extra`'s keys into `base` (both objects).
pub fn merge(mut base: Value, extra: Value) -> Value {
    if let (Some(b), Value::Object(e)) = (base.as_object_mut(), extra) {
        b.extend(e);
    }
    base
}

/// Sample data used to check a template before it is saved, and by previews without a policy.
pub fn sample(scope: &str) -> Value {
    let policy = json!({
        "number": "AUTO-2026-0001", "productName": "Auto tous risques", "productType": "AUTO", "status": "ACTIVE",
        "premium": "125000.50", "currency": "XAF", "effectiveDate": "2026-01-01", "expiryDate": "2026-12-31",
        "coverage": {"thirdParty": true, "theft": true, "glass": false},
    });
    let client = json!({
        "kind": "PERSON", "firstName": "Paul", "lastName": "Mbarga", "companyName": null, "displayName": "Paul Mbarga",
        "email": "paul.mbarga@example.com", "phone": "+237 6 99 00 00 00", "address": "Rue de la Joie, Douala",
        "externalRef": "CRM-42",
    });
    let company = json!({
        "name": "AXA Cameroun", "code": "AXA", "contactEmail": "contact@axa.example", "phone": "+237 2 33 00 00 00",
        "address": "Boulevard de la Liberté, Douala", "apiMode": "NONE",
    });
    let base = json!({
        "organization": {"id": "00000000-0000-0000-0000-000000000000", "name": "Courtage du Golfe", "slug": "courtage-du-golfe"},
        "generatedAt": "2026-01-15T10:00:00+00:00",
        "generatedBy": {"fullName": "Ann Admin", "email": "ann@example.com"},
        "document": {"number": "DOC-SAMPLE-1"},
    });
    if scope == "REPORT" {
        let rows: Vec<Value> = (1..=3)
            .map(|i| {
                let mut p = policy.clone();
                p["number"] = json!(format!("AUTO-2026-000{i}"));
                json!({"policy": p, "client": client, "company": company})
            })
            .collect();
        merge(base, json!({"policies": rows}))
    } else {
        merge(base, json!({"policy": policy, "client": client, "company": company}))
    }
}
