// The three real origins of the differential suite, each on loopback and
// stopped by the test: Express 4 (in this process), Flask (the pinned
// version in target/flask-venv, which scripts/setup.sh makes) and PHP's
// built-in server (Debian's php-cli) routing by files.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { expressApp } from "../origins/express.js";
import { root } from "./package.js";

const ORIGINS = join(root, "tests", "origins");
export const FLASK_PYTHON = join(root, "target", "flask-venv", "bin", "python");

/** A port free on 127.0.0.1 just now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.on("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/** Waits (at most 10 s) until `url` answers. */
async function answering(url, child) {
  for (let i = 0; i < 100; i++) {
    if (child?.exitCode !== null && child?.exitCode !== undefined) throw new Error(`${url}: the server exited (${child.exitCode})`);
    try {
      await fetch(url);
      return;
    } catch {
      await sleep(100);
    }
  }
  throw new Error(`${url} did not answer within 10 s`);
}

/** A child process, stopped on close. */
function stopper(child) {
  return () =>
    new Promise((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once("exit", () => resolve());
      child.stdin?.end();
      child.kill("SIGTERM");
    });
}

export async function startExpress() {
  const server = expressApp().listen(0, "127.0.0.1");
  await new Promise((resolve) => server.once("listening", resolve));
  return {
    name: "express",
    url: `http://127.0.0.1:${server.address().port}`,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }),
  };
}

export async function startFlask() {
  if (!existsSync(FLASK_PYTHON)) throw new Error("target/flask-venv is missing: run scripts/setup.sh");
  const port = await freePort();
  const child = spawn(FLASK_PYTHON, [join(ORIGINS, "flask_app.py"), String(port)], { stdio: ["pipe", "ignore", "inherit"] });
  const url = `http://127.0.0.1:${port}`;
  await answering(url, child);
  return { name: "flask", url, close: stopper(child) };
}

export async function startPhp() {
  const port = await freePort();
  // Debian's php.ini already reads $_REQUEST as GET then POST; said here
  // so that no other configuration changes what the suite tests.
  const child = spawn("php", ["-S", `127.0.0.1:${port}`, "-t", join(ORIGINS, "php"), "-d", "request_order=GP", "-d", "variables_order=EGPCS"], {
    stdio: ["ignore", "ignore", "ignore"],
  });
  const url = `http://127.0.0.1:${port}`;
  await answering(url, child);
  return { name: "php", url, close: stopper(child) };
}

/** A Flask origin that takes only requests the edge signed under one of `secrets` (its /login takes `password`). */
export async function startIdentityFlask(secrets, password = "") {
  if (!existsSync(FLASK_PYTHON)) throw new Error("target/flask-venv is missing: run scripts/setup.sh");
  const port = await freePort();
  const child = spawn(FLASK_PYTHON, [join(ORIGINS, "identity_flask.py"), String(port), ...secrets], {
    stdio: ["pipe", "ignore", "inherit"],
    env: { ...process.env, LOGIN_PASSWORD: password },
  });
  const url = `http://127.0.0.1:${port}`;
  await answering(url, child);
  return { name: "flask", url, close: stopper(child) };
}
