// Sign-in: an API client's credentials, like Swagger UI's Authorize, or a configured IdP.

import { signInWithClient, startIdpSignIn } from "../auth.js";
import { guarded, h } from "../ui.js";

export function signInView(config, onSignedIn) {
  const idInput = h("input", { id: "client-id", name: "client_id", autocomplete: "username", required: true });
  const secretInput = h("input", {
    id: "client-secret", name: "client_secret", type: "password", autocomplete: "current-password", required: true,
  });
  const submit = h("button", { type: "submit", id: "sign-in" }, "Sign in");
  const form = h(
    "form",
    {
      onsubmit: (event) => {
        event.preventDefault();
        guarded(submit, async () => {
          await signInWithClient(idInput.value.trim(), secretInput.value);
          secretInput.value = "";
          if (!window.location.hash || window.location.hash === "#") window.location.hash = "#/overview";
          await onSignedIn();
        });
      },
    },
    h("label", { for: "client-id" }, "API client id", idInput),
    h("label", { for: "client-secret" }, "Client secret", secretInput),
    submit
  );
  const idps = (config.idps || []).map((idp) =>
    h("button", { type: "button", class: "secondary idp", onclick: () => startIdpSignIn(idp) }, `Sign in with ${idp.name}`)
  );
  return h(
    "section",
    { class: "card signin", "aria-labelledby": "signin-title" },
    h("h1", { id: "signin-title" }, "Sign in to Certbroker"),
    h("p", { class: "muted" }, "Use an API client's id and secret (as in Swagger UI's Authorize). The token is kept for this browser tab only."),
    form,
    idps.length ? h("div", { class: "actions" }, h("p", { class: "muted" }, "Or:"), idps) : null
  );
}
