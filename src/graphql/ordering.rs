//! Fields answer in the order they were selected (the specification's "Serialized Map
//! Ordering"). async-graphql resolves a query's fields concurrently and writes each object's
//! fields in the order they finish, so a field that waits on the database lands after its
//! siblings. After execution each object is put back in its selection's order: one walk of the
//! answer, the selection of a list's items worked out once for all of them, an object rebuilt
//! only when its order differs.

use std::cell::OnceCell;

use async_graphql::{
    Name, Value,
    indexmap::IndexMap,
    parser::types::{ExecutableDocument, OperationDefinition, Selection, SelectionSet},
};

/// The response keys of a selection in order, each with the selections below it and, once
/// needed, their own plan (shared by every item of a list).
struct Plan<'d> {
    fields: Vec<Field<'d>>,
}

struct Field<'d> {
    key: &'d str,
    sets: Vec<&'d SelectionSet>,
    child: OnceCell<Box<Plan<'d>>>,
}

/// Fragments nest at most this deep here (validation refuses cycles; this only bounds the walk).
const MAX_FRAGMENT_DEPTH: usize = 64;

fn collect<'d>(doc: &'d ExecutableDocument, set: &'d SelectionSet, plan: &mut Plan<'d>, depth: usize) {
    if depth > MAX_FRAGMENT_DEPTH {
        return;
    }
    for item in &set.items {
        match &item.node {
            Selection::Field(f) => {
                let key = f.node.response_key().node.as_str();
                let children = &f.node.selection_set.node;
                match plan.fields.iter_mut().find(|field| field.key == key) {
                    Some(field) => field.sets.push(children),
                    None => plan.fields.push(Field { key, sets: vec![children], child: OnceCell::new() }),
                }
            }
            Selection::InlineFragment(frag) => collect(doc, &frag.node.selection_set.node, plan, depth + 1),
            Selection::FragmentSpread(spread) => {
                if let Some(frag) = doc.fragments.get(&spread.node.fragment_name.node) {
                    collect(doc, &frag.node.selection_set.node, plan, depth + 1);
                }
            }
        }
    }
}

fn plan<'d>(doc: &'d ExecutableDocument, sets: &[&'d SelectionSet]) -> Plan<'d> {
    let mut plan = Plan { fields: Vec::new() };
    for set in sets {
        collect(doc, set, &mut plan, 0);
    }
    plan
}

/// True when the keys come in the plan's order (a key the plan does not hold never does).
fn in_order(plan: &Plan<'_>, map: &IndexMap<Name, Value>) -> bool {
    let mut next = 0;
    for key in map.keys() {
        match plan.fields[next..].iter().position(|f| f.key == key.as_str()) {
            Some(i) => next += i + 1,
            None => return false,
        }
    }
    true
}

/// Puts `value` (and everything below it) in the order of `plan`.
fn apply<'d>(doc: &'d ExecutableDocument, plan: &Plan<'d>, value: &mut Value) {
    match value {
        Value::List(items) => {
            for item in items {
                apply(doc, plan, item);
            }
        }
        Value::Object(map) => {
            if !in_order(plan, map) {
                let mut old = std::mem::take(map);
                let mut sorted = IndexMap::with_capacity(old.len());
                for field in &plan.fields {
                    if let Some((name, v)) = old.shift_remove_entry(field.key) {
                        sorted.insert(name, v);
                    }
                }
                sorted.extend(old);
                *map = sorted;
            }
            let mut fields = plan.fields.iter();
            for (key, child) in map.iter_mut() {
                let Some(field) = fields.by_ref().find(|f| f.key == key.as_str()) else { break };
                if matches!(child, Value::Object(_) | Value::List(_)) && field.sets.iter().any(|s| !s.items.is_empty()) {
                    let below = field.child.get_or_init(|| Box::new(self::plan(doc, &field.sets)));
                    apply(doc, below, child);
                }
            }
        }
        _ => {}
    }
}

/// Puts `data`, the answer to `op` of `doc`, in selection order.
pub fn in_selection_order(doc: &ExecutableDocument, op: &OperationDefinition, data: &mut Value) {
    let root = plan(doc, &[&op.selection_set.node]);
    apply(doc, &root, data);
}
