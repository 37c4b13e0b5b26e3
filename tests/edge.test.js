// The edge Worker on workerd (Miniflare) in front of a real loopback
// origin: security headers, bans after N warnings (and not before), the
// never-ban list, IPv6 prefixes, persistence across a restart, manual and
// fraud bans, upload rules, blocked email domains, the admin API and the
// public policy the browser package loads.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { after, before, describe, test } from "node:test";
import { APP_KEY, startEdge, startOrigin, PASSWORD } from "./support/edge.js";
import { importPackage } from "./support/package.js";

const POLICY = {
  bans: {
    warningsBeforeBan: 3,
    windowSeconds: 60,
    banSeconds: 120,
    neverBan: ["10.0.0.0/8", "2001:db8:ffff::/48"],
    manual: [{ cidr: "198.51.100.0/24", scope: "writes" }],
    fraud: { enabled: true, denyList: ["192.0.2.128/25"], botScoreBelow: 30 },
  },
  uploads: { paths: ["/upload", "/files/*"], maxBytes: 1000 },
  signup: { blockedEmailDomains: ["spam.example"] },
  passwords: { minLength: 10 },
};

let origin;
let edge;
before(async () => {
  origin = await startOrigin();
  edge = await startEdge({ origin, policy: POLICY });
});
after(async () => {
  await edge?.dispose();
  await origin?.close();
});

/** Three wrong application keys: three security warnings from `ip`. */
async function warnings(ip, n) {
  for (let i = 0; i < n; i++) {
    const r = await edge.admin("/settings", { ip, key: "wrong-key" });
    assert.equal(r.status, i < 3 ? 401 : 403);
    await r.arrayBuffer();
  }
}

function assertSecurityHeaders(r) {
  assert.match(r.headers.get("content-security-policy") ?? "", /default-src 'self'/);
  assert.equal(r.headers.get("x-content-type-options"), "nosniff");
  assert.equal(r.headers.get("x-frame-options"), "SAMEORIGIN");
  assert.equal(r.headers.get("referrer-policy"), "no-referrer");
  assert.equal(r.headers.get("cross-origin-opener-policy"), "same-origin");
}

describe("proxy", () => {
  test("requests reach the origin; responses carry the security headers", async () => {
    const r = await edge.request("/hello?x=1", { ip: "203.0.113.10" });
    assert.equal(r.status, 200);
    assertSecurityHeaders(r);
    const seen = await r.json();
    assert.equal(seen.url, "/hello?x=1");
    assert.equal(r.headers.get("portcullis-internal"), null, "origin-to-edge headers are stripped");
  });

  test("client headers in the reserved namespace never reach the origin, however spelled", async () => {
    const r = await edge.request("/hello", {
      ip: "203.0.113.10",
      headers: { "Portcullis-User": "u-admin", Portcullis_User: "u-admin", "PORTCULLIS_RESET_USER": "u-admin", "X-Other": "kept" },
    });
    const seen = await r.json();
    const names = Object.keys(seen.headers);
    assert.deepEqual(names.filter((n) => n.replaceAll("_", "-").startsWith("portcullis-")), []);
    assert.equal(seen.headers["x-other"], "kept");
  });

  test("the edge's own answers carry them too", async () => {
    for (const path of ["/__portcullis/policy", "/__portcullis/nope"]) {
      const r = await edge.request(path, { ip: "203.0.113.10" });
      assertSecurityHeaders(r);
      await r.arrayBuffer();
    }
  });

  test("client-sent Portcullis- headers never reach the origin", async () => {
    const r = await edge.request("/x", {
      ip: "203.0.113.11",
      headers: { "Portcullis-User": "admin", "Portcullis-Roles": "admin,staff", "portcullis-session": "forged" },
    });
    const seen = await r.json();
    for (const name of Object.keys(seen.headers)) assert.ok(!name.startsWith("portcullis-"), name);
  });

  test("bodies are forwarded", async () => {
    const body = "x".repeat(5000);
    const r = await edge.request("/echo", { ip: "203.0.113.12", method: "POST", body });
    assert.equal((await r.json()).bodyLength, 5000);
  });
});

