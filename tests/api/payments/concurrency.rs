//! Payments recorded at once on one policy: each sees the others' (the policy row is locked on
//! PostgreSQL, writers are serialised on SQLite), so together they never pass the balance.

use serde_json::json;

use super::{desk, money, pay, policy_of};
use crate::helpers::spawn_app;

#[tokio::test]
async fn concurrent_payments_never_take_more_than_the_balance() {
    let app = spawn_app().await;
    let desk = desk(&app, "acme").await;
    let agent = &desk.org.agent;
    let policy = policy_of(agent, &desk, "XAF-RACE", "100000", "XAF").await;
    // Eight payments of 30,000 at once on 100,000: exactly three fit.
    let answers = futures_util::future::join_all((0..8).map(|_| pay(agent, &policy, "30000"))).await;
    let accepted = answers.iter().filter(|a| a.get("errors").is_none()).count();
    for refused in answers.iter().filter(|a| a.get("errors").is_some()) {
        assert_eq!(refused["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{refused:#}");
        assert_eq!(refused["errors"][0]["extensions"]["field"], "input.amount", "{refused:#}");
    }
    assert_eq!(accepted, 3, "{answers:#?}");
    let m = money(agent, &policy).await;
    assert_eq!((m["paid"].as_str(), m["balance"].as_str()), (Some("90000"), Some("10000")));
    assert_eq!(m["payments"]["totalCount"], 3);

    // A reversal racing payments: the balance they see is the one the reversal leaves, or the one before.
    let first = m["payments"]["nodes"][0]["id"].as_str().unwrap().to_string();
    let reverse = agent.run(super::REVERSE, json!({"id": first}));
    let (reversed, a, b) = tokio::join!(reverse, pay(agent, &policy, "20000"), pay(agent, &policy, "20000"));
    assert!(reversed.get("errors").is_none(), "{reversed:#}");
    let paid_now = [&a, &b].iter().filter(|x| x.get("errors").is_none()).count();
    let m = money(agent, &policy).await;
    let paid: i64 = m["paid"].as_str().unwrap().parse().unwrap();
    assert_eq!(paid, 60_000 + 20_000 * paid_now as i64, "{m:#}");
    assert!(paid <= 100_000);
}
