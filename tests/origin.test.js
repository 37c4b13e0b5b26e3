// The demo origin (www/server.js) on loopback, driven with fetch: its side of
// SPEC.md's "The edge, as an application sees it". Signup stores accounts,
// POST /login answers 303 with `Portcullis-Login-*` headers or 401 (the same
// page whether or not the name exists), /account trusts the edge's
// `Portcullis-User` / `Portcullis-Roles` headers, and the password change
// needs the current password.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startServer } from "../www/server.js";

const DEMO_PASSWORD = "correct horse battery staple orbit";

let server;
before(async () => {
  server = await startServer({ port: 0 });
});
after(async () => {
  await server?.close();
});

/** A request to the server, redirects not followed. */
function request(path, { form, headers = {}, method = form ? "POST" : "GET" } = {}) {
  return fetch(new URL(path, server.url), {
    method,
    redirect: "manual",
    headers,
    body: form instanceof FormData ? form : form && new URLSearchParams(form),
  });
}

const login = (username, password, extra = {}) => request("/login", { form: { username, password, ...extra } });

function loginHeaders(response) {
  return Object.fromEntries([...response.headers].filter(([name]) => name.startsWith("portcullis-")));
}

/** The attributes after `id` and the text of the element with that id (no nested same tag). */
function elementText(html, id) {
  const match = html.match(new RegExp(`<(\\w+)\\b[^>]*?\\bid="${id}"([^>]*)>([\\s\\S]*?)</\\1>`));
  return match && { attrs: match[2], text: match[3].replace(/<[^>]+>/g, "").trim() };
}

describe("signup and login", () => {
  test("a new account signs in: 303 to /account with the Portcullis-Login-* headers", async () => {
    const signup = await request("/signup", {
      form: { username: "alice", email: "alice@example.com", password: "a-long-unusual-passphrase-42", confirm: "a-long-unusual-passphrase-42" },
    });
    assert.equal(signup.status, 200);
    const page = await signup.text();
    assert.match(page, /Account created/);
    assert.match(page, /<strong>alice<\/strong>/);
    assert.match(signup.headers.get("content-security-policy"), /script-src 'self' 'wasm-unsafe-eval'/);

    const before = Math.floor(Date.now() / 1000);
    const r = await login("alice", "a-long-unusual-passphrase-42");
    assert.equal(r.status, 303);
    assert.equal(r.headers.get("location"), "/account");
    const headers = loginHeaders(r);
    assert.match(headers["portcullis-login-user"], /^u-\d+$/);
    assert.notEqual(headers["portcullis-login-user"], "u-1", "u-1 is the seeded demo account");
    assert.equal(headers["portcullis-login-roles"], undefined, "a new account has no roles");
    const created = Number(headers["portcullis-login-created"]);
    assert.ok(Number.isInteger(created) && created >= before - 5 && created <= before + 5, `created ${created}`);
  });

  test("a multipart signup works too, and usernames compare case-insensitively", async () => {
    const form = new FormData();
    form.append("username", "Carol");
    form.append("email", "carol@example.com");
    form.append("password", "carol-has-a-long-passphrase");
    const r = await request("/signup", { form });
    assert.equal(r.status, 200);
    const ok = await login("carol", "carol-has-a-long-passphrase");
    assert.equal(ok.status, 303);
  });

  test("the seeded demo account is an admin past probation", async () => {
    const r = await login("demo", DEMO_PASSWORD);
    assert.equal(r.status, 303);
    const headers = loginHeaders(r);
    assert.equal(headers["portcullis-login-user"], "u-1");
    assert.equal(headers["portcullis-login-roles"], "admin");
    assert.ok(Number(headers["portcullis-login-created"]) < Date.now() / 1000 - 7 * 24 * 3600);
  });

  test("a wrong password is 401 with the login page and no login header", async () => {
    const r = await login("demo", "correct horse battery staple");
    assert.equal(r.status, 401);
    assert.deepEqual(loginHeaders(r), {});
    assert.match(r.headers.get("content-type"), /^text\/html/);
    const html = await r.text();
    const error = elementText(html, "login-error");
    assert.ok(error, "#login-error is on the page");
    assert.ok(!/\bhidden\b/.test(error.attrs), "#login-error is shown");
    assert.equal(error.text, "Wrong username or password.");
    assert.match(html, /<input id="username" name="username" value="demo"/);
  });

  test("an unknown username gets the same 401 page", async () => {
    const wrong = await (await login("demo", "not the password")).text();
    const r = await login("nobody-here", "not the password");
    assert.equal(r.status, 401);
    assert.deepEqual(loginHeaders(r), {});
    const unknown = await r.text();
    assert.equal(elementText(unknown, "login-error").text, elementText(wrong, "login-error").text);
    // Apart from the username typed back, the two pages are identical.
    assert.equal(unknown.replace('value="nobody-here"', ""), wrong.replace('value="demo"', ""));
  });

  test("the failed login page follows the form's locale", async () => {
    const html = await (await login("demo", "nope", { locale: "cs" })).text();
    assert.match(html, /<html lang="cs">/);
    assert.equal(elementText(html, "login-error").text, "Nesprávné uživatelské jméno nebo heslo.");
  });

  test("a duplicate username is 409", async () => {
    const form = { username: "dave", email: "dave@example.com", password: "dave-long-passphrase-1" };
    assert.equal((await request("/signup", { form })).status, 200);
    const r = await request("/signup", { form: { ...form, username: "Dave", email: "other@example.com" } });
    assert.equal(r.status, 409);
    assert.match(await r.text(), /already taken/);
    const demo = await request("/signup", { form: { username: "demo", email: "x@example.com", password: "whatever-long-1" } });
    assert.equal(demo.status, 409);
    // The first account keeps its password.
    assert.equal((await login("dave", "dave-long-passphrase-1")).status, 303);
  });

  test("a signup with a missing field is 400", async () => {
    const r = await request("/signup", { form: { username: "erin", email: "", password: "erin-long-passphrase" } });
    assert.equal(r.status, 400);
  });

  test("names are escaped in the result pages", async () => {
    const r = await request("/signup", { form: { username: "<img src=x>", email: "x@example.com", password: "long-enough-password" } });
    const html = await r.text();
    assert.ok(!html.includes("<img src=x>"));
    assert.match(html, /&lt;img src=x&gt;/);
  });
});

