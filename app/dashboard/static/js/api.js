// Calls the public /v1 API with the signed-in user's bearer token; problems become ApiProblem.

const STORAGE_KEY = "certbroker.session";

export class ApiProblem extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.title = problem.title || `HTTP ${status}`;
    this.detail = problem.detail || "";
    this.errors = Array.isArray(problem.errors) ? problem.errors : [];
  }
}

// The session lives in sessionStorage: gone when the tab closes, never in a cookie.
export const session = {
  load() {
    try {
      const raw = sessionStorage.getItem(STORAGE_KEY);
      const value = raw ? JSON.parse(raw) : null;
      if (value && value.expiresAt > Date.now()) return value;
    } catch (_) { /* a damaged entry is as good as none */ }
    sessionStorage.removeItem(STORAGE_KEY);
    return null;
  },
  save(token, expiresIn, scope, subject, method) {
    const value = {
      token,
      expiresAt: Date.now() + (Number(expiresIn) || 900) * 1000,
      scopes: (scope || "").split(/\s+/).filter(Boolean),
      subject,
      method,
    };
    sessionStorage.setItem(STORAGE_KEY, JSON.stringify(value));
    return value;
  },
  clear() {
    sessionStorage.removeItem(STORAGE_KEY);
  },
};

export function hasScope(scope) {
  const current = session.load();
  return Boolean(current && current.scopes.includes(scope));
}

async function problemOf(response) {
  let body = {};
  try {
    body = await response.json();
  } catch (_) {
    body = { title: response.statusText || `HTTP ${response.status}` };
  }
  if (response.status === 401) {
    session.clear();
    window.dispatchEvent(new CustomEvent("certbroker:signed-out"));
  }
  return new ApiProblem(response.status, body);
}

function url(path, query) {
  const target = new URL(path, window.location.origin);
  for (const [key, value] of Object.entries(query || {})) {
    if (value === undefined || value === null || value === "") continue;
    if (Array.isArray(value)) value.forEach((item) => target.searchParams.append(key, item));
    else target.searchParams.set(key, value);
  }
  return target.toString();
}

function authHeaders() {
  const current = session.load();
  if (!current) throw new ApiProblem(401, { title: "Signed out", detail: "Sign in again." });
  return { Authorization: `Bearer ${current.token}` };
}

export async function api(path, { method = "GET", query, body } = {}) {
  const headers = { ...authHeaders(), Accept: "application/json" };
  const init = { method, headers, credentials: "omit" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(url(path, query), init);
  if (!response.ok) throw await problemOf(response);
  return response.status === 204 ? null : response.json();
}

// Lists answer one page shape ({items, next_cursor}); this walks no further than asked.
export async function listAll(path, query = {}, maxItems = 500) {
  const items = [];
  let cursor;
  do {
    const page = await api(path, { query: { ...query, cursor } });
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor && items.length < maxItems);
  return items;
}

// Downloads go through fetch so the token stays out of URLs, then save as a file.
export async function download(path, filename, accept) {
  const headers = authHeaders();
  if (accept) headers.Accept = accept;
  const response = await fetch(url(path), { headers, credentials: "omit" });
  if (!response.ok) throw await problemOf(response);
  const blob = await response.blob();
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10000);
  return blob;
}

export async function tokenWithClientCredentials(clientId, clientSecret) {
  const form = new URLSearchParams({
    grant_type: "client_credentials",
    client_id: clientId,
    client_secret: clientSecret,
  });
  // No cookies, ever; and "omit" keeps the browser from prompting on the token endpoint's
  // Basic challenge (RFC 6749 §5.2) when the secret is wrong.
  const response = await fetch("/oauth/token", {
    method: "POST",
    credentials: "omit",
    headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
    body: form,
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    // RFC 6749 errors carry error/error_description; problems carry title/detail.
    throw new ApiProblem(response.status, {
      title: body.title || "Sign-in refused",
      detail: body.error_description || body.detail || body.error || "",
    });
  }
  return body;
}
