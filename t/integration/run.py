#!/usr/bin/env python3
"""Runs the integration suite: every top-level function test_* of every
t/integration/test_*.py module (modules sorted by name, functions in source
order). Optional arguments filter: `test_ops`, `test_ops.py`, or
`test_ops::test_health`. Prints one line per test and finally
`RESULT <passed> <failed>`; exits 1 if anything failed or nothing ran."""

import importlib
import inspect
import os
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))


def parse_filters(args):
    filters = []
    for a in args:
        mod, _, fn = a.partition("::")
        mod = os.path.basename(mod)
        if mod.endswith(".py"):
            mod = mod[:-3]
        filters.append((mod, fn or None))
    return filters


def selected(filters, mod, fn):
    if not filters:
        return True
    return any(m == mod and (f is None or f == fn) for m, f in filters)


def main(argv):
    sys.path.insert(0, HERE)
    filters = parse_filters(argv)
    names = sorted(f[:-3] for f in os.listdir(HERE) if f.startswith("test_") and f.endswith(".py"))
    passed = failed = 0
    for name in names:
        if filters and not any(m == name for m, _ in filters):
            continue
        try:
            mod = importlib.import_module(name)
        except Exception:
            failed += 1
            print("FAIL %s: import failed" % name)
            traceback.print_exc(file=sys.stdout)
            continue
        tests = [(n, f) for n, f in vars(mod).items()
                 if n.startswith("test_") and inspect.isfunction(f) and f.__module__ == mod.__name__]
        tests.sort(key=lambda nf: nf[1].__code__.co_firstlineno)
        for n, f in tests:
            if not selected(filters, name, n):
                continue
            t0 = time.monotonic()
            try:
                f()
            except BaseException as e:  # noqa: BLE001 - a test failure of any kind
                if isinstance(e, KeyboardInterrupt):
                    raise
                failed += 1
                msg = str(e).splitlines()[0] if str(e) else type(e).__name__
                print("FAIL %s::%s: %s (%.2fs)" % (name, n, msg[:300], time.monotonic() - t0))
                traceback.print_exc(file=sys.stdout)
            else:
                passed += 1
                print("ok   %s::%s (%.2fs)" % (name, n, time.monotonic() - t0))
            sys.stdout.flush()
    print("RESULT %d %d" % (passed, failed))
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
