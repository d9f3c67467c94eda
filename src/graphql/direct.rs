//! `Direct<T>`: an object of a hot page (a policy, its client and company) answered by one walk
//! of its selection, without a future per field.
//!
//! async-graphql answers an object by boxing one future per selected field, running them in a
//! `FuturesUnordered` and merging the results into a map (`resolver_utils::resolve_container`):
//! on a 100-policy list page that is ~1,500 boxed futures and task nodes. `Direct<T>` builds the
//! answer's map as it walks the selection, in the selection's order:
//!
//! - the column fields by `Plain::plain`, at once: it calls the type's own resolver methods (ready
//!   at their first poll) and converts the value as the field's type would;
//! - the fields that wait on little (a policy's client and company) by `Plain::nested`, a small
//!   future of the type's own: the generated resolver's future is as large as the type's largest
//!   field (a nested page's);
//! - any other field by the generated `ContainerType::resolve_field`, unchanged (arguments,
//!   guards, errors); a name `plain` does not know is never wrong there, only slower.
//!
//! The waiting fields are polled together (`join_all`). To GraphQL the type is `T` itself: same
//! name, same registration.

use std::borrow::Cow;

use async_graphql::{
    ContainerType, Context, ContextSelectionSet, EnumType, ID, Name, OutputType, Positioned, ScalarType, ServerError, ServerResult, Value,
    indexmap::{IndexMap, map::Entry},
    parser::types::{Field, Selection},
    registry::Registry,
};
use chrono::{DateTime, Utc};

/// `T`, answered directly (see the module's documentation).
pub struct Direct<T>(pub T);

/// The fields of a type that need no argument, no context and no wait.
pub trait Plain: ContainerType {
    /// The value of the field `ctx` (by its GraphQL name) when it is one of those; `None` for any
    /// other field, which its generated resolver answers.
    fn plain(&self, ctx: &Context<'_>) -> Option<Value>;

    /// True for the fields [`Plain::nested`] answers: those that wait on little (a parent from a
    /// DataLoader). The generated resolver's future is as large as the type's largest field (a
    /// nested page's); this one holds only these fields' state.
    fn is_nested(_name: &str) -> bool {
        false
    }

    /// The field `ctx`, one `is_nested` names, answered as its generated resolver would (see
    /// [`answer`]).
    fn nested<'a>(&'a self, _ctx: &'a Context<'a>) -> impl std::future::Future<Output = ServerResult<Option<Value>>> + Send + 'a {
        async { Ok(None) }
    }
}

/// A resolver method's result as the field's answer: its error with the field's position and
/// path, or its value resolved over the field's selection set (what `#[Object]` generates).
pub async fn answer<T: OutputType>(ctx: &Context<'_>, result: async_graphql::Result<T>) -> ServerResult<Option<Value>> {
    let value = result.map_err(|error| ctx.set_error_path(error.into_server_error(ctx.item.pos)))?;
    let ctx_value = ctx.with_selection_set(&ctx.item.node.selection_set);
    OutputType::resolve(&value, &ctx_value, ctx.item).await.map(Some)
}

/// A resolver method's value as its GraphQL type answers it (`OutputType::resolve` of a scalar or
/// an enum).
pub trait PlainValue {
    fn into_value(self) -> Value;
}

impl PlainValue for &str {
    fn into_value(self) -> Value {
        Value::String(self.to_owned())
    }
}

impl PlainValue for String {
    fn into_value(self) -> Value {
        Value::String(self)
    }
}

impl PlainValue for ID {
    fn into_value(self) -> Value {
        Value::String(self.0)
    }
}

impl PlainValue for bool {
    fn into_value(self) -> Value {
        Value::Boolean(self)
    }
}

impl PlainValue for rust_decimal::Decimal {
    fn into_value(self) -> Value {
        ScalarType::to_value(&self)
    }
}

impl PlainValue for DateTime<Utc> {
    fn into_value(self) -> Value {
        ScalarType::to_value(&self)
    }
}

