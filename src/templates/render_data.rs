//! What a template sees: the data of a document as JSON, with the field names of the GraphQL types,
//! and the one place a policy's document data (policy, client, insurer) is loaded.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Select};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    entities::{client, company, organization, policy, user},
    error::{AppError, AppResult},
    principal::Principal,
    scope,
};

use super::report_row::ReportPolicy;

/// A policy with its client and insurer: what a POLICY template's data is made of.
pub struct PolicySources {
    pub policy: policy::Model,
    pub client: Option<client::Model>,
    pub company: Option<company::Model>,
}

impl PolicySources {
    /// The policies `policies` selects, with their clients and companies: three statements
    /// whatever the number of policies.
    pub async fn load_many(db: &impl ConnectionTrait, policies: Select<policy::Entity>) -> AppResult<Vec<PolicySources>> {
        let policies = policies.all(db).await?;
        let mut client_ids: Vec<Uuid> = policies.iter().map(|policy| policy.client_id).collect();
        client_ids.sort_unstable();
        client_ids.dedup();
        let mut company_ids: Vec<Uuid> = policies.iter().map(|policy| policy.company_id).collect();
        company_ids.sort_unstable();
        company_ids.dedup();
        let clients: HashMap<Uuid, client::Model> =
            client::Entity::find().filter(client::Column::Id.is_in(client_ids)).all(db).await?.into_iter().map(|c| (c.id, c)).collect();
        let companies: HashMap<Uuid, company::Model> =
            company::Entity::find().filter(company::Column::Id.is_in(company_ids)).all(db).await?.into_iter().map(|c| (c.id, c)).collect();
        Ok(policies
            .into_iter()
            .map(|policy| PolicySources {
                client: clients.get(&policy.client_id).cloned(),
                company: companies.get(&policy.company_id).cloned(),
                policy,
            })
            .collect())
    }

    /// One policy the caller may read, or `NOT_FOUND`.
    pub async fn load_for(db: &impl ConnectionTrait, principal: &Principal, policy_id: Uuid) -> AppResult<PolicySources> {
        let selected = scope::policies(principal).filter(policy::Column::Id.eq(policy_id));
        PolicySources::load_many(db, selected).await?.pop().ok_or(AppError::NotFound("Policy"))
    }

    /// `{policy, client, company}`, the keys a POLICY template reads.
    pub fn data(&self) -> Value {
        json!({"policy": policy(&self.policy), "client": self.client.as_ref().map(client), "company": self.company.as_ref().map(company)})
    }
}

/// The data a POLICY template sees for one policy the caller may read (previews).
pub async fn policy_document(db: &impl ConnectionTrait, principal: &Principal, policy_id: Uuid, number: &str) -> AppResult<Value> {
    let sources = PolicySources::load_for(db, principal, policy_id).await?;
    let organization = organization::Entity::find_by_id(sources.policy.organization_id).one(db).await?.ok_or(AppError::NotFound("Organization"))?;
    let by = user::Entity::find_by_id(principal.user_id).one(db).await?;
    Ok(merge(envelope(&organization, by.as_ref(), Utc::now(), number), sources.data()))
}

pub fn organization(organization_row: &organization::Model) -> Value {
    json!({"id": organization_row.id.to_string(), "name": organization_row.name, "slug": organization_row.slug})
}

pub fn company(company_row: &company::Model) -> Value {
    json!({
        "name": company_row.name, "code": company_row.code, "contactEmail": company_row.contact_email, "phone": company_row.phone,
        "address": company_row.address, "apiMode": company_row.api_mode,
    })
}

pub fn client(client_row: &client::Model) -> Value {
    let display = match (client_row.kind.as_str(), &client_row.company_name) {
        ("BUSINESS", Some(name)) => name.clone(),
        _ => [client_row.first_name.as_deref(), client_row.last_name.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(" "),
    };
    json!({
        "kind": client_row.kind, "firstName": client_row.first_name, "lastName": client_row.last_name, "companyName": client_row.company_name,
        "displayName": display, "email": client_row.email, "phone": client_row.phone, "address": client_row.address, "externalRef": client_row.external_ref,
    })
}

pub fn policy(policy_row: &policy::Model) -> Value {
    ReportPolicy::of(policy_row).to_json()
}

/// One row of a report: a policy with its client and company.
pub fn report_row(policy_row: &policy::Model, c: Option<&client::Model>, co: Option<&company::Model>) -> Value {
    json!({"policy": policy(policy_row), "client": c.map(client), "company": co.map(company)})
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
