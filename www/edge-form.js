// Submitting a demo form through the Portcullis edge with fetch, so the page
// can explain the edge's own JSON answers (423 locked, 422 refused password,
// 409 signed in elsewhere…) instead of showing raw JSON. Redirects are
// followed by the browser (cookies the answers set are stored as usual).
import { EDGE_ERRORS } from "/i18n.js";

/**
 * Posts `form` (urlencoded) and classifies the answer:
 * - `{ kind: "navigate", url }`: the origin accepted it; go to `url`;
 * - `{ kind: "edge", code, text, body, response }`: an edge refusal, `text`
 *   in the page's language (`tx`), with the edge's details appended;
 * - `{ kind: "page", doc, response }`: the origin's own HTML answer (an
 *   error page), parsed.
 */
export async function submitForm(form, tx) {
  const response = await fetch(form.action, {
    method: "POST",
    body: new URLSearchParams(new FormData(form)),
    headers: { Accept: "text/html, application/json;q=0.9" },
  });
  const type = response.headers.get("content-type") ?? "";
  if (type.includes("application/json")) {
    const body = await response.json().catch(() => ({}));
    const code = String(body.error ?? "");
    const key = Object.hasOwn(EDGE_ERRORS, code) ? EDGE_ERRORS[code] : null;
    let text = key ? tx[key] : String(body.message ?? code);
    if (code === "password_rejected") text = `${text} ${body.message ?? ""}`.trim();
    return { kind: "edge", code, text, body, response };
  }
  if (response.ok) {
    // Read the followed page to the end, so leaving for it aborts nothing.
    await response.arrayBuffer();
    return { kind: "navigate", url: response.url };
  }
  const doc = new DOMParser().parseFromString(await response.text(), "text/html");
  return { kind: "page", doc, response };
}

/**
 * Sends `form` with submitForm on submit: goes where the origin sends it,
 * or explains a refusal in `errorLine` (data-code: the edge's error code,
 * "origin" for the origin's own error page, whose #password-error text is
 * shown when it has one).
 */
export function explainRefusals(form, tx, errorLine) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const answer = await submitForm(form, tx);
    if (answer.kind === "navigate") {
      location.href = answer.url;
      return;
    }
    errorLine.textContent = answer.kind === "edge"
      ? answer.text
      : answer.doc.querySelector("#password-error")?.textContent ?? `HTTP ${answer.response.status}`;
    errorLine.dataset.code = answer.kind === "edge" ? answer.code : "origin";
    errorLine.hidden = false;
  });
}
