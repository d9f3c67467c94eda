//! Template logic: versions are checked against sample data before they are saved.

use async_graphql::ID;
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Select, Set, sea_query::Query,
};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::types::{CreateTemplateInput, TemplateFilter, UpdateTemplateInput};
use crate::{
    principal::Principal,
    entities::{company, template, template_company, template_version},
    error::{AppError, AppResult},
    graphql::{ids, validation::{optional_text, required_text}},
    scope,
    text::{ilike, like_pattern},
};

/// Largest template source accepted.
const MAX_CONTENT: usize = 512 * 1024;

fn checksum(content: &str) -> String {
    hex::encode(Sha256::digest(content.as_bytes()))
}

fn content(raw: &str, field: &str) -> AppResult<String> {
    if raw.trim().is_empty() {
        return Err(AppError::invalid(field, "must not be empty"));
    }
    if raw.len() > MAX_CONTENT {
        return Err(AppError::invalid(field, format!("must be at most {} KiB", MAX_CONTENT / 1024)));
    }
    Ok(raw.to_string())
}

/// One template the caller may read (their organization's).
pub async fn get(db: &impl ConnectionTrait, principal: &Principal, id: Uuid) -> AppResult<template::Model> {
    scope::one(db, scope::templates(principal), template::Column::Id, id, "Template").await
}

/// The companies named by `ids`, all of which must be the caller's (else `NOT_FOUND`).
async fn companies(db: &impl ConnectionTrait, principal: &Principal, raw: &[ID], field: &str) -> AppResult<Vec<Uuid>> {
    let mut keys = Vec::with_capacity(raw.len());
    for id in raw {
        keys.push(ids::decode_input(id, "Company", field)?);
    }
    keys.sort_unstable();
    keys.dedup();
    if keys.is_empty() {
        return Ok(keys);
    }
    let found = scope::companies(principal).filter(company::Column::Id.is_in(keys.clone())).count(db).await?;
    if found as usize != keys.len() {
        return Err(AppError::NotFound("Company"));
    }
    Ok(keys)
}

async fn bind(db: &impl ConnectionTrait, template_id: Uuid, companies: &[Uuid]) -> AppResult<()> {
    template_company::Entity::delete_many().filter(template_company::Column::TemplateId.eq(template_id)).exec(db).await?;
    for c in companies {
        template_company::ActiveModel { template_id: Set(template_id), company_id: Set(*c) }.insert(db).await?;
    }
    Ok(())
}

fn name_conflict(e: sea_orm::DbErr) -> AppError {
    if crate::error::is_unique_violation(&e) {
        AppError::conflict_on("input.name", "a template with this name already exists")
    } else {
        e.into()
    }
}

/// Creates a template and its version 1 (the caller has checked that the content renders).
pub async fn create(
    db: &impl ConnectionTrait,
    principal: &Principal,
    input: CreateTemplateInput,
) -> AppResult<(template::Model, template_version::Model)> {
    let name = required_text(&input.name, "input.name", 200)?;
    let description = optional_text(input.description.as_deref(), "input.description", 2000)?;
    let body = content(&input.content, "input.content")?;
    let changelog = optional_text(input.changelog.as_deref(), "input.changelog", 2000)?;
    let bound = companies(db, principal, input.company_ids.as_deref().unwrap_or_default(), "input.companyIds").await?;
    let now = Utc::now();
    let t = template::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(principal.org_id),
        name: Set(name),
        description: Set(description),
        format: Set(input.format.as_str().into()),
        scope: Set(input.scope.as_str().into()),
        is_active: Set(true),
        current_version: Set(1),
        created_by: Set(Some(principal.user_id)),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await
    .map_err(name_conflict)?;
    let v = insert_version(db, principal, t.id, 1, body, changelog).await?;
    bind(db, t.id, &bound).await?;
    Ok((t, v))
}

async fn insert_version(
    db: &impl ConnectionTrait,
    principal: &Principal,
    template_id: Uuid,
    version: i32,
    body: String,
    changelog: Option<String>,
) -> AppResult<template_version::Model> {
    Ok(template_version::ActiveModel {
        id: Set(Uuid::now_v7()),
        template_id: Set(template_id),
        version: Set(version),
        checksum: Set(checksum(&body)),
        content: Set(body),
        changelog: Set(changelog),
        created_by: Set(Some(principal.user_id)),
        created_at: Set(Utc::now()),
    }
    .insert(db)
    .await
    .map_err(|e| {
        if crate::error::is_unique_violation(&e) {
            AppError::conflict("another version was saved at the same time; reload and try again")
        } else {
            e.into()
        }
    })?)
}

