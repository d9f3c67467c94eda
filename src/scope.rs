//! Tenant scoping: the one place that says which rows a caller may see.
//! Every query of tenant data (DataLoaders too) starts from one of these functions.

use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, Select, sea_query::Query};
use uuid::Uuid;

use crate::{
    principal::Principal,
    entities::{
        alert, attachment, claim, client, company, company_integration, document, instalment, job, organization, outbox, payment,
        policy, session, template, user,
    },
    error::{AppError, AppResult},
};

/// Users of the caller's organization (every organization for SUPERADMIN).
pub fn users(principal: &Principal) -> Select<user::Entity> {
    org(user::Entity::find(), principal, user::Column::OrganizationId)
}

/// The caller's organization (every one for SUPERADMIN).
pub fn organizations(principal: &Principal) -> Select<organization::Entity> {
    org(organization::Entity::find(), principal, organization::Column::Id)
}

/// Companies (insurers) of the caller's organization.
pub fn companies(principal: &Principal) -> Select<company::Entity> {
    org(company::Entity::find(), principal, company::Column::OrganizationId)
}

/// Insurer integrations (webhook endpoints) of the caller's organization.
pub fn company_integrations(principal: &Principal) -> Select<company_integration::Entity> {
    org(company_integration::Entity::find(), principal, company_integration::Column::OrganizationId)
}

/// Templates of the caller's organization (everyone in it reads them).
pub fn templates(principal: &Principal) -> Select<template::Entity> {
    org(template::Entity::find(), principal, template::Column::OrganizationId)
}

/// Documents the caller may read: those of the policies and clients they may read.
pub fn documents(principal: &Principal) -> Select<document::Entity> {
    let q = org(document::Entity::find(), principal, document::Column::OrganizationId);
    if principal.is_agent() {
        // An agent reads documents of their own clients (directly or through a policy) and the ones they generated.
        q.filter(
            Condition::any()
                .add(document::Column::ClientId.in_subquery(own_clients(principal)))
                .add(document::Column::CreatedBy.eq(principal.user_id)),
        )
    } else {
        q
    }
}

/// Attachments the caller may read (and, reading them, write): those of the clients they may read,
/// whether attached to the client, one of its policies or one of its claims.
pub fn attachments(principal: &Principal) -> Select<attachment::Entity> {
    let q = org(attachment::Entity::find(), principal, attachment::Column::OrganizationId);
    if principal.is_agent() {
        q.filter(attachment::Column::ClientId.in_subquery(own_clients(principal)))
    } else {
        q
    }
}

/// Jobs the caller may read: an AGENT's own, the organization's for everyone else.
pub fn jobs(principal: &Principal) -> Select<job::Entity> {
    let q = org(job::Entity::find(), principal, job::Column::OrganizationId);
    if principal.is_agent() { q.filter(job::Column::CreatedBy.eq(principal.user_id)) } else { q }
}

/// Clients the caller may read: an AGENT's own, the organization's for everyone else.
pub fn clients(principal: &Principal) -> Select<client::Entity> {
    let q = org(client::Entity::find(), principal, client::Column::OrganizationId);
    if principal.is_agent() { q.filter(client::Column::OwnerId.eq(principal.user_id)) } else { q }
}

/// Policies the caller may read: those of the clients they may read.
pub fn policies(principal: &Principal) -> Select<policy::Entity> {
    let q = org(policy::Entity::find(), principal, policy::Column::OrganizationId);
    if principal.is_agent() {
        q.filter(policy::Column::ClientId.in_subquery(own_clients(principal)))
    } else {
        q
    }
}

/// Alerts the caller may read: those of the clients they may read.
pub fn alerts(principal: &Principal) -> Select<alert::Entity> {
    let q = org(alert::Entity::find(), principal, alert::Column::OrganizationId);
    if principal.is_agent() {
        q.filter(alert::Column::ClientId.in_subquery(own_clients(principal)))
    } else {
        q
    }
}

/// Claims the caller may read: those of the clients they may read.
pub fn claims(principal: &Principal) -> Select<claim::Entity> {
    let q = org(claim::Entity::find(), principal, claim::Column::OrganizationId);
    if principal.is_agent() {
        q.filter(claim::Column::ClientId.in_subquery(own_clients(principal)))
    } else {
        q
    }
}

/// Instalments the caller may read: those of the policies they may read.
pub fn instalments(principal: &Principal) -> Select<instalment::Entity> {
    let q = org(instalment::Entity::find(), principal, instalment::Column::OrganizationId);
    if principal.is_agent() {
        q.filter(instalment::Column::PolicyId.in_subquery(own_policies(principal)))
    } else {
        q
    }
}

/// Payments the caller may read (and, reading them, reverse): those of the policies they may read.
pub fn payments(principal: &Principal) -> Select<payment::Entity> {
    let q = org(payment::Entity::find(), principal, payment::Column::OrganizationId);
    if principal.is_agent() {
        q.filter(payment::Column::PolicyId.in_subquery(own_policies(principal)))
    } else {
        q
    }
}

/// Messages of the caller's organization (the resolvers let only ADMINs list them).
pub fn messages(principal: &Principal) -> Select<outbox::Entity> {
    org(outbox::Entity::find(), principal, outbox::Column::OrganizationId)
}

/// The caller's own sessions.
pub fn own_sessions(principal: &Principal) -> Select<session::Entity> {
    session::Entity::find().filter(session::Column::UserId.eq(principal.user_id))
}

/// A job's reads: the policies of the job's organization. A job's items were chosen through its
/// requester's scope when it was queued; the worker, which has no caller, reads within the job's
/// organization only.
pub fn job_policies(organization_id: Uuid) -> Select<policy::Entity> {
    policy::Entity::find().filter(policy::Column::OrganizationId.eq(organization_id))
}

/// A job's reads: the clients of the job's organization (see [`job_policies`]).
pub fn job_clients(organization_id: Uuid) -> Select<client::Entity> {
    client::Entity::find().filter(client::Column::OrganizationId.eq(organization_id))
}

/// The ids of an AGENT's own clients, as a subquery.
fn own_clients(principal: &Principal) -> sea_orm::sea_query::SelectStatement {
    Query::select().column(client::Column::Id).from(client::Entity).and_where(client::Column::OwnerId.eq(principal.user_id)).to_owned()
}

/// The ids of the policies of an AGENT's own clients, as a subquery.
fn own_policies(principal: &Principal) -> sea_orm::sea_query::SelectStatement {
    Query::select()
        .column(policy::Column::Id)
        .from(policy::Entity)
        .and_where(policy::Column::ClientId.in_subquery(own_clients(principal)))
        .to_owned()
}

fn org<E: EntityTrait>(query: Select<E>, principal: &Principal, col: impl ColumnTrait) -> Select<E> {
    if principal.is_superadmin() { query } else { query.filter(col.eq(principal.org_id)) }
}

/// Fetches one row by key through a scoped select; anything outside the scope is `NOT_FOUND`.
pub async fn one<E>(
    db: &impl sea_orm::ConnectionTrait,
    scoped: Select<E>,
    id_col: impl ColumnTrait,
    id: Uuid,
    what: &'static str,
) -> AppResult<E::Model>
where
    E: EntityTrait,
{
    scoped.filter(id_col.eq(id)).one(db).await?.ok_or(AppError::NotFound(what))
}

/// Condition helper for lists: the keys in `ids` within a scoped select.
pub fn by_ids<E: EntityTrait>(scoped: Select<E>, id_col: impl ColumnTrait, ids: &[Uuid]) -> Select<E> {
    scoped.filter(Condition::all().add(id_col.is_in(ids.iter().copied())))
}

