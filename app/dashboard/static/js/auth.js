// Sign-in: an API client's id and secret (client credentials), or an external IdP with
// authorization code + PKCE. The token stays in this tab's sessionStorage only.

import { ApiProblem, session, tokenWithClientCredentials } from "./api.js";

const PKCE_KEY = "certbroker.pkce";

function base64url(bytes) {
  let text = "";
  for (const byte of new Uint8Array(bytes)) text += String.fromCharCode(byte);
  return btoa(text).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function randomString(size = 32) {
  return base64url(crypto.getRandomValues(new Uint8Array(size)));
}

function claimsOf(token) {
  try {
    const payload = token.split(".")[1].replaceAll("-", "+").replaceAll("_", "/");
    return JSON.parse(atob(payload.padEnd(payload.length + ((4 - (payload.length % 4)) % 4), "=")));
  } catch (_) {
    return {};
  }
}

export async function signInWithClient(clientId, clientSecret) {
  const answer = await tokenWithClientCredentials(clientId, clientSecret);
  const claims = claimsOf(answer.access_token);
  return session.save(
    answer.access_token,
    answer.expires_in,
    answer.scope || claims.scope,
    claims.sub || clientId,
    "client"
  );
}

function redirectUri() {
  return `${window.location.origin}/dashboard/`;
}

export async function startIdpSignIn(idp) {
  const verifier = randomString(48);
  const state = randomString(16);
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  sessionStorage.setItem(PKCE_KEY, JSON.stringify({ verifier, state, issuer: idp.issuer }));
  const target = new URL(idp.authorization_endpoint);
  target.search = new URLSearchParams({
    response_type: "code",
    client_id: idp.client_id,
    redirect_uri: redirectUri(),
    scope: idp.scope,
    state,
    code_challenge: base64url(digest),
    code_challenge_method: "S256",
  }).toString();
  window.location.assign(target.toString());
}

// Called on load: finishes an authorization-code sign-in when the IdP sent the user back.
export async function finishIdpSignIn(config) {
  const params = new URLSearchParams(window.location.search);
  if (!params.has("code") && !params.has("error")) return null;
  const pending = JSON.parse(sessionStorage.getItem(PKCE_KEY) || "null");
  sessionStorage.removeItem(PKCE_KEY);
  window.history.replaceState(null, "", `${window.location.pathname}#/overview`);
  if (params.has("error")) {
    throw new ApiProblem(401, {
      title: "Sign-in refused by the identity provider",
      detail: params.get("error_description") || params.get("error"),
    });
  }
  if (!pending || pending.state !== params.get("state")) {
    throw new ApiProblem(400, { title: "Sign-in failed", detail: "The sign-in state did not match; try again." });
  }
  const idp = config.idps.find((item) => item.issuer === pending.issuer);
  if (!idp) throw new ApiProblem(400, { title: "Sign-in failed", detail: "Unknown identity provider." });
  const response = await fetch(idp.token_endpoint, {
    method: "POST",
    credentials: "omit",
    headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      code: params.get("code"),
      redirect_uri: redirectUri(),
      client_id: idp.client_id,
      code_verifier: pending.verifier,
    }),
  });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok || !answer.access_token) {
    throw new ApiProblem(response.status || 401, {
      title: "Sign-in failed",
      detail: answer.error_description || answer.error || "The identity provider gave no token.",
    });
  }
  const claims = claimsOf(answer.access_token);
  const scopes = answer.scope || claims.scope || claims.scp || "";
  return session.save(
    answer.access_token,
    answer.expires_in || (claims.exp ? claims.exp - Date.now() / 1000 : 900),
    Array.isArray(scopes) ? scopes.join(" ") : scopes,
    claims.preferred_username || claims.email || claims.sub,
    "idp"
  );
}

export function signOut() {
  session.clear();
}
