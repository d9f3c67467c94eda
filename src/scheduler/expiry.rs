//! The policy calendar of one tick: policies past their expiry become `EXPIRED` (audited, no
//! actor), and the alerts their dates call for are built (`POLICY_EXPIRED`, and `POLICY_EXPIRING`
//! at the tightest threshold reached). "Today" is each organization's own; organizations are
//! grouped by time zone and thresholds, and each group costs one statement per kind of change.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter, QuerySelect,
    sea_query::{CaseStatement, Expr, ExprTrait, Query},
};
use serde_json::json;
use uuid::Uuid;

use crate::{
    alerts::types::{AlertKind, AlertSettings, AlertStatus},
    entities::{alert, alert_setting, audit_log, organization, policy},
    error::AppResult,
    organizations::timezone,
    policies::types::PolicyStatus,
};

/// Rows per audit insert: SQLite takes at most 32,766 bound values (8 per row).
const AUDIT_ROWS_PER_STATEMENT: usize = 4_000;

/// Organizations that share a "today" and expiry thresholds.
pub struct Group {
    pub today: NaiveDate,
    pub thresholds: Vec<i32>,
    pub organizations: Vec<Uuid>,
}

/// Every organization, grouped by its today (at `now`) and its expiry thresholds: two statements.
pub async fn groups(db: &impl ConnectionTrait, now: DateTime<Utc>) -> AppResult<Vec<Group>> {
    groups_by(db, now, |settings| settings.expiry_days_before).await
}

/// Every organization, grouped by its today (at `now`) and the thresholds `thresholds_of` picks from
/// its alert settings: two statements.
pub async fn groups_by(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    thresholds_of: impl Fn(AlertSettings) -> Vec<i32>,
) -> AppResult<Vec<Group>> {
    let zones: Vec<(Uuid, String)> = organization::Entity::find()
        .select_only()
        .column(organization::Column::Id)
        .column(organization::Column::Timezone)
        .into_tuple()
        .all(db)
        .await?;
    let settings: BTreeMap<Uuid, alert_setting::Model> =
        alert_setting::Entity::find().all(db).await?.into_iter().map(|row| (row.organization_id, row)).collect();
    let mut by_key: BTreeMap<(NaiveDate, Vec<i32>), Vec<Uuid>> = BTreeMap::new();
    for (id, zone) in zones {
        let mut thresholds = thresholds_of(AlertSettings::of(settings.get(&id)));
        thresholds.sort_unstable();
        by_key.entry((timezone::today_in(&zone, now), thresholds)).or_default().push(id);
    }
    Ok(by_key.into_iter().map(|((today, thresholds), organizations)| Group { today, thresholds, organizations }).collect())
}

/// A policy the tick changed or alerts about.
#[derive(Debug, Clone, FromQueryResult)]
pub struct Due {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub client_id: Uuid,
    pub number: String,
    pub expiry_date: NaiveDate,
}

/// ACTIVE or SUSPENDED policies of the group past their expiry become EXPIRED: one statement.
pub async fn expire(db: &impl ConnectionTrait, group: &Group, now: DateTime<Utc>) -> AppResult<Vec<Due>> {
    let update = Query::update()
        .table(policy::Entity)
        .value(policy::Column::Status, PolicyStatus::Expired.as_str())
        .value(policy::Column::UpdatedAt, now)
        .and_where(policy::Column::OrganizationId.is_in(group.organizations.iter().copied()))
        .and_where(policy::Column::Status.is_in([PolicyStatus::Active.as_str(), PolicyStatus::Suspended.as_str()]))
        .and_where(policy::Column::ExpiryDate.lt(group.today))
        .returning(
            Query::returning().columns([
                policy::Column::Id,
                policy::Column::OrganizationId,
                policy::Column::ClientId,
                policy::Column::Number,
                policy::Column::ExpiryDate,
            ]),
        )
        .to_owned();
    Ok(Due::find_by_statement(db.get_database_backend().build(&update)).all(db).await?)
}

/// The audit rows of expired policies (no actor: the scheduler did it), in as few statements as SQLite allows.
pub async fn audit(db: &impl ConnectionTrait, expired: &[Due], now: DateTime<Utc>) -> AppResult<()> {
    for chunk in expired.chunks(AUDIT_ROWS_PER_STATEMENT) {
        let mut insert = Query::insert();
        insert.into_table(audit_log::Entity).columns([
            audit_log::Column::Id,
            audit_log::Column::OrganizationId,
            audit_log::Column::Action,
            audit_log::Column::ObjectType,
            audit_log::Column::ObjectId,
            audit_log::Column::Metadata,
            audit_log::Column::CreatedAt,
            audit_log::Column::RequestId,
        ]);
        for row in chunk {
            let metadata = json!({"number": row.number, "status": PolicyStatus::Expired.as_str(), "expiryDate": row.expiry_date});
            insert.values_panic([
                Uuid::now_v7().into(),
                Some(row.organization_id).into(),
                "policy.expire".into(),
                Some("Policy").into(),
                Some(row.id).into(),
                metadata.into(),
                now.into(),
                Some("scheduler").into(),
            ]);
        }
        db.execute(&insert).await?;
    }
    Ok(())
}

