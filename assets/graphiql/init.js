// Starts the GraphiQL playground (ours, not vendored: fetch.sh leaves it alone). It is a file
// rather than an inline script so that the page's Content-Security-Policy allows 'self' only.
// Globals from the vendored UMD bundles: React, ReactDOM (React 18), GraphiQL (3.8.2, with
// GraphiQL.createFetcher), graphqlWs (graphql-ws 5, with graphqlWs.createClient).
(function () {
  'use strict';

  var PLACEHOLDER = 'Bearer <accessToken>';
  var httpUrl = location.origin + '/graphql';
  var wsUrl = (location.protocol === 'https:' ? 'wss' : 'ws') + '://' + location.host + '/graphql';

  var defaultHeaders = '{\n  "Authorization": "' + PLACEHOLDER + '"\n}';
  var defaultQuery = [
    '# MonAssurance GraphQL',
    '#',
    '# 1. Sign in: uncomment the mutation below (select it,',
    '#    Ctrl-/), put in your e-mail and password, and run',
    '#    it (Ctrl-Enter, or the play button).',
    '# 2. Paste `accessToken` into the Headers tab below, in',
    '#    place of <accessToken>. Subscriptions send it in',
    '#    connection_init (WebSocket at /graphql).',
    '# 3. The Docs button (left) lists every operation.',
    '',
    '# mutation Login {',
    '#   login(input: {',
    '#     email: "you@example.com"',
    '#     password: "your password"',
    '#     deviceName: "GraphiQL"',
    '#   }) {',
    '#     accessToken',
    '#     expiresIn',
    '#     user { fullName role }',
    '#   }',
    '# }',
    '',
    'query Me {',
    '  me { email fullName role }',
    '}',
    '',
  ].join('\n');

  // The headers to send: the headers editor's, less an Authorization still holding the placeholder.
  function sentHeaders(headers) {
    var out = {};
    Object.keys(headers || {}).forEach(function (name) {
      var value = headers[name];
      if (name.toLowerCase() === 'authorization' && String(value).indexOf('<accessToken>') !== -1) return;
      out[name] = value;
    });
    return out;
  }

  function authorization(headers) {
    var name = Object.keys(headers).find(function (n) { return n.toLowerCase() === 'authorization'; });
    return name && headers[name] ? String(headers[name]) : null;
  }

  // One WebSocket client per Authorization value: the token goes in connection_init's payload,
  // so a new token in the headers editor means a new connection (the old client is disposed).
  var current = null;
  function fetcherFor(auth) {
    if (current && current.auth === auth) return current.fetcher;
    if (current) current.wsClient.dispose();
    var wsClient = graphqlWs.createClient({
      url: wsUrl,
      connectionParams: function () { return auth ? { authorization: auth } : {}; },
    });
    // A socket that fails to open reports a bare Event, which GraphiQL shows as
    // {"isTrusted": true}: say what happened instead.
    var subscribe = wsClient.subscribe;
    wsClient.subscribe = function (payload, sink) {
      return subscribe(payload, {
        next: function (value) { sink.next(value); },
        complete: function () { sink.complete(); },
        error: function (err) {
          var plain = typeof CloseEvent !== 'undefined' && err instanceof Event && !(err instanceof CloseEvent);
          sink.error(plain ? new Error('Could not open the WebSocket to ' + wsUrl + ' (see the browser console)') : err);
        },
      });
    };
    current = { auth: auth, wsClient: wsClient, fetcher: GraphiQL.createFetcher({ url: httpUrl, wsClient: wsClient }) };
    return current.fetcher;
  }

  // The names of the operations a document defines. A small scan rather than a parse (no GraphQL
  // parser is global here): comments and strings are skipped, and only names at the top level,
  // right after `query`, `mutation` or `subscription`, count.
  var TOKEN = /#[^\n\r]*|"""(?:\\"""|[^])*?"""|"(?:\\.|[^"\\\n\r])*"|[_A-Za-z][_0-9A-Za-z]*|[^\s,]/g;
  function operationNames(query) {
    var names = [];
    var depth = 0;
    var afterKeyword = false;
    var match;
    TOKEN.lastIndex = 0;
    while ((match = TOKEN.exec(query))) {
      var token = match[0];
      if (token[0] === '#' || token[0] === '"') continue;
      if (token === '{' || token === '(' || token === '[') depth++;
      else if (token === '}' || token === ')' || token === ']') depth = Math.max(0, depth - 1);
      else if (depth === 0 && afterKeyword && /^[_A-Za-z]/.test(token)) names.push(token);
      afterKeyword = depth === 0 && (token === 'query' || token === 'mutation' || token === 'subscription');
    }
    return names;
  }

  // The operationName to send: GraphiQL's, unless the document sent does not define it. GraphiQL
  // takes the name from its last parse of the editor (debounced), so a query typed over the
  // default `query Me` and run at once (Ctrl-Enter) would still be sent as "Me", and the server
  // would answer `Unknown operation named "Me"`. Without a name, a document with one operation
  // runs that one.
  function withDefinedOperationName(params) {
    var name = params && params.operationName;
    if (!name || typeof params.query !== 'string') return params;
    if (operationNames(params.query).indexOf(name) !== -1) return params;
    var out = Object.assign({}, params);
    delete out.operationName;
    return out;
  }

  // GraphiQL calls this with the parsed headers editor in opts.headers; createFetcher adds them
  // to HTTP requests but not to a wsClient, hence the client per Authorization above.
  function fetcher(params, opts) {
    var headers = sentHeaders(opts && opts.headers);
    var sent = withDefinedOperationName(params);
    return fetcherFor(authorization(headers))(sent, Object.assign({}, opts, { headers: headers }));
  }

  ReactDOM.createRoot(document.getElementById('graphiql')).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: defaultQuery,
      defaultHeaders: defaultHeaders,
      defaultEditorToolsVisibility: 'headers',
      isHeadersEditorEnabled: true,
      // Tokens stay out of localStorage; the editor comes back with the placeholder.
      shouldPersistHeaders: false,
    })
  );
})();
