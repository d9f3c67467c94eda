//! Declaration batches: made in one transaction from the insurer's policies not yet declared
//! (a unique key on the policy keeps concurrent batches apart), deleted while drafts, sent once.

use chrono::{NaiveDate, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Select, Set, Statement,
};
use uuid::Uuid;

use super::types::{CreateDeclarationBatchInput, DeclarationBatchFilter, DeclarationStatus};
use crate::{
    commissions::rules::{RATE_SQL, commission_sql},
    integrations,
    currency::{Money, currency},
    entities::{client, company, declaration_batch, declaration_item, document, job, organization, policy},
    error::{AppError, AppResult},
    graphql::ids,
    mail::{
        service::Outgoing,
        templates::{self, DeclarationSummary, Locale},
        types::MessageKind,
    },
    principal::Principal,
    scope,
};

/// The longest period one batch may cover.
const PERIOD_MAX_DAYS: i64 = 366;

/// Declaration batches of the caller's organization.
pub fn batches(principal: &Principal) -> Select<declaration_batch::Entity> {
    let query = declaration_batch::Entity::find();
    if principal.is_superadmin() { query } else { query.filter(declaration_batch::Column::OrganizationId.eq(principal.org_id)) }
}

/// One batch of the caller's organization (`NOT_FOUND` otherwise).
pub async fn get(db: &impl ConnectionTrait, principal: &Principal, id: Uuid) -> AppResult<declaration_batch::Model> {
    scope::one(db, batches(principal), declaration_batch::Column::Id, id, "DeclarationBatch").await
}

/// The batches, filtered, newest first.
pub fn list(principal: &Principal, filter: Option<DeclarationBatchFilter>) -> AppResult<Select<declaration_batch::Entity>> {
    let mut query = batches(principal);
    if let Some(filter) = filter {
        if let Some(raw) = &filter.company_id {
            query = query.filter(declaration_batch::Column::CompanyId.eq(ids::decode_input(raw, "Company", "filter.companyId")?));
        }
        if let Some(status) = filter.status {
            query = match status {
                DeclarationStatus::Draft => query.filter(declaration_batch::Column::Status.eq("DRAFT")),
                DeclarationStatus::Sent => query.filter(declaration_batch::Column::Status.eq("SENT")).filter(super::types::failed().not()),
                DeclarationStatus::Failed => query.filter(declaration_batch::Column::Status.eq("SENT")).filter(super::types::failed()),
            };
        }
    }
    Ok(query.order_by_desc(declaration_batch::Column::CreatedAt).order_by_desc(declaration_batch::Column::Id))
}

/// A checked period: start before end, at most a year.
fn period(start: NaiveDate, end: NaiveDate) -> AppResult<(NaiveDate, NaiveDate)> {
    if end < start {
        return Err(AppError::invalid("input.periodEnd", "must not be before periodStart"));
    }
    if (end - start).num_days() >= PERIOD_MAX_DAYS {
        return Err(AppError::invalid("input.periodEnd", "a batch covers at most a year"));
    }
    Ok((start, end))
}

