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

export async function approvalsView({ refresh }) {
  const [approvals, organizations] = await Promise.all([
    listAll("/v1/approvals", { status: "pending", limit: 100 }, 500),
    organizationNames(),
  ]);
  const certificates = await Promise.all(approvals.map((approval) => api(`/v1/certificates/${approval.certificate_id}`)));
  const cards = approvals.map((approval, index) => {
    const cert = certificates[index];
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
      decisionForm(approval, refresh)
    );
  });
  return h(
    "div",
    {},
    h("h1", {}, "Approvals"),
    cards.length ? h("div", { class: "grid", id: "approvals" }, cards) : h("p", { class: "muted", id: "no-approvals" }, "Nothing is waiting for a decision.")
  );
}
