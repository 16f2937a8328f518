// Starts GraphiQL on the page GET /graphql serves to browsers: queries and mutations go to
// /graphql, subscriptions to /graphql/ws on this same origin. A file rather than an inline
// script, so the page runs under `script-src 'self'`.
/* global React, ReactDOM, GraphiQL */

const origin = new URL(window.location.href);
const subscriptionUrl = new URL('/graphql/ws', origin);
subscriptionUrl.protocol = origin.protocol === 'https:' ? 'wss:' : 'ws:';

const fetcher = GraphiQL.createFetcher({
  url: new URL('/graphql', origin).href,
  // GraphiQL sends the Headers tab as the connection_init payload, so the same
  // {"Authorization": "Bearer …"} signs in the subscriptions.
  subscriptionUrl: subscriptionUrl.href,
});

const defaultQuery = `# memodesk GraphiQL
#
# Sign in: run the login below with your email and password (or use a token from
# \`memodesk token\` or an API key), then put the token in the Headers tab:
#
#   {"Authorization": "Bearer <token>"}
#
# mutation { login(email: "you@example.com", password: "…") { token } }

{
  me { kind }
}
`;

ReactDOM.createRoot(document.getElementById('graphiql')).render(
  React.createElement(GraphiQL, { fetcher, defaultQuery }),
);
