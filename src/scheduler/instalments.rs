//! The instalment calendar of one tick: the implicit instalment of ACTIVE and SUSPENDED policies
//! without a plan is written (the whole premium on the effective date, under the policy's id);
//! instalments past their due date and not fully paid become `OVERDUE` (`INSTALMENT_OVERDUE`), and
//! those due within the organization's `instalmentDaysBefore` raise `INSTALMENT_DUE` at the
//! tightest threshold reached. "Today" is each organization's own; every step is set-based.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, FromQueryResult,
    sea_query::{Alias, CaseStatement, Expr, ExprTrait, OnConflict, Query, SelectStatement, SimpleExpr},
};
use uuid::Uuid;

use super::expiry::{Group, groups_by, tightest};
use crate::{
    alerts::types::{AlertKind, AlertStatus},
    currency::Money,
    entities::{alert, instalment, organization, policy},
    error::AppResult,
    payments::types::InstalmentStatus,
    policies::types::PolicyStatus,
};

/// The policies whose instalments the scheduler follows.
const FOLLOWED: [PolicyStatus; 2] = [PolicyStatus::Active, PolicyStatus::Suspended];

fn followed() -> impl Iterator<Item = &'static str> {
    FOLLOWED.iter().map(|status| status.as_str())
}

/// Every organization, grouped by its today (at `now`) and its instalment thresholds.
pub async fn groups(db: &impl ConnectionTrait, now: DateTime<Utc>) -> AppResult<Vec<Group>> {
    groups_by(db, now, |settings| settings.instalment_days_before).await
}

/// Writes the implicit instalment of every followed policy that has none: one statement, which
/// writes nothing on a quiet tick.
pub async fn materialise(db: &impl ConnectionTrait, now: DateTime<Utc>) -> AppResult<u64> {
    let planned = Query::select()
        .expr(Expr::val(1))
        .from(instalment::Entity)
        .and_where(Expr::col((instalment::Entity, instalment::Column::PolicyId)).equals((policy::Entity, policy::Column::Id)))
        .to_owned();
    let select = Query::select()
        .column((policy::Entity, policy::Column::Id))
        .column((policy::Entity, policy::Column::OrganizationId))
        .expr(Expr::col((policy::Entity, policy::Column::Id)))
        .column((policy::Entity, policy::Column::EffectiveDate))
        .column((policy::Entity, policy::Column::PremiumMinor))
        .expr(Expr::val(0i64))
        .expr(Expr::val(InstalmentStatus::Due.as_str()))
        .expr(Expr::val(false))
        .expr(Expr::val(now))
        .expr(Expr::val(now))
        .from(policy::Entity)
        .and_where(Expr::col((policy::Entity, policy::Column::Status)).is_in(followed()))
        .and_where(Expr::exists(planned).not())
        .to_owned();
    let insert = Query::insert()
        .into_table(instalment::Entity)
        .columns([
            instalment::Column::Id,
            instalment::Column::OrganizationId,
            instalment::Column::PolicyId,
            instalment::Column::DueDate,
            instalment::Column::AmountMinor,
            instalment::Column::PaidMinor,
            instalment::Column::Status,
            instalment::Column::Planned,
            instalment::Column::CreatedAt,
            instalment::Column::UpdatedAt,
        ])
        .select_from(select)
        .map_err(|e| crate::error::AppError::Internal(anyhow::anyhow!("instalment insert: {e}")))?
        // A first payment may write the same implicit instalment at once.
        .on_conflict(OnConflict::column(instalment::Column::Id).do_nothing().to_owned())
        .to_owned();
    Ok(db.execute(&insert).await?.rows_affected())
}

/// The ids of the group's followed policies, as a subquery.
fn followed_policies(group: &Group) -> SelectStatement {
    Query::select()
        .column(policy::Column::Id)
        .from(policy::Entity)
        .and_where(policy::Column::OrganizationId.is_in(group.organizations.iter().copied()))
        .and_where(policy::Column::Status.is_in(followed()))
        .to_owned()
}

