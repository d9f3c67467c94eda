//! Alert queries, mutations and the `alertRaised` subscription.

use async_graphql::{Context, ID, Object, Result, Subscription};
use futures_util::{Stream, StreamExt};
use serde_json::json;

use super::{
    service::{self, Raised},
    settings,
    types::{Alert, AlertFilter, AlertSettings, UpdateAlertSettingsInput},
};
use crate::{
    audit::service::Audited,
    graphql::{
        context::{ContextExt, hold_subscription},
        ids,
        pagination::{Page, PageArgs, paginate},
    },
    principal::Role,
};

#[derive(Default)]
pub struct AlertQuery;

#[Object]
impl AlertQuery {
    /// The alerts the caller may read (an AGENT's own clients', the organization's for everyone
    /// else), newest first.
    #[graphql(complexity = "crate::graphql::pagination::cost(first, last, child_complexity)")]
    async fn alerts(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<AlertFilter>,
    ) -> Result<Page<Alert>> {
        let p = ctx.principal()?;
        let q = service::list(p, filter)?;
        Ok(paginate(&ctx.state().db, q, PageArgs::new(first, after, last, before).counted(ctx), Alert).await?)
    }

    /// The caller's organization's alert settings.
    async fn alert_settings(&self, ctx: &Context<'_>) -> Result<AlertSettings> {
        let p = ctx.principal()?;
        Ok(settings::get(&ctx.state().db, p.org_id).await?)
    }
}

#[derive(Default)]
pub struct AlertMutation;

#[Object]
impl AlertMutation {
    /// Changes the organization's alert thresholds and recipients (ADMIN).
    async fn update_alert_settings(&self, ctx: &Context<'_>, input: UpdateAlertSettingsInput) -> Result<AlertSettings> {
        let p = ctx.principal()?;
        p.require(Role::Admin)?;
        let tx = Audited::begin(ctx).await?;
        let saved = settings::update(tx.db(), p.org_id, input).await?;
        let metadata = json!({
            "expiryDaysBefore": saved.expiry_days_before,
            "instalmentDaysBefore": saved.instalment_days_before,
            "emailOwner": saved.email_owner,
            "emailClient": saved.email_client,
        });
        tx.commit("alert_settings.update", Some(("Organization", p.org_id)), metadata).await?;
        Ok(saved)
    }

    /// Acknowledges an alert the caller may read (acknowledging it again changes nothing).
    async fn acknowledge_alert(&self, ctx: &Context<'_>, id: ID) -> Result<Alert> {
        let p = ctx.principal()?;
        let key = ids::decode(&id, "Alert")?;
        let tx = Audited::begin(ctx).await?;
        let row = service::acknowledge(tx.db(), p, key).await?;
        tx.commit("alert.acknowledge", Some(("Alert", row.id)), json!({"kind": row.kind})).await?;
        Ok(Alert(row))
    }
}

#[derive(Default)]
pub struct AlertSubscription;

#[Subscription]
impl AlertSubscription {
    /// Each alert the caller may read, as the scheduler raises it (an AGENT's own clients', the
    /// organization's for everyone else). Counts towards `MAX_SUBSCRIPTIONS_PER_USER`.
    async fn alert_raised(&self, ctx: &Context<'_>) -> Result<impl Stream<Item = Alert> + use<>> {
        let p = ctx.principal()?.clone();
        let state = ctx.state().clone();
        let held = hold_subscription(&state, &p)?;
        let live = state.events.subscribe(&service::org_topic(p.org_id));
        Ok(live.filter_map(move |event| {
            let _held = &held;
            // Decoded once for every subscriber of the organization; each keeps what it may see.
            let visible = event.decode::<Raised>().filter(|raised| {
                raised.alert.organization_id == p.org_id && (!p.is_agent() || raised.owner_id == Some(p.user_id))
            });
            std::future::ready(visible.map(|raised| Alert(raised.alert.clone())))
        }))
    }
}
