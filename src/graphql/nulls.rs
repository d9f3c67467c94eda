//! A failed field answers `null`, as the specification's "Handling Execution Errors" asks:
//! async-graphql drops a failed field's key from its parent instead. After execution, and only when
//! some field failed, each error's path is walked through the operation and the schema's types: a
//! failed nullable field becomes `null`; a failed non-null one makes the nearest nullable field or
//! list item above it `null` (or `data` itself). Nothing runs per field.

use std::collections::HashMap;

use async_graphql::{
    Name, PathSegment, Response, Value,
    parser::types::{
        BaseType, ExecutableDocument, OperationDefinition, OperationType, Selection, SelectionSet, Type, TypeDefinition,
        TypeKind, TypeSystemDefinition,
    },
};

/// Each object and interface type's fields and their types, read from the schema's SDL once.
pub struct FieldTypes {
    types: HashMap<String, HashMap<String, Type>>,
    roots: [String; 3],
}

impl FieldTypes {
    pub fn from_sdl(sdl: &str) -> anyhow::Result<Self> {
        let doc = async_graphql::parser::parse_schema(sdl)?;
        let mut types = HashMap::new();
        let mut roots = ["Query".to_string(), "Mutation".to_string(), "Subscription".to_string()];
        for def in doc.definitions {
            match def {
                TypeSystemDefinition::Type(t) => {
                    let TypeDefinition { name, kind, .. } = t.node;
                    let fields = match kind {
                        TypeKind::Object(o) => o.fields,
                        TypeKind::Interface(i) => i.fields,
                        _ => continue,
                    };
                    let fields = fields.into_iter().map(|f| (f.node.name.node.to_string(), f.node.ty.node)).collect();
                    types.insert(name.node.to_string(), fields);
                }
                TypeSystemDefinition::Schema(s) => {
                    let s = s.node;
                    for (slot, root) in roots.iter_mut().zip([s.query, s.mutation, s.subscription]) {
                        if let Some(root) = root {
                            *slot = root.node.to_string();
                        }
                    }
                }
                TypeSystemDefinition::Directive(_) => {}
            }
        }
        Ok(FieldTypes { types, roots })
    }

    fn field(&self, parent: &str, name: &str) -> Option<&Type> {
        self.types.get(parent)?.get(name)
    }
}

/// Where one position of a path stands: the nullability of the field or list item there.
struct Position {
    /// The path up to and including this segment.
    len: usize,
    nullable: bool,
}

/// The fields of `sets` answering under `key`, each with the type it is looked up on (a fragment's
/// type condition, else `parent`).
fn fields_of<'d>(
    doc: &'d ExecutableDocument,
    sets: &[(&'d SelectionSet, &'d str)],
    key: &str,
    out: &mut Vec<(&'d async_graphql::parser::types::Field, &'d str)>,
    depth: usize,
) {
    if depth > 64 {
        return;
    }
    for (set, parent) in sets {
        for item in &set.items {
            match &item.node {
                Selection::Field(f) if f.node.response_key().node.as_str() == key => out.push((&f.node, parent)),
                Selection::Field(_) => {}
                Selection::InlineFragment(frag) => {
                    let on = frag.node.type_condition.as_ref().map_or(*parent, |c| c.node.on.node.as_str());
                    fields_of(doc, &[(&frag.node.selection_set.node, on)], key, out, depth + 1);
                }
                Selection::FragmentSpread(spread) => {
                    if let Some(frag) = doc.fragments.get(&spread.node.fragment_name.node) {
                        let on = frag.node.type_condition.node.on.node.as_str();
                        fields_of(doc, &[(&frag.node.selection_set.node, on)], key, out, depth + 1);
                    }
                }
            }
        }
    }
}

