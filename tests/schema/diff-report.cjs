// `graphql-inspector diff --onComplete` handler for .ci/schema-check. Instead of exiting 1 on a
// breaking change (the default handler), it writes "<breaking> <dangerous> <safe>" change counts
// to $SCHEMA_DIFF_REPORT and returns, so the script can tell "breaking changes found" (a verdict)
// from "graphql-inspector failed" (non-zero exit, e.g. a schema that does not parse).
// graphql-inspector itself lists every change before calling this.
const fs = require('node:fs');

module.exports = function onComplete({ breakingChanges, dangerousChanges, nonBreakingChanges }) {
  const out = process.env.SCHEMA_DIFF_REPORT;
  if (!out) {
    throw new Error('SCHEMA_DIFF_REPORT is not set (run through .ci/schema-check)');
  }
  fs.writeFileSync(
    out,
    `${breakingChanges.length} ${dangerousChanges.length} ${nonBreakingChanges.length}\n`,
  );
};
