//! Template assets: images uploaded with a template version (GraphQL multipart request) and read
//! by its Typst source by name, `image("logo.png")`. Each file's type is sniffed from its bytes
//! (PNG, JPEG, GIF, WebP, SVG; the declared type is ignored), its size and the count are capped
//! (`UPLOAD_MAX_BYTES`, `UPLOAD_MAX_FILES`), and names are plain file names. A new version keeps
//! the previous version's assets, an upload of the same name replacing one.

use std::{collections::HashMap, io::Read, sync::Arc};

use async_graphql::{Context, Upload};
use chrono::Utc;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::{
    entities::template_asset,
    error::{AppError, AppResult},
    templates::renderer::Assets,
};

/// A checked upload, not yet saved.
pub struct NewAsset {
    pub name: String,
    pub content_type: &'static str,
    pub bytes: Vec<u8>,
}

/// Names a template may not shadow.
const RESERVED: [&str; 2] = ["data.json", "main.typ"];

fn valid_name(name: &str) -> bool {
    (1..=100).contains(&name.len())
        && !name.starts_with('.')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        && !RESERVED.contains(&name)
}

/// The image type of `bytes`, from their content.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    // SVG is text: an XML prolog, comments or whitespace, then an <svg> root.
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(1024)]).to_ascii_lowercase();
    let t = head.trim_start_matches('\u{feff}').trim_start();
    let svg = t.starts_with("<svg") || ((t.starts_with("<?xml") || t.starts_with("<!--") || t.starts_with("<!doctype svg")) && t.contains("<svg"));
    if svg {
        return Some("image/svg+xml");
    }
    match infer::get(bytes)?.mime_type() {
        "image/png" => Some("image/png"),
        "image/jpeg" => Some("image/jpeg"),
        "image/gif" => Some("image/gif"),
        "image/webp" => Some("image/webp"),
        _ => None,
    }
}

/// Reads and checks the uploads of `field` (`input.assets`, `assets`).
pub fn read_uploads(ctx: &Context<'_>, uploads: &[Upload], field: &str) -> AppResult<Vec<NewAsset>> {
    let settings = &crate::graphql::context::ContextExt::state(ctx).settings;
    if uploads.len() > settings.upload_max_files {
        return Err(AppError::invalid(field, format!("at most {} files (UPLOAD_MAX_FILES)", settings.upload_max_files)));
    }
    let mut out: Vec<NewAsset> = Vec::with_capacity(uploads.len());
    for (i, upload) in uploads.iter().enumerate() {
        let at = format!("{field}.{i}");
        let value = upload.value(ctx).map_err(|_| AppError::invalid(&at, "this upload is missing from the multipart request"))?;
        let name = value.filename.trim().to_string();
        if !valid_name(&name) {
            return Err(AppError::invalid(
                &at,
                format!("{name:?} is not a usable asset name: 1-100 characters of A-Z a-z 0-9 . _ -, not starting with a dot"),
            ));
        }
        if out.iter().any(|a| a.name == name) {
            return Err(AppError::invalid(&at, format!("two files are named {name:?}")));
        }
        let mut bytes = Vec::new();
        let mut file = value.content;
        file.by_ref()
            .take(settings.upload_max_bytes as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| AppError::Internal(anyhow::anyhow!("reading an upload: {e}")))?;
        if bytes.len() > settings.upload_max_bytes {
            return Err(AppError::invalid(&at, format!("{name} is over {} bytes (UPLOAD_MAX_BYTES)", settings.upload_max_bytes)));
        }
        if bytes.is_empty() {
            return Err(AppError::invalid(&at, format!("{name} is empty")));
        }
        let Some(content_type) = sniff(&bytes) else {
            let seen = infer::get(&bytes).map(|k| k.mime_type()).unwrap_or("not an image");
            return Err(AppError::invalid(
                &at,
                format!("{name}: only PNG, JPEG, GIF, WebP and SVG images are accepted (its content is {seen})"),
            ));
        };
        out.push(NewAsset { name, content_type, bytes });
    }
    Ok(out)
}

/// The assets of `previous` (if any) with `new` ones added or replacing by name, as a render sees them.
pub fn merged(previous: &[template_asset::Model], new: &[NewAsset]) -> Assets {
    let mut map: HashMap<String, Vec<u8>> = previous.iter().map(|a| (a.name.clone(), a.content.clone())).collect();
    for a in new {
        map.insert(a.name.clone(), a.bytes.clone());
    }
    Arc::new(map)
}

pub async fn of_version(db: &impl ConnectionTrait, version_id: Uuid) -> AppResult<Vec<template_asset::Model>> {
    Ok(template_asset::Entity::find()
        .filter(template_asset::Column::TemplateVersionId.eq(version_id))
        .order_by_asc(template_asset::Column::Name)
        .all(db)
        .await?)
}

/// A version's assets by name, for rendering.
pub async fn load(db: &impl ConnectionTrait, version_id: Uuid) -> AppResult<Assets> {
    Ok(merged(&of_version(db, version_id).await?, &[]))
}

/// Saves `version_id`'s assets: `previous` ones not replaced, then `new` ones.
pub async fn save(db: &impl ConnectionTrait, version_id: Uuid, previous: &[template_asset::Model], new: &[NewAsset]) -> AppResult<()> {
    let now = Utc::now();
    let kept = previous.iter().filter(|p| !new.iter().any(|n| n.name == p.name));
    for p in kept {
        row(version_id, &p.name, &p.content_type, p.content.clone(), now).insert(db).await?;
    }
    for n in new {
        row(version_id, &n.name, n.content_type, n.bytes.clone(), now).insert(db).await?;
    }
    Ok(())
}

fn row(version_id: Uuid, name: &str, content_type: &str, bytes: Vec<u8>, now: chrono::DateTime<Utc>) -> template_asset::ActiveModel {
    template_asset::ActiveModel {
        id: Set(Uuid::now_v7()),
        template_version_id: Set(version_id),
        name: Set(name.to_string()),
        content_type: Set(content_type.to_string()),
        size_bytes: Set(bytes.len() as i64),
        sha256: Set(hex::encode(Sha256::digest(&bytes))),
        content: Set(bytes),
        created_at: Set(now),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_are_told_by_their_bytes() {
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), Some("image/png"));
        assert_eq!(sniff(b"\xff\xd8\xff\xe0\0\x10JFIF\0"), Some("image/jpeg"));
        assert_eq!(sniff(b"<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\"/>"), Some("image/svg+xml"));
        assert_eq!(sniff(b"%PDF-1.7"), None);
        assert_eq!(sniff(b"MZ\x90\0"), None);
        assert_eq!(sniff(b"<html><script>"), None);
    }

    #[test]
    fn names_are_plain_file_names() {
        assert!(valid_name("logo.png"));
        assert!(valid_name("Logo_2-x.svg"));
        for bad in ["", ".hidden", "../x.png", "a/b.png", "data.json", "main.typ", "a b.png"] {
            assert!(!valid_name(bad), "{bad}");
        }
    }
}