describe("bans", () => {
  test("an IP is banned at the Nth warning, not before, and others are not", async () => {
    const ip = "203.0.113.20";
    for (let i = 0; i < 2; i++) {
      const r = await edge.admin("/settings", { ip, key: "wrong" });
      assert.equal(r.status, 401);
      await r.arrayBuffer();
    }
    let r = await edge.request("/", { ip });
    assert.equal(r.status, 200, "two warnings do not ban");
    await r.arrayBuffer();
    r = await edge.admin("/settings", { ip, key: "wrong" });
    assert.equal(r.status, 401);
    await r.arrayBuffer();
    r = await edge.request("/", { ip });
    assert.equal(r.status, 403);
    assertSecurityHeaders(r);
    const retry = Number(r.headers.get("retry-after"));
    assert.ok(retry > 100 && retry <= 120, `Retry-After ${retry}`);
    assert.deepEqual(await r.json(), { error: "banned", message: "This address is banned." });
    r = await edge.request("/", { ip: "203.0.113.21" });
    assert.equal(r.status, 200);
    await r.arrayBuffer();
  });

  test("identity comes from CF-Connecting-IP, never X-Forwarded-For", async () => {
    const ip = "203.0.113.22";
    for (let i = 0; i < 3; i++) {
      const r = await edge.admin("/settings", { ip, key: "wrong", headers: { "X-Forwarded-For": `198.18.0.${i}` } });
      await r.arrayBuffer();
    }
    const r = await edge.request("/", { ip, headers: { "X-Forwarded-For": "198.18.0.99" } });
    assert.equal(r.status, 403);
    await r.arrayBuffer();
  });

  test("IPs and ranges on the never-ban list are never banned (IPv4 and IPv6)", async () => {
    for (const ip of ["10.9.8.7", "2001:db8:ffff:1::5"]) {
      for (let i = 0; i < 5; i++) {
        const r = await edge.admin("/settings", { ip, key: "wrong" });
        assert.equal(r.status, 401);
        await r.arrayBuffer();
      }
      const r = await edge.request("/", { ip });
      assert.equal(r.status, 200, ip);
      await r.arrayBuffer();
    }
  });

  test("IPv6 clients are counted per /64", async () => {
    for (const ip of ["2001:db8:1:2::a", "2001:db8:1:2::b", "2001:db8:1:2:ffff::c"]) {
      const r = await edge.admin("/settings", { ip, key: "wrong" });
      await r.arrayBuffer();
    }
    let r = await edge.request("/", { ip: "2001:db8:1:2::dead" });
    assert.equal(r.status, 403, "the whole /64 is banned");
    await r.arrayBuffer();
    r = await edge.request("/", { ip: "2001:db8:1:3::1" });
    assert.equal(r.status, 200, "the next /64 is not");
    await r.arrayBuffer();
  });

  test("the manual ban list blocks writes only when so configured", async () => {
    let r = await edge.request("/page", { ip: "198.51.100.7" });
    assert.equal(r.status, 200);
    await r.arrayBuffer();
    r = await edge.request("/comment", { ip: "198.51.100.7", method: "POST", body: "hi" });
    assert.equal(r.status, 403);
    await r.arrayBuffer();
  });

  test("a fraud deny-list match bans at once", async () => {
    const r = await edge.request("/", { ip: "192.0.2.200" });
    assert.equal(r.status, 403);
    await r.arrayBuffer();
    const bans = await (await edge.admin("/bans")).json();
    assert.ok(bans.bans.some((b) => b.target === "192.0.2.200" && b.reason === "fraud"));
  });

  test("Cloudflare's bot score below the threshold bans at once", async () => {
    let r = await edge.dispatch("/", { ip: "203.0.113.90", cf: { botManagement: { score: 5 } } });
    assert.equal(r.status, 403);
    await r.arrayBuffer();
    r = await edge.dispatch("/", { ip: "203.0.113.91", cf: { botManagement: { score: 90 } } });
    assert.equal(r.status, 200);
    await r.arrayBuffer();
    r = await edge.request("/", { ip: "203.0.113.90" });
    assert.equal(r.status, 403, "the ban sticks without the signal");
    await r.arrayBuffer();
  });

  test("the admin bans and unbans; both are live at once", async () => {
    const target = "203.0.113.30";
    let r = await edge.admin("/bans", { method: "POST", body: JSON.stringify({ target, seconds: 600 }) });
    assert.equal(r.status, 201);
    await r.arrayBuffer();
    r = await edge.request("/", { ip: target });
    assert.equal(r.status, 403);
    await r.arrayBuffer();
    const list = await (await edge.admin("/bans")).json();
    assert.ok(list.bans.some((b) => b.target === target && b.reason === "manual"));
    r = await edge.admin(`/bans/${encodeURIComponent(`${target}/32`)}`, { method: "DELETE" });
    assert.equal(r.status, 200);
    await r.arrayBuffer();
    r = await edge.admin(`/bans/${encodeURIComponent(target)}`, { method: "DELETE" });
    assert.equal(r.status, 404, "a ban removed once is gone");
    await r.arrayBuffer();
    r = await edge.request("/", { ip: target });
    assert.equal(r.status, 200);
    await r.arrayBuffer();
    r = await edge.admin("/bans", { method: "POST", body: JSON.stringify({ target: "not-an-ip", seconds: 5 }) });
    assert.equal(r.status, 422);
    await r.arrayBuffer();
  });

  test("an unbanned client can be banned again by new warnings", async () => {
    const ip = "203.0.113.31";
    await warnings(ip, 3);
    let r = await edge.request("/", { ip });
    assert.equal(r.status, 403);
    await r.arrayBuffer();
    r = await edge.admin(`/bans/${ip}`, { method: "DELETE" });
    assert.equal(r.status, 200);
    await r.arrayBuffer();
    assert.equal((await edge.request("/", { ip })).status, 200);
    await warnings(ip, 3);
    r = await edge.request("/", { ip });
    assert.equal(r.status, 403);
    await r.arrayBuffer();
  });

  test("the origin's 403 on a protected path is a warning", async () => {
    const ip = "203.0.113.32";
    const login = await edge.request("/login", {
      ip,
      method: "POST",
      body: `username=zoe&password=${PASSWORD}`,
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    assert.equal(login.status, 200);
    await login.arrayBuffer();
    const session = login.headers.getSetCookie().map((c) => c.split(";")[0]).join("; ");
    for (let i = 0; i < 3; i++) {
      const r = await edge.request("/app/forbidden", { ip, headers: { Cookie: session } });
      assert.equal(r.status, 403);
      await r.arrayBuffer();
    }
    const r = await edge.request("/", { ip });
    assert.equal(r.status, 403);
    assert.equal((await r.json()).error, "banned");
  });
});

describe("uploads", () => {
  const multipart = (filename, size) => {
    const boundary = "----portcullis-test";
    const head = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\nContent-Type: image/png\r\n\r\n`;
    const body = Buffer.concat([Buffer.from(head), Buffer.alloc(size, 120), Buffer.from(`\r\n--${boundary}--\r\n`)]);
    return { body, headers: { "content-type": `multipart/form-data; boundary=${boundary}` } };
  };

  test("an allowed file passes to the origin", async () => {
    const r = await edge.request("/upload", { ip: "203.0.113.40", method: "POST", ...multipart("cat.png", 500) });
    assert.equal(r.status, 200);
    assert.ok((await r.json()).bodyLength > 500);
  });

  test("a disallowed extension is 415, judged from the body; staff cannot be claimed by header", async () => {
    const before = origin.seen.length;
    const r = await edge.request("/files/a", {
      ip: "203.0.113.41",
      method: "POST",
      ...multipart("run.exe", 10),
      headers: { ...multipart("run.exe", 10).headers, "Portcullis-Roles": "staff" },
    });
    assert.equal(r.status, 415);
    assertSecurityHeaders(r);
    assert.equal((await r.json()).error, "upload_type_not_allowed");
    assert.equal(origin.seen.length, before, "the origin never saw it");
  });

  test("a file over the size limit is 413", async () => {
    const r = await edge.request("/upload", { ip: "203.0.113.42", method: "POST", ...multipart("big.png", 1500) });
    assert.equal(r.status, 413);
    assert.equal((await r.json()).error, "upload_too_large");
  });

  test("blocked uploads are warnings", async () => {
    const ip = "203.0.113.43";
    for (let i = 0; i < 3; i++) {
      const r = await edge.request("/upload", { ip, method: "POST", ...multipart("x.exe", 1) });
      assert.equal(r.status, 415);
      await r.arrayBuffer();
    }
    const r = await edge.request("/", { ip });
    assert.equal(r.status, 403);
    await r.arrayBuffer();
  });
});

describe("signup", () => {
  const form = (fields) => ({
    method: "POST",
    body: new URLSearchParams(fields).toString(),
    headers: { "content-type": "application/x-www-form-urlencoded" },
  });

  test("a blocked email domain is refused with 422 before the origin", async () => {
    const before = origin.seen.length;
    const r = await edge.request("/signup", { ip: "203.0.113.50", ...form({ username: "bob", email: "bob@mail.spam.example", password: "a-long-unusual-passphrase-42" }) });
    assert.equal(r.status, 422);
    assert.equal((await r.json()).error, "email_domain_blocked");
    assert.equal(origin.seen.length, before);
  });

  test("a password failing the policy is refused with the failed rule ids", async () => {
    const r = await edge.request("/signup", { ip: "203.0.113.51", ...form({ username: "bob", email: "bob@example.com", password: "bob12345" }) });
    assert.equal(r.status, 422);
    const body = await r.json();
    assert.equal(body.error, "password_rejected");
    assert.ok(body.rules.includes("minLength"));
    assert.ok(body.rules.includes("userInfo"));
  });

  test("the refusal speaks the first Accept-Language tag the edge knows", async () => {
    const refuse = async (language) => {
      const f = form({ username: "bob", email: "bob@example.com", password: "bob12345" });
      const r = await edge.request("/signup", { ip: "203.0.113.53", ...f, headers: { ...f.headers, "accept-language": language } });
      assert.equal(r.status, 422);
      return (await r.json()).message;
    };
    assert.match(await refuse("it-IT, de;q=0.8"), /^Mindestens \d+ Zeichen/);
    assert.match(await refuse("pl-PL"), /^Co najmniej \d+ znaków/);
    assert.match(await refuse("x-klingon"), /^At least \d+ characters/);
  });

  test("a good signup reaches the origin with its body", async () => {
    const r = await edge.request("/signup", { ip: "203.0.113.52", ...form({ username: "bob", email: "bob@example.com", password: "vQ3#nT8!zKp2@wLm" }) });
    assert.equal(r.status, 200);
    const seen = await r.json();
    assert.equal(seen.url, "/signup");
    assert.ok(seen.bodyLength > 20);
  });
});

describe("admin API", () => {
  test("no key or a wrong key is 401", async () => {
    let r = await edge.request("/__portcullis/admin/settings", { ip: "203.0.113.60" });
    assert.equal(r.status, 401);
    assert.equal((await r.json()).error, "unauthorized");
    r = await edge.admin("/settings", { ip: "203.0.113.60", key: APP_KEY.slice(0, -1) });
    assert.equal(r.status, 401);
    await r.arrayBuffer();
  });

  test("settings show secrets only as set/unset", async () => {
    const r = await edge.admin("/settings");
    assert.equal(r.status, 200);
    const text = await r.text();
    assert.ok(!text.includes(APP_KEY), "the application key never appears");
    const body = JSON.parse(text);
    assert.equal(body.secrets.applicationKey, "set");
    assert.equal(body.policy.bans.warningsBeforeBan, 3);
  });

  test("a valid change is live at once; an invalid one names the field and saves nothing", async () => {
    let r = await edge.admin("/settings", { method: "PATCH", body: JSON.stringify({ passwords: { minLength: 14 } }) });
    assert.equal(r.status, 200);
    await r.arrayBuffer();
    let policy = await (await edge.request("/__portcullis/policy")).json();
    assert.equal(policy.passwords.minLength, 14);
    r = await edge.admin("/settings", { method: "PATCH", body: JSON.stringify({ passwords: { minLength: 14, maxLength: 5 } }) });
    assert.equal(r.status, 422);
    const err = await r.json();
    assert.equal(err.error, "invalid_setting");
    assert.equal(err.field, "passwords.maxLength");
    r = await edge.admin("/settings", { method: "PATCH", body: "{not json" });
    assert.equal(r.status, 422);
    await r.arrayBuffer();
    policy = await (await edge.request("/__portcullis/policy")).json();
    assert.equal(policy.passwords.maxLength, 128);
    r = await edge.admin("/settings", { method: "PATCH", body: JSON.stringify({ passwords: { minLength: 10 } }) });
    assert.equal(r.status, 200);
    await r.arrayBuffer();
  });

  test("forcing HTTPS redirects plain HTTP and sends HSTS; embedding opens frame-ancestors", async () => {
    let r = await edge.admin("/settings", {
      method: "PATCH",
      body: JSON.stringify({ responses: { forceHttps: true, allowEmbedding: true, csp: { frameAncestors: ["https://partner.example"], scriptSrc: ["https://cdn.example"] } } }),
    });
    assert.equal(r.status, 200);
    await r.arrayBuffer();
    try {
      r = await edge.request("/page?a=1", { ip: "203.0.113.95" });
      assert.equal(r.status, 301);
      assert.equal(r.headers.get("location"), new URL("/page?a=1", edge.url).href.replace("http://", "https://"));
      assert.equal(r.headers.get("strict-transport-security"), "max-age=31536000; includeSubDomains");
      const csp = r.headers.get("content-security-policy");
      assert.match(csp, /frame-ancestors 'self' https:\/\/partner\.example/);
      assert.match(csp, /script-src 'self' 'wasm-unsafe-eval' https:\/\/cdn\.example/);
      assert.match(csp, /upgrade-insecure-requests/);
      assert.equal(r.headers.get("x-frame-options"), null);
      await r.arrayBuffer();
      // The admin API is behind the redirect too.
      r = await edge.admin("/settings");
      assert.equal(r.status, 301);
      await r.arrayBuffer();
    } finally {
      // Over HTTPS (dispatchFetch can give the Worker an https: URL).
      const body = JSON.stringify({ responses: { forceHttps: false, allowEmbedding: false, csp: null } });
      r = await edge.dispatch("https://portcullis.test/__portcullis/admin/settings", {
        ip: "100.64.0.1",
        method: "PATCH",
        body,
        headers: { Authorization: `Bearer ${APP_KEY}`, "content-type": "application/json", "content-length": String(body.length) },
      });
      assert.equal(r.status, 200);
      await r.arrayBuffer();
    }
    r = await edge.request("/page", { ip: "203.0.113.95" });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get("strict-transport-security"), null);
    await r.arrayBuffer();
  });

  test("the audit log records warnings and bans, never the key", async () => {
    const r = await edge.admin("/audit");
    const text = await r.text();
    assert.ok(!text.includes(APP_KEY));
    const kinds = new Set(JSON.parse(text).entries.map((e) => e.kind));
    for (const kind of ["warning", "banned", "banAdded", "banRemoved", "settingsChanged"]) assert.ok(kinds.has(kind), kind);
  });

  test("the public policy is what the browser package enforces", async () => {
    const { PasswordChecker } = await importPackage();
    const served = await (await edge.request("/__portcullis/policy")).json();
    assert.deepEqual(Object.keys(served).sort(), ["captcha", "passwords", "version"]);
    const checker = await PasswordChecker.fromUrl(new URL("/__portcullis/policy", edge.url));
    assert.deepEqual(checker.policy().passwords, served.passwords);
    const settings = await (await edge.admin("/settings")).json();
    assert.deepEqual(served.passwords, settings.policy.passwords);
  });
});

describe("fraud feed", () => {
  test("a feed URL polled by a Durable Object alarm bans the IPs it lists", async () => {
    const feed = createServer((req, res) => {
      res.writeHead(200, { "content-type": "text/plain" });
      res.end("# test feed\n203.0.113.80\n198.18.7.0/24\nnot-an-address\n");
    });
    await new Promise((resolve) => feed.listen(0, "127.0.0.1", resolve));
    const o = await startOrigin();
    const policy = { bans: { fraud: { enabled: true, feedUrl: `http://127.0.0.1:${feed.address().port}/feed.txt`, feedPollSeconds: 60 } } };
    const e = await startEdge({ origin: o, policy, cacheSeconds: 1 });
    try {
      let status = 0;
      // The first poll runs about a second after start; the isolate's copy
      // refreshes within a second after that. Bounded: 30 tries, 15 s.
      for (let i = 0; i < 30 && status !== 403; i++) {
        const r = await e.request("/", { ip: "198.18.7.9" });
        status = r.status;
        await r.arrayBuffer();
        if (status !== 403) await new Promise((resolve) => setTimeout(resolve, 500));
      }
      assert.equal(status, 403, "listed range banned");
      const other = await e.request("/", { ip: "203.0.113.81" });
      assert.equal(other.status, 200);
      await other.arrayBuffer();
      const audit = await (await e.admin("/audit")).json();
      const loaded = audit.entries.find((x) => x.kind === "fraudFeedLoaded");
      assert.deepEqual(loaded.detail, { entries: 2, rejectedLines: 1 });
    } finally {
      await e.dispose();
      await o.close();
      await new Promise((resolve) => { feed.closeAllConnections(); feed.close(resolve); });
    }
  });
});

describe("persistence", () => {
  test("a ban survives a restart of workerd", async () => {
    const o = await startOrigin();
    const first = await startEdge({ origin: o, policy: POLICY });
    const ip = "203.0.113.70";
    for (let i = 0; i < 3; i++) await (await first.admin("/settings", { ip, key: "wrong" })).arrayBuffer();
    assert.equal((await first.request("/", { ip })).status, 403);
    await first.dispose();
    const second = await startEdge({ origin: o, policy: POLICY, persist: first.persist });
    try {
      const r = await second.request("/", { ip });
      assert.equal(r.status, 403);
      await r.arrayBuffer();
      assert.equal((await second.request("/", { ip: "203.0.113.71" })).status, 200);
    } finally {
      await second.dispose();
      await o.close();
    }
  });
});
