// Approvals waiting: requester, names, product and time left; approve or reject with a comment.

import { api, hasScope, listAll } from "../api.js";
import { badge, formatDate, guarded, h, showInfo, timeLeft } from "../ui.js";
import { organizationNames } from "./certificates.js";

function decisionForm(approval, refresh) {
  if (!hasScope("approvals:write")) return h("p", { class: "muted" }, "Deciding needs the approvals:write scope.");
  const comment = h("textarea", { id: `comment-${approval.id}`, rows: 2, cols: 40, maxlength: 1000 });
  const decide = (verb, button) => guarded(button, async () => {
    await api(`/v1/approvals/${approval.id}/${verb}`, { method: "POST", body: { comment: comment.value || null } });
    showInfo(verb === "approve" ? "Approved: the certificate goes on to issuance." : "Rejected.");
    await refresh();
  });
  const approve = h("button", { type: "button", class: "approve", dataset: { approval: approval.id } }, "Approve");
  const reject = h("button", { type: "button", class: "danger reject", dataset: { approval: approval.id } }, "Reject");
  approve.addEventListener("click", () => decide("approve", approve));
  reject.addEventListener("click", () => decide("reject", reject));
  return h("div", {}, h("label", { for: `comment-${approval.id}` }, "Comment", comment), h("div", { class: "actions" }, approve, reject));
}

function approvalCard(approval, cert, organizations, decision) {
  return h(
    "section",
    { class: "card approval", dataset: { certificate: cert.id }, "aria-labelledby": `approval-${approval.id}` },
    h("h2", { id: `approval-${approval.id}` }, badge(approval.validation_level), " ", h("a", { href: `#/certificates/${cert.id}` }, cert.common_name)),
    h("dl", { class: "counts" },
      h("dt", {}, "Requested by"), h("dd", {}, approval.requested_by),
      h("dt", {}, "Product"), h("dd", {}, cert.product),
      h("dt", {}, "Organization"), h("dd", {}, organizations.get(cert.organization_id) || cert.organization_id),
      h("dt", {}, "Names"), h("dd", {}, cert.names.join(", ")),
      h("dt", {}, "Requested"), h("dd", {}, formatDate(approval.created_at)),
      h("dt", {}, "Time left"), h("dd", { class: "time-left" }, `${timeLeft(approval.expires_at)} (until ${formatDate(approval.expires_at)})`)),
    decision
  );
}

// Two lists: what this caller may decide (a listed approver, not the requester), with the
// decision form; and, read-only, what else waits in the tenant and why it is not theirs.
export async function approvalsView({ refresh }) {
  const deciding = hasScope("approvals:write");
  const [pending, mine, organizations] = await Promise.all([
    listAll("/v1/approvals", { status: "pending", limit: 100 }, 500),
    deciding ? listAll("/v1/approvals", { status: "pending", decidable_by_me: true, limit: 100 }, 500) : [],
    organizationNames(),
  ]);
  const all = pending;
  const mineIds = new Set(mine.map((approval) => approval.id));
  const certificates = new Map(
    (await Promise.all(all.map((approval) => api(`/v1/certificates/${approval.certificate_id}`)))).map((cert) => [cert.id, cert])
  );
  const card = (approval, decision) => approvalCard(approval, certificates.get(approval.certificate_id), organizations, decision);
  const forMe = all.filter((approval) => mineIds.has(approval.id)).map((approval) => card(approval, decisionForm(approval, refresh)));
  const others = all.filter((approval) => !mineIds.has(approval.id)).map((approval) =>
    card(approval, h("p", { class: "muted not-yours" }, deciding
      ? "You are not a listed approver for this organization and level, or you requested it."
      : "Deciding needs the approvals:write scope."))
  );
  return h(
    "div",
    {},
    h("h1", {}, "Approvals"),
    h("h2", {}, "Waiting for you"),
    forMe.length ? h("div", { class: "grid", id: "approvals" }, forMe) : h("p", { class: "muted", id: "no-approvals" }, "Nothing is waiting for your decision."),
    others.length ? h("h2", {}, "Also pending in your tenant") : null,
    others.length ? h("div", { class: "grid", id: "other-approvals" }, others) : null
  );
}
