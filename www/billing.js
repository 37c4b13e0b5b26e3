// The demo's billing form: the card number is sealed in the browser with
// the npm package's `encryptField` to the vault's public key, which the
// edge's public policy carries once an administrator has created the
// passphrase. The visible field has no name, so only the envelope is sent.
//
// Hooks for tests: body[data-vault] "" → "ready" | "none" | "error".
import { encryptField } from "/pkg/src/browser.js";

const form = document.getElementById("billing");
const submit = document.getElementById("billing-submit");
const error = document.getElementById("billing-error");
let policy = null;

try {
  const response = await fetch("/__portcullis/policy", { headers: { accept: "application/json" } });
  policy = response.ok ? await response.json() : null;
} catch {
  policy = null;
}
if (policy?.vault) {
  document.body.dataset.vault = "ready";
  submit.disabled = false;
} else {
  document.body.dataset.vault = policy ? "none" : "error";
  document.getElementById("vault-notice").hidden = false;
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const number = document.getElementById("card-number");
  try {
    document.getElementById("card-envelope").value = await encryptField(policy, "card_number", number.value.replace(/\s+/g, ""));
  } catch (e) {
    error.textContent = e.message;
    error.hidden = false;
    return;
  }
  number.value = "";
  form.submit();
});
