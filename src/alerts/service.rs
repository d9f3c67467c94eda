//! Alerts over `scope::alerts`: the filtered list, acknowledging, and raising them for the
//! scheduler (set-based, the unique key deciding what is new) with their live events.

use std::collections::HashMap;

use chrono::Utc;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter, QueryOrder, QuerySelect, Select,
    sea_query::{OnConflict, Query},
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::types::{AlertFilter, AlertStatus};
use crate::{
    entities::{alert, client},
    error::AppResult,
    graphql::ids,
    principal::Principal,
    scope,
    state::AppState,
};

/// Rows per insert statement: SQLite takes at most 32,766 bound values (12 per alert).
const ROWS_PER_STATEMENT: usize = 2_000;

/// The scoped, filtered list (newest first, `id` last).
pub fn list(principal: &Principal, filter: Option<AlertFilter>) -> AppResult<Select<alert::Entity>> {
    let f = filter.unwrap_or_default();
    let mut q = scope::alerts(principal);
    if let Some(kind) = f.kind {
        q = q.filter(alert::Column::Kind.eq(kind.as_str()));
    }
    if let Some(status) = f.status {
        q = q.filter(alert::Column::Status.eq(status.as_str()));
    }
    if let Some(raw) = &f.policy_id {
        q = q.filter(alert::Column::PolicyId.eq(ids::decode_input(raw, "Policy", "filter.policyId")?));
    }
    if let Some(raw) = &f.client_id {
        q = q.filter(alert::Column::ClientId.eq(ids::decode_input(raw, "Client", "filter.clientId")?));
    }
    if let Some(day) = f.from {
        q = q.filter(alert::Column::DueDate.gte(day.0));
    }
    if let Some(day) = f.to {
        q = q.filter(alert::Column::DueDate.lte(day.0));
    }
    Ok(q.order_by_desc(alert::Column::CreatedAt).order_by_asc(alert::Column::Id))
}

/// Marks an alert the caller may read as acknowledged (once: acknowledging again changes nothing).
pub async fn acknowledge(db: &impl ConnectionTrait, principal: &Principal, id: Uuid) -> AppResult<alert::Model> {
    let found = scope::one(db, scope::alerts(principal), alert::Column::Id, id, "Alert").await?;
    if found.acknowledged_at.is_some() {
        return Ok(found);
    }
    let now = Utc::now();
    alert::Entity::update_many()
        .col_expr(alert::Column::Status, sea_orm::sea_query::Expr::value(AlertStatus::Acknowledged.as_str()))
        .col_expr(alert::Column::AcknowledgedAt, sea_orm::sea_query::Expr::value(now))
        .col_expr(alert::Column::AcknowledgedBy, sea_orm::sea_query::Expr::value(principal.user_id))
        .filter(alert::Column::Id.eq(found.id))
        .filter(alert::Column::AcknowledgedAt.is_null())
        .exec(db)
        .await?;
    scope::one(db, scope::alerts(principal), alert::Column::Id, id, "Alert").await
}

/// Inserts the alerts that do not exist yet (by policy, kind, due date and threshold) and returns
/// those: a few statements for any number, and never a duplicate, whoever else raises at once.
pub async fn raise(db: &impl ConnectionTrait, alerts: Vec<alert::Model>) -> AppResult<Vec<alert::Model>> {
    let backend = db.get_database_backend();
    let mut raised = Vec::new();
    for chunk in alerts.chunks(ROWS_PER_STATEMENT) {
        let mut insert = Query::insert();
        insert.into_table(alert::Entity).columns([
            alert::Column::Id,
            alert::Column::OrganizationId,
            alert::Column::Kind,
            alert::Column::Status,
            alert::Column::PolicyId,
            alert::Column::ClientId,
            alert::Column::DueDate,
            alert::Column::DaysBefore,
            alert::Column::Message,
            alert::Column::CreatedAt,
            alert::Column::AcknowledgedAt,
            alert::Column::AcknowledgedBy,
        ]);
        for row in chunk {
            insert.values_panic([
                row.id.into(),
                row.organization_id.into(),
                row.kind.clone().into(),
                row.status.clone().into(),
                row.policy_id.into(),
                row.client_id.into(),
                row.due_date.into(),
                row.days_before.into(),
                row.message.clone().into(),
                row.created_at.into(),
                row.acknowledged_at.into(),
                row.acknowledged_by.into(),
            ]);
        }
        insert
            .on_conflict(
                OnConflict::columns([alert::Column::PolicyId, alert::Column::Kind, alert::Column::DueDate, alert::Column::DaysBefore])
                    .do_nothing()
                    .to_owned(),
            )
            .returning_all();
        raised.extend(alert::Model::find_by_statement(backend.build(&insert)).all(db).await?);
    }
    Ok(raised)
}

/// An alert as it travels on the event bus, with what decides who sees it.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Raised {
    pub alert: alert::Model,
    /// The owner of the alert's client: an AGENT sees only their own clients' alerts.
    pub owner_id: Option<Uuid>,
}

pub fn org_topic(organization: Uuid) -> String {
    format!("org-alerts:{organization}")
}

/// Publishes raised alerts on their organizations' topics. Call after the raising transaction commits.
pub async fn publish(state: &AppState, raised: &[alert::Model]) -> AppResult<()> {
    if raised.is_empty() {
        return Ok(());
    }
    let owners = owners_of(&state.db, raised).await?;
    for row in raised {
        let event = Raised { alert: row.clone(), owner_id: owners.get(&row.client_id).copied() };
        match serde_json::to_value(&event) {
            Ok(value) => state.events.publish(&org_topic(row.organization_id), value),
            Err(e) => tracing::error!(error = %e, "cannot serialise an alert event"),
        }
    }
    Ok(())
}

/// The owners of the alerts' clients, in one statement per 10,000.
pub async fn owners_of(db: &impl ConnectionTrait, alerts: &[alert::Model]) -> AppResult<HashMap<Uuid, Uuid>> {
    let mut ids: Vec<Uuid> = alerts.iter().map(|a| a.client_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut owners = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(10_000) {
        let rows: Vec<(Uuid, Uuid)> = client::Entity::find()
            .select_only()
            .column(client::Column::Id)
            .column(client::Column::OwnerId)
            .filter(client::Column::Id.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(db)
            .await?;
        owners.extend(rows);
    }
    Ok(owners)
}
