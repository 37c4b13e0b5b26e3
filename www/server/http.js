// The demo origin's HTTP plumbing: static files from www/ and pkg/ (never
// outside them), form bodies (urlencoded or multipart only), and answers
// with the demo's own strict Content-Security-Policy on HTML.
import { readFile, realpath, stat } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const WWW_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const PKG_ROOT = path.resolve(WWW_ROOT, "..", "pkg");
export const DEFAULT_PORT = 8788;
const MAX_BODY = 64 * 1024;

const CONTENT_TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".wasm": "application/wasm",
  ".json": "application/json; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".txt": "text/plain; charset=utf-8",
  ".md": "text/plain; charset=utf-8",
  ".ts": "text/plain; charset=utf-8",
};

const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "style-src 'self'",
  "img-src 'self' data:",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join("; ");

function baseHeaders(contentType) {
  return {
    "content-type": contentType,
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
  };
}

export function sendJson(res, status, body, extra = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...baseHeaders(CONTENT_TYPES[".json"]), "content-length": Buffer.byteLength(text), ...extra });
  res.end(res.req.method === "HEAD" ? undefined : text);
}

export const notFound = (res, pathname) => sendJson(res, 404, { error: "not found", path: pathname });

/**
 * Maps a URL path to a file under one of the roots, or null if it would leave
 * the root (after resolving "..", encoded separators and symlinks).
 */
export async function resolveFile(pathname) {
  let root = WWW_ROOT;
  let rel = pathname;
  if (pathname === "/pkg" || pathname.startsWith("/pkg/")) {
    root = PKG_ROOT;
    rel = pathname.slice("/pkg".length);
  }
  if (rel.includes("\0") || rel.includes("\\")) return null;
  const candidate = path.resolve(root, "." + path.posix.normalize("/" + rel));
  const inside = (p, base) => p === base || p.startsWith(base + path.sep);
  if (!inside(candidate, root)) return null;
  let file = candidate;
  try {
    let info = await stat(file);
    if (info.isDirectory()) {
      file = path.join(file, "index.html");
      info = await stat(file);
    }
    if (!info.isFile()) return null;
    const [realFile, realRoot] = await Promise.all([realpath(file), realpath(root)]);
    if (!inside(realFile, realRoot)) return null;
  } catch {
    return null;
  }
  return { file };
}

export function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on("data", (chunk) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        reject(Object.assign(new Error("request body too large"), { status: 413 }));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

/**
 * The request's form fields (text fields only; files in a multipart body are
 * ignored), or null after answering 400/413 itself.
 */
export async function readForm(req, res) {
  try {
    const body = await readBody(req);
    const type = req.headers["content-type"] ?? "";
    if (/^multipart\/form-data\s*;/i.test(type)) {
      // Node's fetch implementation parses multipart bodies.
      const data = await new Response(body, { headers: { "content-type": type } }).formData();
      const form = new URLSearchParams();
      for (const [name, value] of data) if (typeof value === "string") form.append(name, value);
      return form;
    }
    // Only forms: a JSON body read as urlencoded could hide fields from the
    // edge, which reads JSON as JSON.
    const media = type.split(";")[0].trim().toLowerCase();
    if (media !== "" && media !== "application/x-www-form-urlencoded") {
      throw Object.assign(new Error("send the form urlencoded or multipart"), { status: 415 });
    }
    return new URLSearchParams(body.toString("utf8"));
  } catch (error) {
    sendJson(res, error.status ?? 400, { error: error.status ? error.message : "malformed form body" });
    return null;
  }
}

export function sendHtml(res, status, html, extra = {}) {
  res.writeHead(status, {
    ...baseHeaders(CONTENT_TYPES[".html"]),
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-frame-options": "DENY",
    "content-length": Buffer.byteLength(html),
    ...extra,
  });
  res.end(res.req.method === "HEAD" ? undefined : html);
}

export function redirect(res, location, extra = {}) {
  res.writeHead(303, { location, "cache-control": "no-store", "content-length": 0, ...extra });
  res.end();
}

export async function sendFile(req, res, file) {
  const ext = path.extname(file).toLowerCase();
  const headers = baseHeaders(CONTENT_TYPES[ext] ?? "application/octet-stream");
  const data = await readFile(file);
  if (ext === ".html") {
    headers["content-security-policy"] = CONTENT_SECURITY_POLICY;
    headers["x-frame-options"] = "DENY";
  }
  headers["content-length"] = data.length;
  res.writeHead(200, headers);
  res.end(req.method === "HEAD" ? undefined : data);
}
