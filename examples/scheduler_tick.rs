//! Times the scheduler's tick over N policies on PostgreSQL:
//! `cargo run --release --example scheduler_tick -- 100000 postgres://postgres@127.0.0.1:5432/postgres`.
//! Makes a scratch database, one organization with a client and an insurer, and N ACTIVE policies
//! whose expiry dates spread from 10 days ago to 355 days ahead (so a tick expires ~3 % of them
//! and alerts ~8 %), then times three ticks: the first (expiries, audit rows and alerts), a second
//! the same minute (nothing new: the unique keys refuse repeats), and one a day later.

use std::time::Instant;

use chrono::{Duration, Utc};
use monassurance::{app, config::Settings, scheduler};
use sea_orm::{ConnectionTrait, Database};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let n: i64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let admin_url = args.next().unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let name = format!("ma_bench_tick_{}", std::process::id());
    let admin = Database::connect(&admin_url).await?;
    admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await?;
    let (base, _) = admin_url.rsplit_once('/').expect("a database name in the URL");
    let url = format!("{base}/{name}");
    let result = run(n, &url).await;
    admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await?;
    result
}

async fn run(n: i64, url: &str) -> anyhow::Result<()> {
    // The render pool's children are the server binary, built next to this example's folder.
    let exe = std::env::current_exe()?;
    let server = exe.parent().and_then(|examples| examples.parent()).map(|dir| dir.join("monassurance"));
    let settings = Settings::from_lookup(|key| match key {
        "RENDER_WORKER_EXE" => server.as_ref().map(|path| path.display().to_string()),
        "DATABASE_URL" => Some(url.to_string()),
        "JWT_SECRET" => Some("bench-secret-bench-secret-bench-secret-0123".into()),
        "DATA_DIR" => Some(std::env::temp_dir().join("ma-bench-tick").display().to_string()),
        _ => None,
    })?;
    let state = app::bootstrap(settings).await?;
    let db = &state.db;
    let seed = format!(
        "INSERT INTO organizations (id, name, slug, timezone, created_at) VALUES ('00000000-0000-7000-8000-000000000001', 'Bench', 'bench', 'Africa/Douala', now());
         INSERT INTO users (id, organization_id, email, password_hash, full_name, role, is_active, created_at, updated_at)
           VALUES ('00000000-0000-7000-8000-000000000002', '00000000-0000-7000-8000-000000000001', 'owner@bench.test', 'x', 'Owner', 'AGENT', true, now(), now());
         INSERT INTO companies (id, organization_id, name, code, created_at, updated_at)
           VALUES ('00000000-0000-7000-8000-000000000003', '00000000-0000-7000-8000-000000000001', 'Assureur', 'ASR', now(), now());
         INSERT INTO clients (id, organization_id, owner_id, kind, last_name, created_at, updated_at)
           VALUES ('00000000-0000-7000-8000-000000000004', '00000000-0000-7000-8000-000000000001', '00000000-0000-7000-8000-000000000002', 'PERSON', 'Mbarga', now(), now());
         INSERT INTO policies (id, organization_id, number, client_id, company_id, product_name, product_type, status,
                               premium_minor, currency, effective_date, expiry_date, coverage, created_at, updated_at)
           SELECT gen_random_uuid(), '00000000-0000-7000-8000-000000000001', 'POL-' || i, '00000000-0000-7000-8000-000000000004',
                  '00000000-0000-7000-8000-000000000003', 'Auto', 'AUTO', 'ACTIVE', 100000, 'XAF',
                  current_date - 365, current_date - 10 + (i % 365)::int, '{{}}', now(), now()
           FROM generate_series(1, {n}) AS i;
         ANALYZE;"
    );
    let started = Instant::now();
    db.execute_unprepared(&seed).await?;
    println!("seeded {n} policies in {:.2} s", started.elapsed().as_secs_f64());
    let now = Utc::now();
    for (what, at) in [("first tick", now), ("same minute", now + Duration::seconds(30)), ("a day later", now + Duration::days(1))] {
        let started = Instant::now();
        let report = scheduler::tick(&state, at).await?;
        println!(
            "{what}: {:.0} ms — {} expired, {} alerts raised, {} reports queued",
            started.elapsed().as_secs_f64() * 1000.0,
            report.expired,
            report.alerts_raised,
            report.reports_queued
        );
    }
    Ok(())
}
