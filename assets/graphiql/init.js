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

  // GraphiQL calls this with the parsed headers editor in opts.headers; createFetcher adds them
  // to HTTP requests but not to a wsClient, hence the client per Authorization above.
  function fetcher(params, opts) {
    var headers = sentHeaders(opts && opts.headers);
    return fetcherFor(authorization(headers))(params, Object.assign({}, opts, { headers: headers }));
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
