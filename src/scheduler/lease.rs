//! One scheduler run per tick across every process: a lease row per task, taken by an insert or by
//! a conditional update. The holder keeps it for a whole interval, so however many workers tick,
//! the next run happens an interval later; a dead holder's lease lapses and another takes over.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    sea_query::{Expr, OnConflict, Query},
};

use crate::{entities::scheduler_lease, error::AppResult};

/// Takes the lease `name` for `holder` until `now + hold` when no one holds it or its time is up
/// (the holder's own included). True when this process runs the tick.
pub async fn acquire(db: &impl ConnectionTrait, name: &str, holder: &str, now: DateTime<Utc>, hold: Duration) -> AppResult<bool> {
    let until = now + hold;
    let insert = Query::insert()
        .into_table(scheduler_lease::Entity)
        .columns([scheduler_lease::Column::Name, scheduler_lease::Column::Holder, scheduler_lease::Column::LeasedUntil])
        .values_panic([name.into(), holder.into(), until.into()])
        .on_conflict(OnConflict::column(scheduler_lease::Column::Name).do_nothing().to_owned())
        .to_owned();
    if db.execute(&insert).await?.rows_affected() == 1 {
        return Ok(true);
    }
    // Leases are compared as values bound from here, never with the database's clock (SQLite
    // stores them as text that does not compare with CURRENT_TIMESTAMP).
    let taken = scheduler_lease::Entity::update_many()
        .col_expr(scheduler_lease::Column::Holder, Expr::value(holder))
        .col_expr(scheduler_lease::Column::LeasedUntil, Expr::value(until))
        .filter(scheduler_lease::Column::Name.eq(name))
        .filter(scheduler_lease::Column::LeasedUntil.lte(now))
        .exec(db)
        .await?;
    Ok(taken.rows_affected == 1)
}

/// Records when the task last ran.
pub async fn ran(db: &impl ConnectionTrait, name: &str, at: DateTime<Utc>) -> AppResult<()> {
    scheduler_lease::Entity::update_many()
        .col_expr(scheduler_lease::Column::LastRunAt, Expr::value(at))
        .filter(scheduler_lease::Column::Name.eq(name))
        .exec(db)
        .await?;
    Ok(())
}
