// TypeScript types for the client operations in tests/clients/operations, generated from
// schema.graphql. Generation fails on any operation that does not validate against the schema
// (unknown type, field or argument, wrong variable type, unknown fragment, ...); `tsc --noEmit`
// then type-checks the output. Run by .ci/schema-check, or here: `npm run codegen && npm run typecheck`.
// Paths are relative to this directory (the script runs codegen from it).
//
// Two files: since @graphql-codegen/typescript-operations 5, that plugin emits the enums and input
// types its operations use by itself, so it cannot share one file with the `typescript` plugin
// (duplicate identifiers). `typescript` writes every schema type to schema.ts, and the operations
// import them from there (`importSchemaTypesFrom`, as the namespace `Types`).
import type { CodegenConfig } from '@graphql-codegen/cli';

const config: CodegenConfig = {
  schema: '../../schema.graphql',
  documents: ['../clients/operations/*.graphql'],
  // A glob that matches no document is an error, not an empty output.
  ignoreNoDocuments: false,
  overwrite: true,
  config: {
    // Every custom scalar must be mapped here: a new scalar in schema.graphql fails the
    // generation until it is given a TypeScript type.
    strictScalars: true,
    scalars: {
      // An RFC 3339 instant, e.g. "2026-01-31T08:00:00Z" (chrono DateTime<Utc>).
      DateTime: { input: 'string', output: 'string' },
      // A calendar day "YYYY-MM-DD" (src/scalars.rs); the server refuses any other form.
      Date: { input: 'string', output: 'string' },
      // rust_decimal: always answered as a string ("125000.50"). The server also takes a JSON
      // number for it, but through f64; strings keep amounts exact.
      Decimal: { input: 'string', output: 'string' },
      // Any JSON value (Policy.coverage is an object; PreviewTemplateInput.sampleData anything).
      JSON: { input: 'unknown', output: 'unknown' },
      // A file of a GraphQL multipart request (template assets): a File or Blob in the browser;
      // never in an answer.
      Upload: { input: 'File | Blob', output: 'never' },
    },
    // Enums as string-literal unions ('ACTIVE' | 'DRAFT' ...), no runtime code.
    enumsAsTypes: true,
    useTypeImports: true,
  },
  generates: {
    // generated/ is gitignored: regenerated on every run.
    'generated/schema.ts': {
      plugins: ['typescript'],
    },
    'generated/operations.ts': {
      plugins: ['typescript-operations'],
      config: {
        importSchemaTypesFrom: './generated/schema.ts',
        namespacedImportName: 'Types',
      },
    },
  },
};

export default config;
