//! A REPORT-scope item: one document over the policies the requester could read (a bordereau).
//! XLSX streams rows from the database into the constant-memory sheet writer; Typst and HTML
//! templates see the whole list at once, so they cover at most `REPORT_MAX_POLICIES`.

use std::{collections::HashMap, sync::Arc};

use chrono::Utc;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use uuid::Uuid;

use super::{Failure, JobContext, Made, envelope};
use crate::{
    currency::Money,
    entities::{client, company, declaration_batch, declaration_item, policy},
    graphql::pagination::OrderDirection,
    jobs::params::{JobParams, ReportParams, too_many_policies},
    policies::types::{PolicyOrder, PolicyOrderField},
    state::AppState,
    templates::{
        render_data::{self, merge},
        report_row::{Declared, ReportPolicy, ReportRow},
        types::DocumentFormat,
    },
};

/// Policies read per statement for a report.
const REPORT_PAGE: u64 = 1000;

pub(super) async fn make(state: &AppState, ctx: &JobContext, number: &str) -> Result<Made, Failure> {
    let JobParams::Report(params) = &ctx.params else {
        return Err(Failure::Template("a report job needs report parameters".into()));
    };
    let date = Utc::now().format("%Y-%m-%d").to_string();
    let renderer = ctx.renderer(state);
    // Pages, not rows, cross the channel: a row at a time would wake the writer's thread
    // 100,000 times for a 100,000-row report.
    let (pages, received) = mpsc::channel(2);
    let rendered = if ctx.format == DocumentFormat::Xlsx {
        // Rows go from the database straight into the constant-memory sheet writer:
        // at most a page and the channel's worth of rows are held at once.
        let started = std::time::Instant::now();
        let reading = async {
            let read = send_rows(state, ctx, params, pages).await;
            (read, started.elapsed())
        };
        let ((read, read_time), rendered) = tokio::join!(reading, renderer.render_xlsx_rows(&ctx.version.content, received));
        read?;
        tracing::debug!(job = %ctx.job.id, read_ms = read_time.as_millis() as u64, total_ms = started.elapsed().as_millis() as u64, "report streamed");
        rendered?
    } else {
        // The policies may have grown since the report was queued (and checked): it stays bounded.
        let limit = state.settings.report_max_policies;
        let (read, rows) = tokio::join!(send_rows(state, ctx, params, pages), collect(received, limit));
        read?;
        let rows = rows.ok_or_else(|| Failure::Template(too_many_policies(limit)))?;
        let mut data = merge(envelope(ctx, number), json!({"policies": rows}));
        if let Some(batch) = params.declaration {
            data = merge(data, declaration(state, batch).await?);
        }
        renderer.render(ctx.format, ctx.scope, &ctx.version.content, &ctx.assets, data).await?
    };
    Ok(Made { rendered, name_part: date, policy_id: None, client_id: None })
}

/// A bordereau's rows carry what each policy was declared with: its premium and commission then.
async fn declared(state: &AppState, batch: Uuid, rows: &mut [ReportRow]) -> Result<(), Failure> {
    let found = declaration_batch::Entity::find_by_id(batch).one(&state.db).await?;
    let currency = found.ok_or_else(|| Failure::Template("the declaration batch is gone".into()))?.currency;
    let items: HashMap<Uuid, declaration_item::Model> = declaration_item::Entity::find()
        .filter(declaration_item::Column::BatchId.eq(batch))
        .filter(declaration_item::Column::PolicyId.is_in(rows.iter().map(|row| row.policy.id)))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|item| (item.policy_id, item))
        .collect();
    for row in rows.iter_mut() {
        if let Some(item) = items.get(&row.policy.id) {
            let declared = Declared { premium_minor: item.premium_minor, commission_minor: item.commission_minor, currency: currency.clone() };
            row.declared = Some(declared);
        }
    }
    Ok(())
}

