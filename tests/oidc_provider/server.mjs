// A real OpenID Connect provider for Comptoir's SSO tests: panva/oidc-provider (an OpenID
// Certified implementation) with a tiny, non-interactive login the tests drive over HTTP.
//
// Configuration is one JSON document in the OIDC_PROVIDER_CONFIG environment variable:
//   {
//     "port": 4000,                         // 127.0.0.1 only
//     "issuer": "http://127.0.0.1:4000",
//     "claims_in_id_token": true,           // false: e-mail claims only from userinfo
//     "clients": [{"client_id": "...", "client_secret": "...", "redirect_uris": ["..."],
//                  "tamper": "payload" | "foreign-key"}],   // tamper: test-only misbehaviour
//     "accounts": [{"sub": "...", "email": "...", "email_verified": true, "name": "..."}]
//   }
//
// Login: GET /interaction/<uid> shows a form; POST it with `login=<sub>` to sign in and grant
// the requested scopes in one step, or with `action=deny` to answer `access_denied`.
// A client with "tamper" gets ID tokens that must be refused: "payload" alters a claim after
// signing, "foreign-key" signs with a key the provider never published (same key id).
import { createSign, generateKeyPairSync, randomBytes } from 'node:crypto';
import Provider from 'oidc-provider';

const config = JSON.parse(process.env.OIDC_PROVIDER_CONFIG || '{}');
const port = Number(config.port || process.argv[2] || 4000);
const issuer = config.issuer || `http://127.0.0.1:${port}`;
const accounts = new Map((config.accounts || []).map((a) => [a.sub, a]));
const tampered = new Map(
  (config.clients || []).filter((c) => c.tamper).map((c) => [c.client_id, c.tamper]),
);

function rsaJwk(kid) {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { privateKey, jwk: { ...privateKey.export({ format: 'jwk' }), kid, use: 'sig', alg: 'RS256' } };
}

const signing = rsaJwk(`key-${randomBytes(4).toString('hex')}`);
const foreign = rsaJwk(signing.jwk.kid);

const b64url = (buf) => Buffer.from(buf).toString('base64url');

function tamper(idToken, how) {
  const [header, payload] = idToken.split('.');
  if (how === 'payload') {
    const claims = JSON.parse(Buffer.from(payload, 'base64url'));
    claims.sub = `${claims.sub}-someone-else`;
    return [header, b64url(JSON.stringify(claims)), idToken.split('.')[2]].join('.');
  }
  const signer = createSign('RSA-SHA256');
  signer.update(`${header}.${payload}`);
  return `${header}.${payload}.${b64url(signer.sign(foreign.privateKey))}`;
}

const provider = new Provider(issuer, {
  clients: (config.clients || []).map((c) => ({
    client_id: c.client_id,
    client_secret: c.client_secret,
    redirect_uris: c.redirect_uris,
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  })),
  jwks: { keys: [signing.jwk] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  conformIdTokenClaims: config.claims_in_id_token === false,
  features: { devInteractions: { enabled: false } },
  pkce: { required: () => true },
  async findAccount(ctx, sub) {
    const account = accounts.get(sub);
    if (!account) return undefined;
    return {
      accountId: sub,
      async claims() {
        const claims = { sub, email: account.email, email_verified: account.email_verified };
        if (account.name) claims.name = account.name;
        return claims;
      },
    };
  },
});

function page(uid, message = '') {
  const esc = (s) => String(s).replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!doctype html><title>Test OpenID provider</title>
<p class="error">${esc(message)}</p>
<form method="post" action="/interaction/${esc(uid)}">
<input name="login" placeholder="subject"><button name="action" value="login">Sign in</button>
<button name="action" value="deny">Deny</button></form>`;
}

async function readForm(req) {
  let body = '';
  for await (const chunk of req) body += chunk;
  return new URLSearchParams(body);
}

provider.use(async (ctx, next) => {
  const match = ctx.path.match(/^\/interaction\/([^/]+)$/);
  if (!match) {
    await next();
    if (ctx.path === '/token' && ctx.body && ctx.body.id_token) {
      const how = tampered.get(ctx.oidc?.client?.clientId);
      if (how) ctx.body = { ...ctx.body, id_token: tamper(ctx.body.id_token, how) };
    }
    return;
  }
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  ctx.type = 'html';
  if (ctx.method === 'GET') {
    ctx.body = page(details.uid);
    return;
  }
  const form = await readForm(ctx.req);
  let result;
  if (form.get('action') === 'deny') {
    result = { error: 'access_denied', error_description: 'The user refused to sign in.' };
  } else {
    const accountId = form.get('login') || '';
    if (!accounts.has(accountId)) {
      ctx.status = 400;
      ctx.body = page(details.uid, `unknown account ${accountId}`);
      return;
    }
    const grant = new provider.Grant({ accountId, clientId: details.params.client_id });
    grant.addOIDCScope(details.params.scope);
    result = { login: { accountId }, consent: { grantId: await grant.save() } };
  }
  const to = await provider.interactionResult(ctx.req, ctx.res, result,
    { mergeWithLastSubmission: false });
  ctx.status = 303;
  ctx.redirect(to);
});

const server = provider.listen(port, '127.0.0.1', () => {
  process.stdout.write(`oidc-provider listening on ${issuer}\n`);
});
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