describe("login page", () => {
  test("GET /login serves www/login.html under the CSP", async () => {
    const r = await request("/login");
    assert.equal(r.status, 200);
    assert.match(r.headers.get("content-security-policy"), /style-src 'self'/);
    const html = await r.text();
    assert.match(html, /<form class="card login" id="login" method="post" action="\/login">/);
    assert.match(html, /id="login-reason"/);
    assert.ok(!/<script(?![^>]*\bsrc=)/.test(html), "no inline script");
    assert.ok(!/\sstyle=|\son\w+=/.test(html), "no inline style or handler");
  });
});

describe("account", () => {
  test("/account without the edge's header is not signed in", async () => {
    const r = await request("/account");
    assert.equal(r.status, 200);
    const html = await r.text();
    assert.match(html, /Not signed in \(the Portcullis edge issues sessions in front of this demo\)/);
    assert.match(html, /href="\/login"/);
    assert.ok(!html.includes('id="change-password"'));
  });

  test("/account with Portcullis-User shows the user and the forms", async () => {
    const r = await request("/account", { headers: { "Portcullis-User": "u-1", "Portcullis-Roles": "admin", "Portcullis-Session": "sid-1" } });
    assert.equal(r.status, 200);
    const html = await r.text();
    assert.equal(elementText(html, "signed-in").text, "Signed in as demo (u-1)");
    assert.equal(elementText(html, "account-roles").text, "admin");
    assert.match(html, /<form class="card change-password" id="change-password" method="post" action="\/account\/password"/);
    for (const name of ["password", "new_password", "confirm"]) assert.match(html, new RegExp(`name="${name}"`));
    assert.match(html, /<form method="post" action="\/logout"/);
  });

  test("the edge's headers are HTML-escaped", async () => {
    const r = await request("/account", { headers: { "Portcullis-User": "<script>x</script>", "Portcullis-Roles": "<b>staff</b>" } });
    const html = await r.text();
    assert.ok(!html.includes("<script>x</script>") && !html.includes("<b>staff</b>"));
    assert.match(html, /&lt;script&gt;x&lt;\/script&gt;/);
  });

  test("a password change needs the header and the current password, then the new one signs in", async () => {
    const form = { username: "frank", email: "frank@example.com", password: "frank-first-passphrase" };
    assert.equal((await request("/signup", { form })).status, 200);
    const id = loginHeaders(await login("frank", "frank-first-passphrase"))["portcullis-login-user"];
    const change = { password: "frank-first-passphrase", new_password: "frank-second-passphrase", confirm: "frank-second-passphrase" };

    // Not signed in: 401, nothing changes.
    assert.equal((await request("/account/password", { form: change })).status, 401);
    // Wrong current password: 403.
    const wrong = await request("/account/password", { form: { ...change, password: "guess" }, headers: { "Portcullis-User": id } });
    assert.equal(wrong.status, 403);
    assert.match(await wrong.text(), /The current password is not correct/);
    // Confirmation mismatch: 400.
    const mismatch = await request("/account/password", { form: { ...change, confirm: "other" }, headers: { "Portcullis-User": id } });
    assert.equal(mismatch.status, 400);
    // Another account's id cannot use frank's password.
    const other = await request("/account/password", { form: change, headers: { "Portcullis-User": "u-1" } });
    assert.equal(other.status, 403);
    assert.equal((await login("frank", "frank-first-passphrase")).status, 303);

    const r = await request("/account/password", { form: change, headers: { "Portcullis-User": id } });
    assert.equal(r.status, 303);
    assert.equal(r.headers.get("location"), "/account?changed=1");
    const done = await (await request("/account?changed=1", { headers: { "Portcullis-User": id } })).text();
    assert.match(done, /Your password was changed\./);

    assert.equal((await login("frank", "frank-first-passphrase")).status, 401);
    const again = await login("frank", "frank-second-passphrase");
    assert.equal(again.status, 303);
    assert.equal(loginHeaders(again)["portcullis-login-user"], id);
  });

  test("POST /logout is 303 to /login; GET is 405", async () => {
    const r = await request("/logout", { form: {} });
    assert.equal(r.status, 303);
    assert.equal(r.headers.get("location"), "/login");
    const get = await request("/logout");
    assert.equal(get.status, 405);
    assert.equal(get.headers.get("allow"), "POST");
  });
});

