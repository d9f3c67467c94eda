//! Abuse limits on one GraphQL operation, checked before it runs: lexical tokens of the query text
//! (before parsing: parsing is the cost being bounded), then aliases and top-level fields of the
//! operation to run (fragments included, each spread counted where it is used). Depth, complexity
//! and directives per field are async-graphql's own limits, set from the same settings in
//! [`crate::schema::schema_with`]. Every refusal is `QUERY_TOO_COMPLEX` and names the limit.

use std::collections::HashMap;
use crate::error::code;

use async_graphql::{
    ServerError, ServerResult,
    parser::types::{ExecutableDocument, FragmentDefinition, Selection, SelectionSet},
};

use super::operation::Selected;
use crate::config::Limits;

pub fn too_complex(message: String) -> ServerError {
    code::coded(message, code::QUERY_TOO_COMPLEX)
}

/// The query text's tokens and nesting, before it is parsed (parsing is the cost being bounded).
pub fn check_text(query: &str, limits: &Limits) -> ServerResult<()> {
    let max = if limits.max_tokens > 0 { limits.max_tokens } else { usize::MAX - 1 };
    let scan = scan(query, max);
    if scan.tokens > max {
        return Err(too_complex(format!("the query has more than {max} tokens (MAX_QUERY_TOKENS)")));
    }
    let nesting = max_nesting(limits);
    if scan.nesting > nesting {
        return Err(too_complex(format!(
            "the query nests more than {nesting} levels of braces and brackets (MAX_QUERY_DEPTH is {})",
            limits.max_depth
        )));
    }
    Ok(())
}

/// Aliases and root fields of the selected operation (all operations when it cannot be told).
pub fn check_shape(doc: &ExecutableDocument, selected: Option<&Selected>, limits: &Limits) -> ServerResult<()> {
    use async_graphql::parser::types::DocumentOperations;
    let ops: Vec<&SelectionSet> = match (selected.and_then(|s| s.definition(doc)), &doc.operations) {
        (Some(op), _) => vec![&op.node.selection_set.node],
        (None, DocumentOperations::Single(op)) => vec![&op.node.selection_set.node],
        (None, DocumentOperations::Multiple(ops)) => ops.values().map(|op| &op.node.selection_set.node).collect(),
    };
    let mut counter = Counter { fragments: &doc.fragments, aliases: HashMap::new(), roots: HashMap::new() };
    for set in ops {
        if limits.max_root_fields > 0 {
            let roots = counter.root_fields(set, 0);
            if roots > limits.max_root_fields {
                return Err(too_complex(format!(
                    "the operation selects {roots} top-level fields; at most {} (MAX_ROOT_FIELDS)",
                    limits.max_root_fields
                )));
            }
        }
        if limits.max_aliases > 0 {
            let aliases = counter.aliases_in(set, 0);
            if aliases > limits.max_aliases {
                return Err(too_complex(format!(
                    "the operation uses {} aliases; at most {} (MAX_ALIASES)",
                    if aliases == usize::MAX { "too many".to_string() } else { aliases.to_string() },
                    limits.max_aliases
                )));
            }
        }
    }
    Ok(())
}

/// Selections nest at most this deep here (the parser refuses deeper documents already). A spread
/// does not add depth: each fragment is counted once, and a cycle (refused by validation later)
/// counts as nothing.
const MAX_SPREAD_DEPTH: usize = 64;

/// Counts with each fragment's total computed once, so a document whose fragments spread each
/// other many times over costs linear time to count, whatever it would cost to execute.
struct Counter<'d> {
    fragments: &'d HashMap<async_graphql::Name, async_graphql::Positioned<FragmentDefinition>>,
    aliases: HashMap<&'d str, usize>,
    roots: HashMap<&'d str, usize>,
}

