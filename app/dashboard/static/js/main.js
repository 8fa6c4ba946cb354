// The dashboard's entry: sign-in state, navigation by URL hash, one view at a time.

import { session } from "./api.js";
import { finishIdpSignIn, signOut } from "./auth.js";
import { clearNotice, h, render, showProblem } from "./ui.js";
import { approvalsView } from "./views/approvals.js";
import { certificateView } from "./views/certificate.js";
import { certificatesView } from "./views/certificates.js";
import { domainsView } from "./views/domains.js";
import { overviewView } from "./views/overview.js";
import { signInView } from "./views/signin.js";

let config = { idps: [] };

const VIEWS = [
  [/^\/overview$/, overviewView, "overview"],
  [/^\/certificates$/, certificatesView, "certificates"],
  [/^\/certificates\/([0-9a-zA-Z_-]+)$/, certificateView, "certificates"],
  [/^\/approvals$/, approvalsView, "approvals"],
  [/^\/domains$/, domainsView, "domains"],
];

function parseHash() {
  const raw = window.location.hash.replace(/^#/, "") || "/overview";
  const [path, query = ""] = raw.split("?");
  return { path, params: new URLSearchParams(query) };
}

function showChrome(current) {
  const signedIn = Boolean(current);
  document.getElementById("nav").hidden = !signedIn;
  document.getElementById("sign-out").hidden = !signedIn;
  const who = document.getElementById("who");
  who.replaceChildren(
    ...(signedIn
      ? [h("span", { class: "subject" }, current.subject), h("span", { class: "scopes" }, current.scopes.join(" "))]
      : [])
  );
}

let renderCount = 0;

async function route() {
  const current = session.load();
  showChrome(current);
  if (!current) {
    render(signInView(config, route));
    return;
  }
  const { path, params } = parseHash();
  const match = VIEWS.find(([pattern]) => pattern.test(path));
  if (!match) {
    window.location.hash = "#/overview";
    return;
  }
  const [pattern, view, nav] = match;
  for (const link of document.querySelectorAll("#nav a")) {
    if (link.dataset.view === nav) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  const args = path.match(pattern).slice(1);
  const mine = ++renderCount;
  render(h("p", { class: "loading" }, "Loading…"));
  try {
    const content = await view({ params, args, refresh: route });
    if (mine === renderCount) render(content);  // a later navigation wins
  } catch (error) {
    if (mine !== renderCount) return;
    render(h("h1", {}, "Could not load this view"));
    showProblem(error);
  }
  document.getElementById("main").focus({ preventScroll: true });
}

async function start() {
  try {
    const response = await fetch("/dashboard/config.json");
    if (response.ok) config = await response.json();
  } catch (_) { /* sign-in with an API client still works */ }
  try {
    await finishIdpSignIn(config);
  } catch (error) {
    showProblem(error);
  }
  document.getElementById("sign-out").addEventListener("click", () => {
    signOut();
    clearNotice();
    window.location.hash = "#/overview";
    route();
  });
  window.addEventListener("hashchange", () => {
    clearNotice();
    route();
  });
  window.addEventListener("certbroker:signed-out", () => showChrome(null));
  await route();
}

start();
