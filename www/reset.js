// Reset page logic for the Portcullis demo (GET /reset?token=…, rendered by
// www/server.js when the edge has verified the link): the new-password form
// is sent with fetch, so the edge's refusals (422: failing the rules or used
// recently; 410: the link was used meanwhile) are shown in #password-error
// (data-code: the edge's error code). No inline scripts or styles.
import { explainRefusals } from "/edge-form.js";
import { TEXT, normalizeLocale } from "/i18n.js";

const form = document.getElementById("reset-password");
const errorLine = document.getElementById("password-error");
const tx = TEXT[normalizeLocale(document.body.dataset.locale)];

if (form) explainRefusals(form, tx, errorLine);
