// The client operations the tests send, read from operations/*.graphql: the same files that
// .ci/schema-check validates against schema.graphql (graphql-codegen, then tsc), so what is
// checked is what is sent. Operation and fragment names are unique across the files (codegen
// requires it; a duplicate fails here too).
//
//   import { operation, fragment } from './operations.mjs';
//   client.query({ query: operation('Me') });
//   cache.readFragment({ id, fragment: fragment('PolicyRow'), fragmentName: 'PolicyRow' });
//
// Both return a graphql-js DocumentNode (what Apollo's gql returns): the named definition first,
// then every fragment it uses, directly or through other fragments. The same name always gives
// the same object, so Apollo's per-document caches see one document.
import { readFileSync, readdirSync } from 'node:fs';
import { Kind, parse, visit } from 'graphql';

const DIR = new URL('./operations/', import.meta.url);

const operations = new Map(); // name → OperationDefinitionNode
const fragments = new Map(); // name → FragmentDefinitionNode
for (const file of readdirSync(DIR).filter((f) => f.endsWith('.graphql')).sort()) {
  const document = parse(readFileSync(new URL(file, DIR), 'utf8'), { noLocation: true });
  for (const definition of document.definitions) {
    const name = definition.name?.value;
    let map;
    if (definition.kind === Kind.OPERATION_DEFINITION) map = operations;
    else if (definition.kind === Kind.FRAGMENT_DEFINITION) map = fragments;
    else throw new Error(`operations/${file}: only operations and fragments belong here (${definition.kind})`);
    if (!name) throw new Error(`operations/${file}: an anonymous operation (codegen needs a name)`);
    if (map.has(name)) throw new Error(`operations/${file}: ${name} is defined twice`);
    map.set(name, definition);
  }
}

/** The names of the fragments `definition` spreads, directly or through other fragments. */
function fragmentsUsedBy(definition) {
  const used = new Set();
  const walk = (node) => {
    visit(node, {
      FragmentSpread(spread) {
        const name = spread.name.value;
        if (used.has(name)) return;
        if (!fragments.has(name)) throw new Error(`unknown fragment ...${name} in operations/*.graphql`);
        used.add(name);
        walk(fragments.get(name));
      },
    });
  };
  walk(definition);
  return [...used];
}

const documents = new Map();
function documentOf(kind, map, name) {
  const key = `${kind} ${name}`;
  if (!documents.has(key)) {
    const definition = map.get(name);
    if (!definition) {
      throw new Error(`no ${kind} named ${name} in tests/clients/operations/*.graphql (add it there)`);
    }
    const used = fragmentsUsedBy(definition).filter((n) => n !== name);
    documents.set(
      key,
      Object.freeze({
        kind: Kind.DOCUMENT,
        definitions: [definition, ...used.map((n) => fragments.get(n))],
      }),
    );
  }
  return documents.get(key);
}

/** The document of the named operation (query, mutation or subscription) with its fragments. */
export const operation = (name) => documentOf('operation', operations, name);

/** The document of the named fragment (first) and the fragments it uses, e.g. for readFragment. */
export const fragment = (name) => documentOf('fragment', fragments, name);
