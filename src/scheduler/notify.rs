//! The mail a tick's alerts call for: to the client's owner when `emailOwner` (the organization's
//! ADMINs when the owner cannot receive it), and to the client when `emailClient` and it has an
//! address. Queued in the tick's transaction, so an alert and its mail commit together.

use std::collections::{HashMap, HashSet};

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::{
    alerts::{self, types::AlertSettings},
    clients::types::display_name_of,
    entities::{alert, client, policy, user},
    error::AppResult,
    mail::{
        service::{Outgoing, enqueue_many},
        templates::{self, Locale},
        types::MessageKind,
    },
    principal::Role,
};

/// Queues the mail of `raised`; returns how many messages.
pub async fn mail_alerts(db: &impl ConnectionTrait, raised: &[alert::Model]) -> AppResult<usize> {
    if raised.is_empty() {
        return Ok(0);
    }
    let organizations: HashSet<Uuid> = raised.iter().map(|a| a.organization_id).collect();
    let mut settings = HashMap::new();
    for id in &organizations {
        settings.insert(*id, alerts::settings::get(db, *id).await?);
    }
    let client_ids: HashSet<Uuid> = raised.iter().map(|a| a.client_id).collect();
    // A first tick over a large book raises tens of thousands of alerts: the reads are chunked.
    let clients: HashMap<Uuid, client::Model> = crate::db::all_in(db, client::Entity::find(), client::Column::Id, client_ids)
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    let policy_ids: HashSet<Uuid> = raised.iter().map(|a| a.policy_id).collect();
    let numbers: HashMap<Uuid, String> = crate::db::all_in(db, policy::Entity::find(), policy::Column::Id, policy_ids)
        .await?
        .into_iter()
        .map(|p| (p.id, p.number))
        .collect();
    let staff: Vec<user::Model> = user::Entity::find()
        .filter(user::Column::OrganizationId.is_in(organizations.iter().copied()))
        .filter(user::Column::IsActive.eq(true))
        .all(db)
        .await?;
    let by_id: HashMap<Uuid, &user::Model> = staff.iter().map(|u| (u.id, u)).collect();
    let admins = |org: Uuid| -> Vec<String> {
        staff
            .iter()
            .filter(|u| u.organization_id == org && Role::parse(&u.role).is_some_and(|r| r >= Role::Admin))
            .map(|u| u.email.clone())
            .collect()
    };

    let mut outgoing = Vec::new();
    for row in raised {
        let settings: &AlertSettings = &settings[&row.organization_id];
        let Some(holder) = clients.get(&row.client_id) else { continue };
        let number = numbers.get(&row.policy_id).map(String::as_str).unwrap_or("?");
        let due = row.due_date.format("%d/%m/%Y").to_string();
        let rendered = |locale| templates::alert(locale, &row.message, number, &display_name_of(holder), &due);
        if settings.email_owner {
            let owner = by_id.get(&holder.owner_id).map(|u| vec![u.email.clone()]);
            let to = owner.unwrap_or_else(|| admins(row.organization_id));
            if !to.is_empty() {
                outgoing.push(message(row, to, rendered(Locale::Fr)?));
            }
        }
        if settings.email_client && let Some(address) = holder.email.clone().filter(|e| !e.is_empty()) {
            outgoing.push(message(row, vec![address], rendered(Locale::Fr)?));
        }
    }
    enqueue_many(db, outgoing).await
}

fn message(row: &alert::Model, recipients: Vec<String>, rendered: templates::Rendered) -> Outgoing {
    Outgoing {
        organization_id: Some(row.organization_id),
        kind: MessageKind::Alert,
        recipients,
        rendered,
        document_id: None,
        locale: Locale::Fr,
    }
}