impl<'d> Counter<'d> {
    fn aliases_in(&mut self, set: &'d SelectionSet, depth: usize) -> usize {
        if depth > MAX_SPREAD_DEPTH {
            return 0;
        }
        let mut n = 0usize;
        for sel in &set.items {
            let here = match &sel.node {
                Selection::Field(f) => {
                    usize::from(f.node.alias.is_some()).saturating_add(self.aliases_in(&f.node.selection_set.node, depth + 1))
                }
                Selection::InlineFragment(f) => self.aliases_in(&f.node.selection_set.node, depth + 1),
                Selection::FragmentSpread(s) => {
                    let name = s.node.fragment_name.node.as_str();
                    match self.aliases.get(name) {
                        Some(k) => *k,
                        None => {
                            // Marked first: a cycle counts as nothing (validation refuses it).
                            self.aliases.insert(name, 0);
                            let k = match self.fragments.get(name) {
                                Some(def) => self.aliases_in(&def.node.selection_set.node, depth),
                                None => 0,
                            };
                            self.aliases.insert(name, k);
                            k
                        }
                    }
                }
            };
            n = n.saturating_add(here);
        }
        n
    }

    fn root_fields(&mut self, set: &'d SelectionSet, depth: usize) -> usize {
        if depth > MAX_SPREAD_DEPTH {
            return 0;
        }
        let mut n = 0usize;
        for sel in &set.items {
            let here = match &sel.node {
                Selection::Field(_) => 1,
                Selection::InlineFragment(f) => self.root_fields(&f.node.selection_set.node, depth + 1),
                Selection::FragmentSpread(s) => {
                    let name = s.node.fragment_name.node.as_str();
                    match self.roots.get(name) {
                        Some(k) => *k,
                        None => {
                            self.roots.insert(name, 0);
                            let k = match self.fragments.get(name) {
                                Some(def) => self.root_fields(&def.node.selection_set.node, depth),
                                None => 0,
                            };
                            self.roots.insert(name, k);
                            k
                        }
                    }
                }
            };
            n = n.saturating_add(here);
        }
        n
    }
}

/// How deep `{` and `[` may nest in a query text: a little more than `MAX_QUERY_DEPTH` allows
/// (fragments and input values add levels), and always below the parser's own recursion limit,
/// so a deep document is refused here, as `QUERY_TOO_COMPLEX`, and never reaches the parser.
pub fn max_nesting(limits: &Limits) -> usize {
    if limits.max_depth == 0 { 60 } else { (limits.max_depth + 8).clamp(24, 60) }
}

/// What the token pass measures: tokens (up to the limit plus one) and the deepest nesting of
/// `{` and `[` seen in that prefix.
pub struct Scan {
    pub tokens: usize,
    pub nesting: usize,
}

/// The lexical tokens of a GraphQL document (punctuators, names, numbers, strings; whitespace,
/// commas and comments are not tokens), counted up to `max + 1`.
pub fn count_tokens(src: &str, max: usize) -> usize {
    scan(src, max).tokens
}