impl PlainValue for super::scalars::Date {
    fn into_value(self) -> Value {
        ScalarType::to_value(&self)
    }
}

impl<T: PlainValue> PlainValue for Option<T> {
    fn into_value(self) -> Value {
        self.map_or(Value::Null, PlainValue::into_value)
    }
}

/// An enum's value, by its GraphQL name.
pub struct Enum<T>(pub T);

impl<T: EnumType> PlainValue for Enum<T> {
    fn into_value(self) -> Value {
        async_graphql::resolver_utils::enum_value(self.0)
    }
}

/// The value of a resolver method that is ready at its first poll and did not fail.
pub fn ready<T, F: std::future::Future<Output = async_graphql::Result<T>>>(future: F) -> Option<T> {
    futures_util::FutureExt::now_or_never(future)?.ok()
}

impl<T: Plain> OutputType for Direct<T> {
    fn type_name() -> Cow<'static, str> {
        T::type_name()
    }

    fn qualified_type_name() -> String {
        T::qualified_type_name()
    }

    fn introspection_type_name(&self) -> Cow<'static, str> {
        self.0.introspection_type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        T::create_type_info(registry)
    }

    async fn resolve(&self, ctx: &ContextSelectionSet<'_>, _field: &Positioned<Field>) -> ServerResult<Value> {
        resolve(&self.0, ctx).await
    }
}

/// A field its generated resolver answers: where its value goes in the answer.
struct Pending<'a> {
    field: &'a Positioned<Field>,
    /// Answered by `Plain::nested`, not by the generated resolver.
    nested: bool,
    /// The index of its response key in the answer.
    index: usize,
    /// True when it made the key (its value replaces the placeholder); false when the key was
    /// already there (a repeated key: its value is merged in).
    fresh: bool,
}

/// The selection set `ctx` on `root`: what `resolve_container` answers, in the selection's order.
pub async fn resolve<'a, T: Plain>(root: &'a T, ctx: &ContextSelectionSet<'a>) -> ServerResult<Value> {
    let mut object = IndexMap::with_capacity(ctx.item.node.items.len());
    let mut pending: Vec<Pending<'a>> = Vec::new();
    if !collect(root, ctx, &mut object, &mut pending)? {
        // A custom directive on a field: async-graphql's own path runs it.
        return async_graphql::resolver_utils::resolve_container(ctx, root).await;
    }
    if !pending.is_empty() {
        let (nested, generic) = futures_util::future::join(
            futures_util::future::join_all(pending.iter().filter(|p| p.nested).map(|p| nested_field(root, ctx, p.field))),
            futures_util::future::join_all(pending.iter().filter(|p| !p.nested).map(|p| resolve_field(root, ctx, p.field))),
        )
        .await;
        let (mut nested, mut generic) = (nested.into_iter(), generic.into_iter());
        let mut failed = Vec::new();
        for p in &pending {
            let result = if p.nested { nested.next() } else { generic.next() }.expect("one result per pending field");
            match result {
                Ok(value) => {
                    let value = value.unwrap_or_default();
                    let (_, slot) = object.get_index_mut(p.index).expect("the key was made by collect");
                    if p.fresh { *slot = value } else { merge(slot, value) }
                }
                Err(error) => {
                    // As `resolve_container`: the error is recorded and the key left out (null
                    // propagation puts it back as null, or nulls the parent).
                    ctx.add_error(error);
                    if p.fresh {
                        failed.push(p.index);
                    }
                }
            }
        }
        for index in failed.into_iter().rev() {
            object.shift_remove_index(index);
        }
    }
    Ok(if object.is_empty() { Value::Null } else { Value::Object(object) })
}

/// One field of `root` that `Plain::nested` answers.
async fn nested_field<T: Plain>(root: &T, ctx: &ContextSelectionSet<'_>, item: &Positioned<Field>) -> ServerResult<Option<Value>> {
    root.nested(&ctx.with_field(item)).await
}