describe("static files", () => {
  test("the path-traversal protection still holds", async () => {
    for (const path of ["/..%2fpackage.json", "/pkg/..%2f..%2fCargo.toml", "/pkg/..%5c..%5cCargo.toml", "/%2e%2e/README.md"]) {
      const r = await request(path);
      assert.equal(r.status, 404, path);
    }
  });

  test("i18n.js serves to the browser as a module", async () => {
    const r = await request("/i18n.js");
    assert.equal(r.status, 200);
    assert.match(r.headers.get("content-type"), /^text\/javascript/);
  });
});

describe("password reset", () => {
  test("the edge-verified user sets a new password; without an edge the request page says only that a link is on its way", async () => {
    let page = await (await request("/reset?reason=reset_link_used")).text();
    assert.equal(elementText(page, "reset-reason").text, "That reset link was already used. Ask for a new one.");
    assert.ok(page.includes('id="reset-request"'));

    const asked = await request("/reset", { form: { username: "demo" } });
    assert.equal(asked.status, 200);
    page = await asked.text();
    assert.match(page, /a link to reset its password is on its way/);
    assert.ok(!page.includes('id="reset-link"'), "no edge configured: no link to show");

    page = await (await request("/reset?token=t", { headers: { "Portcullis-Reset-User": "u-1" } })).text();
    assert.equal(elementText(page, "reset-user").text, "demo");
    const set = await request("/reset", { form: { token: "t", new_password: "Velvet-orbit-lantern-27" }, headers: { "Portcullis-Reset-User": "u-1" } });
    assert.equal(set.status, 303);
    assert.equal(set.headers.get("location"), "/login?reason=password_reset");
    assert.equal((await login("demo", "Velvet-orbit-lantern-27")).status, 303);
    assert.equal((await login("demo", DEMO_PASSWORD)).status, 401);
    // Put the demo password back for the other tests.
    await request("/reset", { form: { new_password: DEMO_PASSWORD }, headers: { "Portcullis-Reset-User": "u-1" } });
  });
});
