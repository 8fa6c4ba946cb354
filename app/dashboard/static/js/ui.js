// Small DOM helpers: elements are built, never parsed from strings, so API data cannot inject.

export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
    else if (value === true) node.setAttribute(key, "");
    else node.setAttribute(key, String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function render(...children) {
  const main = document.getElementById("main");
  main.replaceChildren();
  append(main, children);
  return main;
}

export function badge(value) {
  const text = value || "unknown";
  return h("span", { class: `badge ${text}` }, text.replaceAll("_", " "));
}

const DATE = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short", timeZone: "UTC" });
const DAY = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeZone: "UTC" });

export function formatDate(value, withTime = true) {
  if (!value) return "—";
  return (withTime ? DATE : DAY).format(new Date(value)) + (withTime ? " UTC" : "");
}

export function daysLeft(value) {
  if (!value) return null;
  return Math.floor((new Date(value).getTime() - Date.now()) / 86400000);
}

export function expiryText(value) {
  const days = daysLeft(value);
  if (days === null) return "—";
  if (days < 0) return `expired ${-days} d ago`;
  return `${days} d left`;
}

export function severityOf(value) {
  const days = daysLeft(value);
  if (days === null) return "unknown";
  if (days < 0) return "expired";
  if (days < 7) return "critical";
  if (days < 14) return "high";
  if (days < 30) return "warning";
  return "ok";
}

export function timeLeft(value) {
  const ms = new Date(value).getTime() - Date.now();
  if (ms <= 0) return "timed out";
  const hours = Math.floor(ms / 3600000);
  if (hours >= 48) return `${Math.floor(hours / 24)} days left`;
  if (hours >= 1) return `${hours} h left`;
  return `${Math.max(1, Math.floor(ms / 60000))} min left`;
}

// Problems from the API are shown as their title and detail, with each field error listed.
export function showProblem(error) {
  const box = document.getElementById("notice");
  box.className = "notice";
  const items = (error.errors || []).map((item) =>
    h("li", {}, item.field ? `${item.field}: ` : "", item.msg || item.message || "")
  );
  box.replaceChildren(
    ...[
      h("strong", {}, error.title || "Something went wrong"),
      error.detail && error.detail !== error.title ? h("span", { class: "problem-detail" }, error.detail) : null,
      items.length ? h("ul", {}, items) : null,
    ].filter(Boolean)
  );
  box.hidden = false;
  box.focus?.();
}

export function showInfo(message) {
  const box = document.getElementById("notice");
  box.className = "notice info";
  box.replaceChildren(h("span", {}, message));
  box.hidden = false;
}

export function clearNotice() {
  const box = document.getElementById("notice");
  box.hidden = true;
  box.replaceChildren();
}

// A modal confirmation; resolves true only when the user confirms.
export function confirmAction(title, text, extra = null, okLabel = "Confirm") {
  const dialog = document.getElementById("confirm");
  document.getElementById("confirm-title").textContent = title;
  document.getElementById("confirm-text").textContent = text;
  document.getElementById("confirm-extra").replaceChildren(...(extra ? [extra] : []));
  document.getElementById("confirm-ok").textContent = okLabel;
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
    dialog.returnValue = "cancel";
    dialog.showModal();
  });
}

// Runs an async action from a button, disabling it meanwhile and showing any problem.
export async function guarded(button, action) {
  if (button) button.disabled = true;
  clearNotice();
  try {
    return await action();
  } catch (error) {
    showProblem(error);
    return undefined;
  } finally {
    if (button) button.disabled = false;
  }
}
