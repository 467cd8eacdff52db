"""Drives the fake RouterOS with the librouteros package (PyPI), an
independent implementation of the classic API: tests/librouteros.rs runs it.

Usage: librouteros_client.py HOST PORT USER PASSWORD

Prints one JSON object (the last line of stdout) with what each step saw;
the Rust test asserts on it. Every socket operation is bounded by the
library's own timeout (TIMEOUT seconds).
"""

import importlib.metadata
import json
import sys

from librouteros import connect
from librouteros.exceptions import ConnectionClosed, FatalError, TrapError
from librouteros.query import Key

TIMEOUT = 10
COMMENT = "librouteros"


def trap(e):
    return {"message": e.message, "category": e.category}


def main():
    host, port, user, password = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    out = {"version": importlib.metadata.version("librouteros")}

    # New-style (post-6.43) login: /login =name= =password=.
    api = connect(host=host, username=user, password=password, port=port, timeout=TIMEOUT)
    routes = api.path("ip", "route")
    out["listed"] = list(routes)

    # librouteros passes keyword names through as they are: RouterOS names
    # with dashes go in through a dict.
    added = routes.add(**{"dst-address": "192.0.0.0/29", "gateway": "veth-xlat", "comment": COMMENT})
    out["added"] = added
    out["found"] = [r for r in routes if r.get(".id") == added]
    # A query (?=comment=...) and a property list (=.proplist=...).
    out["selected"] = list(routes.select(Key(".id"), Key("dst-address")).where(Key("comment") == COMMENT))
    # A query that matches nothing: RouterOS 7.18+ answers !empty then !done.
    out["nothing"] = list(routes.select(Key(".id")).where(Key("comment") == "no such comment"))
    routes.update(**{".id": added, "distance": 5})
    out["updated"] = [r for r in routes if r.get(".id") == added]
    routes.remove(added)
    out["after_remove"] = [r[".id"] for r in routes]

    # A property /ip/route does not have: a !trap, and the session goes on.
    try:
        routes.add(**{"dst-address": "192.0.2.0/24", "bogus-property": "1"})
        out["unknown_attribute"] = "accepted"
    except TrapError as e:
        out["unknown_attribute"] = trap(e)
    # librouteros does not turn underscores into dashes: dst_address is a
    # property no menu has.
    try:
        routes.add(dst_address="192.0.2.0/24", gateway="veth-xlat")
        out["underscore_attribute"] = "accepted"
    except TrapError as e:
        out["underscore_attribute"] = trap(e)
    # Removing an item that is gone.
    try:
        routes.remove(added)
        out["remove_missing"] = "accepted"
    except TrapError as e:
        out["remove_missing"] = trap(e)
    # An unknown command.
    try:
        list(api.path("ip", "route")("frobnicate"))
        out["unknown_command"] = "accepted"
    except TrapError as e:
        out["unknown_command"] = trap(e)

    out["kept"] = routes.add(**{"dst-address": "192.0.0.8/29", "gateway": "veth-xlat", "comment": "kept"})
    out["identity"] = list(api.path("system", "identity"))
    api.close()

    # /quit: !fatal with the reason, and the connection closes.
    api = connect(host=host, username=user, password=password, port=port, timeout=TIMEOUT)
    try:
        list(api("/quit"))
        out["quit"] = "no fatal"
    except FatalError as e:
        out["quit"] = {"fatal": str(e)}
    api.close()

    # A wrong password: RouterOS answers !trap then !done.
    try:
        connect(host=host, username=user, password=password + "-wrong", port=port, timeout=TIMEOUT).close()
        out["bad_login"] = "accepted"
    except TrapError as e:
        out["bad_login"] = {"error": "TrapError", **trap(e)}
    except ConnectionClosed as e:
        out["bad_login"] = {"error": "ConnectionClosed", "message": str(e)}

    print(json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    main()
