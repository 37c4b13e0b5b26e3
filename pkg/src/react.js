// `portcullis/react`: a hook and an accessible meter for React 18 and 19.
// Plain `createElement` (no JSX), so no build step; React is a peer
// dependency. The checker itself is the package's PasswordChecker, passed in
// by the app, so this entry holds no wasm and stays small.
import { createElement as h, useEffect, useMemo, useRef, useState } from "react";

const MARKS = { pass: "✓", fail: "✗", pending: "…", skipped: "–", deferred: "…" };

/** English texts; pass `labels` to translate any of them. */
export const DEFAULT_LABELS = {
  meter: "Password strength",
  scores: ["Very weak", "Weak", "Fair", "Strong", "Very strong"],
  unknown: "Not rated yet",
  status: { pass: "met", fail: "not met", pending: "checked when the estimator loads", skipped: "not required", deferred: "checked when you submit" },
  summary: (met, total) => `${met} of ${total} requirements met`,
  allMet: "All requirements met",
};

/**
 * Checks `password` (a controlled input's value) with `checker` (a
 * PasswordChecker, or null while it loads) on every render, and starts
 * loading the estimator once something is typed. `user` is the
 * `{ username, email, name, isAdmin }` the "contains your name" rule reads.
 * Returns `{ result, estimatorLoaded, error }`; `result` is null without a
 * checker.
 */
export function usePasswordCheck(checker, password, user) {
  const [loadedFor, setLoadedFor] = useState(null);
  const [error, setError] = useState(null);
  const typed = password !== "";
  useEffect(() => {
    if (!checker || !typed || checker.estimatorLoaded) return undefined;
    let live = true;
    checker.ready.then(
      () => live && setLoadedFor(checker),
      (e) => live && setError(e),
    );
    return () => {
      live = false;
    };
  }, [checker, typed]);
  const estimatorLoaded = Boolean(checker?.estimatorLoaded) || loadedFor === checker;
  const { username, email, name, isAdmin } = user ?? {};
  const result = useMemo(
    () => (checker ? checker.check(password, { username, email, name, isAdmin }) : null),
    [checker, password, username, email, name, isAdmin, estimatorLoaded],
  );
  return { result, estimatorLoaded, error };
}

/** `value`, once it has stayed the same for `ms` milliseconds. */
function useDebounced(value, ms) {
  const [settled, setSettled] = useState(value);
  const timer = useRef(null);
  useEffect(() => {
    clearTimeout(timer.current);
    timer.current = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(timer.current);
  }, [value, ms]);
  return settled;
}

/**
 * The meter and the requirements checklist for a controlled password
 * field: `role="meter"` with the score as its value and text, one list item
 * per rule (`data-rule`, `data-status`, the status spelled out for screen
 * readers), and a polite live region that announces the summary once typing
 * pauses (`debounceMs`, default 700), not on every keystroke.
 */
export function PasswordMeter({ checker, password, user, labels, debounceMs = 700, id = "portcullis-meter" }) {
  const text = { ...DEFAULT_LABELS, ...labels, status: { ...DEFAULT_LABELS.status, ...labels?.status } };
  const { result } = usePasswordCheck(checker, password, user);
  const rules = result?.rules ?? [];
  const score = password === "" ? null : (result?.score ?? null);
  const met = rules.filter((r) => r.ok).length;
  const summary = rules.length > 0 && met === rules.length ? text.allMet : text.summary(met, rules.length);
  const announced = useDebounced(password === "" ? "" : summary, debounceMs);
  return h(
    "div",
    { className: "portcullis", id },
    h(
      "div",
      {
        role: "meter",
        "aria-label": text.meter,
        "aria-valuemin": 0,
        "aria-valuemax": 4,
        "aria-valuenow": score ?? 0,
        "aria-valuetext": score === null ? text.unknown : text.scores[score],
        "data-score": score ?? "",
        className: "portcullis-meter",
      },
      h("span", { className: "portcullis-meter-label", "aria-hidden": "true" }, score === null ? text.unknown : text.scores[score]),
    ),
    h(
      "ul",
      { className: "portcullis-requirements", "aria-label": text.meter },
      rules.map((rule) =>
        h(
          "li",
          { key: rule.id, "data-rule": rule.id, "data-status": rule.status },
          h("span", { className: "portcullis-mark", "aria-hidden": "true" }, MARKS[rule.status] ?? "?"),
          h("span", { className: "portcullis-message" }, rule.message),
          h("span", { className: "portcullis-visually-hidden" }, ` (${text.status[rule.status] ?? rule.status})`),
        ),
      ),
    ),
    h("div", { role: "status", "aria-live": "polite", className: "portcullis-live" }, announced),
  );
}