/// Counts tokens up to `max + 1` and measures the nesting of braces and brackets on the way.
pub fn scan(src: &str, max: usize) -> Scan {
    let b = src.as_bytes();
    let mut i = 0;
    let mut n = 0usize;
    let (mut depth, mut deepest) = (0usize, 0usize);
    while i < b.len() && n <= max {
        match b[i] {
            b'{' | b'[' => {
                n += 1;
                i += 1;
                depth += 1;
                deepest = deepest.max(depth);
            }
            b'}' | b']' => {
                n += 1;
                i += 1;
                depth = depth.saturating_sub(1);
            }
            b' ' | b'\t' | b'\n' | b'\r' | b',' => i += 1,
            b'#' => {
                while i < b.len() && b[i] != b'\n' && b[i] != b'\r' {
                    i += 1;
                }
            }
            b'"' if b[i..].starts_with(b"\"\"\"") => {
                n += 1;
                i += 3;
                while i < b.len() {
                    if b[i..].starts_with(b"\\\"\"\"") {
                        i += 4;
                    } else if b[i..].starts_with(b"\"\"\"") {
                        i += 3;
                        break;
                    } else {
                        i += 1;
                    }
                }
            }
            b'"' => {
                n += 1;
                i += 1;
                while i < b.len() {
                    match b[i] {
                        b'\\' => i += 2,
                        b'"' => {
                            i += 1;
                            break;
                        }
                        b'\n' | b'\r' => break,
                        _ => i += 1,
                    }
                }
            }
            b'.' if b[i..].starts_with(b"...") => {
                n += 1;
                i += 3;
            }
            c if c.is_ascii_alphanumeric() || c == b'_' || c == b'-' => {
                n += 1;
                i += 1;
                while i < b.len() {
                    let c = b[i];
                    let sign_after_exponent = (c == b'+' || c == b'-') && matches!(b[i - 1], b'e' | b'E');
                    if c.is_ascii_alphanumeric() || c == b'_' || c == b'.' || sign_after_exponent {
                        i += 1;
                    } else {
                        break;
                    }
                }
            }
            0xEF if b[i..].starts_with(&[0xEF, 0xBB, 0xBF]) => i += 3,
            _ => {
                n += 1;
                i += 1;
            }
        }
    }
    Scan { tokens: n, nesting: deepest }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_counted_as_the_spec_lexes_them() {
        assert_eq!(count_tokens("{ me { id } }", 100), 6);
        assert_eq!(count_tokens("query Q($a: Int = -1.5e+3) { f(a: $a, b: \"x, y # z\") @skip(if: false) }", 100), 29);
        assert_eq!(count_tokens("# only a comment\n,,,", 100), 0);
        assert_eq!(count_tokens("{ ...F } fragment F on Query { a }", 100), 11);
        assert_eq!(count_tokens(r#"{ f(s: """multi \""" x""") }"#, 100), 8);
    }

    #[test]
    fn nesting_is_measured_outside_strings() {
        assert_eq!(scan("{ a { b { c } } }", 100).nesting, 3);
        assert_eq!(scan("{ f(x: [[1], {y: \"{{{{\"}]) }", 100).nesting, 3);
        assert_eq!(scan("# {{{{\n{ a }", 100).nesting, 1);
    }

    #[test]
    fn counting_stops_past_the_limit() {
        let long = "{ a }".repeat(100_000);
        assert_eq!(count_tokens(&long, 10), 11);
    }

    fn limits() -> Limits {
        Limits {
            max_depth: 0,
            max_complexity: 0,
            max_aliases: 3,
            max_root_fields: 2,
            max_directives: 0,
            max_tokens: 0,
            request_timeout_secs: 0,
        }
    }

    fn check(query: &str) -> ServerResult<()> {
        let doc = async_graphql::parser::parse_query(query).expect("parses");
        check_shape(&doc, None, &limits())
    }

    #[test]
    fn aliases_in_fragments_count_each_time_they_are_spread() {
        assert!(check("{ a: me { id } b: me { id } }").is_ok());
        assert!(check("{ me { ...F ...F } } fragment F on User { x: id y: id }").is_err());
        // Fragments that spread each other exponentially are counted in linear time.
        let mut q = String::from("{ me { ...F0 } } fragment F0 on User { a: id }");
        for i in 1..60 {
            q.push_str(&format!(" fragment F{i} on User {{ ...F{} ...F{} }}", i - 1, i - 1));
        }
        q = q.replace("{ me { ...F0 } }", "{ me { ...F59 } }");
        assert!(check(&q).is_err());
        assert!(check("{ me { ...A } } fragment A on User { ...B } fragment B on User { ...A }").is_ok());
    }

    #[test]
    fn root_fields_count_through_fragments() {
        assert!(check("{ a b }").is_ok());
        assert!(check("{ a ... { b c } }").is_err());
        assert!(check("{ ...R } fragment R on Query { a b c }").is_err());
    }
}