/// ACTIVE policies of the group expiring from today to its furthest threshold whose alert at the
/// tightest threshold reached does not exist yet: one statement, which finds nothing on a quiet tick.
pub async fn expiring(db: &impl ConnectionTrait, group: &Group) -> AppResult<Vec<Due>> {
    let Some(&furthest) = group.thresholds.iter().max() else { return Ok(Vec::new()) };
    let until = group.today + chrono::Duration::days(i64::from(furthest));
    // The tightest threshold reached, in SQL: CASE WHEN expiry <= today + 7 THEN 7 WHEN … END.
    let mut thresholds = group.thresholds.clone();
    thresholds.sort_unstable();
    let mut reached: Option<CaseStatement> = None;
    for threshold in thresholds {
        let cond = Expr::col((policy::Entity, policy::Column::ExpiryDate)).lte(group.today + chrono::Duration::days(i64::from(threshold)));
        reached = Some(match reached {
            None => Expr::case(cond, threshold),
            Some(case) => case.case(cond, threshold),
        });
    }
    let Some(reached) = reached else { return Ok(Vec::new()) };
    let raised = Query::select()
        .expr(Expr::val(1))
        .from(alert::Entity)
        .and_where(Expr::col((alert::Entity, alert::Column::PolicyId)).equals((policy::Entity, policy::Column::Id)))
        .and_where(Expr::col((alert::Entity, alert::Column::Kind)).eq(AlertKind::PolicyExpiring.as_str()))
        .and_where(Expr::col((alert::Entity, alert::Column::DueDate)).equals((policy::Entity, policy::Column::ExpiryDate)))
        .and_where(Expr::col((alert::Entity, alert::Column::DaysBefore)).eq(Into::<Expr>::into(reached)))
        .to_owned();
    Ok(policy::Entity::find()
        .select_only()
        .columns([policy::Column::Id, policy::Column::OrganizationId, policy::Column::ClientId, policy::Column::Number, policy::Column::ExpiryDate])
        .filter(policy::Column::OrganizationId.is_in(group.organizations.iter().copied()))
        .filter(policy::Column::Status.eq(PolicyStatus::Active.as_str()))
        .filter(policy::Column::ExpiryDate.gte(group.today))
        .filter(policy::Column::ExpiryDate.lte(until))
        .filter(Expr::exists(raised).not())
        .into_model::<Due>()
        .all(db)
        .await?)
}

/// The tightest of `thresholds` (ascending) that `days_left` has reached.
pub fn tightest(thresholds: &[i32], days_left: i64) -> Option<i32> {
    thresholds.iter().copied().find(|&threshold| days_left <= i64::from(threshold))
}

/// The `POLICY_EXPIRING` alert for a policy `group.today` finds within a threshold.
pub fn expiring_alert(group: &Group, due: &Due, now: DateTime<Utc>) -> Option<alert::Model> {
    let days_left = (due.expiry_date - group.today).num_days();
    let threshold = tightest(&group.thresholds, days_left)?;
    let when = match days_left {
        0 => "aujourd'hui".to_string(),
        1 => "demain".to_string(),
        n => format!("dans {n} jours"),
    };
    let message = format!("La police {} expire le {} ({when}).", due.number, due.expiry_date.format("%d/%m/%Y"));
    Some(new_alert(AlertKind::PolicyExpiring, due, threshold, message, now))
}

/// The `POLICY_EXPIRED` alert for a policy the tick expired.
pub fn expired_alert(due: &Due, now: DateTime<Utc>) -> alert::Model {
    let message = format!("La police {} a expiré le {}.", due.number, due.expiry_date.format("%d/%m/%Y"));
    new_alert(AlertKind::PolicyExpired, due, 0, message, now)
}

fn new_alert(kind: AlertKind, due: &Due, days_before: i32, message: String, now: DateTime<Utc>) -> alert::Model {
    alert::Model {
        id: Uuid::now_v7(),
        organization_id: due.organization_id,
        kind: kind.as_str().to_string(),
        status: AlertStatus::Open.as_str().to_string(),
        policy_id: due.id,
        client_id: due.client_id,
        due_date: due.expiry_date,
        days_before,
        message,
        created_at: now,
        acknowledged_at: None,
        acknowledged_by: None,
    }
}

#[cfg(test)]
mod tests {
    use super::tightest;

    #[test]
    fn only_the_tightest_threshold_reached_counts() {
        assert_eq!(tightest(&[7, 30], 20), Some(30));
        assert_eq!(tightest(&[7, 30], 5), Some(7), "both reached at once: the tightest");
        assert_eq!(tightest(&[7, 30], 0), Some(7));
        assert_eq!(tightest(&[7, 30], 31), None);
    }
}