/// Makes a DRAFT batch of the insurer's ACTIVE or EXPIRED policies in `currency` whose effective
/// date is in the period and that no batch holds yet, with their premium and commission now, and
/// the batch's exact totals. The caller's transaction; the document's job is queued after it.
pub async fn create(
    db: &impl ConnectionTrait,
    principal: &Principal,
    input: &CreateDeclarationBatchInput,
    template_id: Uuid,
    max_policies: u64,
) -> AppResult<declaration_batch::Model> {
    let company_id = ids::decode_input(&input.company_id, "Company", "input.companyId")?;
    let (start, end) = period(input.period_start.0, input.period_end.0)?;
    let code = currency(input.currency.as_deref().unwrap_or("XAF"), "input.currency")?;
    let company = scope::one(db, scope::companies(principal), company::Column::Id, company_id, "Company").await?;
    let now = Utc::now();
    let batch = declaration_batch::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(company.organization_id),
        company_id: Set(company.id),
        period_start: Set(start),
        period_end: Set(end),
        currency: Set(code.clone()),
        status: Set("DRAFT".into()),
        item_count: Set(0),
        total_premium_minor: Set(0),
        total_commission_minor: Set(0),
        template_id: Set(template_id),
        job_id: Set(None),
        message_id: Set(None),
        delivery_id: Set(None),
        sent_at: Set(None),
        created_by: Set(Some(principal.user_id)),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await?;

    let backend = db.get_database_backend();
    // `WHERE true` before `ON CONFLICT`: SQLite would read the `ON` as a join's.
    let mut sql = format!(
        "INSERT INTO declaration_items (batch_id, organization_id, policy_id, premium_minor, commission_minor) \
         SELECT $1, t.organization_id, t.id, t.premium, {commission} FROM ( \
           SELECT p.id, p.organization_id, p.premium_minor AS premium, p.net_premium_minor AS net, {RATE_SQL} AS rate_ppm \
           FROM policies p WHERE p.organization_id = $2 AND p.company_id = $3 AND p.status IN ('ACTIVE', 'EXPIRED') \
           AND p.effective_date >= $4 AND p.effective_date <= $5 AND p.currency = $6 \
           AND NOT EXISTS (SELECT 1 FROM declaration_items i WHERE i.policy_id = p.id)) t \
         WHERE true ON CONFLICT (policy_id) DO NOTHING",
        commission = commission_sql("t.net", "t.rate_ppm"),
    );
    let mut totals = "UPDATE declaration_batches SET \
        item_count = (SELECT COUNT(*) FROM declaration_items WHERE batch_id = $1), \
        total_premium_minor = (SELECT COALESCE(SUM(premium_minor), 0) FROM declaration_items WHERE batch_id = $1), \
        total_commission_minor = (SELECT COALESCE(SUM(commission_minor), 0) FROM declaration_items WHERE batch_id = $1) \
        WHERE id = $1"
        .to_string();
    if backend == sea_orm::DatabaseBackend::Sqlite {
        sql = sql.replace('$', "?");
        totals = totals.replace("$1", "?1");
    }
    let values: [sea_orm::Value; 6] =
        [batch.id.into(), company.organization_id.into(), company.id.into(), start.into(), end.into(), code.into()];
    db.execute_raw(Statement::from_sql_and_values(backend, sql, values)).await?;
    db.execute_raw(Statement::from_sql_and_values(backend, totals, [batch.id.into()])).await?;
    let made = get(db, principal, batch.id).await?;
    // Sent whole (one mail, one webhook body): bounded. The caller's transaction rolls back.
    if made.item_count as u64 > max_policies {
        return Err(AppError::invalid(
            "input.periodEnd",
            format!("{} policies to declare, more than {max_policies} (DECLARATION_MAX_POLICIES): declare a shorter period", made.item_count),
        ));
    }
    Ok(made)
}

/// Remembers the job rendering the batch's document.
pub async fn attach_job(db: &impl ConnectionTrait, batch: Uuid, job: Uuid) -> AppResult<()> {
    declaration_batch::Entity::update_many()
        .col_expr(declaration_batch::Column::JobId, sea_orm::sea_query::Expr::value(job))
        .filter(declaration_batch::Column::Id.eq(batch))
        .exec(db)
        .await?;
    Ok(())
}

/// Deletes a DRAFT batch (its policies are free again). A batch that is sent, or being sent at
/// the same moment, is a `BAD_USER_INPUT` / `CONFLICT`.
pub async fn delete(db: &impl ConnectionTrait, principal: &Principal, id: Uuid) -> AppResult<declaration_batch::Model> {
    let batch = get(db, principal, id).await?;
    if batch.status != "DRAFT" {
        return Err(AppError::invalid("id", "only a DRAFT batch can be deleted; this one was sent"));
    }
    let deleted = declaration_batch::Entity::delete_many()
        .filter(declaration_batch::Column::Id.eq(id))
        .filter(declaration_batch::Column::Status.eq("DRAFT"))
        .exec(db)
        .await?;
    if deleted.rows_affected != 1 {
        return Err(AppError::conflict("the batch was sent while it was being deleted"));
    }
    Ok(batch)
}

