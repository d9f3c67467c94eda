//! Database schema migrations, one table per file, run in order on SQLite and PostgreSQL.
pub use sea_orm_migration::prelude::*;

mod m20261122_000001_create_organizations;
mod m20261122_000002_create_users;
mod m20261122_000003_create_sessions;
mod m20261122_000004_create_refresh_tokens;
mod m20261122_000005_create_companies;
mod m20261122_000006_create_clients;
mod m20261122_000007_create_policies;
mod m20261122_000008_create_api_keys;
mod m20261122_000009_create_password_resets;
mod m20261122_000010_create_audit_logs;
mod m20261122_000011_create_templates;
mod m20261122_000012_create_jobs;
mod m20261122_000013_create_template_assets;
mod m20261206_000001_job_turns_by_organization;
mod m20261206_000002_create_claims;
mod m20261206_000003_create_attachments;
mod m20261206_000004_mail_delivery;
mod m20261206_000005_policy_renewals;
mod m20261206_000006_create_alerts;
mod m20261206_000007_create_report_schedules;
mod m20261206_000008_money;
mod m20261206_000009_instalments_payments;
mod m20261206_000010_integrations;
mod m20261206_000011_declarations;
mod m20261206_000012_payments_tracked_from;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_create_organizations::Migration),
            Box::new(m20261122_000002_create_users::Migration),
            Box::new(m20261122_000003_create_sessions::Migration),
            Box::new(m20261122_000004_create_refresh_tokens::Migration),
            Box::new(m20261122_000005_create_companies::Migration),
            Box::new(m20261122_000006_create_clients::Migration),
            Box::new(m20261122_000007_create_policies::Migration),
            Box::new(m20261122_000008_create_api_keys::Migration),
            Box::new(m20261122_000009_create_password_resets::Migration),
            Box::new(m20261122_000010_create_audit_logs::Migration),
            Box::new(m20261122_000011_create_templates::Migration),
            Box::new(m20261122_000012_create_jobs::Migration),
            Box::new(m20261122_000013_create_template_assets::Migration),
            Box::new(m20261206_000001_job_turns_by_organization::Migration),
            Box::new(m20261206_000002_create_claims::Migration),
            Box::new(m20261206_000003_create_attachments::Migration),
            Box::new(m20261206_000004_mail_delivery::Migration),
            Box::new(m20261206_000005_policy_renewals::Migration),
            Box::new(m20261206_000006_create_alerts::Migration),
            Box::new(m20261206_000007_create_report_schedules::Migration),
            Box::new(m20261206_000008_money::Migration),
            Box::new(m20261206_000009_instalments_payments::Migration),
            Box::new(m20261206_000010_integrations::Migration),
            Box::new(m20261206_000011_declarations::Migration),
            Box::new(m20261206_000012_payments_tracked_from::Migration),
        ]
    }
}
