//! Opaque global IDs: `base64url("Type:uuid")`, so `node(id)` can tell the type. Clients never parse them.

use async_graphql::ID;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use uuid::Uuid;

use crate::error::{AppError, AppResult};

/// The GraphQL ID of object `kind` (a type name such as `Policy`) with database key `id`.
pub fn encode(kind: &str, id: Uuid) -> ID {
    ID(URL_SAFE_NO_PAD.encode(format!("{kind}:{id}")))
}

/// Splits any global ID into its type name and key; `None` when it is not one of ours.
pub fn decode_any(id: &str) -> Option<(String, Uuid)> {
    let raw = URL_SAFE_NO_PAD.decode(id.as_bytes()).ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (kind, key) = text.split_once(':')?;
    Some((kind.to_string(), Uuid::parse_str(key).ok()?))
}

/// The key of an ID that must name a `kind`; anything else is simply not found (no oracle).
pub fn decode(id: &ID, kind: &'static str) -> AppResult<Uuid> {
    match decode_any(id) {
        Some((k, key)) if k == kind => Ok(key),
        _ => Err(AppError::NotFound(kind_label(kind))),
    }
}

/// The key of an ID given in an input field: a malformed one is a `BAD_USER_INPUT` on that field.
pub fn decode_input(id: &ID, kind: &'static str, field: &str) -> AppResult<Uuid> {
    match decode_any(id) {
        Some((k, key)) if k == kind => Ok(key),
        _ => Err(AppError::invalid(field, format!("not a valid {kind} ID"))),
    }
}

fn kind_label(kind: &'static str) -> &'static str {
    kind
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_check_their_type() {
        let key = Uuid::new_v4();
        let id = encode("Policy", key);
        assert_eq!(decode(&id, "Policy").unwrap(), key);
        assert!(decode(&id, "Client").is_err());
        assert!(decode(&ID("garbage!".into()), "Policy").is_err());
        assert_eq!(decode_any(&id).unwrap(), ("Policy".to_string(), key));
    }
}