/// The document the batch's job made, once it has.
pub async fn document_of(db: &impl ConnectionTrait, batch: &declaration_batch::Model) -> AppResult<Option<document::Model>> {
    let Some(job_id) = batch.job_id else { return Ok(None) };
    Ok(document::Entity::find().filter(document::Column::JobId.eq(job_id)).one(db).await?)
}

/// The event a sent batch is delivered as.
pub const EVENT: &str = "declaration.sent";

/// Sends a DRAFT batch (or again one whose sending FAILED), in the caller's transaction: a
/// `DECLARATION` message with the document to the insurer's `contactEmail`, and a signed delivery
/// to its integration; at least one of the two. Returns the batch as sent and the message queued
/// (the caller wakes the senders after commit).
pub async fn send(
    db: &impl ConnectionTrait,
    principal: &Principal,
    id: Uuid,
    locale: Locale,
) -> AppResult<(declaration_batch::Model, Option<crate::entities::outbox::Model>)> {
    let batch = get(db, principal, id).await?;
    let status = super::types::status_of(db, &batch).await?;
    if status == DeclarationStatus::Sent {
        return Err(AppError::conflict("this batch was already sent"));
    }
    let document = match document_of(db, &batch).await? {
        Some(document) => document,
        None => {
            let job = match batch.job_id {
                Some(job_id) => job::Entity::find_by_id(job_id).one(db).await?,
                None => None,
            };
            let state = job.map_or_else(|| "not queued".to_string(), |job| job.status.to_lowercase());
            return Err(AppError::conflict(format!("the batch's document is not ready yet (its job is {state}); try again once it has succeeded")));
        }
    };
    let company = company::Entity::find_by_id(batch.company_id).one(db).await?.ok_or(AppError::NotFound("Company"))?;
    let organization = organization::Entity::find_by_id(batch.organization_id).one(db).await?.ok_or(AppError::NotFound("Organization"))?;
    let amount = |minor: i64| Money::to_decimal(minor, &batch.currency).to_string();
    // To the insurer's integration, when it has one: the batch and its policies, signed.
    let payload = webhook_payload(db, &batch, &company, &document).await?;
    let delivery = integrations::service::enqueue(db, batch.organization_id, company.id, EVENT, batch.id, payload).await?;
    // And by mail to its contact address, when it has one.
    let recipient = company.contact_email.clone().filter(|email| !email.trim().is_empty());
    let message = match recipient {
        Some(recipient) => {
            let (start, end) = (batch.period_start.to_string(), batch.period_end.to_string());
            let (premium, commission) = (amount(batch.total_premium_minor), amount(batch.total_commission_minor));
            let summary = DeclarationSummary {
                organization: &organization.name,
                period_start: &start,
                period_end: &end,
                item_count: batch.item_count,
                total_premium: &premium,
                total_commission: &commission,
                currency: &batch.currency,
                file_name: &document.file_name,
            };
            let outgoing = Outgoing {
                organization_id: Some(batch.organization_id),
                kind: MessageKind::Declaration,
                recipients: vec![recipient],
                rendered: templates::declaration(locale, &summary)?,
                document_id: Some(document.id),
                locale,
            };
            Some(crate::mail::service::enqueue(db, outgoing).await?)
        }
        None if delivery.is_some() => None,
        None => return Err(AppError::invalid("id", "the insurer has no contactEmail and no integration to send the bordereau to")),
    };
    let now = Utc::now();
    let updated = declaration_batch::Entity::update_many()
        .col_expr(declaration_batch::Column::Status, sea_orm::sea_query::Expr::value("SENT"))
        .col_expr(declaration_batch::Column::SentAt, sea_orm::sea_query::Expr::value(now))
        .col_expr(declaration_batch::Column::MessageId, sea_orm::sea_query::Expr::value(message.as_ref().map(|m| m.id)))
        .col_expr(declaration_batch::Column::DeliveryId, sea_orm::sea_query::Expr::value(delivery))
        .col_expr(declaration_batch::Column::UpdatedAt, sea_orm::sea_query::Expr::value(now))
        .filter(declaration_batch::Column::Id.eq(batch.id))
        .filter(declaration_batch::Column::Status.eq(batch.status.as_str()))
        .filter(match batch.message_id {
            Some(previous) => declaration_batch::Column::MessageId.eq(previous),
            None => declaration_batch::Column::MessageId.is_null(),
        })
        .filter(match batch.delivery_id {
            Some(previous) => declaration_batch::Column::DeliveryId.eq(previous),
            None => declaration_batch::Column::DeliveryId.is_null(),
        })
        .exec(db)
        .await?;
    if updated.rows_affected != 1 {
        return Err(AppError::conflict("the batch was sent or deleted while it was being sent"));
    }
    Ok((get(db, principal, batch.id).await?, message))
}

