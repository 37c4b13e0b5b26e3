// The Express 4 origin of the differential suite (tests/differential.test.js):
// its standard body parsers (urlencoded with qs, JSON) and multer for
// multipart. Every checked route answers what it parsed for each checked
// field through req.body and req.query, and which route it dispatched.
import express from "express";
import multer from "multer";
import { readFileSync } from "node:fs";

const SPEC = JSON.parse(readFileSync(new URL("./fields.json", import.meta.url), "utf8"));

/** What an accessor holds for `name`: text, null (absent) or `{ other }`. */
function reading(source, name) {
  if (!source || !Object.hasOwn(source, name)) return null;
  const value = source[name];
  return typeof value === "string" ? value : { other: Array.isArray(value) ? "array" : typeof value };
}

function answer(route) {
  return (req, res) => {
    const fields = {};
    for (const name of SPEC.fields) fields[name] = { body: reading(req.body, name), query: reading(req.query, name) };
    const body = { origin: "express", route, path: req.originalUrl, fields };
    if (route === "login") {
      const user = reading(req.body, "username");
      if (typeof user === "string" && user.startsWith("sess") && reading(req.body, "password") === SPEC.loginPassword) {
        res.set("Portcullis-Login-User", `u-${user}`);
      } else {
        res.status(401);
      }
    }
    res.json(body);
  };
}

/** The Express app (not listening). */
export function expressApp() {
  const app = express();
  app.use(express.urlencoded({ extended: true }));
  app.use(express.json());
  app.use(multer({ limits: { fileSize: 65536 } }).any());
  // A format suffix as Rails and many Express apps allow (`/login.json`).
  app.post(["/login", "/login.:format"], answer("login"));
  app.post("/signup", answer("signup"));
  app.post("/account/password", answer("change"));
  app.post("/reset", answer("reset"));
  app.all("/billing", answer("vault"));
  app.all(["/app", "/app/*"], answer("app"));
  app.all(["/account", "/account/*"], answer("account"));
  app.all("*", answer("other"));
  // A body a parser refused: what it read is nothing.
  app.use((err, req, res, _next) => {
    res.status(err.status ?? 400).json({ origin: "express", route: "error", error: err.message, fields: {} });
  });
  return app;
}
