#!/usr/bin/env python3
"""layering.py - holds lib/ to the layering of lib/README and STYLE.md.

Each file's includes are followed transitively through the project's own
headers (#include "dir/name.h" under lib/), so a wall cannot be crossed by
way of another header. Checked:

  - each layer reaches only the layers below it:
      core   <- core
      engine <- core, engine
      store  <- core, engine, store
      http   <- core, engine, http            (never api, store, events)
      events <- core, engine, store, events
      api    <- core, engine, store, http, api, and of events only the
                pure helpers a webhook subscription needs (sign.h: its
                secret; addr.h: the addresses an operator refuses), never
                the relay
  - nothing under lib/engine/ reaches cJSON (the engine carries no wire format)
  - no file under lib/ or app/ outside lib/store/ reaches libpq or calls PQ*()
  - lib/store/store_int.h (the store's insides) is included only in lib/store/
  - lib/http/pool.c, the master, stays under 600 lines

Prints one line per broken rule and a count; exits 1 on any.
Usage: layering.py [ROOT]  (default: the tree this file is in)
"""
import os
import re
import sys

ROOT = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                       os.path.join(os.path.dirname(__file__), "..", ".."))
LIB = os.path.join(ROOT, "lib")

ALLOWED = {
    "core": {"core"},
    "engine": {"core", "engine"},
    "store": {"core", "engine", "store"},
    "http": {"core", "engine", "http"},
    "events": {"core", "engine", "store", "events"},
    "api": {"core", "engine", "store", "http", "api"},
}
# Headers a layer may reach outside ALLOWED.
EXCEPT = {"api": {"lib/events/sign.h", "lib/events/addr.h"}}
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)
PQ_CALL = re.compile(r"\bPQ[a-zA-Z]+\s*\(")


def sources(*dirs):
    for d in dirs:
        for base, _, files in os.walk(os.path.join(ROOT, d)):
            for f in sorted(files):
                if f.endswith((".c", ".h")):
                    yield os.path.relpath(os.path.join(base, f), ROOT)


def strip_comments(text):
    return re.sub(r"/\*.*?\*/|//[^\n]*", " ", text, flags=re.S)


_includes = {}


def includes(path):
    """(kind, name) of each #include of path: kind '"' names lib/name."""
    if path not in _includes:
        with open(os.path.join(ROOT, path), encoding="utf-8") as f:
            _includes[path] = INCLUDE.findall(strip_comments(f.read()))
    return _includes[path]


def reach(path):
    """Every header path reaches: project headers as lib/..., system ones as <...>."""
    seen, todo = set(), [path]
    while todo:
        for kind, name in includes(todo.pop()):
            own = os.path.join("lib", name)
            if kind == '"' and os.path.exists(os.path.join(ROOT, own)):
                if own not in seen:
                    seen.add(own)
                    todo.append(own)
            else:
                seen.add("<%s>" % name)
    return seen


def layer(path):
    parts = path.split(os.sep)
    return parts[1] if parts[0] == "lib" and len(parts) > 2 else None


def main():
    failures, checks = [], 0
    for path in sources("lib", "app"):
        me = layer(path)
        got = reach(path)
        checks += 1
        if me in ALLOWED:
            for h in sorted(got):
                other = layer(h) if not h.startswith("<") else None
                if other and other not in ALLOWED[me] and h not in EXCEPT.get(me, ()):
                    failures.append("%s (%s) reaches %s (%s)" % (path, me, h, other))
        if me == "engine":
            for h in sorted(got):
                if "cjson" in h.lower():
                    failures.append("%s (engine) reaches %s" % (path, h))
        if me != "store":
            if "<libpq-fe.h>" in got or "<libpq/libpq-fs.h>" in got:
                failures.append("%s reaches libpq outside lib/store/" % path)
            with open(os.path.join(ROOT, path), encoding="utf-8") as f:
                if PQ_CALL.search(strip_comments(f.read())):
                    failures.append("%s calls PQ*() outside lib/store/" % path)
            if os.path.join("lib", "store", "store_int.h") in got:
                failures.append("%s includes the store's private header" % path)
    checks += 1
    with open(os.path.join(LIB, "http", "pool.c"), encoding="utf-8") as f:
        n = sum(1 for _ in f)
    if n >= 600:
        failures.append("lib/http/pool.c has %d lines (the master stays under 600)" % n)
    for line in failures:
        print("FAIL", line)
    print("layering: %d files checked, %d rules broken" % (checks, len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
