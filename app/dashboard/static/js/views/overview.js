// Overview: counts, the expiry timeline, open alerts, failed renewals, certificates found at the
// CA outside the broker, and approvals waiting.

import { api, hasScope } from "../api.js";
import { badge, expiryText, formatDate, h, timeLeft } from "../ui.js";

const BAND_COLOURS = { critical: "#a40e26", high: "#bc4c00", warning: "#7d4e00", ok: "#2f6f44" };

function counts(title, values, id) {
  const entries = Object.entries(values || {}).sort((a, b) => b[1] - a[1]);
  return h(
    "section",
    { class: "card", "aria-labelledby": id },
    h("h2", { id }, title),
    entries.length
      ? h("dl", { class: "counts" }, entries.map(([key, value]) => [h("dt", {}, key.replaceAll("_", " ")), h("dd", {}, value)]))
      : h("p", { class: "muted" }, "None yet.")
  );
}

function timelineCard(timeline) {
  const canvas = h("canvas", { id: "expiry-chart", role: "img", "aria-label": "Certificates expiring per week" });
  const labels = timeline.weeks.map((week) => formatDate(week.start, false));
  const table = h(
    "table",
    { class: "visually-hidden", id: "expiry-table" },
    h("caption", {}, "Certificates expiring per week"),
    h("thead", {}, h("tr", {}, h("th", {}, "Week starting"), h("th", {}, "Expiring"), h("th", {}, "Band"))),
    h("tbody", {}, timeline.weeks.map((week, index) =>
      h("tr", {}, h("td", {}, labels[index]), h("td", { class: "num" }, week.count), h("td", {}, week.severity))
    ))
  );
  const card = h(
    "section",
    { class: "card wide", "aria-labelledby": "timeline-title" },
    h("h2", { id: "timeline-title" }, "Expiring in the next quarter, per week"),
    h("div", { class: "chart-box" }, canvas),
    h(
      "div",
      { class: "legend" },
      ["critical", "high", "warning", "ok"].map((band) =>
        h("span", {}, h("span", { class: `swatch ${band}` }), { critical: "< 7 days", high: "< 14 days", warning: "< 30 days", ok: "30 days or more" }[band])
      ),
      h("span", { id: "expired-count" }, h("strong", {}, timeline.expired), " already expired (shown apart)"),
      h("span", {}, h("strong", {}, timeline.later), " later than the quarter")
    ),
    table
  );
  // Chart.js draws after the card is in the page.
  queueMicrotask(() => {
    if (!window.Chart) return;
    new window.Chart(canvas, {
      type: "bar",
      data: {
        labels,
        datasets: [{
          label: "certificates expiring",
          data: timeline.weeks.map((week) => week.count),
          backgroundColor: timeline.weeks.map((week) => BAND_COLOURS[week.severity]),
        }],
      },
      options: {
        maintainAspectRatio: false,
        animation: false,
        plugins: { legend: { display: false } },
        scales: { y: { beginAtZero: true, ticks: { precision: 0 } } },
        onClick: (_event, elements) => {
          if (!elements.length) return;
          const week = timeline.weeks[elements[0].index];
          window.location.hash = `#/certificates?status=issued&expires_after=${encodeURIComponent(week.start)}&expires_before=${encodeURIComponent(week.end)}&sort=not_after`;
        },
      },
    });
  });
  return card;
}

function listCard(title, id, rows, empty, more) {
  return h(
    "section",
    { class: "card", "aria-labelledby": id },
    h("h2", { id }, title),
    rows.length ? h("ul", {}, rows) : h("p", { class: "muted" }, empty),
    more ? h("p", {}, more) : null
  );
}

export async function overviewView() {
  const [summary, timeline, alerts, failed, imported, approvals, mine] = await Promise.all([
    api("/v1/inventory/summary"),
    api("/v1/inventory/expiry-timeline", { query: { weeks: 13 } }),
    api("/v1/alerts", { query: { status: "open", limit: 10 } }),
    api("/v1/alerts", { query: { kind: "renewal_failed", status: "open", limit: 10 } }),
    api("/v1/certificates", { query: { source: "scm_import", limit: 10 } }),
    api("/v1/approvals", { query: { status: "pending", limit: 100 } }),
    hasScope("approvals:write") ? api("/v1/approvals", { query: { status: "pending", decidable_by_me: true, limit: 100 } }) : { items: [] },
  ]);
  const pending = approvals.items;
  const pendingCount = approvals.next_cursor ? `${pending.length}+` : pending.length;
  const forMe = mine.items;
  const expiring30 = (summary.by_expiry.lt_7d || 0) + (summary.by_expiry.lt_14d || 0) + (summary.by_expiry.lt_30d || 0);
  return h(
    "div",
    {},
    h("h1", {}, "Overview"),
    h(
      "div",
      { class: "grid" },
      h("section", { class: "card", "aria-label": "Totals" },
        h("div", { class: "stat", id: "total-count" }, summary.total), h("div", { class: "stat-label" }, "certificates"),
        h("div", { class: "stat", id: "expiring-30" }, expiring30), h("div", { class: "stat-label" },
          h("a", { href: `#/certificates?status=issued&expires_before=${encodeURIComponent(new Date(Date.now() + 30 * 86400000).toISOString())}&sort=not_after` }, "expire in the next 30 days")),
        h("div", { class: "stat", id: "pending-approvals" }, pendingCount), h("div", { class: "stat-label" },
          h("a", { href: "#/approvals" }, "waiting for approval in your tenant")),
        hasScope("approvals:write") ? h("div", { class: "stat", id: "pending-for-me" }, forMe.length) : null,
        hasScope("approvals:write") ? h("div", { class: "stat-label" }, h("a", { href: "#/approvals" }, "waiting for your decision")) : null),
      counts("By status", summary.by_status, "by-status"),
      counts("By validation level", summary.by_validation_level, "by-level"),
      counts("By backend", summary.by_backend, "by-backend"),
      timelineCard(timeline),
      listCard("Open alerts", "open-alerts", alerts.items.map((alert) =>
        h("li", {}, badge(alert.severity), " ", h("a", { href: `#/certificates/${alert.certificate_id}` }, alert.message))
      ), "No open alerts."),
      listCard("Renewals that failed", "failed-renewals", failed.items.map((alert) =>
        h("li", {}, h("a", { href: `#/certificates/${alert.certificate_id}` }, alert.message), " ", h("span", { class: "muted" }, formatDate(alert.updated_at)))
      ), "No failed renewals."),
      listCard("Found at the CA, not ordered here", "scm-imported", imported.items.map((cert) =>
        h("li", {}, h("a", { href: `#/certificates/${cert.id}` }, cert.common_name), " ", h("span", { class: "muted" }, `${cert.product} · ${expiryText(cert.not_after)}`))
      ), "Every certificate at the CA was ordered through the broker.",
      (summary.by_source.scm_import || 0) > imported.items.length ? h("a", { href: "#/certificates?source=scm_import" }, `All ${summary.by_source.scm_import}`) : null),
      listCard(hasScope("approvals:write") ? "Waiting for your decision" : "Waiting for approval", "approvals-waiting",
        (hasScope("approvals:write") ? forMe : pending).slice(0, 20).map((approval) =>
          h("li", {}, badge(approval.validation_level), " ", h("a", { href: `#/certificates/${approval.certificate_id}` }, `requested by ${approval.requested_by}`), " ", h("span", { class: "muted" }, timeLeft(approval.expires_at)))
        ), hasScope("approvals:write") ? "Nothing is waiting for you." : "Nothing is waiting.")
    )
  );
}
