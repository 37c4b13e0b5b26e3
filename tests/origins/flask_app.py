"""The Flask origin of the differential suite (tests/differential.test.js).

Every checked route answers what it parsed for each checked field through
request.form, request.values, request.args and request.get_json(), and
which route it dispatched. Listens on 127.0.0.1 at the port given as the
first argument (0: any), prints the port on its first line, and stops when
its standard input closes.
"""

import json
import logging
import sys
import threading

from flask import Flask, jsonify, request
from werkzeug.serving import make_server

with open(__file__.rsplit("/", 1)[0] + "/fields.json", encoding="utf-8") as f:
    SPEC = json.load(f)

app = Flask(__name__)


def reading(source, name):
    """Text, None (absent) or {"other": kind}."""
    if source is None or not hasattr(source, "get") or name not in source:
        return None
    value = source.get(name)
    return value if isinstance(value, str) else {"other": type(value).__name__}


def answer(route):
    data = request.get_json(silent=True)
    fields = {
        name: {
            "form": reading(request.form, name),
            "values": reading(request.values, name),
            "args": reading(request.args, name),
            "json": reading(data if isinstance(data, dict) else None, name),
        }
        for name in SPEC["fields"]
    }
    body = jsonify(origin="flask", route=route, path=request.full_path, fields=fields)
    if route == "login":
        user = reading(request.form, "username")
        if isinstance(user, str) and user.startswith("sess") and request.form.get("password") == SPEC["loginPassword"]:
            body.headers["Portcullis-Login-User"] = "u-" + user
        else:
            body.status_code = 401
    return body


@app.post("/login")
def login():
    return answer("login")


@app.post("/signup")
def signup():
    return answer("signup")


@app.post("/account/password")
def change():
    return answer("change")


@app.post("/reset")
def reset():
    return answer("reset")


@app.route("/billing", methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
def billing():
    return answer("vault")


@app.route("/app", methods=["GET", "POST"])
@app.route("/app/<path:rest>", methods=["GET", "POST"])
def protected(rest=""):
    return answer("app")


@app.route("/account", methods=["GET", "POST"])
@app.route("/account/<path:rest>", methods=["GET", "POST"])
def account(rest=""):
    return answer("account")


@app.route("/", methods=["GET", "POST"])
@app.route("/<path:rest>", methods=["GET", "POST"])
def other(rest=""):
    return answer("other")


if __name__ == "__main__":
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = make_server("127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 0, app, threaded=True)
    print(server.server_port, flush=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sys.stdin.read()
    server.shutdown()
