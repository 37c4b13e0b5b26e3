// Express middleware that refuses a request the Portcullis edge did not
// sign: Portcullis-Identity-Signature must be `t=<unix seconds>,v1=<hex>`,
// at most 60 s old, the HMAC-SHA-256 under one of `secrets` (the current
// ORIGIN_SECRET and, during a rotation, the previous one) of the lines
// t, method, Host, path and query, Portcullis-User, -Roles, -Session.
//
//   app.use(portcullisIdentity({ secrets: [process.env.ORIGIN_SECRET] }));
import { createHmac, timingSafeEqual } from "node:crypto";

export function portcullisIdentity({ secrets, maxAgeSeconds = 60 }) {
  const keys = secrets.filter(Boolean);
  return (req, res, next) => {
    const fields = Object.fromEntries(
      (req.get("portcullis-identity-signature") ?? "").split(",").map((part) => part.trim().split("=", 2)),
    );
    const t = fields.t ?? "";
    const v1 = fields.v1 ?? "";
    const fresh = /^\d+$/.test(t) && Math.abs(Date.now() / 1000 - Number(t)) <= maxAgeSeconds;
    if (!fresh || !/^[0-9a-f]{64}$/.test(v1)) return res.status(401).json({ error: "not_from_the_edge" });
    const lines = [
      t,
      req.method,
      req.get("host") ?? "",
      req.originalUrl,
      req.get("portcullis-user") ?? "",
      req.get("portcullis-roles") ?? "",
      req.get("portcullis-session") ?? "",
    ].join("\n");
    const given = Buffer.from(v1, "hex");
    const signed = keys.some((key) => timingSafeEqual(createHmac("sha256", key).update(lines).digest(), given));
    if (!signed) return res.status(401).json({ error: "not_from_the_edge" });
    next();
  };
}