/// The positions of `path` in the operation, or `None` where it cannot be followed.
fn positions(types: &FieldTypes, doc: &ExecutableDocument, root: (&SelectionSet, &str), path: &[PathSegment]) -> Option<Vec<Position>> {
    let mut out = Vec::with_capacity(path.len());
    let mut sets: Vec<(&SelectionSet, &str)> = vec![root];
    let mut current: Option<&Type> = None;
    for (i, segment) in path.iter().enumerate() {
        match segment {
            PathSegment::Field(key) => {
                let mut found = Vec::new();
                fields_of(doc, &sets, key, &mut found, 0);
                let (first, on) = *found.first()?;
                let ty = types.field(on, first.name.node.as_str())?;
                out.push(Position { len: i + 1, nullable: ty.nullable });
                let named = named_type(ty);
                sets = found.iter().map(|(f, _)| (&f.selection_set.node, named)).collect();
                current = Some(ty);
            }
            PathSegment::Index(_) => {
                let BaseType::List(item) = &current?.base else { return None };
                out.push(Position { len: i + 1, nullable: item.nullable });
                current = Some(item);
            }
        }
    }
    Some(out)
}

fn named_type(ty: &Type) -> &str {
    match &ty.base {
        BaseType::Named(name) => name.as_str(),
        BaseType::List(item) => named_type(item),
    }
}

/// The value at `path` in `data`, when it is there.
fn at_mut<'v>(data: &'v mut Value, path: &[PathSegment]) -> Option<&'v mut Value> {
    let mut v = data;
    for segment in path {
        v = match (segment, v) {
            (PathSegment::Field(key), Value::Object(map)) => map.get_mut(key.as_str())?,
            (PathSegment::Index(i), Value::List(items)) => items.get_mut(*i)?,
            _ => return None,
        };
    }
    Some(v)
}

/// Sets `null` at `path` when its parent is there, false when it is not. With `revive`, a parent
/// that reads `null` becomes an object again (async-graphql answers `null` for an object whose
/// every field failed); a parent nulled by propagation is not revived.
fn set_null(data: &mut Value, path: &[PathSegment], revive: bool) -> bool {
    let Some((last, parent)) = path.split_last() else { return false };
    let Some(parent) = at_mut(data, parent) else { return false };
    match (last, parent) {
        (PathSegment::Field(key), parent) => {
            if revive && *parent == Value::Null {
                *parent = Value::Object(Default::default());
            }
            let Value::Object(map) = parent else { return false };
            map.insert(Name::new(key), Value::Null);
            true
        }
        (PathSegment::Index(i), Value::List(items)) if *i < items.len() => {
            items[*i] = Value::Null;
            true
        }
        _ => false,
    }
}

/// Applies null propagation to a response of `op` (of `doc`) whose fields failed (does nothing
/// otherwise).
pub fn propagate(types: &FieldTypes, doc: &ExecutableDocument, op: &OperationDefinition, resp: &mut Response) {
    if resp.errors.iter().all(|e| e.path.is_empty()) {
        return;
    }
    let root = match op.ty {
        OperationType::Query => &types.roots[0],
        OperationType::Mutation => &types.roots[1],
        OperationType::Subscription => &types.roots[2],
    };
    let root = (&op.selection_set.node, root.as_str());
    let mut data = std::mem::take(&mut resp.data);
    // First every failed nullable field reads `null`, then non-null failures null their nearest
    // nullable ancestor, which wins over anything set below it.
    let mut propagating = Vec::new();
    for e in resp.errors.iter().filter(|e| !e.path.is_empty()) {
        let Some(positions) = positions(types, doc, root, &e.path) else { continue };
        match positions.last() {
            Some(last) if last.nullable => {
                set_null(&mut data, &e.path, true);
            }
            _ => propagating.push((e.path.clone(), positions)),
        }
    }
    for (path, positions) in propagating {
        let nulled = positions[..positions.len() - 1]
            .iter()
            .rev()
            .filter(|p| p.nullable)
            .any(|p| set_null(&mut data, &path[..p.len], false));
        if !nulled {
            data = Value::Null;
            break;
        }
    }
    resp.data = data;
}