/// In SQL: the instalment is due on or after its organization's `payments_tracked_from` (when
/// set): older ones were collected before payments were recorded here and are never called overdue.
fn tracked() -> SimpleExpr {
    let before = Query::select()
        .expr(Expr::val(1))
        .from(organization::Entity)
        .and_where(Expr::col((organization::Entity, organization::Column::Id)).equals((instalment::Entity, instalment::Column::OrganizationId)))
        .and_where(
            Expr::col((organization::Entity, organization::Column::PaymentsTrackedFrom))
                .gt(Expr::col((instalment::Entity, instalment::Column::DueDate))),
        )
        .to_owned();
    Expr::exists(before).not()
}

/// Instalments of the group's followed policies past their due date and not fully paid become
/// `OVERDUE`: one statement. Returns how many.
pub async fn mark_overdue(db: &impl ConnectionTrait, group: &Group, now: DateTime<Utc>) -> AppResult<u64> {
    let update = Query::update()
        .table(instalment::Entity)
        .value(instalment::Column::Status, InstalmentStatus::Overdue.as_str())
        .value(instalment::Column::UpdatedAt, now)
        .and_where(instalment::Column::OrganizationId.is_in(group.organizations.iter().copied()))
        .and_where(instalment::Column::Status.is_in([InstalmentStatus::Due.as_str(), InstalmentStatus::Partial.as_str()]))
        .and_where(instalment::Column::DueDate.lt(group.today))
        .and_where(instalment::Column::PolicyId.in_subquery(followed_policies(group)))
        .and_where(tracked())
        .to_owned();
    Ok(db.execute(&update).await?.rows_affected())
}

/// An instalment the tick alerts about, with its policy.
#[derive(Debug, Clone, FromQueryResult)]
pub struct Due {
    pub policy_id: Uuid,
    pub organization_id: Uuid,
    pub client_id: Uuid,
    pub number: String,
    pub currency: String,
    pub due_date: NaiveDate,
    pub amount_minor: i64,
    pub paid_minor: i64,
}

/// The group's instalments of followed policies, with their policy, not yet alerted as `kind` at
/// `threshold` (an expression over the instalment's row).
fn instalments_of(group: &Group, statuses: &[InstalmentStatus], kind: AlertKind, threshold: Expr) -> SelectStatement {
    let raised = Query::select()
        .expr(Expr::val(1))
        .from(alert::Entity)
        .and_where(Expr::col((alert::Entity, alert::Column::PolicyId)).equals((instalment::Entity, instalment::Column::PolicyId)))
        .and_where(Expr::col((alert::Entity, alert::Column::Kind)).eq(kind.as_str()))
        .and_where(Expr::col((alert::Entity, alert::Column::DueDate)).equals((instalment::Entity, instalment::Column::DueDate)))
        .and_where(Expr::col((alert::Entity, alert::Column::DaysBefore)).eq(threshold))
        .to_owned();
    Query::select()
        .expr_as(Expr::col((policy::Entity, policy::Column::Id)), Alias::new("policy_id"))
        .column((policy::Entity, policy::Column::OrganizationId))
        .column((policy::Entity, policy::Column::ClientId))
        .column((policy::Entity, policy::Column::Number))
        .column((policy::Entity, policy::Column::Currency))
        .column((instalment::Entity, instalment::Column::DueDate))
        .column((instalment::Entity, instalment::Column::AmountMinor))
        .column((instalment::Entity, instalment::Column::PaidMinor))
        .from(instalment::Entity)
        .inner_join(
            policy::Entity,
            Expr::col((policy::Entity, policy::Column::Id)).equals((instalment::Entity, instalment::Column::PolicyId)),
        )
        .and_where(Expr::col((instalment::Entity, instalment::Column::OrganizationId)).is_in(group.organizations.iter().copied()))
        .and_where(Expr::col((instalment::Entity, instalment::Column::Status)).is_in(statuses.iter().map(|s| s.as_str())))
        .and_where(Expr::col((policy::Entity, policy::Column::Status)).is_in(followed()))
        .and_where(Expr::exists(raised).not())
        .and_where(tracked())
        .to_owned()
}

