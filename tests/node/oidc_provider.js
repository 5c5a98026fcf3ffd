// A real OpenID Connect provider (panva's oidc-provider) for the test suite, on 127.0.0.1 only.
//
//   node tests/node/oidc_provider.js CONFIG.json
//
// CONFIG.json holds the clients, the private signing key (JWK), a cookie key and the test
// accounts ({accountId: {email, email_verified}}). The server listens on a free port and prints
// one line, "listening <issuer>", once it accepts connections; then nothing else on stdout.
// Logins use the provider's development interaction pages: any login name that is a test
// account, any password. It stops on SIGTERM or SIGINT.

import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const server = createServer();

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, {
    clients: config.clients,
    jwks: { keys: [config.signing_key] },
    cookies: { keys: [config.cookie_key] },
    // Every client must use PKCE, confidential ones too (the default asks it of public ones).
    pkce: { required: () => true },
    scopes: ['openid', 'email'],
    claims: { openid: ['sub'], email: ['email', 'email_verified'] },
    features: { devInteractions: { enabled: true } },
    async findAccount(ctx, accountId) {
      const account = config.accounts[accountId];
      if (!account) {
        return undefined;
      }
      return {
        accountId,
        async claims() {
          return { sub: accountId, ...account };
        },
      };
    },
  });
  server.on('request', provider.callback());
  process.stdout.write(`listening ${issuer}\n`);
});

function stop() {
  server.close(() => process.exit(0));
  server.closeAllConnections();
}

process.on('SIGTERM', stop);
process.on('SIGINT', stop);
