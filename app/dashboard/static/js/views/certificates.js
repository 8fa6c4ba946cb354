// Certificates: the inventory with the API's filters, sorting and cursor paging (server side).

import { api, listAll } from "../api.js";
import { badge, expiryText, formatDate, h, severityOf } from "../ui.js";

const STATUSES = [
  "pending_approval", "pending_validation", "submitted", "issued", "failed", "rejected",
  "revoked", "expired", "superseded",
];
const SORTS = [
  ["-created_at", "newest first"], ["created_at", "oldest first"],
  ["not_after", "expiring soonest"], ["-not_after", "expiring latest"],
];
const FILTERS = ["organization_id", "product", "status", "label", "name", "expires_before", "expires_after", "source", "sort"];

let organizationsCache = null;

export async function organizationNames() {
  if (!organizationsCache) {
    const rows = await listAll("/v1/organizations", { limit: 200 }, 1000);
    organizationsCache = new Map(rows.map((org) => [org.id, org.name]));
  }
  return organizationsCache;
}

function options(values, selected, emptyLabel) {
  return [
    h("option", { value: "" }, emptyLabel),
    ...values.map(([value, label]) => h("option", { value, selected: value === selected }, label)),
  ];
}

function dateValue(iso) {
  return iso ? iso.slice(0, 10) : "";
}

function filterForm(params, organizations, products) {
  const field = (name) => params.get(name) || "";
  const form = h(
    "form",
    {
      class: "filters",
      role: "search",
      "aria-label": "Filter certificates",
      onsubmit: (event) => {
        event.preventDefault();
        const data = new FormData(form);
        const next = new URLSearchParams();
        for (const name of FILTERS) {
          let value = (data.get(name) || "").toString().trim();
          if (value && (name === "expires_before" || name === "expires_after")) value = new Date(`${value}T00:00:00Z`).toISOString();
          if (value) next.set(name, value);
        }
        window.location.hash = `#/certificates?${next}`;
      },
    },
    h("label", {}, "Organization", h("select", { name: "organization_id", id: "filter-organization" },
      options([...organizations.entries()], field("organization_id"), "any"))),
    h("label", {}, "Product", h("select", { name: "product", id: "filter-product" },
      options(products.map((code) => [code, code]), field("product"), "any"))),
    h("label", {}, "Status", h("select", { name: "status", id: "filter-status" },
      options(STATUSES.map((status) => [status, status.replaceAll("_", " ")]), field("status"), "any"))),
    h("label", {}, "Name contains", h("input", { name: "name", id: "filter-name", value: field("name"), size: 18 })),
    h("label", {}, "Label (key=value)", h("input", { name: "label", id: "filter-label", value: field("label"), size: 14 })),
    h("label", {}, "Expires before", h("input", { type: "date", name: "expires_before", id: "filter-expires-before", value: dateValue(field("expires_before")) })),
    h("label", {}, "Expires after", h("input", { type: "date", name: "expires_after", id: "filter-expires-after", value: dateValue(field("expires_after")) })),
    h("label", {}, "Source", h("select", { name: "source", id: "filter-source" },
      options([["broker", "ordered here"], ["scm_import", "found at the CA"], ["upload", "uploaded"]], field("source"), "any"))),
    h("label", {}, "Sort", h("select", { name: "sort", id: "filter-sort" },
      SORTS.map(([value, label]) => h("option", { value, selected: value === (field("sort") || "-created_at") }, label)))),
    h("button", { type: "submit", id: "apply-filters" }, "Apply"),
    h("a", { href: "#/certificates" }, "Clear")
  );
  return form;
}

export async function certificatesView({ params }) {
  const query = { limit: 50 };
  for (const name of [...FILTERS, "cursor"]) if (params.get(name)) query[name] = params.get(name);
  const [page, organizations, summary] = await Promise.all([
    api("/v1/certificates", { query }),
    organizationNames(),
    api("/v1/inventory/summary"),
  ]);
  const products = Object.keys(summary.by_product).sort();
  const rows = page.items.map((cert) =>
    h(
      "tr",
      { dataset: { id: cert.id } },
      h("td", {}, h("a", { href: `#/certificates/${cert.id}`, class: "cert-link" }, cert.common_name),
        cert.names.length > 1 ? h("div", { class: "muted" }, `+${cert.names.length - 1} more`) : null),
      h("td", {}, organizations.get(cert.organization_id) || cert.organization_id),
      h("td", {}, cert.product, h("div", { class: "muted" }, `${cert.validation_level || "?"} · ${cert.backend}`)),
      h("td", {}, badge(cert.status)),
      h("td", {}, formatDate(cert.not_after, false), cert.status === "issued" ? h("div", {}, badge(severityOf(cert.not_after)), " ", expiryText(cert.not_after)) : null),
      h("td", {}, Object.entries(cert.labels).map(([key, value]) => h("span", { class: "badge unknown" }, `${key}=${value}`)))
    )
  );
  const nextParams = new URLSearchParams(params);
  if (page.next_cursor) nextParams.set("cursor", page.next_cursor);
  const firstParams = new URLSearchParams(params);
  firstParams.delete("cursor");
  return h(
    "div",
    {},
    h("h1", {}, "Certificates"),
    filterForm(params, organizations, products),
    h(
      "table",
      { id: "certificates-table" },
      h("caption", { class: "visually-hidden" }, "Certificates matching the filters"),
      h("thead", {}, h("tr", {}, ["Name", "Organization", "Product", "Status", "Expires", "Labels"].map((title) => h("th", { scope: "col" }, title)))),
      h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { colspan: 6, class: "muted" }, "No certificate matches.")))
    ),
    h(
      "div",
      { class: "pager" },
      params.get("cursor") ? h("a", { href: `#/certificates?${firstParams}`, id: "first-page" }, "First page") : null,
      page.next_cursor ? h("a", { href: `#/certificates?${nextParams}`, id: "next-page" }, "Next page") : null,
      h("span", { class: "muted" }, `${page.items.length} shown`)
    )
  );
}
