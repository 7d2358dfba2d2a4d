"""doc/openapi.json held to the code and to the running service: the document
is well-formed OpenAPI 3.1 (every $ref resolves, every operation answers
something, every schema keyword is one the checker below understands); its
routes are exactly the route table of lib/api/routes.c, both ways; a
documented path answers an undocumented method with 405 and an Allow header
that lists exactly the documented methods; and every status the service
answers while driven through success, 401, 403, 404, 400, 413, 415, 409 and
422 is documented for that operation, with its required headers, its media
type and a body that matches the documented schema.

The checker understands the subset of JSON Schema the document uses ($ref,
type with null, enum, required, properties, additionalProperties,
propertyNames, items, bounds, pattern, allOf/anyOf/oneOf) and treats the
rest as annotations. Operations are driven only where routes.c and the
document agree, so a route that exists on one side only fails the route
check alone. Delivery statuses need the relay's short retry schedule that
./dev check sets (APPOINTD_RELAY_RETRY=1,1,2)."""

import collections
import datetime as dt
import json
import os
import re
import urllib.parse

import lib
from receiver import Receiver

DOC_FILE = os.path.join(lib.ROOT, "doc", "openapi.json")
ROUTES_C = os.path.join(lib.ROOT, "lib", "api", "routes.c")
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# Methods sent to check 405 (HEAD is left out: no body to read the error from).
PROBE_METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS")

# What the checker below validates, and what it may ignore.
ASSERTIONS = {"$ref", "type", "enum", "required", "properties", "additionalProperties",
              "propertyNames", "items", "minItems", "maxItems", "uniqueItems", "minProperties",
              "maxProperties", "minimum", "maximum", "minLength", "maxLength", "pattern", "allOf",
              "anyOf", "oneOf"}
ANNOTATIONS = {"description", "format", "default", "examples", "title", "discriminator",
               "deprecated", "readOnly", "writeOnly", "summary"}

_doc = None


def doc():
    global _doc
    if _doc is None:
        with open(DOC_FILE, encoding="utf-8") as f:
            _doc = json.load(f)
    return _doc


# ------------------------------------------------------------------ the document
def resolve(ref):
    """The node a local "#/a/b" reference names (JSON Pointer escapes honoured)."""
    assert ref.startswith("#/"), "only local references are used: %r" % ref
    node = doc()
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict) and part in node, "$ref %s does not resolve" % ref
        node = node[part]
    return node


def deref(node):
    while isinstance(node, dict) and "$ref" in node and len(node) == 1:
        node = resolve(node["$ref"])
    return node


def walk(node, path="#"):
    """Every (json-pointer, dict) in the document."""
    if isinstance(node, dict):
        yield path, node
        for k, v in node.items():
            yield from walk(v, path + "/" + k.replace("~", "~0").replace("/", "~1"))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from walk(v, "%s/%d" % (path, i))


def operations(where="paths"):
    """{(METHOD, path template): operation} of the document's paths (or webhooks)."""
    out = {}
    for p, item in doc().get(where, {}).items():
        for m, o in item.items():
            if m in HTTP_METHODS:
                out[(m.upper(), p)] = o
    return out


def pattern_of(template):
    """"/api/appointments/{appointmentId}" -> "/api/appointments/*" (routes.c's spelling)."""
    return re.sub(r"\{[^/{}]+\}", "*", template)


def route_rows():
    """Every ROUTE(...) row of api_routes[] in lib/api/routes.c as a dict:
    method, pattern, fn, takes_json, scope (OPEN, READ, BOOKING, ADMIN),
    idempotent, query_token, flags (the set of its flag names)."""
    with open(ROUTES_C, encoding="utf-8") as f:
        src = f.read()
    m = re.search(r"\bapi_routes\[\]\s*=\s*\{(.*?)\n\};", src, re.S)
    assert m, "no api_routes[] table in %s" % ROUTES_C
    # Comments out, strings kept ("/api/providers/*/schedule" holds a "/*").
    body = re.sub(r'("(?:\\.|[^"\\])*")|/\*.*?\*/', lambda c: c.group(1) or "", m.group(1), flags=re.S)
    rows = re.findall(r'\bROUTE\(\s*"([A-Z]+)"\s*,\s*"([^"]+)"\s*,\s*(\w+)\s*,\s*(\d+)\s*,\s*(\w+)\s*,'
                      r'\s*([\w| ]+?)\s*\)', body)
    assert len(rows) == body.count("ROUTE("), "an api_routes[] row the parser could not read:\n" + body
    flags = lambda f: {x.strip() for x in f.split("|")} - {"0"}
    # takes_json 2: an optional body (documented as a requestBody with required false)
    return [{"method": m, "pattern": p, "fn": fn, "takes_json": j != "0", "body_required": j == "1", "scope": sc,
             "idempotent": "IDEMPOTENT" in flags(f),
             "query_token": "QUERY_TOKEN" in flags(f), "flags": flags(f)} for m, p, fn, j, sc, f in rows]


def route_table():
    """(METHOD, pattern) of every row of routes[] in lib/api/routes.c."""
    return [(r["method"], r["pattern"]) for r in route_rows()]


def schema_nodes(node, where):
    """Every schema reachable inside `node` (a schema), with where it is."""
    if isinstance(node, bool):
        return
    assert isinstance(node, dict), "%s: a schema must be an object: %r" % (where, node)
    yield where, node
    for k in ("items", "propertyNames"):
        if k in node:
            yield from schema_nodes(node[k], where + "/" + k)
    if isinstance(node.get("additionalProperties"), dict):
        yield from schema_nodes(node["additionalProperties"], where + "/additionalProperties")
    for name, sub in node.get("properties", {}).items():
        yield from schema_nodes(sub, where + "/properties/" + name)
    for k in ("allOf", "anyOf", "oneOf"):
        for i, sub in enumerate(node.get(k, [])):
            yield from schema_nodes(sub, "%s/%s/%d" % (where, k, i))