/// What a bordereau's PDF or HTML template sees of its batch: `declaration`.
async fn declaration(state: &AppState, batch: Uuid) -> Result<Value, Failure> {
    let found = declaration_batch::Entity::find_by_id(batch).one(&state.db).await?;
    let batch = found.ok_or_else(|| Failure::Template("the declaration batch is gone".into()))?;
    let amount = |minor: i64| Money::to_decimal(minor, &batch.currency).to_string();
    Ok(json!({"declaration": {
        "periodStart": batch.period_start.to_string(), "periodEnd": batch.period_end.to_string(),
        "currency": batch.currency, "itemCount": batch.item_count,
        "totalPremium": amount(batch.total_premium_minor), "totalCommission": amount(batch.total_commission_minor),
    }}))
}

/// Every row as JSON, or `None` as soon as there are more than `limit` (the reader then stops).
async fn collect(mut pages: mpsc::Receiver<Vec<ReportRow>>, limit: u64) -> Option<Vec<Value>> {
    let mut rows = Vec::new();
    while let Some(page) = pages.recv().await {
        rows.extend(page.iter().map(ReportRow::to_json));
        if rows.len() as u64 > limit {
            return None;
        }
    }
    Some(rows)
}


/// Sends the report's rows in policy-number order, read a page at a time through the
/// requester's scope (keyset on the number, unique per organization, so no page is
/// re-read or skipped and no offset grows). Stops early, without error, if the reader
/// is gone (the renderer refused the template: its error is the item's).
async fn send_rows(state: &AppState, ctx: &JobContext, params: &ReportParams, pages: mpsc::Sender<Vec<ReportRow>>) -> Result<(), Failure> {
    let by_number = vec![PolicyOrder { field: PolicyOrderField::Number, direction: OrderDirection::Asc }];
    // The job's organization only, whoever queued it.
    let base = params.policies(ctx.job.organization_id, Some(by_number)).map_err(|e| Failure::Template(e.to_string()))?;
    let mut after: Option<String> = None;
    // What a template sees of each client and company, made once and shared by their rows.
    let mut clients: HashMap<Uuid, Arc<Value>> = HashMap::new();
    let mut companies: HashMap<Uuid, Arc<Value>> = HashMap::new();
    loop {
        let mut query = base.clone().limit(REPORT_PAGE);
        if let Some(last) = &after {
            query = query.filter(policy::Column::Number.gt(last.as_str()));
        }
        let page = ReportPolicy::select(query).all(&state.db).await?;
        let Some(last) = page.last() else { return Ok(()) };
        after = Some(last.number.clone());
        // Each client and company is read once for the whole report (most policies share them);
        // bounded: a report over many distinct clients keeps at most a few pages' worth.
        if clients.len() > 4 * REPORT_PAGE as usize {
            clients.clear();
        }
        let mut client_ids: Vec<Uuid> = page.iter().map(|policy| policy.client_id).filter(|id| !clients.contains_key(id)).collect();
        client_ids.sort_unstable();
        client_ids.dedup();
        if !client_ids.is_empty() {
            let found = client::Entity::find().filter(client::Column::Id.is_in(client_ids)).all(&state.db).await?;
            clients.extend(found.iter().map(|c| (c.id, Arc::new(render_data::client(c)))));
        }
        let mut company_ids: Vec<Uuid> = page.iter().map(|policy| policy.company_id).filter(|id| !companies.contains_key(id)).collect();
        company_ids.sort_unstable();
        company_ids.dedup();
        if !company_ids.is_empty() {
            let found = company::Entity::find().filter(company::Column::Id.is_in(company_ids)).all(&state.db).await?;
            companies.extend(found.iter().map(|c| (c.id, Arc::new(render_data::company(c)))));
        }
        let full = page.len() as u64 == REPORT_PAGE;
        let mut rows: Vec<ReportRow> = page
            .into_iter()
            .map(|policy| {
                let (client, company) = (clients.get(&policy.client_id).cloned(), companies.get(&policy.company_id).cloned());
                ReportRow::new(policy, client, company)
            })
            .collect();
        if let Some(batch) = params.declaration {
            declared(state, batch, &mut rows).await?;
        }
        if pages.send(rows).await.is_err() {
            return Ok(());
        }
        if !full {
            return Ok(());
        }
    }
}
