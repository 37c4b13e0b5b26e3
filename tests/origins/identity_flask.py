"""A Flask origin that takes only requests the edge signed (the README's
check, examples/identity/flask_identity.py): argv port, then the secrets;
LOGIN_PASSWORD is the password /login takes."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "examples", "identity"))

from flask import Flask, jsonify, request  # noqa: E402
from flask_identity import from_the_edge  # noqa: E402

app = Flask(__name__)
SECRETS = sys.argv[2:]


@app.before_request
def edge_only():
    if not from_the_edge(request, SECRETS):
        return jsonify(error="not_from_the_edge"), 401
    return None


@app.route("/login", methods=["POST"])
def login():
    if request.form.get("password") != os.environ.get("LOGIN_PASSWORD"):
        return jsonify(), 401
    response = jsonify()
    response.headers["Portcullis-Login-User"] = "u-" + request.form.get("username", "")
    return response


@app.route("/", defaults={"path": ""}, methods=["GET", "POST"])
@app.route("/<path:path>", methods=["GET", "POST"])
def echo(path):
    return jsonify(user=request.headers.get("Portcullis-User"), path=path)


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(sys.argv[1]))
