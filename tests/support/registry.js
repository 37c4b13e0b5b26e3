// A loopback npm registry (Verdaccio, from npm, in this process) that the
// tests publish the packed package to and install it from, as a user would
// from npmjs.com. It has no uplinks: nothing is fetched from the internet,
// and only what a test published is there.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runServer } from "verdaccio";

const USER = { name: "portcullis-tests", password: "loopback-only-password-1", email: "tests@example.invalid" };
const QUIET = ["--no-audit", "--no-fund", "--loglevel=error"];

/** Starts the registry on 127.0.0.1 at a free port: { url, npmrc, publish, close }. */
export async function startRegistry() {
  const dir = mkdtempSync(join(tmpdir(), "portcullis-registry-"));
  const app = await runServer({
    self_path: dir,
    storage: join(dir, "storage"),
    auth: { htpasswd: { file: join(dir, "htpasswd"), max_users: 10 } },
    uplinks: {},
    packages: { "**": { access: "$all", publish: "$authenticated", unpublish: "$authenticated" } },
    web: { enable: false },
    logs: { type: "stdout", format: "pretty", level: "fatal" },
    max_body_size: "64mb",
  });
  const server = await new Promise((resolve, reject) => {
    const s = app.listen(0, "127.0.0.1", () => resolve(s));
    s.once("error", reject);
  });
  const host = `127.0.0.1:${server.address().port}`;
  const url = `http://${host}/`;
  const close = () =>
    new Promise((done) => {
      server.closeAllConnections?.();
      server.close(() => {
        rmSync(dir, { recursive: true, force: true });
        done();
      });
    });
  try {
    // npm publish needs a token: the registry gives one to a new user.
    const r = await fetch(`${url}-/user/org.couchdb.user:${USER.name}`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ _id: `org.couchdb.user:${USER.name}`, type: "user", roles: [], date: new Date().toISOString(), ...USER }),
    });
    const { token } = await r.json();
    if (!r.ok || !token) throw new Error(`the loopback registry gave no token (HTTP ${r.status})`);
    // A user config of its own: the registry, the token, nothing of the user's ~/.npmrc.
    const npmrc = join(dir, "npmrc");
    writeFileSync(npmrc, `registry=${url}\n//${host}/:_authToken=${token}\n`);
    // Asynchronous: the registry answers from this very process.
    const run = promisify(execFile);
    const npm = async (args, cwd) => (await run("npm", [...args, "--userconfig", npmrc, ...QUIET], { cwd, encoding: "utf8", timeout: 300_000 })).stdout;
    return {
      url,
      npmrc,
      /** Publishes a tarball (a promise). */
      publish: (tarball) => npm(["publish", tarball], dir),
      /** `npm install <specs>` in `cwd` from this registry (a promise). */
      install: (specs, cwd) => npm(["install", ...specs], cwd),
      /** The registry's package document (versions, dist-tags), or null. */
      view: async (name) => {
        const res = await fetch(`${url}${name}`);
        return res.ok ? res.json() : null;
      },
      close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}