/// What an insurer's integration receives: `{"event", "batch": {…}, "policies": […]}`, each policy
/// with the premium and commission it was declared with.
async fn webhook_payload(
    db: &impl ConnectionTrait,
    batch: &declaration_batch::Model,
    company: &company::Model,
    document: &document::Model,
) -> AppResult<serde_json::Value> {
    use std::collections::HashMap;
    let amount = |minor: i64| Money::to_decimal(minor, &batch.currency).to_string();
    let items = declaration_item::Entity::find().filter(declaration_item::Column::BatchId.eq(batch.id)).all(db).await?;
    let declared: HashMap<Uuid, &declaration_item::Model> = items.iter().map(|item| (item.policy_id, item)).collect();
    let mut policies = Vec::with_capacity(items.len());
    for chunk in items.chunks(1_000) {
        let rows = policy::Entity::find()
            .filter(policy::Column::Id.is_in(chunk.iter().map(|item| item.policy_id)))
            .order_by_asc(policy::Column::Number)
            .all(db)
            .await?;
        let holders: HashMap<Uuid, client::Model> = client::Entity::find()
            .filter(client::Column::Id.is_in(rows.iter().map(|row| row.client_id)))
            .all(db)
            .await?
            .into_iter()
            .map(|holder| (holder.id, holder))
            .collect();
        for row in rows {
            let item = declared[&row.id];
            let holder = holders.get(&row.client_id).map(crate::templates::render_data::client);
            policies.push(serde_json::json!({
                "number": row.number, "productName": row.product_name, "productType": row.product_type, "status": row.status,
                "effectiveDate": row.effective_date.to_string(), "expiryDate": row.expiry_date.to_string(),
                "premium": amount(item.premium_minor), "commission": amount(item.commission_minor), "currency": batch.currency,
                "client": holder,
            }));
        }
    }
    Ok(serde_json::json!({
        "event": EVENT,
        "batch": {
            "id": ids::encode("DeclarationBatch", batch.id).to_string(),
            "company": {"id": ids::encode("Company", company.id).to_string(), "name": company.name, "code": company.code},
            "periodStart": batch.period_start.to_string(), "periodEnd": batch.period_end.to_string(), "currency": batch.currency,
            "itemCount": batch.item_count, "totalPremium": amount(batch.total_premium_minor),
            "totalCommission": amount(batch.total_commission_minor),
            "document": {"fileName": document.file_name, "mimeType": document.mime_type, "sha256": document.sha256, "sizeBytes": document.size_bytes},
        },
        "policies": policies,
    }))
}