/// One field of `root`, through its generated resolver: one future type for every field.
async fn resolve_field<T: ContainerType>(root: &T, ctx: &ContextSelectionSet<'_>, item: &Positioned<Field>) -> ServerResult<Option<Value>> {
    root.resolve_field(&ctx.with_field(item)).await
}

/// Walks the selection set and the fragments that apply to `T`, as `Fields::add_set` does: the
/// values `plain` knows go into `object`, the other fields into `pending` (with a placeholder in
/// `object`, so the keys keep the selection's order). False when a field carries a custom directive.
fn collect<'a, T: Plain>(
    root: &'a T,
    ctx: &ContextSelectionSet<'a>,
    object: &mut IndexMap<Name, Value>,
    pending: &mut Vec<Pending<'a>>,
) -> ServerResult<bool> {
    for selection in &ctx.item.node.items {
        let (condition, selection_set) = match &selection.node {
            Selection::Field(item) => {
                let key = item.node.response_key().node.clone();
                if item.node.name.node == "__typename" {
                    insert(object, key, Value::String(root.introspection_type_name().into_owned()));
                    continue;
                }
                if item.node.arguments.is_empty()
                    && item.node.directives.is_empty()
                    && item.node.selection_set.node.items.is_empty()
                    && let Some(value) = root.plain(&ctx.with_field(item))
                {
                    insert(object, key, value);
                    continue;
                }
                let custom = &ctx.schema_env.custom_directives;
                if item.node.directives.iter().any(|d| custom.contains_key(d.node.name.node.as_str())) {
                    return Ok(false);
                }
                let (index, fresh) = match object.entry(key) {
                    Entry::Occupied(entry) => (entry.index(), false),
                    Entry::Vacant(entry) => {
                        let index = entry.index();
                        entry.insert(Value::Null);
                        (index, true)
                    }
                };
                let nested = item.node.directives.is_empty() && T::is_nested(item.node.name.node.as_str());
                pending.push(Pending { field: item, nested, index, fresh });
                continue;
            }
            Selection::FragmentSpread(spread) => {
                let Some(fragment) = ctx.query_env.fragments.get(&spread.node.fragment_name.node) else {
                    return Err(ServerError::new(format!(r#"Unknown fragment "{}"."#, spread.node.fragment_name.node), Some(spread.pos)));
                };
                (Some(fragment.node.type_condition.node.on.node.as_str()), &fragment.node.selection_set)
            }
            Selection::InlineFragment(fragment) => {
                (fragment.node.type_condition.as_ref().map(|c| c.node.on.node.as_str()), &fragment.node.selection_set)
            }
        };
        let own = root.introspection_type_name();
        let applies = condition.is_none_or(|condition| {
            own == condition
                || T::type_name() == condition
                || ctx.schema_env.registry.implements.get(own.as_ref()).is_some_and(|interfaces| interfaces.contains(condition))
        });
        if applies && !collect(root, &ctx.with_selection_set(selection_set), object, pending)? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Adds a response key, merging a repeated key's objects and lists of objects (`insert_value` in
/// async-graphql's `resolver_utils::container`).
fn insert(target: &mut IndexMap<Name, Value>, name: Name, value: Value) {
    match target.entry(name) {
        Entry::Vacant(entry) => {
            entry.insert(value);
        }
        Entry::Occupied(mut entry) => merge(entry.get_mut(), value),
    }
}

/// Merges a repeated key's value into the one already there: objects key by key, lists of
/// objects item by item; anything else keeps the first value.
fn merge(existing: &mut Value, value: Value) {
    match (existing, value) {
        (Value::Object(existing), Value::Object(object)) => {
            for (key, value) in object {
                insert(existing, key, value);
            }
        }
        (Value::List(existing), Value::List(list)) => {
            for (i, value) in list.into_iter().enumerate() {
                if let (Some(Value::Object(existing)), Value::Object(object)) = (existing.get_mut(i), value) {
                    for (key, value) in object {
                        insert(existing, key, value);
                    }
                }
            }
        }
        _ => {}
    }
}
