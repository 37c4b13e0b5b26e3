-- wrk script for bench/edge.js: the client keeps the session cookie the way
-- a browser does. Each answer that renews the session (Set-Cookie:
-- __Host-portcullis-session=…) replaces the Cookie header of the thread's
-- next requests. (wrk keeps the last of repeated headers; the edge sends the
-- session cookie last.) The pass-through sets no cookies, so its requests
-- keep the starting cookie.
local session = nil

request = function()
  if session then wrk.headers["Cookie"] = session end
  return wrk.format()
end

response = function(status, headers, body)
  local set = headers["Set-Cookie"] or headers["set-cookie"]
  if set then
    local value = set:match("(__Host%-portcullis%-session=[^;]*)")
    if value then session = value end
  end
end