def all_schemas():
    d = doc()
    for name, s in d.get("components", {}).get("schemas", {}).items():
        yield from schema_nodes(s, "#/components/schemas/" + name)
    for where, node in walk({"paths": d.get("paths", {}), "webhooks": d.get("webhooks", {}),
                             "components": {k: v for k, v in d.get("components", {}).items()
                                            if k != "schemas"}}):
        if isinstance(node.get("schema"), dict):
            yield from schema_nodes(node["schema"], where + "/schema")


# ------------------------------------------------------------------ a small JSON Schema checker
def json_type(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "integer" if v.is_integer() else "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    if isinstance(v, dict):
        return "object"
    return type(v).__name__


def errors(schema, v, at="$"):
    """What is wrong with value v under schema (an empty list if nothing)."""
    if schema is True:
        return []
    if schema is False:
        return ["%s: no value is allowed here" % at]
    out = []
    if "$ref" in schema:
        out += errors(resolve(schema["$ref"]), v, at)
    if "type" in schema:
        want = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        got = json_type(v)
        if got not in want and not (got == "integer" and "number" in want):
            return out + ["%s: %s is not of type %s" % (at, json.dumps(v)[:80], "/".join(want))]
    if "enum" in schema and v not in schema["enum"]:
        out.append("%s: %r is not one of %r" % (at, v, schema["enum"]))
    if isinstance(v, str):
        if "minLength" in schema and len(v) < schema["minLength"]:
            out.append("%s: shorter than %d" % (at, schema["minLength"]))
        if "maxLength" in schema and len(v) > schema["maxLength"]:
            out.append("%s: longer than %d" % (at, schema["maxLength"]))
        if "pattern" in schema and not re.search(schema["pattern"], v):
            out.append("%s: %r does not match %s" % (at, v, schema["pattern"]))
    if json_type(v) in ("integer", "number"):
        if "minimum" in schema and v < schema["minimum"]:
            out.append("%s: %r is below %r" % (at, v, schema["minimum"]))
        if "maximum" in schema and v > schema["maximum"]:
            out.append("%s: %r is above %r" % (at, v, schema["maximum"]))
    if isinstance(v, dict):
        for k in schema.get("required", []):
            if k not in v:
                out.append("%s: required property %r missing" % (at, k))
        if "minProperties" in schema and len(v) < schema["minProperties"]:
            out.append("%s: fewer than %d properties" % (at, schema["minProperties"]))
        if "maxProperties" in schema and len(v) > schema["maxProperties"]:
            out.append("%s: more than %d properties" % (at, schema["maxProperties"]))
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties", True)
        for k, x in v.items():
            if "propertyNames" in schema:
                out += errors(schema["propertyNames"], k, "%s{%s}" % (at, k))
            if k in props:
                out += errors(props[k], x, "%s.%s" % (at, k))
            else:
                out += errors(extra, x, "%s.%s" % (at, k))
    if isinstance(v, list):
        if "minItems" in schema and len(v) < schema["minItems"]:
            out.append("%s: fewer than %d items" % (at, schema["minItems"]))
        if "maxItems" in schema and len(v) > schema["maxItems"]:
            out.append("%s: more than %d items" % (at, schema["maxItems"]))
        if schema.get("uniqueItems") and len({json.dumps(x, sort_keys=True) for x in v}) != len(v):
            out.append("%s: items repeat" % at)
        if "items" in schema:
            for i, x in enumerate(v):
                out += errors(schema["items"], x, "%s[%d]" % (at, i))
    for sub in schema.get("allOf", []):
        out += errors(sub, v, at)
    if "anyOf" in schema and all(errors(sub, v, at) for sub in schema["anyOf"]):
        out.append("%s: matches none of anyOf: %s" % (at, [errors(s, v, at)[:2] for s in schema["anyOf"]]))
    if "oneOf" in schema:
        fits = [i for i, sub in enumerate(schema["oneOf"]) if not errors(sub, v, at)]
        if len(fits) != 1:
            out.append("%s: matches %d of oneOf (%s), not exactly one" % (at, len(fits), fits))
    return out


def test_checker_catches_what_it_should():
    """The checker itself must be able to fail, or the checks below prove nothing."""
    appt = {"$ref": "#/components/schemas/Appointment"}
    good = {"appointmentId": "0e7b7c2e-8f0a-4a59-9d1e-0c5c1f1f0a11", "status": "CONFIRMED",
            "patientId": "p-1", "providerId": "7a2c5a36-3ad4-4f37-9a61-1ad7e0e2f4c9",
            "startTime": "2027-03-15T08:00:00.000Z", "endTime": "2027-03-15T08:30:00.000Z",
            "cancellationReason": None, "version": 1, "serviceId": "default",
            "attendance": None, "declineReason": None}
    assert errors(appt, good) == [], errors(appt, good)
    for broken in (dict(good, status="MAYBE"), dict(good, version="1"), dict(good, version=True),
                   dict(good, cancellationReason=7), dict(good, startTime="2027-03-15T08:00:00Z"),
                   dict(good, serviceId="Not A Service"),
                   dict(good, attendance="LATE"), dict(good, declineReason=5),
                   {k: v for k, v in good.items() if k != "endTime"}, [good]):
        assert errors(appt, broken), "the checker accepted %r" % (broken,)
    err = {"$ref": "#/components/schemas/Error"}
    assert not errors(err, {"error": {"message": "m", "code": "NOT_FOUND"}})
    assert errors(err, {"error": {"message": "m", "code": "NOPE"}})
    assert errors(err, {"error": {"message": "m", "code": "VALIDATION_ERROR", "details": {"a": "x"}}})
    avail = {"oneOf": [{"$ref": "#/components/schemas/AvailabilityDay"},
                       {"$ref": "#/components/schemas/AvailabilityRange"}]}
    assert not errors(avail, {"2027-01-04": ["09:00"]}) and not errors(avail, {})
    assert errors(avail, {"2027-01-04": "09:00"}) and errors(avail, {"providerId": "x"})


# ------------------------------------------------------------------ the document's shape
def test_document_is_openapi_3_1():
    d = doc()
    assert d.get("openapi") == "3.1.0", d.get("openapi")
    info = d.get("info")
    assert isinstance(info, dict) and isinstance(info.get("title"), str) and info["title"] \
        and isinstance(info.get("version"), str) and info["version"], info
    assert isinstance(d.get("paths"), dict) and d["paths"], "no paths"
    # Every $ref resolves.
    for where, node in walk(d):
        if "$ref" in node:
            assert isinstance(node["$ref"], str), where
            resolve(node["$ref"])
    schemes = d.get("components", {}).get("securitySchemes", {})
    op_ids = collections.Counter()
    for where, ops in (("paths", operations("paths")), ("webhooks", operations("webhooks"))):
        status_key = r"[1-5][0-9][0-9]" if where == "paths" else r"[1-5]([0-9][0-9]|XX)|default"
        for (m, p), o in ops.items():
            name = "%s %s" % (m, p)
            assert isinstance(o.get("summary"), str) and o["summary"], name + ": no summary"
            op_ids[o.get("operationId")] += 1
            rs = o.get("responses")
            assert isinstance(rs, dict) and rs, name + ": no responses"
            for status, r in rs.items():
                assert isinstance(status, str) and re.fullmatch(status_key, status), \
                    "%s: response key %r" % (name, status)
                r = deref(r)
                assert isinstance(r.get("description"), str), "%s %s: no description" % (name, status)
            if where != "paths":
                continue
            assert "405" not in rs, name + ": 405 is shared by every path, not per operation"
            assert any(s.startswith("2") for s in rs), name + ": no success status"
            # Path parameters: declared exactly once each, required, and all used.
            params = [deref(x) for x in doc()["paths"][p].get("parameters", []) + o.get("parameters", [])]
            in_path = sorted(x["name"] for x in params if x.get("in") == "path")
            assert in_path == sorted(re.findall(r"\{([^/{}]+)\}", p)), "%s: path parameters %r" % (name, in_path)
            assert all(x.get("required") is True for x in params if x.get("in") == "path"), name
            for x in params:
                assert isinstance(x.get("schema"), dict), "%s: parameter %s has no schema" % (name, x.get("name"))
            # Security: every scheme named exists; a keyed route documents 401.
            sec = o.get("security")
            assert isinstance(sec, list), name + ": say security explicitly ([] for none)"
            for req in sec:
                for s in req:
                    assert s in schemes, "%s: unknown security scheme %s" % (name, s)
            if sec:
                assert "401" in rs and "x-scope" in o, name + ": keyed, but no 401 or x-scope"
            if "requestBody" in o:
                assert {"400", "413", "415"} <= set(rs), name + ": a body route without 400/413/415"
            if p.startswith("/api/"):
                assert "429" in rs, name + ": nginx rate-limits /api/ (429)"
    assert all(n == 1 and i for i, n in op_ids.items()), "operationIds must be unique: %r" % op_ids
    # Every schema keyword is one the checker validates or may ignore.
    for where, s in all_schemas():
        unknown = set(s) - ASSERTIONS - ANNOTATIONS
        assert not unknown, "%s: keywords the checker does not understand: %s" % (where, sorted(unknown))


def test_routes_equal_routes_c():
    code = {(m, p) for m, p in route_table()}
    assert len(code) >= 18, "routes.c parse found only %r" % sorted(code)
    documented = {(m, pattern_of(p)) for m, p in operations()}
    missing = sorted(code - documented)
    extra = sorted(documented - code)
    assert not missing and not extra, \
        "routes in routes.c but not in doc/openapi.json: %s; documented but not in routes.c: %s" % (
            missing, extra)


def test_scopes_bodies_and_idempotency_match_routes_c():
    """What routes[] says of each route (key scope, JSON body, Idempotency-Key)
    is what the document says."""
    ops = {(m, pattern_of(p)): o for (m, p), o in operations().items()}
    checked = 0
    for row in route_rows():
        o = ops.get((row["method"], row["pattern"]))
        if o is None:
            continue                    # test_routes_equal_routes_c reports it
        name = "%s %s" % (row["method"], row["pattern"])
        roles = sorted({r for req in o.get("security", []) for roles in req.values() for r in roles})
        if row["scope"] == "OPEN":
            assert o.get("security") == [] and "x-scope" not in o, name + ": needs no key"
        else:
            want = row["scope"].lower()
            assert o.get("x-scope") == want and roles == [want], \
                "%s: routes.c needs scope %s, the document says %r / %r" % (name, want, o.get("x-scope"), roles)
        assert ("requestBody" in o) == row["takes_json"], name + ": request body documented wrongly"
        if "requestBody" in o:
            assert o["requestBody"].get("required", False) == row["body_required"], \
                name + ": requestBody.required documented wrongly"
        params = [deref(x) for x in o.get("parameters", [])]
        idem = any(x.get("in") == "header" and x.get("name") == "Idempotency-Key" for x in params)
        assert idem == row["idempotent"], name + ": Idempotency-Key documented wrongly"
        checked += 1
    assert checked >= 18, checked


def routed_operations():
    """The documented operations routes.c has too (the only ones worth driving)."""
    code = set(route_table())
    return {k: o for k, o in operations().items() if (k[0], pattern_of(k[1])) in code}


def fill(template, **ids):
    """A concrete path for a template; path parameters not given get fresh UUIDs."""
    return re.sub(r"\{([^/{}]+)\}", lambda m: ids.get(m.group(1)) or lib.uuid4(), template)


def test_undocumented_methods_are_405_with_allow():
    routed_paths = {p for _, p in route_table()}
    by_path = collections.defaultdict(set)
    for m, p in operations():
        if pattern_of(p) in routed_paths:
            by_path[p].add(m)
    assert by_path
    for p, methods in sorted(by_path.items()):
        for m in PROBE_METHODS:
            if m in methods:
                continue
            r = lib.request(m, fill(p), body={} if m in ("POST", "PUT") else None)
            lib.check_error(r, 405, "METHOD_NOT_ALLOWED")
            allow = {a.strip() for a in r.headers.get("allow", "").split(",") if a.strip()}
            assert allow == methods, "%s %s: Allow %r, documented %r" % (m, p, allow, sorted(methods))
            assert r.headers.get("x-request-id"), r


# ------------------------------------------------------------------ driving the service
class Driver:
    """Sends requests as one operation and checks each answer against the
    document; remembers the statuses seen per operation."""

    def __init__(self, read_key):
        self.ops = routed_operations()
        self.read_key = read_key
        self.seen = collections.defaultdict(set)

    def __call__(self, method, template, expect, ids=None, query=None, body=None, raw=None,
                 ctype=None, key="admin", headers=None):
        """key: "admin" (the suite's key), "read", None (no Authorization) or a string."""
        if (method, template) not in self.ops:
            return None
        path = fill(template, **(ids or {}))
        if query:
            path += "?" + (query if isinstance(query, str) else urllib.parse.urlencode(query))
        hdrs = dict(headers or {})
        if ctype:
            hdrs["Content-Type"] = ctype
        if key == "read":
            key = self.read_key
        if key is None:
            r = lib.request(method, path, body=body, raw=raw, headers=hdrs, auth=False)
        elif key == "admin":
            r = lib.request(method, path, body=body, raw=raw, headers=hdrs)
        else:
            hdrs["Authorization"] = "Bearer " + key
            r = lib.request(method, path, body=body, raw=raw, headers=hdrs, auth=False)
        self.check(method, template, r)
        assert r.status == expect, "%s %s: expected %s, got %r" % (method, template, expect, r)
        return r

    def check(self, method, template, r):
        op = self.ops[(method, template)]
        name = "%s %s" % (method, template)
        status = str(r.status)
        assert status in op["responses"], "%s answered %s, which is not documented: %r" % (name, status, r)
        self.seen[(method, template)].add(status)
        doc_r = deref(op["responses"][status])
        for h, spec in doc_r.get("headers", {}).items():
            spec = deref(spec)
            v = r.headers.get(h.lower())
            if v is None:
                assert not spec.get("required"), "%s %s: header %s missing: %r" % (name, status, h, r.headers)
                continue
            sch = spec.get("schema", {})
            value = int(v) if deref(sch).get("type") == "integer" and v.isdigit() else v
            bad = errors(sch, value, h)
            assert not bad, "%s %s: %s" % (name, status, bad)
        content = doc_r.get("content")
        if not content:
            assert r.body == b"", "%s %s: documented without a body, got %r" % (name, status, r)
            return
        ctype = r.headers.get("content-type", "").split(";")[0].strip().lower()
        media = {k.split(";")[0].strip().lower(): v for k, v in content.items()}
        assert ctype in media, "%s %s: content-type %r, documented %r" % (name, status, ctype, sorted(media))
        if ctype == "application/json":
            assert r.json is not None or r.body == b"null", "%s %s: not JSON: %r" % (name, status, r)
            bad = errors(media[ctype].get("schema", True), r.json)
            assert not bad, "%s %s: the body does not match the document:\n  %s\n%r" % (
                name, status, "\n  ".join(bad[:12]), r)
        elif "schema" in media[ctype]:
            assert not errors(media[ctype]["schema"], r.text), name

    def assert_coverage(self):
        """Each operation was driven to the statuses every operation of its kind can answer."""
        missing = []
        for (m, p), o in sorted(self.ops.items()):
            want = {"2xx", "422"}
            if o.get("security"):
                want.add("401")
            if o.get("x-scope") in ("booking", "admin"):
                want.add("403")
            if "{" in p:
                want.add("404")
            if "requestBody" in o:
                want |= {"400", "413", "415"}
            seen = set(self.seen.get((m, p), ()))
            if any(s.startswith("2") for s in seen):
                seen.add("2xx")
            if want - seen:
                missing.append("%s %s: %s" % (m, p, sorted(want - seen)))
        assert not missing, "operations not driven to: " + "; ".join(missing)


def create_key(scope):
    out = lib.dev("ctl", "key", "create", "--scope", scope, "--name", "openapi " + scope).splitlines()
    kid = [l.split(": ", 1)[1] for l in out if l.startswith("id: ")][0]
    return kid, out[-1]


DUP = "x=1&x=2"             # a parameter given twice: 422 on every route
BIG = '{"pad": "%s"}' % ("x" * (66 * 1024))


def body_cases(drive, method, template, ids, good):
    """The shared checks of a JSON-body route."""
    drive(method, template, 400, ids, raw="{", ctype="application/json")
    drive(method, template, 415, ids, raw=json.dumps(good), ctype="text/plain")
    drive(method, template, 413, ids, raw=BIG, ctype="application/json")


def keyed_cases(drive, method, template, ids=None, body=None, scope="read"):
    drive(method, template, 401, ids, body=body, key=None)
    drive(method, template, 401, ids, body=body, key="apd_" + "A" * 43)
    if scope != "read":
        drive(method, template, 403, ids, body=body, key="read")


def drive_operations(drive):
    tz = "Europe/Berlin"
    d = lib.future_date(weekday=0)
    at = lambda hm: lib.iso_z(lib.local_dt(tz, d, hm))

    for route in ("/health", "/status", "/metrics"):
        drive("GET", route, 200, key=None)
        drive("GET", route, 422, query=DUP, key=None)

    # Providers
    sched = "/api/providers/{providerId}/schedule"
    pid = lib.uuid4()
    good = lib.schedule_body(tz, bookingHorizonDays=800, dateOverrides={str(d + dt.timedelta(days=1)): []})
    drive("POST", sched, 200, {"providerId": pid}, body=good)
    drive("POST", sched, 200, {"providerId": pid}, body=good)          # unchanged
    drive("POST", sched, 404, {"providerId": "nope"}, body=good)
    drive("POST", sched, 422, {"providerId": pid}, body={"timezone": "EST", "weeklySchedule": {}})
    drive("POST", sched, 422, {"providerId": pid}, body=[1])
    drive("POST", sched, 422, {"providerId": pid}, body=good, query=DUP)
    body_cases(drive, "POST", sched, {"providerId": pid}, good)
    keyed_cases(drive, "POST", sched, {"providerId": pid}, good, "admin")

    prov = "/api/providers/{providerId}"
    drive("GET", prov, 200, {"providerId": pid})
    drive("GET", prov, 404)
    drive("GET", prov, 404, {"providerId": "nope"})
    drive("GET", prov, 422, {"providerId": pid}, query=DUP)
    drive("GET", prov, 200, {"providerId": pid}, key="read")
    keyed_cases(drive, "GET", prov, {"providerId": pid})

    avail = "/api/providers/{providerId}/availability"
    r = drive("GET", avail, 200, {"providerId": pid}, query={"date": str(d)})
    assert r is None or r.json["slots"], r
    drive("GET", avail, 200, {"providerId": pid}, query={"startDate": str(d), "endDate": str(d + dt.timedelta(days=6))})
    drive("GET", avail, 404, query={"date": str(d)})
    for bad in ({}, {"date": "2028-02-30"}, {"startDate": str(d)}, {"date": str(d), "startDate": str(d)},
                {"startDate": "2027-01-01", "endDate": "2027-03-15"}):
        drive("GET", avail, 422, {"providerId": pid}, query=bad)
    keyed_cases(drive, "GET", avail, {"providerId": pid})

    team = "/api/availability"
    r = drive("GET", team, 200, query={"providerIds": pid, "date": str(d)})
    assert r is None or r.json["dates"], r
    drive("GET", team, 200, query={"providerIds": pid, "startDate": str(d), "endDate": str(d + dt.timedelta(days=6))},
          key="read")
    drive("GET", team, 404, query={"providerIds": "%s,%s" % (pid, lib.uuid4()), "date": str(d)})
    drive("GET", team, 404, query={"providerIds": pid, "date": str(d), "service": "nope"})
    for bad in ({"date": str(d)}, {"providerIds": "", "date": str(d)}, {"providerIds": "%s,%s" % (pid, pid), "date": str(d)},
                {"providerIds": "nope", "date": str(d)}, {"providerIds": pid},
                {"providerIds": pid, "startDate": str(d), "endDate": str(d + dt.timedelta(days=31))}):
        drive("GET", team, 422, query=bad)
    drive("GET", team, 422, query=DUP)
    keyed_cases(drive, "GET", team)

    # Appointments
    appts = "/api/appointments"
    booking = {"patientId": lib.patient(), "providerId": pid, "startTime": at("10:00")}
    idem = {"Idempotency-Key": "openapi-" + lib.uuid4()}
    r = drive("POST", appts, 201, body=booking, headers=idem)
    aid = r.json["appointmentId"] if r else None
    r = drive("POST", appts, 201, body=booking, headers=idem)       # replay
    assert r is None or r.headers.get("idempotent-replayed") == "true", r
    drive("POST", appts, 422, body=dict(booking, patientId="other"), headers=idem)
    drive("POST", appts, 422, body=booking, headers={"Idempotency-Key": "k" * 256})
    drive("POST", appts, 409, body=booking)
    drive("POST", appts, 409, body=dict(booking, startTime=at("10:05")))
    drive("POST", appts, 404, body=dict(booking, providerId=lib.uuid4()))
    drive("POST", appts, 422, body={"patientId": "", "startTime": "2027-03-15T10:00:00"})
    drive("POST", appts, 422, body=booking, query=DUP)
    body_cases(drive, "POST", appts, None, booking)
    keyed_cases(drive, "POST", appts, None, booking, "booking")
    # A second booking, so the list has two pages of one.
    drive("POST", appts, 201, body=dict(booking, startTime=at("12:00")))

    r = drive("GET", appts, 200, query={"providerId": pid, "limit": 1})
    if r:
        assert r.json["nextCursor"], r
        r = drive("GET", appts, 200, query={"providerId": pid, "limit": 1, "cursor": r.json["nextCursor"]})
        assert r.json["appointments"] and r.json["nextCursor"] is None, r
    drive("GET", appts, 200, query={"providerId": pid, "status": "CONFIRMED", "from": at("00:00"),
                                    "to": at("23:00")}, key="read")
    for bad in ({"limit": 0}, {"status": "DONE"}, {"from": "2027-03-15T10:00"}, {"cursor": "nope"},
                {"providerId": "nope"}):
        drive("GET", appts, 422, query=bad)
    drive("GET", appts, 422, query=DUP)
    keyed_cases(drive, "GET", appts)

    one = "/api/appointments/{appointmentId}"
    ids = {"appointmentId": aid}
    drive("GET", one, 200, ids)
    drive("GET", one, 200, ids, key="read")
    drive("GET", one, 404)
    drive("GET", one, 404, {"appointmentId": "nope"})
    drive("GET", one, 422, ids, query=DUP)
    keyed_cases(drive, "GET", one, ids)

    move = {"startTime": at("11:00")}
    drive("PUT", one, 200, ids, body=move, headers={"Idempotency-Key": "openapi-" + lib.uuid4()})
    drive("PUT", one, 200, ids, body=move)                             # same time: unchanged
    drive("PUT", one, 409, ids, body={"startTime": at("12:00")})       # taken by the second booking
    drive("PUT", one, 409, ids, body={"startTime": at("11:07")})
    drive("PUT", one, 422, ids, body={"startTime": "tomorrow"})
    drive("PUT", one, 422, ids, body=move, query=DUP)
    drive("PUT", one, 404, body=move)
    drive("PUT", one, 404, {"appointmentId": "nope"}, body=move)
    body_cases(drive, "PUT", one, ids, move)
    keyed_cases(drive, "PUT", one, ids, move, "booking")

    drive("DELETE", one, 422, ids, query={"reason": "r" * 501})
    drive("DELETE", one, 422, ids, query=DUP)
    drive("DELETE", one, 422, ids, headers={"Idempotency-Key": "k" * 256})
    keyed_cases(drive, "DELETE", one, ids, scope="booking")
    drive("DELETE", one, 200, ids, query={"reason": "openapi"})
    drive("DELETE", one, 200, ids)                                     # already cancelled
    drive("DELETE", one, 404)
    drive("DELETE", one, 404, {"appointmentId": "nope"})
    drive("PUT", one, 400, ids, body={"startTime": at("13:00")})      # cancelled
    r = drive("GET", one, 200, ids)
    assert r is None or (r.json["status"] == "CANCELLED" and r.json["cancellationReason"] == "openapi"), r

    # Holds
    holds = "/api/holds"
    hbody = {"providerId": pid, "startTime": at("14:00"), "patientId": lib.patient(), "ttlSeconds": 60}
    hidem = {"Idempotency-Key": "openapi-" + lib.uuid4()}
    r = drive("POST", holds, 201, body=hbody, headers=hidem)
    hid = r.json["holdId"] if r else None
    r = drive("POST", holds, 201, body=hbody, headers=hidem)          # replay
    assert r is None or r.headers.get("idempotent-replayed") == "true", r
    drive("POST", holds, 422, body=dict(hbody, startTime=at("15:00")), headers=hidem)
    drive("POST", holds, 201, body={"providerId": pid, "startTime": at("15:00")})  # no patient
    drive("POST", holds, 409, body=hbody)                              # held
    drive("POST", holds, 404, body=dict(hbody, providerId=lib.uuid4()))
    drive("POST", holds, 404, body=dict(hbody, serviceId="nosuch"))
    drive("POST", holds, 422, body={"providerId": "x", "ttlSeconds": 5})
    drive("POST", holds, 422, body=hbody, query=DUP)
    body_cases(drive, "POST", holds, None, hbody)
    keyed_cases(drive, "POST", holds, None, hbody, "booking")

    hold1 = "/api/holds/{holdId}"
    hids = {"holdId": hid}
    drive("GET", hold1, 200, hids)
    drive("GET", hold1, 200, hids, key="read")
    drive("GET", hold1, 404)
    drive("GET", hold1, 404, {"holdId": "nope"})
    drive("GET", hold1, 422, hids, query=DUP)
    keyed_cases(drive, "GET", hold1, hids)
    # converted by a booking that names it
    drive("POST", appts, 422, body=dict(booking, startTime=at("14:00"), holdId="nope"))
    drive("POST", appts, 422, body=dict(booking, startTime=at("14:30"), holdId=hid))
    drive("POST", appts, 201, body=dict(booking, patientId=hbody["patientId"], startTime=at("14:00"),
                                        holdId=hid))
    drive("GET", hold1, 404, hids)                                     # converted
    drive("DELETE", hold1, 422, hids, query=DUP)
    drive("DELETE", hold1, 422, hids, headers={"Idempotency-Key": "k" * 256})
    keyed_cases(drive, "DELETE", hold1, hids, scope="booking")
    drive("DELETE", hold1, 200, hids, headers={"Idempotency-Key": "openapi-" + lib.uuid4()})
    drive("DELETE", hold1, 404)
    drive("DELETE", hold1, 404, {"holdId": "nope"})

    drive_confirmation(drive, tz, d)

    # calendar.ics (driven once routes.c has it)
    cal = "/api/providers/{providerId}/calendar.ics"
    drive("GET", cal, 200, {"providerId": pid})
    drive("GET", cal, 200, {"providerId": pid}, query={"from": at("00:00"), "to": at("23:00")})
    drive("GET", cal, 200, {"providerId": pid}, query={"token": drive.read_key}, key=None)
    drive("GET", cal, 401, {"providerId": pid}, query={"token": "apd_" + "A" * 43}, key=None)
    drive("GET", cal, 404)
    drive("GET", cal, 404, {"providerId": "nope"})
    drive("GET", cal, 422, {"providerId": pid}, query={"from": "2027-03-15T10:00"})
    drive("GET", cal, 422, {"providerId": pid}, query=DUP)
    keyed_cases(drive, "GET", cal, {"providerId": pid})

    # Services
    svcs = "/api/providers/{providerId}/services"
    svc = "/api/providers/{providerId}/services/{serviceId}"
    sids = {"providerId": pid, "serviceId": "openapi-yoga"}
    sbody = {"name": "Yoga", "duration": 60, "capacity": 8, "limits": {"perDay": 2}, "bufferAfter": None}
    drive("PUT", svc, 201, sids, body=sbody)
    drive("PUT", svc, 200, sids, body=sbody)                           # unchanged
    drive("PUT", svc, 200, sids, body=dict(sbody, bufferAfter=15))
    drive("PUT", svc, 404, {"serviceId": "yoga"}, body=sbody)         # unknown provider
    drive("PUT", svc, 404, {"providerId": "nope", "serviceId": "yoga"}, body=sbody)
    drive("PUT", svc, 404, {"providerId": pid, "serviceId": "Yoga"}, body=sbody)
    drive("PUT", svc, 422, {"providerId": pid, "serviceId": "default"}, body=sbody)
    drive("PUT", svc, 422, sids, body={"name": "", "duration": 4, "limits": {"perWeek": 0}})
    drive("PUT", svc, 422, sids, body=[1])
    drive("PUT", svc, 422, sids, body=sbody, query=DUP)
    body_cases(drive, "PUT", svc, sids, sbody)
    keyed_cases(drive, "PUT", svc, sids, sbody, "admin")

    drive("GET", svc, 200, sids)
    drive("GET", svc, 200, {"providerId": pid, "serviceId": "default"}, key="read")
    drive("GET", svc, 404, {"providerId": pid, "serviceId": "nope"})
    drive("GET", svc, 404, {"providerId": pid, "serviceId": "-nope"})
    drive("GET", svc, 404, {"serviceId": "default"})
    drive("GET", svc, 404, {"providerId": "nope", "serviceId": "default"})
    drive("GET", svc, 422, sids, query=DUP)
    keyed_cases(drive, "GET", svc, sids)

    drive("DELETE", svc, 422, {"providerId": pid, "serviceId": "default"})
    drive("DELETE", svc, 422, sids, query=DUP)
    keyed_cases(drive, "DELETE", svc, sids, scope="admin")
    drive("DELETE", svc, 200, sids)
    drive("DELETE", svc, 200, sids)                                    # already retired
    drive("DELETE", svc, 404, {"providerId": pid, "serviceId": "nope"})
    drive("DELETE", svc, 404, {"providerId": pid, "serviceId": "a" * 64})
    drive("DELETE", svc, 404, {"serviceId": "yoga"})
    r = drive("GET", svc, 200, sids)
    assert r is None or r.json["active"] is False, r

    r = drive("GET", svcs, 200, {"providerId": pid})
    assert r is None or [s["serviceId"] for s in r.json["services"]] == ["default", "openapi-yoga"], r
    drive("GET", svcs, 200, {"providerId": pid}, key="read")
    drive("GET", svcs, 404)
    drive("GET", svcs, 404, {"providerId": "nope"})
    drive("GET", svcs, 422, {"providerId": pid}, query=DUP)
    keyed_cases(drive, "GET", svcs, {"providerId": pid})

    # Events
    ev = "/api/events"
    r = drive("GET", ev, 200, query={"after": 0, "limit": 20})
    assert r is None or r.json["events"], r
    drive("GET", ev, 200, query={"after": 10 ** 15})
    for bad in ({"limit": 0}, {"limit": 1001}, {"after": -1}, {"after": "x"}):
        drive("GET", ev, 422, query=bad)
    drive("GET", ev, 422, query=DUP)
    keyed_cases(drive, "GET", ev, scope="admin")


def drive_confirmation(drive, tz, d):
    """POST .../confirm, .../decline and .../attendance, on a provider of their own."""
    at = lambda hm: lib.iso_z(lib.local_dt(tz, d, hm))
    pid = lib.make_provider(tz)
    lib.expect(lib.put("/api/providers/%s/services/openapi-req" % pid,
                       {"name": "Request", "duration": 30, "requiresConfirmation": True}), 201)

    def booked(hm, sid="openapi-req"):
        return lib.expect(lib.post("/api/appointments", {"patientId": lib.patient(), "providerId": pid,
                                                         "startTime": at(hm), "serviceId": sid}), 201)

    p1, p2, p3 = booked("08:00"), booked("09:00"), booked("10:00")
    done = booked("11:00")
    lib.expect(lib.cancel(done["appointmentId"]), 200)
    started = booked("12:00", "default")
    lib.sql("UPDATE appointments SET start_at = now() - interval '2 hours', end_at = now() - interval "
            "'90 minutes' WHERE id = %s" % lib.q(started["appointmentId"]))
    ids = lambda a: {"appointmentId": a["appointmentId"]}
    idem = {"Idempotency-Key": "openapi-" + lib.uuid4()}

    conf = "/api/appointments/{appointmentId}/confirm"
    drive("POST", conf, 200, ids(p1), headers=idem)
    r = drive("POST", conf, 200, ids(p1), headers=idem)                # replay
    assert r is None or r.headers.get("idempotent-replayed") == "true", r
    drive("POST", conf, 200, ids(p1))                                  # confirmed: unchanged
    drive("POST", conf, 400, ids(done))                                # cancelled
    drive("POST", conf, 404)
    drive("POST", conf, 404, {"appointmentId": "nope"})
    drive("POST", conf, 422, ids(p1), query=DUP)
    drive("POST", conf, 422, ids(p1), headers={"Idempotency-Key": "k" * 256})
    keyed_cases(drive, "POST", conf, ids(p1), scope="booking")

    dec = "/api/appointments/{appointmentId}/decline"
    drive("POST", dec, 422, ids(p2), body={"reason": "r" * 501})
    drive("POST", dec, 422, ids(p2), body=[1])
    drive("POST", dec, 422, ids(p2), body={"reason": "x"}, query=DUP)
    body_cases(drive, "POST", dec, ids(p2), {"reason": "openapi"})
    keyed_cases(drive, "POST", dec, ids(p2), {"reason": "openapi"}, "booking")
    drive("POST", dec, 200, ids(p2), body={"reason": "openapi"})
    drive("POST", dec, 200, ids(p3))                                   # no body
    drive("POST", dec, 200, ids(p2))                                   # declined: unchanged
    drive("POST", dec, 400, ids(p1))                                   # confirmed
    drive("POST", dec, 404, body={"reason": "x"})
    drive("POST", dec, 404, {"appointmentId": "nope"})

    att = "/api/appointments/{appointmentId}/attendance"
    good = {"attendance": "ATTENDED"}
    drive("POST", att, 400, ids(p1), body=good)                        # not started yet
    drive("POST", att, 400, ids(p2), body=good)                        # declined
    drive("POST", att, 422, ids(started), body={"attendance": "MAYBE"})
    drive("POST", att, 422, ids(started), body={})
    drive("POST", att, 422, ids(started), body=good, query=DUP)
    body_cases(drive, "POST", att, ids(started), good)
    keyed_cases(drive, "POST", att, ids(started), good, "booking")
    drive("POST", att, 200, ids(started), body=good, headers={"Idempotency-Key": "openapi-" + lib.uuid4()})
    drive("POST", att, 200, ids(started), body={"attendance": "NO_SHOW"})
    drive("POST", att, 404, body=good)
    drive("POST", att, 404, {"appointmentId": "nope"}, body=good)


def drive_webhooks(drive, recv, made):
    hooks = "/api/webhooks"
    one = "/api/webhooks/{webhookId}"
    dels = "/api/webhooks/{webhookId}/deliveries"
    retry = "/api/webhooks/{webhookId}/deliveries/{deliveryId}/retry"
    types = ["PROVIDER_SCHEDULE_UPDATED"]

    good = {"url": recv.url("/ok"), "eventTypes": types, "description": "openapi ok"}
    r = drive("POST", hooks, 201, body=good)
    if r is None:
        return
    ok_id = r.json["id"]
    made.append(ok_id)
    r = drive("POST", hooks, 201, body={"url": recv.url("/fail"), "eventTypes": types})
    fail_id = r.json["id"]
    made.append(fail_id)
    assert r.headers.get("location") == "/api/webhooks/" + fail_id, r.headers
    for bad in ({"url": "ftp://example.com/"}, {"url": recv.url("/x"), "eventTypes": []},
                {"url": recv.url("/x"), "eventTypes": ["NOPE"]}, {}, [good]):
        drive("POST", hooks, 422, body=bad)
    drive("POST", hooks, 422, body={"url": recv.url("/x"), "eventTypes": types}, query=DUP)
    body_cases(drive, "POST", hooks, None, good)
    keyed_cases(drive, "POST", hooks, None, good, "admin")

    drive("GET", hooks, 200)
    drive("GET", hooks, 422, query=DUP)
    keyed_cases(drive, "GET", hooks, scope="admin")

    drive("GET", one, 200, {"webhookId": ok_id})
    drive("GET", one, 404)
    drive("GET", one, 404, {"webhookId": "nope"})
    drive("GET", one, 422, {"webhookId": ok_id}, query=DUP)
    keyed_cases(drive, "GET", one, {"webhookId": ok_id}, scope="admin")

    # One schedule change: delivered to /ok, failed (after the short retries) to /fail.
    lib.make_provider()

    def delivery(wid, status):
        r = drive("GET", dels, 200, {"webhookId": wid})
        got = [x for x in r.json["deliveries"] if x["status"] == status]
        return got[0] if got else None

    delivered = lib.wait_until(lambda: delivery(ok_id, "delivered"), timeout=20, interval=0.5)
    assert delivered, "no delivered delivery to %s" % recv.url("/ok")
    failed = lib.wait_until(lambda: delivery(fail_id, "failed"), timeout=40, interval=0.5)
    assert failed, ("no failed delivery after 40 s (does the stack run with the short retry "
                    "schedule, APPOINTD_RELAY_RETRY=1,1,2?)")
    drive("GET", dels, 200, {"webhookId": fail_id}, query={"status": "failed", "eventType": types[0],
                                                           "limit": 5, "before": 10 ** 12})
    for bad in ({"status": "gone"}, {"eventType": "NOPE"}, {"limit": 0}, {"before": 0}):
        drive("GET", dels, 422, {"webhookId": fail_id}, query=bad)
    drive("GET", dels, 422, {"webhookId": fail_id}, query=DUP)
    drive("GET", dels, 404)
    drive("GET", dels, 404, {"webhookId": "nope"}, query={"limit": 1})
    keyed_cases(drive, "GET", dels, {"webhookId": fail_id}, scope="admin")

    ids = {"webhookId": fail_id, "deliveryId": failed["id"]}
    drive("POST", retry, 422, ids, query=DUP)
    keyed_cases(drive, "POST", retry, ids, scope="admin")
    drive("POST", retry, 202, ids)
    drive("POST", retry, 409, ids)                                     # pending again
    drive("POST", retry, 409, {"webhookId": ok_id, "deliveryId": delivered["id"]})
    drive("POST", retry, 404, {"webhookId": ok_id, "deliveryId": failed["id"]})
    drive("POST", retry, 404, {"webhookId": fail_id})
    drive("POST", retry, 404, {"deliveryId": failed["id"]})
    drive("POST", retry, 404, {"webhookId": fail_id, "deliveryId": "nope"})

    drive("DELETE", one, 422, {"webhookId": fail_id}, query=DUP)
    keyed_cases(drive, "DELETE", one, {"webhookId": fail_id}, scope="admin")
    for wid in (ok_id, fail_id):
        drive("DELETE", one, 204, {"webhookId": wid})
        made.remove(wid)
        drive("DELETE", one, 404, {"webhookId": wid})
    drive("DELETE", one, 404, {"webhookId": "nope"})


def drive_keys(drive):
    keys = "/api/keys"
    one = "/api/keys/{keyId}"
    good = {"scope": "read", "name": "openapi key", "providerIds": [lib.uuid4()]}
    r = drive("POST", keys, 201, body=good)
    if r is None:
        return
    kid = r.json["id"]
    drive("POST", keys, 201, body={"scope": "booking"})
    for bad in ({}, {"scope": "root"}, {"scope": "read", "name": ""}, {"scope": "read", "providerIds": []},
                {"scope": "read", "providerIds": ["nope"]}, [good]):
        drive("POST", keys, 422, body=bad)
    drive("POST", keys, 422, body=good, query=DUP)
    body_cases(drive, "POST", keys, None, good)
    keyed_cases(drive, "POST", keys, None, good, "admin")

    drive("GET", keys, 200)
    drive("GET", keys, 422, query=DUP)
    keyed_cases(drive, "GET", keys, scope="admin")

    drive("DELETE", one, 422, {"keyId": kid}, query=DUP)
    keyed_cases(drive, "DELETE", one, {"keyId": kid}, scope="admin")
    drive("DELETE", one, 204, {"keyId": kid})
    drive("DELETE", one, 204, {"keyId": kid})                         # already revoked
    drive("DELETE", one, 404)
    drive("DELETE", one, 404, {"keyId": "nope"})
    drive("GET", keys, 200)                                            # with a revokedAt


def test_answers_are_documented():
    kid, read_key = create_key("read")
    drive = Driver(read_key)
    made = []
    recv = Receiver()
    recv.plan(lambda a: 500 if a.path.startswith("/fail") else None)
    try:
        with recv:
            drive_operations(drive)
            drive_keys(drive)
            drive_webhooks(drive, recv, made)
    finally:
        for wid in made:
            lib.delete("/api/webhooks/" + wid)
        lib.dev("ctl", "key", "revoke", kid)
    drive.assert_coverage()