/// The group's `OVERDUE` instalments not yet alerted: one statement.
pub async fn overdue(db: &impl ConnectionTrait, group: &Group) -> AppResult<Vec<Due>> {
    let select = instalments_of(group, &[InstalmentStatus::Overdue], AlertKind::InstalmentOverdue, Expr::val(0));
    Ok(Due::find_by_statement(db.get_database_backend().build(&select)).all(db).await?)
}

/// The group's instalments due from today to its furthest threshold whose alert at the tightest
/// threshold reached does not exist yet: one statement, which finds nothing on a quiet tick.
pub async fn falling_due(db: &impl ConnectionTrait, group: &Group) -> AppResult<Vec<Due>> {
    let Some(&furthest) = group.thresholds.iter().max() else { return Ok(Vec::new()) };
    let until = group.today + chrono::Duration::days(i64::from(furthest));
    let mut reached: Option<CaseStatement> = None;
    for &threshold in &group.thresholds {
        let cond = Expr::col((instalment::Entity, instalment::Column::DueDate))
            .lte(group.today + chrono::Duration::days(i64::from(threshold)));
        reached = Some(match reached {
            None => Expr::case(cond, threshold),
            Some(case) => case.case(cond, threshold),
        });
    }
    let Some(reached) = reached else { return Ok(Vec::new()) };
    let mut select =
        instalments_of(group, &[InstalmentStatus::Due, InstalmentStatus::Partial], AlertKind::InstalmentDue, reached.into());
    select
        .and_where(Expr::col((instalment::Entity, instalment::Column::DueDate)).gte(group.today))
        .and_where(Expr::col((instalment::Entity, instalment::Column::DueDate)).lte(until));
    Ok(Due::find_by_statement(db.get_database_backend().build(&select)).all(db).await?)
}

/// The `INSTALMENT_DUE` alert for an instalment `group.today` finds within a threshold.
pub fn due_alert(group: &Group, due: &Due, now: DateTime<Utc>) -> Option<alert::Model> {
    let days_left = (due.due_date - group.today).num_days();
    let threshold = tightest(&group.thresholds, days_left)?;
    let when = match days_left {
        0 => "aujourd'hui".to_string(),
        1 => "demain".to_string(),
        n => format!("dans {n} jours"),
    };
    let message = format!(
        "L'échéance du {} de la police {} ({} {}) est due {when}.",
        due.due_date.format("%d/%m/%Y"),
        due.number,
        Money::to_decimal(due.amount_minor - due.paid_minor, &due.currency),
        due.currency
    );
    Some(new_alert(AlertKind::InstalmentDue, due, threshold, message, now))
}

/// The `INSTALMENT_OVERDUE` alert for an instalment past due and not fully paid.
pub fn overdue_alert(due: &Due, now: DateTime<Utc>) -> alert::Model {
    let message = format!(
        "L'échéance du {} de la police {} est impayée : il reste {} {} à régler.",
        due.due_date.format("%d/%m/%Y"),
        due.number,
        Money::to_decimal(due.amount_minor - due.paid_minor, &due.currency),
        due.currency
    );
    new_alert(AlertKind::InstalmentOverdue, due, 0, message, now)
}

fn new_alert(kind: AlertKind, due: &Due, days_before: i32, message: String, now: DateTime<Utc>) -> alert::Model {
    alert::Model {
        id: Uuid::now_v7(),
        organization_id: due.organization_id,
        kind: kind.as_str().to_string(),
        status: AlertStatus::Open.as_str().to_string(),
        policy_id: due.policy_id,
        client_id: due.client_id,
        due_date: due.due_date,
        days_before,
        message,
        created_at: now,
        acknowledged_at: None,
        acknowledged_by: None,
    }
}