/// Adds the next version (the caller has checked that it renders); it becomes the current one.
pub async fn create_version(
    db: &impl ConnectionTrait,
    principal: &Principal,
    template_id: Uuid,
    raw: &str,
    changelog: Option<String>,
) -> AppResult<template_version::Model> {
    let t = get(db, principal, template_id).await?;
    let body = content(raw, "content")?;
    let changelog = optional_text(changelog.as_deref(), "changelog", 2000)?;
    let next: Option<i32> = template_version::Entity::find()
        .select_only()
        .column_as(template_version::Column::Version.max(), "v")
        .filter(template_version::Column::TemplateId.eq(t.id))
        .into_tuple()
        .one(db)
        .await?
        .flatten();
    let version = next.unwrap_or(0) + 1;
    let v = insert_version(db, principal, t.id, version, body, changelog).await?;
    let mut m: template::ActiveModel = t.into();
    m.current_version = Set(version);
    m.updated_at = Set(Utc::now());
    m.update(db).await?;
    Ok(v)
}

/// The template's current version (the one new documents use).
pub async fn current_version(db: &impl ConnectionTrait, template_row: &template::Model) -> AppResult<Option<template_version::Model>> {
    Ok(template_version::Entity::find()
        .filter(template_version::Column::TemplateId.eq(template_row.id))
        .filter(template_version::Column::Version.eq(template_row.current_version))
        .one(db)
        .await?)
}

pub async fn set_companies(db: &impl ConnectionTrait, principal: &Principal, template_id: Uuid, raw: &[ID]) -> AppResult<template::Model> {
    let t = get(db, principal, template_id).await?;
    let keys = companies(db, principal, raw, "companyIds").await?;
    bind(db, t.id, &keys).await?;
    let mut m: template::ActiveModel = t.into();
    m.updated_at = Set(Utc::now());
    Ok(m.update(db).await?)
}

pub async fn update(db: &impl ConnectionTrait, principal: &Principal, input: UpdateTemplateInput) -> AppResult<template::Model> {
    let t = get(db, principal, ids::decode(&input.id, "Template")?).await?;
    let mut m: template::ActiveModel = t.into();
    if let Some(n) = &input.name {
        m.name = Set(required_text(n, "input.name", 200)?);
    }
    if input.description.is_some() {
        m.description = Set(optional_text(input.description.as_deref(), "input.description", 2000)?);
    }
    m.updated_at = Set(Utc::now());
    m.update(db).await.map_err(name_conflict)
}

pub async fn archive(db: &impl ConnectionTrait, principal: &Principal, id: Uuid) -> AppResult<template::Model> {
    let t = get(db, principal, id).await?;
    let mut m: template::ActiveModel = t.into();
    m.is_active = Set(false);
    m.updated_at = Set(Utc::now());
    Ok(m.update(db).await?)
}

/// True when a template may be used for a policy of `company_id` (bound to it, or to none).
pub async fn offered_for(db: &impl ConnectionTrait, template_id: Uuid, company_id: Uuid) -> AppResult<bool> {
    let bound = template_company::Entity::find()
        .filter(template_company::Column::TemplateId.eq(template_id))
        .all(db)
        .await?;
    Ok(bound.is_empty() || bound.iter().any(|b| b.company_id == company_id))
}

pub fn list(principal: &Principal, filter: Option<TemplateFilter>) -> AppResult<Select<template::Entity>> {
    let f = filter.unwrap_or_default();
    let mut q = scope::templates(principal).filter(template::Column::IsActive.eq(f.is_active.unwrap_or(true)));
    if let Some(s) = f.search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        let pat = like_pattern(s);
        q = q.filter(Condition::any().add(ilike(template::Column::Name, &pat)).add(ilike(template::Column::Description, &pat)));
    }
    if let Some(fmt) = f.format {
        q = q.filter(template::Column::Format.eq(fmt.as_str()));
    }
    if let Some(sc) = f.scope {
        q = q.filter(template::Column::Scope.eq(sc.as_str()));
    }
    if let Some(raw) = &f.company_id {
        let company = ids::decode_input(raw, "Company", "filter.companyId")?;
        let bound_any = Query::select().column(template_company::Column::TemplateId).from(template_company::Entity).to_owned();
        let bound_here = Query::select()
            .column(template_company::Column::TemplateId)
            .from(template_company::Entity)
            .and_where(template_company::Column::CompanyId.eq(company))
            .to_owned();
        q = q.filter(
            Condition::any()
                .add(template::Column::Id.not_in_subquery(bound_any))
                .add(template::Column::Id.in_subquery(bound_here)),
        );
    }
    Ok(q.order_by_asc(template::Column::Name).order_by_asc(template::Column::Id))
}
