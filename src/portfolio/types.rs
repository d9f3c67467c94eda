//! GraphQL types of the portfolio.

use async_graphql::{Context, SimpleObject};
use rust_decimal::Decimal;

use super::service::Group;
use crate::{
    companies::types::Company,
    currency::Money,
    graphql::{context::ContextExt, loaders::loader_error},
    policies::types::{PolicyStatus, ProductType},
};

/// The caller's book over a period, in one currency.
#[derive(SimpleObject)]
pub struct Portfolio {
    /// The ISO 4217 code every amount is in (only policies in that currency are counted).
    pub currency: String,
    /// How many policies.
    pub policy_count: i64,
    /// Their premiums.
    pub premium: Decimal,
    /// The broker's commission on them (policies with no rate in force count 0).
    pub commission: Decimal,
    /// What was paid on them (payments not reversed).
    pub paid: Decimal,
    /// What is left to pay: `premium - paid`.
    pub balance: Decimal,
    /// By insurer, the largest premium first.
    pub by_company: Vec<CompanyShare>,
    /// By product type, the largest premium first.
    pub by_product_type: Vec<ProductTypeShare>,
    /// By status.
    pub by_status: Vec<StatusShare>,
}

/// One insurer's part of the portfolio.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct CompanyShare {
    #[graphql(skip)]
    pub company_id: uuid::Uuid,
    /// How many policies.
    pub policy_count: i64,
    /// Their premiums.
    pub premium: Decimal,
    /// The commission on them.
    pub commission: Decimal,
}

#[async_graphql::ComplexObject]
impl CompanyShare {
    /// The insurer.
    async fn company(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Company>> {
        Ok(ctx.loaders()?.companies.load_one(self.company_id).await.map_err(loader_error)?.map(Company))
    }
}

/// One product type's part of the portfolio.
#[derive(SimpleObject)]
pub struct ProductTypeShare {
    /// The product type.
    pub product_type: ProductType,
    /// How many policies.
    pub policy_count: i64,
    /// Their premiums.
    pub premium: Decimal,
    /// The commission on them.
    pub commission: Decimal,
}

/// How many policies have one status.
#[derive(SimpleObject)]
pub struct StatusShare {
    /// The status.
    pub status: PolicyStatus,
    /// How many policies.
    pub policy_count: i64,
}

impl Portfolio {
    /// Rolls the groups up into the totals and each breakdown.
    pub fn of(groups: &[Group], currency: &str) -> Portfolio {
        use std::collections::BTreeMap;
        let amount = |minor: i64| Money::to_decimal(minor, currency);
        let mut companies: BTreeMap<uuid::Uuid, (i64, i64, i64)> = BTreeMap::new();
        let mut products: BTreeMap<String, (i64, i64, i64)> = BTreeMap::new();
        let mut statuses: BTreeMap<String, i64> = BTreeMap::new();
        let (mut count, mut premium, mut commission, mut paid) = (0, 0, 0, 0);
        for group in groups {
            count += group.policy_count;
            premium += group.premium_minor;
            commission += group.commission_minor;
            paid += group.paid_minor;
            for share in [companies.entry(group.company_id).or_default(), products.entry(group.product_type.clone()).or_default()] {
                share.0 += group.policy_count;
                share.1 += group.premium_minor;
                share.2 += group.commission_minor;
            }
            *statuses.entry(group.status.clone()).or_default() += group.policy_count;
        }
        let mut by_company: Vec<_> = companies
            .into_iter()
            .map(|(company_id, (n, p, c))| CompanyShare { company_id, policy_count: n, premium: amount(p), commission: amount(c) })
            .collect();
        by_company.sort_by_key(|share| std::cmp::Reverse(share.premium));
        let mut by_product_type: Vec<_> = products
            .into_iter()
            .map(|(kind, (n, p, c))| ProductTypeShare { product_type: ProductType::parse(&kind), policy_count: n, premium: amount(p), commission: amount(c) })
            .collect();
        by_product_type.sort_by_key(|share| std::cmp::Reverse(share.premium));
        let by_status = statuses
            .into_iter()
            .filter_map(|(status, n)| Some(StatusShare { status: PolicyStatus::parse(&status)?, policy_count: n }))
            .collect();
        Portfolio {
            currency: currency.to_string(),
            policy_count: count,
            premium: amount(premium),
            commission: amount(commission),
            paid: amount(paid),
            balance: amount(premium - paid),
            by_company,
            by_product_type,
            by_status,
        }
    }
}
