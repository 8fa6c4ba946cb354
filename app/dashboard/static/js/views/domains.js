// Domains: validation status per organization and, for one not validated, exactly what to do.

import { api, hasScope, listAll } from "../api.js";
import { badge, formatDate, guarded, h, showInfo } from "../ui.js";
import { organizationNames } from "./certificates.js";

const METHODS = [["cname", "CNAME record"], ["http", "file over HTTP"], ["https", "file over HTTPS"], ["txt", "TXT record"], ["email", "e-mail"]];

// What the domain owner has to do, in words, from the validation's instructions.
export function whatToDo(domain) {
  const validation = domain.latest_validation;
  if (domain.status === "validated") return h("span", { class: "muted" }, `validated${domain.expires_at ? ` until ${formatDate(domain.expires_at, false)}` : ""}`);
  if (!validation) return h("span", {}, "Not validated yet: start a validation.");
  const i = validation.instructions || {};
  const method = (i.method || validation.method || "").toLowerCase();
  const parts = [];
  if (method === "cname" && i.host) {
    parts.push(h("div", {}, "Create the DNS record:"), h("div", { class: "instructions mono" }, `${i.host} CNAME ${i.point}`));
  } else if ((method === "http" || method === "https") && i.url) {
    parts.push(h("div", {}, "Serve this file:"), h("div", { class: "instructions mono" }, i.url),
      h("div", {}, "with the content:"), h("div", { class: "instructions mono" }, [i.first_line, i.second_line].filter(Boolean).join("\n")));
  } else if (method === "txt" && (i.host || i.point)) {
    parts.push(h("div", {}, "Create the DNS record:"), h("div", { class: "instructions mono" }, `${i.host || domain.name} TXT "${i.point || i.value || ""}"`));
  } else if (method === "email") {
    if (validation.email) parts.push(h("div", {}, `An e-mail was sent to ${validation.email}: follow its link.`));
    else parts.push(h("div", {}, `Choose an address to receive the validation e-mail: ${(i.emails || []).join(", ")}`));
  } else {
    parts.push(h("div", {}, `Validation by ${method || "?"}: ${validation.status.replaceAll("_", " ")}`));
  }
  if (validation.error) parts.push(h("div", { class: "muted" }, `Last error: ${validation.error}`));
  return h("div", { class: "todo" }, parts);
}

function startValidation(domain, refresh) {
  if (!hasScope("domains:write") || domain.status === "validated") return null;
  const method = h("select", { "aria-label": `Method for ${domain.name}` }, METHODS.map(([value, label]) => h("option", { value }, label)));
  const button = h("button", { type: "button", class: "secondary" }, "Start validation");
  button.addEventListener("click", () => guarded(button, async () => {
    await api(`/v1/domains/${domain.id}/validations`, { method: "POST", body: { method: method.value } });
    showInfo(`Validation of ${domain.name} started.`);
    await refresh();
  }));
  return h("div", { class: "actions" }, method, button);
}

export async function domainsView({ params, refresh }) {
  const organizations = await organizationNames();
  const organizationId = params.get("organization_id") || "";
  const query = { limit: 200 };
  if (organizationId) query.organization_id = organizationId;
  const domains = await listAll("/v1/domains", query, 2000);
  const select = h("select", { id: "domains-organization", name: "organization_id" },
    h("option", { value: "" }, "every organization"),
    [...organizations.entries()].map(([id, name]) => h("option", { value: id, selected: id === organizationId }, name)));
  select.addEventListener("change", () => {
    window.location.hash = select.value ? `#/domains?organization_id=${select.value}` : "#/domains";
  });
  const rows = domains.map((domain) =>
    h("tr", { dataset: { domain: domain.name } },
      h("td", {}, domain.name),
      h("td", {}, organizations.get(domain.organization_id) || domain.organization_id),
      h("td", {}, badge(domain.status), domain.ready_for.length ? h("div", { class: "muted" }, `ready for ${domain.ready_for.join(", ")}`) : null),
      h("td", {}, whatToDo(domain), startValidation(domain, refresh)))
  );
  return h(
    "div",
    {},
    h("h1", {}, "Domains"),
    h("form", { class: "filters", onsubmit: (event) => event.preventDefault() }, h("label", { for: "domains-organization" }, "Organization", select)),
    h("table", { id: "domains-table" },
      h("caption", { class: "visually-hidden" }, "Domains and their validation"),
      h("thead", {}, h("tr", {}, ["Domain", "Organization", "Status", "What to do"].map((title) => h("th", { scope: "col" }, title)))),
      h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { colspan: 4, class: "muted" }, "No domains registered."))))
  );
}
