#!/usr/bin/env bash
# Re-fetches the vendored GraphiQL playground files from the npm registry (`npm pack`), keeping
# only the UMD bundles the page loads and each package's licence. `init.js` is ours, not fetched.
#   bash assets/graphiql/fetch.sh
set -euo pipefail

GRAPHIQL=3.8.2      # the last GraphiQL with a UMD build (4+/5 ship ES modules only, React 19)
REACT=18.3.1        # GraphiQL 3's UMD bundle is built against React 18 (window.React / window.ReactDOM)
GRAPHQL_WS=5.16.2   # the last 5.x: ships umd/graphql-ws.min.js (window.graphqlWs)

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

# unpack <spec>: npm pack a package and extract it into ./<name>/
unpack() {
  local name=${1%@*}
  local tgz
  tgz=$(npm pack --silent "$1" | tail -n 1)
  mkdir -p "$name"
  tar -xzf "$tgz" -C "$name" --strip-components=1
}

unpack "graphiql@$GRAPHIQL"
unpack "react@$REACT"
unpack "react-dom@$REACT"
unpack "graphql-ws@$GRAPHQL_WS"

cp graphiql/graphiql.min.js graphiql/graphiql.min.css "$here/"
cp react/umd/react.production.min.js "$here/"
cp react-dom/umd/react-dom.production.min.js "$here/"
cp graphql-ws/umd/graphql-ws.min.js "$here/"
cp graphiql/LICENSE "$here/LICENSE.graphiql"
cp react/LICENSE "$here/LICENSE.react"
cp react-dom/LICENSE "$here/LICENSE.react-dom"
cp graphql-ws/LICENSE.md "$here/LICENSE.graphql-ws"

# The bundles end with a sourceMappingURL comment; the .map files are not shipped (browsers
# fetch them only with the developer tools open, and then get a 404).
(cd "$here" && sha256sum graphiql.min.js graphiql.min.css react.production.min.js \
  react-dom.production.min.js graphql-ws.min.js)
