"""Flask check that refuses a request the Portcullis edge did not sign.

Portcullis-Identity-Signature must be ``t=<unix seconds>,v1=<hex>``, at
most 60 s old, the HMAC-SHA-256 under one of ``secrets`` (the current
ORIGIN_SECRET and, during a rotation, the previous one) of the lines t,
method, Host, path and query, Portcullis-User, -Roles, -Session::

    @app.before_request
    def edge_only():
        if not from_the_edge(request, [os.environ["ORIGIN_SECRET"]]):
            return {"error": "not_from_the_edge"}, 401
"""
import hashlib
import hmac
import re
import time


def from_the_edge(request, secrets, max_age=60):
    fields = dict(
        part.strip().split("=", 1)
        for part in request.headers.get("Portcullis-Identity-Signature", "").split(",")
        if "=" in part
    )
    t, v1 = fields.get("t", ""), fields.get("v1", "")
    if not re.fullmatch(r"\d+", t) or abs(time.time() - int(t)) > max_age:
        return False
    if not re.fullmatch(r"[0-9a-f]{64}", v1):
        return False
    # The path and query exactly as they arrived (Werkzeug keeps them).
    target = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI", "")
    lines = "\n".join([
        t,
        request.method,
        request.headers.get("Host", ""),
        target,
        request.headers.get("Portcullis-User", ""),
        request.headers.get("Portcullis-Roles", ""),
        request.headers.get("Portcullis-Session", ""),
    ]).encode()
    return any(
        hmac.compare_digest(hmac.new(key.encode(), lines, hashlib.sha256).hexdigest(), v1)
        for key in secrets
        if key
    )
