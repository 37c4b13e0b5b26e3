// Reset page logic for the Portcullis demo (GET /reset?token=…, rendered by
// www/server.js when the edge has verified the link): the new-password form
// is sent with fetch, so the edge's refusals (422: failing the rules or used
// recently; 410: the link was used meanwhile) are shown in #password-error
// (data-code: the edge's error code). No inline scripts or styles.
import { submitForm } from "/edge-form.js";
import { TEXT, normalizeLocale } from "/i18n.js";

const form = document.getElementById("reset-password");
const errorLine = document.getElementById("password-error");
const tx = TEXT[normalizeLocale(document.body.dataset.locale)];

form?.addEventListener("submit", async (event) => {
  event.preventDefault();
  const answer = await submitForm(form, tx);
  if (answer.kind === "navigate") {
    location.href = answer.url;
    return;
  }
  errorLine.textContent = answer.kind === "edge" ? answer.text : `HTTP ${answer.response.status}`;
  errorLine.dataset.code = answer.kind === "edge" ? answer.code : "origin";
  errorLine.hidden = false;
});
