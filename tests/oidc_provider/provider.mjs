// A real OpenID Provider for cehours' sign-in tests: panva/oidc-provider (OpenID Certified),
// configured from the environment by tests/e2e/oidc/provider.py. Never deployed.
//
//   OP_PORT            loopback port to listen on
//   OP_ISSUER          the issuer URL (http://127.0.0.1:<port>)
//   OP_KEYS_FILE       a JSON Web Key Set of private signing keys; the first one signs
//                      (restart with another set to rotate keys)
//   OP_CLIENT          JSON: {client_id, client_secret, redirect_uris, post_logout_redirect_uris}
//   OP_ACCOUNTS        JSON: {login: {claim: value, ...}} (the claims each test account has)
//   OP_CLAIMS          JSON: the profile scope's claims, e.g. ["name", "sfzhm"]
//   OP_USERINFO_ONLY   "1": the ID token carries no profile claims (only userinfo has them)
import { readFileSync } from "node:fs";
import Provider from "oidc-provider";

const env = (name) => {
  const value = process.env[name];
  if (!value) {
    console.error(`provider.mjs: ${name} is required`);
    process.exit(2);
  }
  return value;
};

const port = Number(env("OP_PORT"));
const issuer = env("OP_ISSUER");
const jwks = JSON.parse(readFileSync(env("OP_KEYS_FILE"), "utf8"));
const client = JSON.parse(env("OP_CLIENT"));
const accounts = JSON.parse(env("OP_ACCOUNTS"));
const profileClaims = JSON.parse(env("OP_CLAIMS"));

const provider = new Provider(issuer, {
  clients: [
    {
      ...client,
      grant_types: ["authorization_code"],
      response_types: ["code"],
      token_endpoint_auth_method: "client_secret_basic",
      id_token_signed_response_alg: "RS256",
    },
  ],
  jwks,
  cookies: { keys: ["cehours-test-provider-cookie-key"] },
  // Authorization code flow with PKCE (S256 only), as the relying party must use it.
  pkce: { required: () => true, methods: ["S256"] },
  claims: { openid: ["sub"], profile: profileClaims },
  // Government providers often put their custom claims in the ID token itself: so do we, which
  // also makes the ID token carry the ID number (the relying party must keep it out of URLs).
  conformIdTokenClaims: process.env.OP_USERINFO_ONLY === "1",
  features: {
    devInteractions: { enabled: true },
    rpInitiatedLogout: { enabled: true },
  },
  async findAccount(ctx, id) {
    const claims = accounts[id];
    if (!claims) return undefined;
    return { accountId: id, async claims() { return { sub: id, ...claims }; } };
  },
});

provider.on("server_error", (ctx, err) => console.error("server_error", err));
provider.listen(port, "127.0.0.1", () => {
  console.log(`listening ${issuer}`);
});
