#!/usr/bin/env python3
"""A simulated Kubernetes API server (JSON over HTTPS) for Wharf's tests and for trying Wharf without a cluster.
What it simulates and what not: docs/KUBE-SIM.md. ops/kube-sim makes the token and certificates and runs this.

usage: kube_sim.py serve --port PORT --dir DIR [--nodes N] [--node-cpu CPU] [--node-memory MEM]
                         [--ready-delay SECONDS] [--pod-cidr 10.N]
       kube_sim.py wait DIR SECONDS          (until /readyz answers, or the server died)
       kube_sim.py fault DIR MODE [ARG]      (down | slow MS | errors | nodes-notready | clear)
       kube_sim.py compact DIR | stats DIR | stats-reset DIR
"""
import argparse
import base64
import calendar
import copy
import functools
import hashlib
import hmac
import http.server
import ipaddress
import json
import math
import os
import random
import re
import select
import socket
import ssl
import string
import sys
import threading
import time
import traceback
import urllib.parse
import urllib.request
import uuid
from fractions import Fraction

HISTORY_LIMIT = 10000
BOOKMARK_SECONDS = 5.0
TICK = 0.1
PVC_BIND_SECONDS = 0.5
MAX_BODY = 3 * 1024 * 1024
VERSION = {"major": "1", "minor": "30", "gitVersion": "v1.30.0-kube-sim", "gitCommit": "0" * 40,
           "gitTreeState": "clean", "buildDate": "2024-04-17T00:00:00Z", "goVersion": "go1.22.2",
           "compiler": "gc", "platform": "linux/amd64"}
MISSING = object()


def dumps(o):
    return json.dumps(o, separators=(",", ":"))


def iso(t=None):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() if t is None else t))


def iso_nano(t):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%09dZ" % int((t % 1) * 1e9)


def parse_iso(s):
    return calendar.timegm(time.strptime(s, "%Y-%m-%dT%H:%M:%SZ"))


def rand5():
    return "".join(random.choice(string.ascii_lowercase + string.digits) for _ in range(5))


# ---------------------------------------------------------------------------------------------------------------
# Resources

class Res:
    def __init__(self, plural, kind, group, namespaced, status=True, readonly=False, name_rule="subdomain",
                 short=()):
        self.plural, self.kind, self.group, self.namespaced = plural, kind, group, namespaced
        self.api_version = f"{group}/v1" if group else "v1"
        self.qualified = f"{plural}.{group}" if group else plural
        self.kind_qualified = f"{kind}.{group}" if group else kind
        self.has_status, self.readonly, self.name_rule, self.short = status, readonly, name_rule, list(short)


RESOURCES = [
    Res("namespaces", "Namespace", "", False, name_rule="label", short=["ns"]),
    Res("nodes", "Node", "", False, readonly=True, short=["no"]),
    Res("configmaps", "ConfigMap", "", True, status=False, short=["cm"]),
    Res("secrets", "Secret", "", True, status=False),
    Res("services", "Service", "", True, name_rule="dns1035", short=["svc"]),
    Res("persistentvolumeclaims", "PersistentVolumeClaim", "", True, short=["pvc"]),
    Res("pods", "Pod", "", True, short=["po"]),
    Res("deployments", "Deployment", "apps", True, short=["deploy"]),
]
BY_PATH = {(r.group, r.plural): r for r in RESOURCES}
R = {r.plural: r for r in RESOURCES}
SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


class ApiError(Exception):
    def __init__(self, code, reason, message, details=None):
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details

    def status(self):
        s = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": self.message,
             "reason": self.reason, "code": self.code}
        if self.details:
            s["details"] = self.details
        return s


def details(res, name, kind=None, **extra):
    d = {"name": name} if name else {}
    if res.group:
        d["group"] = res.group
    d["kind"] = kind or res.plural
    d.update(extra)
    return d


def not_found(res, name):
    return ApiError(404, "NotFound", f'{res.qualified} "{name}" not found', details(res, name))


def already_exists(res, name):
    return ApiError(409, "AlreadyExists", f'{res.qualified} "{name}" already exists', details(res, name))


def rv_conflict(res, name, why="the object has been modified; please apply your changes to the latest version "
                                "and try again"):
    return ApiError(409, "Conflict", f'Operation cannot be fulfilled on {res.qualified} "{name}": {why}',
                    details(res, name))


def bad_request(msg):
    return ApiError(400, "BadRequest", msg)


def method_not_allowed():
    return ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")


def invalid(res, name, causes):
    parts = [f"{f}: {m}" for f, _, m in causes]
    what = parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"
    msg = f'{res.kind_qualified} "{name}" is invalid: {what}'
    return ApiError(422, "Invalid", msg, details(res, name, kind=res.kind, causes=[
        {"reason": r, "message": m, "field": f} for f, r, m in causes]))


def required(field):
    return (field, "FieldValueRequired", "Required value")


def bad_value(field, value, why):
    return (field, "FieldValueInvalid", f"Invalid value: {dumps(value)}: {why}")


SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
DNS1035 = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")
CONFIG_KEY = re.compile(r"[-._a-zA-Z0-9]+")
NAME_RULES = {
    "subdomain": (SUBDOMAIN, 253, "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
                  "'-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "
                  "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"),
    "label": (LABEL, 63, "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
              "must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for "
              "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"),
    "dns1035": (DNS1035, 63, "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start "
                "with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or "
                "'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"),
}


def name_problem(rule, name):
    rx, limit, msg = NAME_RULES[rule]
    if not isinstance(name, str) or not rx.fullmatch(name):
        return msg
    if len(name) > limit:
        return f"must be no more than {limit} characters"
    return None


# ---------------------------------------------------------------------------------------------------------------
# Quantities and selectors

_QTY = re.compile(r"([+-]?(?:\d+(?:\.\d*)?|\.\d+))(Ki|Mi|Gi|Ti|Pi|Ei|[eE][+-]?\d+|n|u|m|k|M|G|T|P|E)?")
_BIN = {"Ki": 2 ** 10, "Mi": 2 ** 20, "Gi": 2 ** 30, "Ti": 2 ** 40, "Pi": 2 ** 50, "Ei": 2 ** 60}
_DEC = {"n": Fraction(1, 10 ** 9), "u": Fraction(1, 10 ** 6), "m": Fraction(1, 1000), "": 1, "k": 10 ** 3,
        "M": 10 ** 6, "G": 10 ** 9, "T": 10 ** 12, "P": 10 ** 15, "E": 10 ** 18}


def quantity(v):
    if isinstance(v, bool) or not isinstance(v, (int, float, str)):
        raise ValueError(v)
    if not isinstance(v, str):
        return Fraction(v)
    m = _QTY.fullmatch(v.strip())
    if not m:
        raise ValueError(v)
    num, suf = Fraction(m.group(1)), m.group(2) or ""
    if suf in _BIN:
        return num * _BIN[suf]
    if suf[:1] in ("e", "E"):
        return num * Fraction(10) ** int(suf[1:])
    return num * _DEC[suf]


def millicores(v):
    return math.ceil(quantity(v) * 1000)


def byte_count(v):
    return math.ceil(quantity(v))


def split_top(s):
    parts, depth, cur = [], 0, ""
    for ch in s:
        depth += (ch == "(") - (ch == ")")
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return [p.strip() for p in parts if p.strip()]


_SKEY = r"(?:[A-Za-z0-9](?:[-A-Za-z0-9_./]*[A-Za-z0-9])?)"


def parse_label_selector(s):
    reqs = []
    for part in split_top(s or ""):
        m = re.fullmatch(rf"({_SKEY})\s+(in|notin)\s+\(([^()]*)\)", part)
        if m:
            reqs.append((m.group(1), m.group(2), {v.strip() for v in m.group(3).split(",") if v.strip()}))
            continue
        m = re.fullmatch(rf"({_SKEY})\s*(==|=|!=)\s*([-A-Za-z0-9_.]*)", part)
        if m:
            reqs.append((m.group(1), "!=" if m.group(2) == "!=" else "=", m.group(3)))
            continue
        m = re.fullmatch(rf"!\s*({_SKEY})", part)
        if m:
            reqs.append((m.group(1), "!exists", None))
            continue
        if re.fullmatch(_SKEY, part):
            reqs.append((part, "exists", None))
            continue
        raise bad_request(f"unable to parse requirement: {part!r} in label selector {s!r}")
    return reqs


def labels_match(reqs, labels):
    labels = labels or {}
    for key, op, val in reqs:
        v = labels.get(key)
        if ((op == "=" and v != val) or (op == "!=" and v == val) or (op == "in" and v not in val)
                or (op == "notin" and v in val) or (op == "exists" and key not in labels)
                or (op == "!exists" and key in labels)):
            return False
    return True


FIELD_SELECTORS = {"pods": {"spec.nodeName", "status.phase", "spec.restartPolicy", "spec.schedulerName",
                            "spec.serviceAccountName", "status.podIP", "status.nominatedNodeName"},
                   "namespaces": {"status.phase"}, "nodes": {"spec.unschedulable"},
                   "secrets": {"type"}}


def parse_field_selector(res, s):
    reqs = []
    for part in split_top(s or ""):
        m = re.fullmatch(r"([A-Za-z0-9_.]+)\s*(==|=|!=)\s*(.*)", part)
        if not m:
            raise bad_request(f"invalid selector: '{s}'; can't understand '{part}'")
        field, op, val = m.groups()
        if field not in ("metadata.name", "metadata.namespace") and field not in FIELD_SELECTORS.get(res.plural, ()):
            raise bad_request(f'field label not supported: {field}')
        reqs.append((field, op != "!=", val))
    return reqs


def fields_match(reqs, obj):
    for field, eq, val in reqs:
        cur = obj
        for k in field.split("."):
            cur = cur.get(k) if isinstance(cur, dict) else None
        cur = "" if cur is None else (str(cur).lower() if isinstance(cur, bool) else str(cur))
        if (cur == val) != eq:
            return False
    return True


def selector_matches(sel, labels):
    labels = labels or {}
    for k, v in (sel.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for e in sel.get("matchExpressions") or []:
        k, op, vals = e.get("key"), e.get("operator"), e.get("values") or []
        if ((op == "In" and labels.get(k) not in vals) or (op == "NotIn" and labels.get(k) in vals)
                or (op == "Exists" and k not in labels) or (op == "DoesNotExist" and k in labels)):
            return False
    return True


# ---------------------------------------------------------------------------------------------------------------
# Server-side apply: field paths, ownership, merging. A path is a tuple of map keys (str) and list-item keys
# ((key, value) for lists of maps merged by a key). Leaves are scalars, atomic lists and empty maps.

KEYED_LISTS = {"containers": "name", "initContainers": "name", "ephemeralContainers": "name", "env": "name",
               "volumes": "name", "volumeMounts": "mountPath", "imagePullSecrets": "name", "hostAliases": "ip",
               "ownerReferences": "uid", "conditions": "type"}


def list_key(field, items):
    if not items or not all(isinstance(i, dict) for i in items):
        return None
    if field == "ports":
        candidates = ("containerPort", "port")
    else:
        candidates = (KEYED_LISTS.get(field, "name"),)
    for k in candidates:
        vals = [i.get(k) for i in items]
        if all(isinstance(v, (str, int)) and not isinstance(v, bool) for v in vals) and len(set(vals)) == len(vals):
            return k
    return None


def flatten(value, prefix=(), field=None, out=None):
    out = {} if out is None else out
    if isinstance(value, dict):
        if not value:
            if prefix:
                out[prefix] = {}
            return out
        for k, v in value.items():
            flatten(v, prefix + (k,), k, out)
    elif isinstance(value, list):
        key = list_key(field, value)
        if key is None:
            out[prefix] = value
        else:
            for item in value:
                ip = prefix + ((key, item[key]),)
                for k, v in item.items():
                    flatten(v, ip + (k,), k, out)
    else:
        out[prefix] = value
    return out


def get_path(obj, path):
    cur = obj
    for el in path:
        if isinstance(el, tuple):
            if not isinstance(cur, list):
                return MISSING
            cur = next((i for i in cur if isinstance(i, dict) and i.get(el[0]) == el[1]), MISSING)
            if cur is MISSING:
                return MISSING
        else:
            if not isinstance(cur, dict) or el not in cur:
                return MISSING
            cur = cur[el]
    return cur


def delete_path(obj, path):
    parent, el = get_path(obj, path[:-1]), path[-1]
    if isinstance(el, tuple) and isinstance(parent, list):
        for idx, i in enumerate(parent):
            if isinstance(i, dict) and i.get(el[0]) == el[1]:
                del parent[idx]
                break
    elif isinstance(parent, dict):
        parent.pop(el, None)


def path_str(p):
    s = ""
    for el in p:
        s += "[%s=%s]" % (el[0], dumps(el[1])) if isinstance(el, tuple) else "." + el
    return s


def tracked(obj):
    """The part of an object that field managers own: everything but type, system metadata and status."""
    out = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "metadata", "status")}
    md = obj.get("metadata") or {}
    keep = {k: md[k] for k in ("labels", "annotations", "finalizers", "ownerReferences") if k in md}
    if keep:
        out["metadata"] = keep
    return out


def merge_apply(base, patch, field=None):
    if isinstance(patch, dict):
        out = dict(base) if isinstance(base, dict) else {}
        for k, v in patch.items():
            out[k] = merge_apply(out.get(k, MISSING), v, k)
        return out
    if isinstance(patch, list) and isinstance(base, list):
        key = list_key(field, patch)
        if key and (not base or list_key(field, base) == key):
            out = list(base)
            for item in patch:
                for idx, b in enumerate(out):
                    if b.get(key) == item[key]:
                        out[idx] = merge_apply(b, item)
                        break
                else:
                    out.append(copy.deepcopy(item))
            return out
    return copy.deepcopy(patch)


def json_merge(target, patch):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = json_merge(out.get(k), v)
    return out


def _strip_directives(v):
    if isinstance(v, dict):
        return {k: _strip_directives(x) for k, x in v.items() if not k.startswith("$")}
    if isinstance(v, list):
        return [_strip_directives(x) for x in v]
    return v


def strategic_merge(target, patch, field=None):
    """JSON merge plus merging of keyed lists (as apply does) and $patch: delete/replace; other directives are
    ignored."""
    if isinstance(patch, dict):
        if patch.get("$patch") == "replace":
            return _strip_directives(patch)
        out = dict(target) if isinstance(target, dict) else {}
        for k, v in patch.items():
            if k.startswith("$"):
                continue
            if v is None:
                out.pop(k, None)
            else:
                out[k] = strategic_merge(out.get(k), v, k)
        return out
    if isinstance(patch, list):
        key = list_key(field, patch)
        if key and isinstance(target, list) and (not target or list_key(field, target) == key):
            out = list(target)
            for item in patch:
                idx = next((i for i, b in enumerate(out) if isinstance(b, dict) and b.get(key) == item[key]), None)
                if item.get("$patch") == "delete":
                    if idx is not None:
                        del out[idx]
                elif idx is None:
                    out.append(_strip_directives(item))
                else:
                    out[idx] = strategic_merge(out[idx], item)
            return out
    return _strip_directives(copy.deepcopy(patch))


def json_patch(doc, ops):
    if not isinstance(ops, list):
        raise bad_request("a JSON patch must be a list of operations")
    doc = copy.deepcopy(doc)

    def split(ptr):
        if ptr == "":
            return []
        if not isinstance(ptr, str) or not ptr.startswith("/"):
            raise bad_request(f"invalid JSON pointer {ptr!r}")
        return [p.replace("~1", "/").replace("~0", "~") for p in ptr[1:].split("/")]

    def walk(parts):
        cur = doc
        for p in parts:
            if isinstance(cur, list):
                cur = cur[int(p)]
            elif isinstance(cur, dict):
                cur = cur[p]
            else:
                raise KeyError(p)
        return cur

    def remove(parts):
        parent = walk(parts[:-1])
        return parent.pop(int(parts[-1]) if isinstance(parent, list) else parts[-1])

    def add(parts, value):
        nonlocal doc
        if not parts:
            doc = value
            return
        parent = walk(parts[:-1])
        if isinstance(parent, list):
            parent.insert(len(parent) if parts[-1] == "-" else int(parts[-1]), value)
        else:
            parent[parts[-1]] = value

    for op in ops:
        try:
            kind, parts = op.get("op"), split(op.get("path"))
            if kind == "add":
                add(parts, copy.deepcopy(op["value"]))
            elif kind == "remove":
                remove(parts)
            elif kind == "replace":
                walk(parts)
                if parts:
                    remove(parts)
                add(parts, copy.deepcopy(op["value"]))
            elif kind in ("move", "copy"):
                src = split(op.get("from"))
                value = remove(src) if kind == "move" else copy.deepcopy(walk(src))
                add(parts, value)
            elif kind == "test":
                if walk(parts) != op.get("value"):
                    raise ApiError(422, "Invalid", f"the JSON patch test at {op.get('path')} failed")
            else:
                raise bad_request(f"unknown JSON patch operation {kind!r}")
        except (KeyError, IndexError, ValueError, TypeError, AttributeError) as e:
            raise ApiError(422, "Invalid", f"the JSON patch could not be applied: {op!r}: {e}")
    return doc


def copy_managers(managers):
    return {k: dict(e, fields=set(e["fields"])) for k, e in managers.items()}


def live(managers):
    # an appliers' entry stays even when it owns nothing (it applied); an updater's goes with its last field
    return {k: e for k, e in managers.items() if e["fields"] or k[1] == "Apply"}


def same_managers(a, b):
    view = lambda m: {k: (frozenset(e["fields"]), e["apiVersion"]) for k, e in live(m).items()}
    return view(a) == view(b)


def fields_v1(paths):
    tree = {}
    for p in sorted(paths, key=lambda p: [dumps(x) for x in p]):
        node = tree
        for el in p:
            if isinstance(el, tuple):
                node = node.setdefault("k:" + dumps({el[0]: el[1]}), {})
                node.setdefault(".", {})
            else:
                node = node.setdefault("f:" + el, {})
    return tree


def render_managed(managers):
    return [{"manager": m, "operation": op, "apiVersion": e["apiVersion"], "time": e["time"], "fieldsType": "FieldsV1",
             "fieldsV1": fields_v1(e["fields"])} for (m, op), e in live(managers).items()]


def update_ownership(managers, manager, old, new, api_version):
    """An Update (create, PUT, non-apply patch) owns the fields it changed and takes them from everyone else."""
    managers = copy_managers(managers)
    before = flatten(tracked(old)) if old else {}
    after = flatten(tracked(new))
    changed = {p for p, v in after.items() if before.get(p, MISSING) != v}
    gone = set(before) - set(after)
    for k, e in managers.items():
        if k != (manager, "Update"):
            e["fields"] -= changed | gone
    entry = managers.get((manager, "Update"))
    if changed:
        keep = entry["fields"] & set(after) if entry else set()
        managers[(manager, "Update")] = {"fields": keep | changed, "apiVersion": api_version, "time": iso()}
    elif entry:
        entry["fields"] &= set(after)
    return live(managers)


def remove_unowned(obj, removed, managers):
    """Removes fields an applier dropped, unless someone still owns them or something under them."""
    owned = set().union(*(e["fields"] for e in managers.values())) if managers else set()

    def under(p):
        n = len(p)
        return any(q[:n] == p for q in owned)

    for p in sorted(removed, key=len):
        if under(p):
            continue
        target = p
        if len(p) >= 2 and isinstance(p[-2], tuple) and p[-1] == p[-2][0]:
            # the key of a keyed item: the item goes when nobody owns anything in it
            if under(p[:-1]):
                continue
            target = p[:-1]
        delete_path(obj, target)
        a = target[:-1]
        while a and a != ("metadata",) and not isinstance(a[-1], tuple):
            if get_path(obj, a) in ({}, []) and not under(a):
                delete_path(obj, a)
                a = a[:-1]
            else:
                break


# ---------------------------------------------------------------------------------------------------------------
# Defaults and validation (a subset of what the real API server does)

def pull_policy(image):
    last = image.rsplit("/", 1)[-1]
    if "@" in image:
        return "IfNotPresent"
    return "Always" if ":" not in last or last.endswith(":latest") else "IfNotPresent"


def default_pod_spec(spec, pod):
    for field in ("initContainers", "containers", "ephemeralContainers"):
        for c in spec.get(field) or []:
            if not isinstance(c, dict):
                continue
            c.setdefault("terminationMessagePath", "/dev/termination-log")
            c.setdefault("terminationMessagePolicy", "File")
            if isinstance(c.get("image"), str) and "imagePullPolicy" not in c:
                c["imagePullPolicy"] = pull_policy(c["image"])
            if field != "ephemeralContainers":
                c.setdefault("resources", {})
            for p in c.get("ports") or []:
                if isinstance(p, dict):
                    p.setdefault("protocol", "TCP")
            r = c.get("resources")
            if pod and isinstance(r, dict) and isinstance(r.get("limits"), dict):
                # as the real defaulting does for pods (not templates): requests default to limits
                req = r.setdefault("requests", {})
                if isinstance(req, dict):
                    for k, v in r["limits"].items():
                        req.setdefault(k, v)
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    if pod:
        spec.setdefault("serviceAccountName", "default")
        spec.setdefault("enableServiceLinks", True)
        spec.setdefault("priority", 0)


def qos_class(spec):
    reqs, lims, guaranteed = False, False, True
    for c in spec.get("containers") or []:
        r = c.get("resources") or {}
        rq, lm = r.get("requests") or {}, r.get("limits") or {}
        reqs, lims = reqs or bool(rq), lims or bool(lm)
        for k in ("cpu", "memory"):
            if k not in lm or str(rq.get(k, lm.get(k))) != str(lm[k]):
                guaranteed = False
    if not reqs and not lims:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


def apply_defaults(res, obj):
    md = obj.setdefault("metadata", {})
    spec = obj.get("spec")
    if res.plural == "namespaces":
        md.setdefault("labels", {})
        if isinstance(md["labels"], dict):
            md["labels"]["kubernetes.io/metadata.name"] = md.get("name")
        obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
        obj.setdefault("status", {}).setdefault("phase", "Active")
    elif res.plural == "deployments":
        spec = obj.setdefault("spec", {})
        if not isinstance(spec, dict):
            return
        spec.setdefault("replicas", 1)
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault("progressDeadlineSeconds", 600)
        st = spec.setdefault("strategy", {})
        if isinstance(st, dict):
            st.setdefault("type", "RollingUpdate")
            if st["type"] == "RollingUpdate":
                ru = st.setdefault("rollingUpdate", {})
                if isinstance(ru, dict):
                    ru.setdefault("maxSurge", "25%")
                    ru.setdefault("maxUnavailable", "25%")
        tmpl = spec.get("template")
        if isinstance(tmpl, dict):
            tmpl.setdefault("metadata", {})
            if isinstance(tmpl.get("spec"), dict):
                default_pod_spec(tmpl["spec"], pod=False)
    elif res.plural == "pods":
        if isinstance(spec, dict):
            default_pod_spec(spec, pod=True)
        st = obj.setdefault("status", {})
        st.setdefault("phase", "Pending")
        if isinstance(spec, dict):
            st.setdefault("qosClass", qos_class(spec))
    elif res.plural == "services":
        spec = obj.setdefault("spec", {})
        if not isinstance(spec, dict):
            return
        spec.setdefault("type", "ClusterIP")
        spec.setdefault("sessionAffinity", "None")
        if spec["type"] != "ExternalName":
            spec.setdefault("ipFamilies", ["IPv4"])
            spec.setdefault("ipFamilyPolicy", "SingleStack")
            spec.setdefault("internalTrafficPolicy", "Cluster")
        if spec["type"] in ("NodePort", "LoadBalancer"):
            spec.setdefault("externalTrafficPolicy", "Cluster")
        for p in spec.get("ports") or []:
            if isinstance(p, dict):
                p.setdefault("protocol", "TCP")
                if "port" in p:
                    p.setdefault("targetPort", p["port"])
        obj.setdefault("status", {}).setdefault("loadBalancer", {})
    elif res.plural == "persistentvolumeclaims":
        spec = obj.setdefault("spec", {})
        if isinstance(spec, dict):
            spec.setdefault("volumeMode", "Filesystem")
            spec.setdefault("storageClassName", "standard")
        obj.setdefault("status", {}).setdefault("phase", "Pending")
    elif res.plural == "secrets":
        obj.setdefault("type", "Opaque")
        sd = obj.pop("stringData", None)
        if isinstance(sd, dict):
            data = obj.setdefault("data", {})
            for k, v in sd.items():
                data[k] = base64.b64encode(str(v).encode()).decode()


def validate_pod_spec(spec, prefix, causes):
    if not isinstance(spec, dict):
        causes.append(required(prefix))
        return
    if not isinstance(spec.get("containers"), list) or not spec["containers"]:
        causes.append(required(f"{prefix}.containers"))
    volumes = set()
    for i, v in enumerate(spec.get("volumes") or []):
        n = v.get("name") if isinstance(v, dict) else None
        if not n:
            causes.append(required(f"{prefix}.volumes[{i}].name"))
        elif n in volumes:
            causes.append((f"{prefix}.volumes[{i}].name", "FieldValueDuplicate", f"Duplicate value: {dumps(n)}"))
        volumes.add(n)
    names = set()
    for field in ("initContainers", "containers", "ephemeralContainers"):
        items = spec.get(field) or []
        if not isinstance(items, list):
            causes.append(bad_value(f"{prefix}.{field}", items, "must be a list"))
            continue
        for i, c in enumerate(items):
            f = f"{prefix}.{field}[{i}]"
            if not isinstance(c, dict):
                causes.append(bad_value(f, c, "must be an object"))
                continue
            n = c.get("name")
            if not n:
                causes.append(required(f"{f}.name"))
            elif name_problem("label", n):
                causes.append(bad_value(f"{f}.name", n, name_problem("label", n)))
            elif n in names:
                causes.append((f"{f}.name", "FieldValueDuplicate", f"Duplicate value: {dumps(n)}"))
            names.add(n)
            if not isinstance(c.get("image"), str) or not c["image"].strip():
                causes.append(required(f"{f}.image"))
            r = c.get("resources") or {}
            parsed = {}
            for kind in ("requests", "limits"):
                for k, v in ((r.get(kind) or {}) if isinstance(r, dict) else {}).items():
                    try:
                        parsed[(kind, k)] = quantity(v)
                    except ValueError:
                        causes.append(bad_value(f"{f}.resources.{kind}[{k}]", v, "quantities must match the regular "
                                                "expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"))
            for k in ("cpu", "memory"):
                if parsed.get(("requests", k), -1) > parsed.get(("limits", k), math.inf):
                    causes.append(bad_value(f"{f}.resources.requests", r["requests"][k],
                                            f"must be less than or equal to {k} limit of {r['limits'][k]}"))
            for j, p in enumerate(c.get("ports") or []):
                cp = p.get("containerPort") if isinstance(p, dict) else None
                if not isinstance(cp, int) or isinstance(cp, bool) or not 1 <= cp <= 65535:
                    causes.append(bad_value(f"{f}.ports[{j}].containerPort", cp,
                                            "must be between 1 and 65535, inclusive"))
            for j, e in enumerate(c.get("env") or []):
                if not isinstance(e, dict) or not e.get("name"):
                    causes.append(required(f"{f}.env[{j}].name"))
            for j, m in enumerate(c.get("volumeMounts") or []):
                if isinstance(m, dict) and m.get("name") not in volumes:
                    causes.append((f"{f}.volumeMounts[{j}].name", "FieldValueNotFound",
                                   f"Not found: {dumps(m.get('name'))}"))


def int_or_percent(v, total, round_up):
    if isinstance(v, str) and v.endswith("%"):
        x = Fraction(int(v[:-1]) * total, 100)
        return math.ceil(x) if round_up else math.floor(x)
    return int(v)


def fenceposts(spec, replicas):
    st = spec.get("strategy") or {}
    if st.get("type") == "Recreate":
        return 0, 0
    ru = st.get("rollingUpdate") or {}
    surge = int_or_percent(ru.get("maxSurge", "25%"), replicas, True)
    unavailable = int_or_percent(ru.get("maxUnavailable", "25%"), replicas, False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def pod_spec_fixed_part(spec):
    s = copy.deepcopy(spec)
    for field in ("containers", "initContainers"):
        for c in s.get(field) or []:
            if isinstance(c, dict):
                c.pop("image", None)
    for k in ("ephemeralContainers", "activeDeadlineSeconds", "tolerations", "terminationGracePeriodSeconds"):
        s.pop(k, None)
    return s


def validate(res, obj, old):
    md = obj.get("metadata") or {}
    name = md.get("name")
    causes = []
    for k, v in (md.get("labels") or {}).items():
        if not isinstance(v, str) or len(v) > 63 or not LABEL_VALUE.fullmatch(v):
            causes.append(bad_value(f"metadata.labels", v, "a valid label must be an empty string or consist of "
                                    "alphanumeric characters, '-', '_' or '.', and must start and end with an "
                                    "alphanumeric character"))
        if not re.fullmatch(r"([a-z0-9.-]+/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?", str(k)):
            causes.append(bad_value("metadata.labels", k, "name part must consist of alphanumeric characters, '-', "
                                    "'_' or '.', and must start and end with an alphanumeric character"))
    for k, v in (md.get("annotations") or {}).items():
        if not isinstance(v, str):
            causes.append(bad_value(f"metadata.annotations[{k}]", v, "must be a string"))
    spec = obj.get("spec")
    if res.plural == "deployments":
        if not isinstance(spec, dict):
            causes.append(required("spec"))
        else:
            r = spec.get("replicas")
            if not isinstance(r, int) or isinstance(r, bool) or r < 0:
                causes.append(bad_value("spec.replicas", r, "must be greater than or equal to 0"))
            sel = spec.get("selector")
            tmpl = spec.get("template") if isinstance(spec.get("template"), dict) else {}
            tlabels = (tmpl.get("metadata") or {}).get("labels") or {}
            if not isinstance(sel, dict) or not (sel.get("matchLabels") or sel.get("matchExpressions")):
                causes.append(required("spec.selector"))
            elif not selector_matches(sel, tlabels):
                causes.append(bad_value("spec.template.metadata.labels", tlabels,
                                        "`selector` does not match template `labels`"))
            if old is not None and sel != old["spec"].get("selector"):
                causes.append(bad_value("spec.selector", sel, "field is immutable"))
            st = spec.get("strategy") or {}
            if st.get("type") not in ("RollingUpdate", "Recreate"):
                causes.append(("spec.strategy.type", "FieldValueNotSupported",
                               f'Unsupported value: {dumps(st.get("type"))}: supported values: "Recreate", '
                               '"RollingUpdate"'))
            elif st["type"] == "Recreate" and st.get("rollingUpdate"):
                causes.append(("spec.strategy.rollingUpdate", "FieldValueForbidden",
                               "Forbidden: may not be specified when strategy `type` is 'Recreate'"))
            else:
                ru = st.get("rollingUpdate") or {}
                vals = {}
                for k in ("maxSurge", "maxUnavailable"):
                    v = ru.get(k, "25%")
                    if (isinstance(v, bool) or not (isinstance(v, int) and v >= 0)
                            and not (isinstance(v, str) and re.fullmatch(r"\d+%", v))):
                        causes.append(bad_value(f"spec.strategy.rollingUpdate.{k}", v,
                                                "a valid percent string must be a numeric string followed by an "
                                                "ending '%'"))
                    else:
                        vals[k] = v
                if len(vals) == 2 and all(v in (0, "0%") for v in vals.values()):
                    causes.append(bad_value("spec.strategy.rollingUpdate.maxUnavailable", vals["maxUnavailable"],
                                            "may not be 0 when `maxSurge` is 0"))
            validate_pod_spec(tmpl.get("spec"), "spec.template.spec", causes)
            if isinstance(tmpl.get("spec"), dict) and tmpl["spec"].get("restartPolicy") != "Always":
                causes.append(("spec.template.spec.restartPolicy", "FieldValueNotSupported",
                               f'Unsupported value: {dumps(tmpl["spec"].get("restartPolicy"))}: supported values: '
                               '"Always"'))
    elif res.plural == "pods":
        validate_pod_spec(spec, "spec", causes)
        if old is not None and isinstance(spec, dict) and pod_spec_fixed_part(spec) != pod_spec_fixed_part(old["spec"]):
            causes.append(("spec", "FieldValueForbidden", "Forbidden: pod updates may not change fields other than "
                           "`spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,"
                           "`spec.tolerations` (only additions to existing tolerations),"
                           "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously "
                           "negative)"))
    elif res.plural == "services":
        if not isinstance(spec, dict):
            causes.append(required("spec"))
        else:
            if spec.get("type") not in ("ClusterIP", "NodePort", "LoadBalancer", "ExternalName"):
                causes.append(("spec.type", "FieldValueNotSupported", f'Unsupported value: {dumps(spec.get("type"))}'))
            ports = spec.get("ports") or []
            if not ports and spec.get("clusterIP") != "None" and spec.get("type") != "ExternalName":
                causes.append(required("spec.ports"))
            seen = set()
            for i, p in enumerate(ports):
                if not isinstance(p, dict):
                    causes.append(bad_value(f"spec.ports[{i}]", p, "must be an object"))
                    continue
                port = p.get("port")
                if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
                    causes.append(bad_value(f"spec.ports[{i}].port", port, "must be between 1 and 65535, inclusive"))
                if len(ports) > 1 and not p.get("name"):
                    causes.append(required(f"spec.ports[{i}].name"))
                if p.get("name") in seen:
                    causes.append((f"spec.ports[{i}].name", "FieldValueDuplicate",
                                   f"Duplicate value: {dumps(p['name'])}"))
                seen.add(p.get("name"))
            was = old["spec"].get("clusterIP") if old is not None else None
            if was and spec.get("clusterIP") != was:
                causes.append(bad_value("spec.clusterIP", spec.get("clusterIP"), "field is immutable"))
    elif res.plural in ("configmaps", "secrets"):
        for field in ("data", "binaryData"):
            for k, v in (obj.get(field) or {}).items():
                if not CONFIG_KEY.fullmatch(k):
                    causes.append(bad_value(f"{field}[{k}]", k, "a valid config key must consist of alphanumeric "
                                            "characters, '-', '_' or '.'"))
                if not isinstance(v, str):
                    causes.append(bad_value(f"{field}[{k}]", v, "must be a string"))
                elif res.plural == "secrets" or field == "binaryData":
                    try:
                        base64.b64decode(v, validate=True)
                    except ValueError:
                        causes.append(bad_value(f"{field}[{k}]", "<value>", "must be base64-encoded"))
    elif res.plural == "persistentvolumeclaims":
        if not isinstance(spec, dict) or not spec.get("accessModes"):
            causes.append(required("spec.accessModes"))
        storage = None
        if isinstance(spec, dict):
            storage = ((spec.get("resources") or {}).get("requests") or {}).get("storage")
        if storage is None:
            causes.append(required("spec.resources[storage]"))
        else:
            try:
                quantity(storage)
            except ValueError:
                causes.append(bad_value("spec.resources.requests[storage]", storage,
                                        "quantities must match the regular expression"))
    if causes:
        raise invalid(res, name, causes)


# ---------------------------------------------------------------------------------------------------------------
# The store, the watch history and the controllers

def crash_cycle(elapsed):
    """A crashlooping container runs 1 s, then waits 1, 2, 4 ... 30 s (the real back-off: 10 s doubling to 5 min).
    Returns (crashes, running, since, back-off, last crash), times relative to the start."""
    t, crashes, last = 0.0, 0, None
    while True:
        if elapsed < t + 1.0:
            return crashes, True, t, 0, last
        t += 1.0
        crashes += 1
        last = t
        back = min(2 ** (crashes - 1), 30)
        if elapsed < t + back:
            return crashes, False, t, back, last
        t += back


def set_conditions(old, new):
    """Keeps a condition's timestamps while it stays the same (its transition time while its status does)."""
    prev = {c.get("type"): c for c in old or []}
    for c in new:
        p = prev.get(c["type"])
        if p is None or p.get("status") != c["status"]:
            continue
        if "lastTransitionTime" in c:
            c["lastTransitionTime"] = p.get("lastTransitionTime", c["lastTransitionTime"])
        if (p.get("reason"), p.get("message")) == (c.get("reason"), c.get("message")):
            for stamp in ("lastUpdateTime", "lastHeartbeatTime", "lastProbeTime"):
                if stamp in c:
                    c[stamp] = p.get(stamp, c[stamp])
    return new


def cond(type_, status, reason=None, message=None, stamps=("lastProbeTime", "lastTransitionTime"), now=None):
    c = {"type": type_, "status": status}
    for s in stamps:
        c[s] = None if s == "lastProbeTime" else iso(now)
    if reason:
        c["reason"] = reason
    if message:
        c["message"] = message
    return c


class Faults:
    def __init__(self):
        self.cond = threading.Condition()
        self.mode, self.ms, self.nodes_notready = None, 0, False

    def view(self):
        return {"mode": self.mode, "ms": self.ms, "nodesNotReady": self.nodes_notready}


class Store:
    def __init__(self, opts, log):
        self.lock = threading.RLock()
        self.cond = threading.Condition(self.lock)
        self.log = log
        self.opts = opts
        self.rv = 0
        self.objects = {r.plural: {} for r in RESOURCES}
        self.managed = {}            # (plural, ns, name) -> {(manager, operation): {fields, apiVersion, time}}
        self.history = {}            # rv -> (type, plural, ns, object, previous object); rvs are contiguous
        self.history_start = 0       # every change after this rv is in history
        self.faults = Faults()
        self.pinfo = {}              # pod uid -> scheduling/runtime facts the status is computed from
        self.dinfo = {}              # deployment uid -> progress tracking
        self.seen = {}               # pvc uid -> first seen
        self.next_ip = {}
        self.requests = {}           # pod uid -> (millicores, bytes) requested; pod specs are immutable
        self.owners = {}             # pod uid -> (resourceVersion, owning deployment's key, hash, ReplicaSet uid)
        # The controller skips a tick when nothing changed since its last busy one and no timer is due.
        self.last_tick, self.wake_at = None, 0.0
        self.reset_stats()

    def reset_stats(self):
        self.stats = {"writes": {r.plural: 0 for r in RESOURCES}, "controllerWrites": {r.plural: 0 for r in RESOURCES},
                      "applies": 0, "noopApplies": 0, "requests": 0}

    # --- basic access

    def get(self, res, ns, name):
        obj = self.objects[res.plural].get((ns or "", name))
        if obj is None:
            raise not_found(res, name)
        return obj

    def select(self, res, ns, lsel, fsel):
        items = [o for (ons, _), o in self.objects[res.plural].items()
                 if (ns is None or ons == ns) and labels_match(lsel, o["metadata"].get("labels"))
                 and fields_match(fsel, o)]
        items.sort(key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))
        return items

    def check_namespace(self, res, ns, name):
        if not res.namespaced:
            return
        nso = self.objects["namespaces"].get(("", ns))
        if nso is None:
            raise not_found(R["namespaces"], ns)
        if nso["metadata"].get("deletionTimestamp"):
            raise ApiError(403, "Forbidden", f'{res.qualified} "{name}" is forbidden: unable to create new content in '
                           f'namespace {ns} because it is being terminated', details(res, name))

    def _commit(self, res, new, old, managers=None, api=True, deleted=False):
        self.rv += 1
        new = dict({"apiVersion": res.api_version, "kind": res.kind, "metadata": new["metadata"]}, **new)
        md = new["metadata"]
        ns, name = md.get("namespace", ""), md["name"]
        mkey = (res.plural, ns, name)
        md["resourceVersion"] = str(self.rv)
        if deleted:
            self.objects[res.plural].pop((ns, name), None)
            self.managed.pop(mkey, None)
            uid = md.get("uid")
            self.pinfo.pop(uid, None)
            self.dinfo.pop(uid, None)
            self.requests.pop(uid, None)
            self.owners.pop(uid, None)
            self.seen.pop(uid, None)
            etype, prev = "DELETED", None
        else:
            if managers is not None:
                self.managed[mkey] = managers
            mf = render_managed(self.managed.get(mkey, {}))
            if mf:
                md["managedFields"] = mf
            else:
                md.pop("managedFields", None)
            self.objects[res.plural][(ns, name)] = new
            etype, prev = ("ADDED" if old is None else "MODIFIED"), old
        self.history[self.rv] = (etype, res.plural, ns, new, prev)
        if len(self.history) > HISTORY_LIMIT:
            self.history_start += 1
            self.history.pop(self.history_start, None)
        (self.stats["writes"] if api else self.stats["controllerWrites"])[res.plural] += 1
        self.cond.notify_all()
        return new

    def compact(self):
        self.history.clear()
        self.history_start = self.rv
        return self.rv

    # --- writes from the API

    def _system_create(self, res, obj):
        md = obj["metadata"]
        for k in ("uid", "resourceVersion", "creationTimestamp", "deletionTimestamp", "generation", "managedFields",
                  "selfLink"):
            md.pop(k, None)
        md["uid"] = str(uuid.uuid4())
        md["creationTimestamp"] = iso()
        md["generation"] = 1
        if res.has_status:
            obj.pop("status", None)
        apply_defaults(res, obj)
        self._allocate(res, obj, None)

    def create(self, res, obj, managers=None, updater=None, dry=False, api=True):
        md = obj["metadata"]
        ns, name = md.get("namespace", ""), md.get("name")
        problem = name_problem(res.name_rule, name)
        self.check_namespace(res, ns, name)
        if (ns, name) in self.objects[res.plural]:
            raise already_exists(res, name)
        if problem:
            raise invalid(res, name, [bad_value("metadata.name", name, problem)])
        obj["apiVersion"], obj["kind"] = res.api_version, res.kind
        self._system_create(res, obj)
        validate(res, obj, None)
        if updater:
            managers = update_ownership({}, updater, None, obj, res.api_version)
        if dry:
            return obj
        return self._commit(res, obj, None, managers or {}, api=api)

    def update(self, res, cur, new, managers, updater=None, dry=False, own=None, ephemeral=False):
        """Finishes any change of an existing object: restores what clients may not change, defaults, validates,
        and skips writes that change nothing (no new resourceVersion, no event), as the real server does."""
        cmd = cur["metadata"]
        md = new.setdefault("metadata", {})
        if not isinstance(md, dict):
            raise bad_request("metadata must be an object")
        for k in ("name", "namespace", "uid", "creationTimestamp", "generation", "deletionTimestamp", "generateName",
                  "resourceVersion", "managedFields", "selfLink"):
            md.pop(k, None)
            if k in cmd:
                md[k] = cmd[k]
        new["apiVersion"], new["kind"] = res.api_version, res.kind
        if res.has_status:
            new.pop("status", None)
            if "status" in cur:
                new["status"] = copy.deepcopy(cur["status"])
        if res.plural == "pods" and not ephemeral and isinstance(new.get("spec"), dict):
            # ephemeral containers change only through pods/NAME/ephemeralcontainers
            new["spec"].pop("ephemeralContainers", None)
            if "ephemeralContainers" in cur["spec"]:
                new["spec"]["ephemeralContainers"] = copy.deepcopy(cur["spec"]["ephemeralContainers"])
        self._preserve_allocations(res, cur, new)
        apply_defaults(res, new)
        self._allocate(res, new, cur)
        validate(res, new, cur)
        if updater:
            managers = update_ownership(managers, updater, cur, new, res.api_version)
        else:
            leaves = set(flatten(tracked(new)))
            for k, e in managers.items():
                if k != own:
                    e["fields"] &= leaves
            managers = live(managers)
        old_managers = self.managed.get((res.plural, cmd.get("namespace", ""), cmd["name"]), {})
        body = lambda o: {k: v for k, v in o.items() if k != "metadata"}
        meta = lambda o: {k: v for k, v in o["metadata"].items() if k not in ("resourceVersion", "managedFields")}
        if body(new) == body(cur) and meta(new) == meta(cur) and same_managers(managers, old_managers):
            return cur, True
        if tracked_spec(new) != tracked_spec(cur):
            md["generation"] = cmd.get("generation", 1) + 1
        if dry:
            return new, False
        return self._commit(res, new, cur, managers), False

    def apply(self, res, ns, name, body, manager, force, dry):
        key = (ns or "", name)
        cur = self.objects[res.plural].get(key)
        md = body.get("metadata") or {}
        want = md.get("resourceVersion")
        if want is not None and (cur is None or str(want) != cur["metadata"]["resourceVersion"]):
            raise rv_conflict(res, name)
        applied = tracked(body)
        afields = flatten(applied)
        entry = {"fields": set(afields), "apiVersion": res.api_version, "time": iso()}
        self.stats["applies"] += 1
        if cur is None:
            skel = {"apiVersion": res.api_version, "kind": res.kind, "metadata": {"name": name}}
            if res.namespaced:
                skel["metadata"]["namespace"] = ns
            new = merge_apply(skel, applied)
            return 201, self.create(res, new, managers={(manager, "Apply"): entry}, dry=dry)
        managers = copy_managers(self.managed.get((res.plural,) + key, {}))
        conflicts = []
        for p, v in afields.items():
            cv = get_path(cur, p)
            for (m, _), e in managers.items():
                if m != manager and p in e["fields"] and cv is not MISSING and cv != v:
                    conflicts.append((p, m))
        if conflicts and not force:
            causes = [{"type": "FieldManagerConflict", "message": f'conflict with "{m}"', "field": path_str(p)}
                      for p, m in conflicts]
            n = len(conflicts)
            msg = f"Apply failed with {n} conflict{'s' if n > 1 else ''}: " + "; ".join(
                f'conflict with "{m}": {path_str(p)}' for p, m in conflicts)
            raise ApiError(409, "Conflict", msg, details(res, name, causes=causes))
        for p, m in conflicts:
            for (mm, _), e in managers.items():
                if mm == m:
                    e["fields"].discard(p)
        prev = managers.get((manager, "Apply"), {}).get("fields", set())
        managers[(manager, "Apply")] = entry
        new = merge_apply(copy.deepcopy(cur), applied)
        remove_unowned(new, prev - set(afields), managers)
        out, noop = self.update(res, cur, new, managers, dry=dry, own=(manager, "Apply"))
        if noop:
            self.stats["noopApplies"] += 1
        return 200, out

    def delete(self, res, ns, name, pre, propagation, dry=False, api=True):
        cur = self.get(res, ns, name)
        cmd = cur["metadata"]
        if pre.get("uid") and pre["uid"] != cmd["uid"]:
            raise rv_conflict(res, name, f"Precondition failed: UID in precondition: {pre['uid']}, "
                                         f"UID in object meta: {cmd['uid']}")
        if pre.get("resourceVersion") and pre["resourceVersion"] != cmd["resourceVersion"]:
            raise rv_conflict(res, name, "Precondition failed: ResourceVersion in precondition: "
                                         f"{pre['resourceVersion']}, ResourceVersion in object meta: "
                                         f"{cmd['resourceVersion']}")
        if res.plural == "namespaces":
            if name in ("default", "kube-system", "kube-public"):
                raise ApiError(403, "Forbidden", f'namespaces "{name}" is forbidden: this namespace may not be deleted',
                               details(res, name))
            if cmd.get("deletionTimestamp") or dry:
                return cur
            new = copy.deepcopy(cur)
            new["metadata"]["deletionTimestamp"] = iso()
            new["status"] = {"phase": "Terminating"}
            return self._commit(res, new, cur, api=api)
        gone = copy.deepcopy(cur)
        if dry:
            return gone
        if res.plural == "deployments" and propagation in ("Orphan", "Foreground"):
            for pod in self.owned_pods(cur):
                if propagation == "Foreground":
                    self._delete_quietly(R["pods"], pod)
                else:
                    p = copy.deepcopy(pod)
                    p["metadata"].pop("ownerReferences", None)
                    self._commit(R["pods"], p, pod, api=False)
        # Background propagation: the controller's garbage collection removes the pods on its next tick.
        return self._commit(res, gone, cur, api=api, deleted=True)

    def _delete_quietly(self, res, obj):
        self._commit(res, copy.deepcopy(obj), obj, api=False, deleted=True)

    # --- allocations

    def _preserve_allocations(self, res, cur, new):
        spec, cspec = new.get("spec"), cur.get("spec") or {}
        if not isinstance(spec, dict):
            return
        if res.plural == "services":
            for k in ("clusterIP", "clusterIPs"):
                if not spec.get(k) and cspec.get(k):
                    spec[k] = copy.deepcopy(cspec[k])
            old_ports = {(p.get("port"), p.get("protocol", "TCP")): p
                         for p in cspec.get("ports") or [] if isinstance(p, dict)}
            for p in spec.get("ports") or []:
                if isinstance(p, dict) and not p.get("nodePort"):
                    o = old_ports.get((p.get("port"), p.get("protocol", "TCP")))
                    if o and o.get("nodePort") and spec.get("type") in ("NodePort", "LoadBalancer"):
                        p["nodePort"] = o["nodePort"]
        elif res.plural == "persistentvolumeclaims" and cspec.get("volumeName") and not spec.get("volumeName"):
            spec["volumeName"] = cspec["volumeName"]
        elif res.plural == "pods" and cspec.get("nodeName") and not spec.get("nodeName"):
            spec["nodeName"] = cspec["nodeName"]

    def _allocate(self, res, obj, cur):
        if res.plural != "services" or not isinstance(obj.get("spec"), dict):
            return
        spec = obj["spec"]
        name = obj["metadata"].get("name")
        if spec.get("type") == "ExternalName":
            return
        others = [s for k, s in self.objects["services"].items() if s is not cur]
        used = {s["spec"].get("clusterIP") for s in others}
        net = ipaddress.ip_network("10.96.0.0/16")
        ip = spec.get("clusterIP")
        if not ip:
            while True:
                ip = str(net[random.randint(2, net.num_addresses - 2)])
                if ip not in used and ip != "10.96.0.10":
                    break
            spec["clusterIP"] = ip
        elif ip != "None" and (cur is None or cur["spec"].get("clusterIP") != ip):
            try:
                inside = ipaddress.ip_address(ip) in net
            except ValueError:
                inside = False
            if not inside:
                raise invalid(R["services"], name, [bad_value("spec.clusterIP", ip, "provided IP is not in the valid "
                                                              "range. The range of valid IPs is 10.96.0.0/16")])
            if ip in used:
                raise invalid(R["services"], name, [bad_value("spec.clusterIP", ip,
                                                              "provided IP is already allocated")])
        spec["clusterIPs"] = [spec["clusterIP"]]
        if spec.get("type") in ("NodePort", "LoadBalancer"):
            taken = {p.get("nodePort") for s in others for p in s["spec"].get("ports") or []}
            for p in spec.get("ports") or []:
                if isinstance(p, dict) and not p.get("nodePort"):
                    n = random.randint(30000, 32767)
                    while n in taken:
                        n = random.randint(30000, 32767)
                    p["nodePort"] = n
                    taken.add(n)

    # --- controllers (simulating the scheduler, the kubelets, the deployment, namespace, PV and GC controllers)

    def _ctl_create(self, res, obj, manager="kube-controller-manager"):
        obj["apiVersion"], obj["kind"] = res.api_version, res.kind
        status = obj.pop("status", None)
        self._system_create(res, obj)
        if status is not None:
            obj["status"] = status
        return self._commit(res, obj, None, update_ownership({}, manager, None, obj, res.api_version), api=False)

    def _ctl_write(self, res, cur, new):
        if new == cur:
            return cur
        return self._commit(res, new, cur, api=False)

    def bootstrap(self):
        o = self.opts
        with self.lock:
            for i in range(1, o.nodes + 1):
                name = f"sim-node-{i}"
                cap = {"cpu": o.cpu_text, "memory": o.memory_text, "pods": "110", "ephemeral-storage": "100Gi"}
                node_conds = [cond(t, "False", r, m, ("lastHeartbeatTime", "lastTransitionTime")) for t, r, m in (
                    ("MemoryPressure", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
                    ("DiskPressure", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                    ("PIDPressure", "KubeletHasSufficientPID", "kubelet has sufficient PID available"))]
                node_conds.append(cond("Ready", "True", "KubeletReady", "kubelet is posting ready status",
                                       ("lastHeartbeatTime", "lastTransitionTime")))
                self._ctl_create(R["nodes"], {"metadata": {"name": name, "labels": {
                    "kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
                    "beta.kubernetes.io/os": "linux", "beta.kubernetes.io/arch": "amd64",
                    "node.kubernetes.io/instance-type": "kube-sim"}},
                    "spec": {"podCIDR": f"{o.pod_cidr}.{i}.0/24", "podCIDRs": [f"{o.pod_cidr}.{i}.0/24"],
                             "providerID": f"kube-sim://{name}"},
                    "status": {"capacity": cap, "allocatable": dict(cap), "conditions": node_conds,
                               "addresses": [{"type": "InternalIP", "address": f"10.0.0.{10 + i}"},
                                             {"type": "Hostname", "address": name}],
                               "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
                               "nodeInfo": {"machineID": uuid.uuid4().hex, "systemUUID": str(uuid.uuid4()),
                                            "bootID": str(uuid.uuid4()), "kernelVersion": "6.1.0-kube-sim",
                                            "osImage": "kube-sim", "containerRuntimeVersion": "containerd://1.7.0-sim",
                                            "kubeletVersion": "v1.30.0-sim", "kubeProxyVersion": "v1.30.0-sim",
                                            "operatingSystem": "linux", "architecture": "amd64"}}}, "kubelet")
            for ns in SYSTEM_NAMESPACES:
                self._ctl_create(R["namespaces"], {"metadata": {"name": ns}}, "kube-apiserver")
            self._ctl_create(R["services"], {"metadata": {"name": "kubernetes", "namespace": "default", "labels": {
                "component": "apiserver", "provider": "kubernetes"}}, "spec": {"clusterIP": "10.96.0.1", "ports": [
                    {"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}]}}, "kube-apiserver")

    def wake(self, t):
        self.wake_at = min(self.wake_at, t)

    def tick(self):
        with self.lock:
            now = time.time()
            if self.last_tick == (self.rv, self.faults.nodes_notready) and now < self.wake_at:
                return
            start, self.wake_at = self.rv, math.inf
            self._nodes_step(now)
            self._namespace_gc()
            owned = self._pods_by_deployment(gc=True)
            for key, d in list(self.objects["deployments"].items()):
                try:
                    self._rollout(d, owned.get(key, []), now)
                except Exception:
                    self.log("controller: deployment %s/%s: %s" % (key + (traceback.format_exc(),)))
            self._pods_step(now)
            owned = self._pods_by_deployment(gc=False)
            for key, d in list(self.objects["deployments"].items()):
                self._deployment_status(d, owned.get(key, []), now)
            self._pvc_step(now)
            self.last_tick = (start, self.faults.nodes_notready)

    def _nodes_step(self, now):
        ready = not self.faults.nodes_notready
        for n in list(self.objects["nodes"].values()):
            conds = copy.deepcopy(n["status"]["conditions"])
            c = next(c for c in conds if c["type"] == "Ready")
            want = ("True", "KubeletReady", "kubelet is posting ready status") if ready else \
                ("False", "KubeletNotReady", 'kube-sim fault "nodes-notready" is set')
            if (c["status"], c.get("reason"), c.get("message")) != want:
                c["status"], c["reason"], c["message"] = want
                c["lastHeartbeatTime"] = c["lastTransitionTime"] = iso(now)
                new = copy.deepcopy(n)
                new["status"]["conditions"] = conds
                self._ctl_write(R["nodes"], n, new)

    def _namespace_gc(self):
        for key, nso in list(self.objects["namespaces"].items()):
            if not nso["metadata"].get("deletionTimestamp"):
                continue
            ns = nso["metadata"]["name"]
            for res in RESOURCES:
                if res.namespaced:
                    for (ons, _), o in list(self.objects[res.plural].items()):
                        if ons == ns:
                            self._delete_quietly(res, o)
            self._delete_quietly(R["namespaces"], nso)

    @staticmethod
    @functools.lru_cache(maxsize=65536)
    def rs_uid(deploy_uid, h):
        return str(uuid.uuid5(uuid.UUID(deploy_uid), h))

    def _owner(self, pod):
        md = pod["metadata"]
        hit = self.owners.get(md["uid"])
        if hit is None or hit[0] != md["resourceVersion"]:
            hit = self.owners[md["uid"]] = (md["resourceVersion"], self._find_owner(md))
        return hit[1]

    @staticmethod
    def _find_owner(md):
        h = (md.get("labels") or {}).get("pod-template-hash")
        for ref in md.get("ownerReferences") or []:
            if h and ref.get("kind") == "ReplicaSet" and ref.get("controller") and \
                    ref.get("name", "").endswith("-" + h):
                return (md.get("namespace", ""), ref["name"][:-len(h) - 1]), h, ref.get("uid")
        return None

    def _pods_by_deployment(self, gc):
        owned = {}
        for pod in list(self.objects["pods"].values()):
            o = self._owner(pod)
            if o is None:
                continue
            key, h, rs_uid = o
            d = self.objects["deployments"].get(key)
            if d is not None and rs_uid == self.rs_uid(d["metadata"]["uid"], h):
                owned.setdefault(key, []).append(pod)
            elif gc:
                self._delete_quietly(R["pods"], pod)
        return owned

    def owned_pods(self, d):
        key = (d["metadata"]["namespace"], d["metadata"]["name"])
        return self._pods_by_deployment(gc=False).get(key, [])

    def template_hash(self, d):
        info = self.dinfo.setdefault(d["metadata"]["uid"], {})
        gen = d["metadata"].get("generation")
        if info.get("hash", (None,))[0] != gen:
            tmpl = json.dumps(d["spec"]["template"], sort_keys=True).encode()
            info["hash"] = (gen, hashlib.sha256(tmpl).hexdigest()[:10])
        return info["hash"][1]

    def is_ready(self, pod):
        conds = (pod.get("status") or {}).get("conditions") or []
        return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conds)

    def is_available(self, pod, min_ready, now):
        if not self.is_ready(pod):
            return False
        since = self.pinfo.get(pod["metadata"]["uid"], {}).get("ready_since", now)
        return min_ready <= 0 or now - since >= min_ready

    def _rollout(self, d, pods, now):
        if d["metadata"].get("deletionTimestamp"):
            return
        spec = d["spec"]
        if spec.get("paused"):
            return
        replicas = spec.get("replicas", 1)
        min_ready = spec.get("minReadySeconds", 0)
        # the same deployment and pods as when it last had nothing to do: nothing to do now either
        info = self.dinfo.setdefault(d["metadata"]["uid"], {})
        sig = (d["metadata"]["resourceVersion"], tuple(sorted(p["metadata"]["resourceVersion"] for p in pods)))
        if info.get("rollout") == sig and not min_ready:
            return
        rv_before = self.rv
        h = self.template_hash(d)
        new = [p for p in pods if p["metadata"]["labels"].get("pod-template-hash") == h]
        old = [p for p in pods if p["metadata"]["labels"].get("pod-template-hash") != h]
        avail = lambda p: self.is_available(p, min_ready, now)

        def rank(p):  # which pods to remove first: unscheduled, not ready, then the newest
            return (bool(p["spec"].get("nodeName")), self.is_ready(p), -parse_iso(p["metadata"]["creationTimestamp"]),
                    p["metadata"]["name"])

        def remove(p, group):
            self._delete_quietly(R["pods"], p)
            group.remove(p)

        def scale_new():
            for _ in range(min(replicas - len(new), 200)):
                new.append(self._create_pod(d, h))
            for p in sorted(new, key=rank)[:max(len(new) - replicas, 0)]:
                remove(p, new)

        def steps():  # the deployment controller's reconcile step; its returns end it early
            if (spec.get("strategy") or {}).get("type") == "Recreate":
                if old:
                    for p in list(old):
                        remove(p, old)
                    return
                scale_new()
                return
            if not old:
                scale_new()
                return
            surge, unavailable = fenceposts(spec, replicas)
            add = min(replicas - len(new), replicas + surge - len(new) - len(old), 200)
            for _ in range(max(add, 0)):
                new.append(self._create_pod(d, h))
            min_available = replicas - unavailable
            new_unavailable = sum(1 for p in new if not avail(p))
            max_down = len(new) + len(old) - min_available - new_unavailable
            for p in sorted([p for p in old if not avail(p)], key=rank):
                if max_down <= 0:
                    break
                remove(p, old)
                max_down -= 1
            if max_down > 0:
                can = min(max_down, sum(1 for p in new + old if avail(p)) - min_available)
                for p in sorted([p for p in old if avail(p)], key=rank)[:max(can, 0)]:
                    remove(p, old)
            if len(new) > replicas:
                for p in sorted(new, key=rank)[:len(new) - replicas]:
                    remove(p, new)

        steps()
        if self.rv == rv_before:
            info["rollout"] = sig

    def _create_pod(self, d, h):
        dmd = d["metadata"]
        ns, rs = dmd["namespace"], f"{dmd['name']}-{h}"
        tmpl = copy.deepcopy(d["spec"]["template"])
        tmd = tmpl.get("metadata") or {}
        while True:
            name = f"{rs}-{rand5()}"
            if (ns, name) not in self.objects["pods"]:
                break
        labels = dict(tmd.get("labels") or {})
        labels["pod-template-hash"] = h
        md = {"name": name, "generateName": rs + "-", "namespace": ns, "labels": labels,
              "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": rs,
                                   "uid": self.rs_uid(dmd["uid"], h), "controller": True, "blockOwnerDeletion": True}]}
        if tmd.get("annotations"):
            md["annotations"] = dict(tmd["annotations"])
        return self._ctl_create(R["pods"], {"metadata": md, "spec": tmpl["spec"]})

    def pod_requests(self, pod):
        uid = pod["metadata"]["uid"]
        if uid not in self.requests:
            self.requests[uid] = self._pod_requests(pod)
        return self.requests[uid]

    @staticmethod
    def _pod_requests(pod):
        spec = pod["spec"]

        def total(cs):
            cpu = mem = 0
            for c in cs or []:
                req = (c.get("resources") or {}).get("requests") or {}
                cpu += millicores(req.get("cpu", 0))
                mem += byte_count(req.get("memory", 0))
            return cpu, mem

        cpu, mem = total(spec.get("containers"))
        for c in spec.get("initContainers") or []:
            icpu, imem = total([c])
            cpu, mem = max(cpu, icpu), max(mem, imem)
        return cpu, mem

    def _pods_step(self, now):
        nodes = {n["metadata"]["name"]: n for n in self.objects["nodes"].values()}
        node_ready = {k: not self.faults.nodes_notready and any(c["type"] == "Ready" and c["status"] == "True"
                                                                for c in n["status"]["conditions"])
                      for k, n in nodes.items()}
        usage = {k: [0, 0, 0] for k in nodes}
        for p in self.objects["pods"].values():
            nn = p["spec"].get("nodeName")
            if nn in usage and (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed"):
                cpu, mem = self.pod_requests(p)
                u = usage[nn]
                u[0] += cpu
                u[1] += mem
                u[2] += 1
        pending = sorted((p for p in self.objects["pods"].values() if not p["spec"].get("nodeName")),
                         key=lambda p: int(p["metadata"]["resourceVersion"]))
        for p in pending:
            self._schedule(p, nodes, node_ready, usage, now)
        for p in list(self.objects["pods"].values()):
            if p["spec"].get("nodeName"):
                self._kubelet(p, nodes, node_ready, now)

    def _schedule(self, pod, nodes, node_ready, usage, now):
        cpu, mem = self.pod_requests(pod)
        reasons, fits = {}, []
        for name in sorted(nodes, key=lambda n: int(n.rsplit("-", 1)[1])):
            if not node_ready[name]:
                r = "node(s) had untolerated taint {node.kubernetes.io/not-ready: }"
                reasons[r] = reasons.get(r, 0) + 1
                continue
            alloc = nodes[name]["status"]["allocatable"]
            acpu, amem, apods = millicores(alloc["cpu"]), byte_count(alloc["memory"]), int(alloc["pods"])
            u = usage[name]
            why = [w for w, bad in (("Insufficient cpu", u[0] + cpu > acpu), ("Insufficient memory", u[1] + mem > amem),
                                    ("Too many pods", u[2] + 1 > apods)) if bad]
            for w in why:
                reasons[w] = reasons.get(w, 0) + 1
            if not why:
                fits.append((max((u[0] + cpu) / acpu, (u[1] + mem) / amem), len(fits), name))
        if not fits:
            msg = f"0/{len(nodes)} nodes are available: " + ", ".join(
                f"{c} {r}" for r, c in sorted(reasons.items())) + "."
            st = copy.deepcopy(pod.get("status") or {})
            st["phase"] = "Pending"
            st["conditions"] = set_conditions(st.get("conditions"), [
                cond("PodScheduled", "False", "Unschedulable", msg, now=now)])
            if st != pod.get("status"):
                new = copy.deepcopy(pod)
                new["status"] = st
                self._ctl_write(R["pods"], pod, new)
            return
        _, _, name = min(fits)
        u = usage[name]
        u[0] += cpu
        u[1] += mem
        u[2] += 1
        new = copy.deepcopy(pod)
        new["spec"]["nodeName"] = name
        self._bind(new, nodes[name], now)
        new["status"] = self._pod_status(new, node_ready, now)
        self._ctl_write(R["pods"], pod, new)

    def _bind(self, pod, node, now):
        idx = int(node["metadata"]["name"].rsplit("-", 1)[1])
        used = {i.get("ip") for i in self.pinfo.values()}
        n = self.next_ip.get(idx, 1)
        for _ in range(253):
            n = n + 1 if n < 254 else 2  # round robin over .2-.254, as host-local IPAM does
            ip = f"{self.opts.pod_cidr}.{idx}.{n}"
            if ip not in used:
                break
        else:
            ip = ""
        self.next_ip[idx] = n
        host = next(a["address"] for a in node["status"]["addresses"] if a["type"] == "InternalIP")
        self.pinfo[pod["metadata"]["uid"]] = {"sched": now, "ready_at": now + self.opts.ready_delay, "ip": ip,
                                              "host": host, "eph": {}}

    def _pod_status(self, pod, node_ready, now):
        uid = pod["metadata"]["uid"]
        info = self.pinfo[uid]
        spec, old = pod["spec"], pod.get("status") or {}
        sched = info["sched"]
        node_ok = node_ready.get(spec.get("nodeName"), False)
        statuses, unready, pending, failed = [], [], False, False
        info["next"] = math.inf  # when this status changes by itself next
        for c in spec.get("containers") or []:
            image, cname = c.get("image", ""), c.get("name")
            cid = "containerd://" + hashlib.sha256(f"{uid}/{cname}".encode()).hexdigest()
            digest = hashlib.sha256(image.encode()).hexdigest()
            image_id = f"docker.io/library/{image.split('@')[0]}@sha256:{digest}"
            cs = {"name": cname, "image": image, "imageID": image_id, "containerID": cid, "ready": False,
                  "started": False, "restartCount": 0, "state": {}, "lastState": {}}
            if "pullfail" in image:
                cs["imageID"] = ""
                del cs["containerID"]
                cs["state"] = {"waiting": {"reason": "ImagePullBackOff",
                                           "message": f'Back-off pulling image "{image}"'}}
                pending = True
            elif "crashloop" in image:
                crashes, running, since, back, last = crash_cycle(now - sched)
                cs["containerID"] = "containerd://" + hashlib.sha256(f"{uid}/{cname}/{crashes}".encode()).hexdigest()
                if spec.get("restartPolicy") == "Never" and crashes:
                    cs["state"] = {"terminated": {"exitCode": 1, "reason": "Error", "startedAt": iso(sched),
                                                  "finishedAt": iso(sched + 1)}}
                    failed = True
                else:
                    info["next"] = min(info["next"], sched + since + (1.0 if running else back))
                    cs["restartCount"] = crashes
                    if crashes:
                        cs["lastState"] = {"terminated": {"exitCode": 1, "reason": "Error",
                                                          "startedAt": iso(sched + last - 1),
                                                          "finishedAt": iso(sched + last)}}
                    if running:
                        cs["state"] = {"running": {"startedAt": iso(sched + since)}}
                        cs["started"] = True
                    else:
                        cs["state"] = {"waiting": {"reason": "CrashLoopBackOff", "message": f"back-off {back}s "
                                       f"restarting failed container={cname} pod={pod['metadata']['name']}"}}
            else:
                cs["state"] = {"running": {"startedAt": iso(sched)}}
                cs["started"] = True
                cs["ready"] = node_ok and now >= info["ready_at"]
                if node_ok and not cs["ready"]:
                    info["next"] = min(info["next"], info["ready_at"])
            if not cs["ready"]:
                unready.append(cname)
            statuses.append(cs)
        ready = not unready
        if ready:
            info.setdefault("ready_since", now)
        else:
            info.pop("ready_since", None)
        msg = f"containers with unready status: [{' '.join(unready)}]"
        conds = [cond("Initialized", "True", now=sched)]
        conds.append(cond("Ready", "True", now=now) if ready else
                     cond("Ready", "False", "ContainersNotReady", msg, now=now))
        conds.append(cond("ContainersReady", "True", now=now) if ready else
                     cond("ContainersReady", "False", "ContainersNotReady", msg, now=now))
        conds.append(cond("PodScheduled", "True", now=sched))
        st = {"phase": "Failed" if failed else ("Pending" if pending else "Running"),
              "conditions": set_conditions(old.get("conditions"), conds),
              "hostIP": info["host"], "hostIPs": [{"ip": info["host"]}]}
        if info["ip"]:
            st["podIP"], st["podIPs"] = info["ip"], [{"ip": info["ip"]}]
        st["startTime"] = iso(sched)
        if spec.get("initContainers"):
            st["initContainerStatuses"] = [{
                "name": c.get("name"), "image": c.get("image"), "imageID": "", "ready": True, "started": False,
                "restartCount": 0, "lastState": {}, "state": {"terminated": {
                    "exitCode": 0, "reason": "Completed", "startedAt": iso(sched), "finishedAt": iso(sched)}}}
                for c in spec["initContainers"]]
        st["containerStatuses"] = statuses
        if spec.get("ephemeralContainers"):
            eph = []
            for c in spec["ephemeralContainers"]:
                started = info["eph"].setdefault(c.get("name"), now)
                eph.append({"name": c.get("name"), "image": c.get("image"), "imageID": "", "ready": False,
                            "restartCount": 0, "containerID": "containerd://" + hashlib.sha256(
                                f"{uid}/eph/{c.get('name')}".encode()).hexdigest(),
                            "state": {"running": {"startedAt": iso(started)}}, "lastState": {}})
            st["ephemeralContainerStatuses"] = eph
        st["qosClass"] = old.get("qosClass") or qos_class(spec)
        return st

    def _kubelet(self, pod, nodes, node_ready, now):
        uid = pod["metadata"]["uid"]
        if uid not in self.pinfo:
            node = nodes.get(pod["spec"]["nodeName"])
            if node is None:
                return  # bound to a node that does not exist: stays Pending, as on a real cluster
            self._bind(pod, node, now)
        info = self.pinfo[uid]
        key = (pod["metadata"]["resourceVersion"], node_ready.get(pod["spec"]["nodeName"]))
        if info.get("settled") == key and now < info["next"]:
            self.wake(info["next"])
            return
        st = self._pod_status(pod, node_ready, now)
        self.wake(info["next"])
        if st != pod.get("status"):
            new = copy.deepcopy(pod)
            new["status"] = st
            self._ctl_write(R["pods"], pod, new)
        else:
            info["settled"] = key

    def _deployment_status(self, d, pods, now):
        spec, md = d["spec"], d["metadata"]
        dinfo = self.dinfo.setdefault(md["uid"], {})
        ssig = (md["resourceVersion"], tuple(sorted(p["metadata"]["resourceVersion"] for p in pods)))
        if dinfo.get("status") == ssig and now < dinfo.get("status_next", math.inf):
            self.wake(dinfo["status_next"])
            return
        replicas = spec.get("replicas", 1)
        h = self.template_hash(d)
        new = [p for p in pods if p["metadata"]["labels"].get("pod-template-hash") == h]
        min_ready = spec.get("minReadySeconds", 0)
        ready = sum(1 for p in pods if self.is_ready(p))
        avail = sum(1 for p in pods if self.is_available(p, min_ready, now))
        new_avail = sum(1 for p in new if self.is_available(p, min_ready, now))
        _, unavailable = fenceposts(spec, replicas)
        info = dinfo
        info.setdefault("progress", now)
        sig = (md.get("generation"), len(pods), len(new), ready, avail)
        if sig != info.get("sig"):
            info["sig"], info["progress"] = sig, now
        st = {"observedGeneration": md.get("generation", 1)}
        # zero counts are left out, as the real API's JSON does (omitempty)
        for k, v in (("replicas", len(pods)), ("updatedReplicas", len(new)), ("readyReplicas", ready),
                     ("availableReplicas", avail), ("unavailableReplicas", max(replicas - avail, 0))):
            if v:
                st[k] = v
        rs = f"{md['name']}-{h}"
        complete = len(new) == replicas and len(pods) == replicas and new_avail == replicas
        stamps = ("lastUpdateTime", "lastTransitionTime")
        if avail >= replicas - unavailable:
            conds = [cond("Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability.",
                          stamps, now)]
        else:
            conds = [cond("Available", "False", "MinimumReplicasUnavailable",
                          "Deployment does not have minimum availability.", stamps, now)]
        if spec.get("paused"):
            conds.append(cond("Progressing", "Unknown", "DeploymentPaused", "Deployment is paused", stamps, now))
        elif complete:
            conds.append(cond("Progressing", "True", "NewReplicaSetAvailable",
                              f'ReplicaSet "{rs}" has successfully progressed.', stamps, now))
        elif now - info["progress"] > spec.get("progressDeadlineSeconds", 600):
            conds.append(cond("Progressing", "False", "ProgressDeadlineExceeded",
                              f'ReplicaSet "{rs}" has timed out progressing.', stamps, now))
        else:
            c = cond("Progressing", "True", "ReplicaSetUpdated", f'ReplicaSet "{rs}" is progressing.', stamps, now)
            conds.append(c)
        old = d.get("status") or {}
        st["conditions"] = set_conditions(old.get("conditions"), conds)
        for c in st["conditions"]:
            if c["type"] == "Progressing" and c.get("reason") == "ReplicaSetUpdated":
                c["lastUpdateTime"] = iso(info["progress"])
        nxt = math.inf
        if not complete and not spec.get("paused"):
            nxt = info["progress"] + spec.get("progressDeadlineSeconds", 600) + 0.01
        if min_ready:
            for p in pods:
                since = self.pinfo.get(p["metadata"]["uid"], {}).get("ready_since")
                if since is not None and now < since + min_ready:
                    nxt = min(nxt, since + min_ready)
        info["status_next"] = nxt
        self.wake(nxt)
        if st != old:
            new_d = copy.deepcopy(d)
            new_d["status"] = st
            self._ctl_write(R["deployments"], d, new_d)
        else:
            info["status"] = ssig

    def _pvc_step(self, now):
        for pvc in list(self.objects["persistentvolumeclaims"].values()):
            if (pvc.get("status") or {}).get("phase") != "Pending":
                continue
            uid = pvc["metadata"]["uid"]
            if now - self.seen.setdefault(uid, now) < PVC_BIND_SECONDS:
                self.wake(self.seen[uid] + PVC_BIND_SECONDS)
                continue
            new = copy.deepcopy(pvc)
            new["spec"]["volumeName"] = f"pvc-{uid}"
            new["status"] = {"phase": "Bound", "accessModes": new["spec"].get("accessModes", []),
                             "capacity": {"storage": new["spec"]["resources"]["requests"]["storage"]}}
            self._ctl_write(R["persistentvolumeclaims"], pvc, new)

    # --- watch support

    def events_since(self, pos, res, ns, lsel, fsel):
        out = []
        match = lambda o: o is not None and labels_match(lsel, o["metadata"].get("labels")) and fields_match(fsel, o)
        for rv in range(pos + 1, self.rv + 1):
            etype, plural, ons, obj, prev = self.history[rv]
            if plural != res.plural or (ns is not None and ons != ns):
                continue
            now_m, was_m = match(obj), match(prev)
            if etype == "MODIFIED":
                etype = "MODIFIED" if now_m and was_m else "ADDED" if now_m else "DELETED" if was_m else None
            elif not now_m:
                etype = None
            if etype:
                out.append((etype, obj))
        return out


def tracked_spec(obj):
    return {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "metadata", "status")}


# ---------------------------------------------------------------------------------------------------------------
# HTTP

STORE = None
TOKEN = ""
LOG_LOCK = threading.Lock()


def log(line):
    with LOG_LOCK:
        sys.stderr.write(f"{iso_nano(time.time())[:23]}Z {line}\n")
        sys.stderr.flush()


def parse_path(path):
    segs = path.strip("/").split("/")
    if segs[:2] == ["api", "v1"]:
        group, rest = "", segs[2:]
    elif segs[:3] == ["apis", "apps", "v1"]:
        group, rest = "apps", segs[3:]
    else:
        return None
    ns = None
    inner = BY_PATH.get((group, rest[2])) if len(rest) >= 3 and rest[0] == "namespaces" else None
    if inner is not None and inner.namespaced:
        ns, rest = rest[1], rest[2:]
    if not rest or len(rest) > 3 or (group, rest[0]) not in BY_PATH:
        return None
    res = BY_PATH[(group, rest[0])]
    name = rest[1] if len(rest) > 1 else None
    sub = rest[2] if len(rest) > 2 else None
    if name is not None and res.namespaced and ns is None:
        return None
    return res, ns, name, sub


def discovery(group):
    verbs_ro = ["get", "list", "watch"]
    verbs = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
    resources = []
    for r in RESOURCES:
        if r.group != group:
            continue
        singular = r.kind.lower()
        v = verbs_ro if r.readonly else [x for x in verbs if x != "deletecollection" or r.plural != "namespaces"]
        resources.append({"name": r.plural, "singularName": singular, "namespaced": r.namespaced, "kind": r.kind,
                          "verbs": v, **({"shortNames": r.short} if r.short else {})})
        if r.has_status:
            resources.append({"name": f"{r.plural}/status", "singularName": "", "namespaced": r.namespaced,
                              "kind": r.kind, "verbs": ["get"]})
    resources += [
        {"name": "pods/log", "singularName": "", "namespaced": True, "kind": "Pod", "verbs": ["get"]},
        {"name": "pods/ephemeralcontainers", "singularName": "", "namespaced": True, "kind": "Pod",
         "verbs": ["get", "patch", "update"]}] if group == "" else [
        {"name": "deployments/scale", "singularName": "", "namespaced": True, "group": "autoscaling",
         "version": "v1", "kind": "Scale", "verbs": ["get", "patch", "update"]}]
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "apps/v1" if group else "v1",
            "resources": resources}


def strip_type(o):
    # list items carry no kind/apiVersion on the real API either
    return {k: v for k, v in o.items() if k not in ("kind", "apiVersion")}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 600
    disable_nagle_algorithm = True
    server_version = "kube-sim"
    sys_version = ""

    def log_message(self, fmt, *args):
        pass

    def log_error(self, fmt, *args):
        log("http: " + fmt % args)

    def do_GET(self):
        self.dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def dispatch(self):
        t0 = time.monotonic()
        self.code, self.sent = 0, False
        try:
            self.body = self.read_body()
            self.route()
        except ApiError as e:
            if not self.sent:
                self.send_json(e.code, e.status())
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, TimeoutError):
            self.close_connection = True
        except Exception:
            log("error: " + traceback.format_exc())
            if not self.sent:
                self.send_json(500, ApiError(500, "InternalError", "kube-sim internal error (see its log)").status())
            self.close_connection = True
        finally:
            log(f"{self.command} {self.path} {self.code or '-'} {(time.monotonic() - t0) * 1000:.0f}ms")

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks, size = [], 0
            while True:
                n = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if n == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                size += n
                if size > MAX_BODY:
                    self.close_connection = True
                    raise ApiError(413, "RequestEntityTooLarge", "the request body is too large")
                chunks.append(self.rfile.read(n))
                self.rfile.readline()
            return b"".join(chunks)
        n = int(self.headers.get("Content-Length") or 0)
        if n > MAX_BODY:
            self.close_connection = True
            raise ApiError(413, "RequestEntityTooLarge", "the request body is too large")
        return self.rfile.read(n) if n else b""

    def send_json(self, code, obj, ctype="application/json"):
        data = obj if isinstance(obj, bytes) else (obj.encode() if isinstance(obj, str) else dumps(obj).encode())
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("Audit-Id", str(uuid.uuid4()))
        self.end_headers()
        self.code, self.sent = code, True
        self.wfile.write(data)

    def start_stream(self, ctype):
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()
        self.code, self.sent = 200, True

    def chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    def end_stream(self):
        self.wfile.write(b"0\r\n\r\n")

    def client_gone(self):
        # nothing is expected from a client while we stream; readable means it closed (or broke) the connection
        try:
            return bool(select.select([self.connection], [], [], 0)[0])
        except (OSError, ValueError):
            return True

    def authorized(self):
        auth = self.headers.get("Authorization", "")
        return auth.startswith("Bearer ") and hmac.compare_digest(auth[7:].strip().encode(), TOKEN.encode())

    def json_body(self, allow_empty=False):
        ctype = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if ctype not in ("", "application/json", "*/*"):
            raise ApiError(415, "UnsupportedMediaType", f'the body of the request was in an unknown format "{ctype}": '
                           "kube-sim accepts only JSON request bodies (application/json)")
        if not self.body and allow_empty:
            return {}
        try:
            obj = json.loads(self.body)
        except ValueError as e:
            raise bad_request(f"the body of the request could not be decoded as JSON: {e}")
        if not isinstance(obj, dict):
            raise bad_request("the body of the request must be a JSON object")
        return obj

    def manager(self):
        m = self.q.get("fieldManager")
        if m:
            if len(m) > 128:
                raise ApiError(422, "Invalid", "fieldManager: Too long: may not be longer than 128")
            return m
        return (self.headers.get("User-Agent") or "unknown").split("/")[0] or "unknown"

    def dry(self):
        return self.q.get("dryRun") == "All"

    # --- routing

    def route(self):
        url = urllib.parse.urlsplit(self.path)
        self.q = {k: v[-1] for k, v in urllib.parse.parse_qs(url.query, keep_blank_values=True).items()}
        path = "/" + url.path.strip("/")
        if not self.authorized():
            raise ApiError(401, "Unauthorized", "Unauthorized")
        if path.startswith("/sim/"):
            return self.sim(path)
        with STORE.lock:
            STORE.stats["requests"] += 1
        self.faults()
        if path in ("/healthz", "/readyz", "/livez"):
            return self.send_json(200, "ok", "text/plain; charset=utf-8")
        if path == "/version":
            return self.send_json(200, VERSION)
        if path == "/api":
            return self.send_json(200, {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
                {"clientCIDR": "0.0.0.0/0", "serverAddress": f"127.0.0.1:{self.server.server_port}"}]})
        apps = {"name": "apps", "versions": [{"groupVersion": "apps/v1", "version": "v1"}],
                "preferredVersion": {"groupVersion": "apps/v1", "version": "v1"}}
        if path == "/apis":
            return self.send_json(200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": [apps]})
        if path == "/apis/apps":
            return self.send_json(200, dict(apps, kind="APIGroup", apiVersion="v1"))
        if path in ("/api/v1", "/apis/apps/v1"):
            return self.send_json(200, discovery("apps" if path.startswith("/apis") else ""))
        target = parse_path(path)
        if target is None:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        self.resource(*target)

    def faults(self):
        f = STORE.faults
        with f.cond:
            while f.mode == "down":
                f.cond.wait(1.0)
            mode, ms = f.mode, f.ms
        if mode == "slow":
            time.sleep(ms / 1000)
        elif mode == "errors":
            raise ApiError(500, "InternalError", 'Internal error occurred: kube-sim fault "errors" is set')

    def sim(self, path):
        m = self.command
        if path == "/sim/stats" and m == "GET":
            with STORE.lock:
                return self.send_json(200, STORE.stats)
        if path == "/sim/stats/reset" and m == "POST":
            with STORE.lock:
                STORE.reset_stats()
                return self.send_json(200, STORE.stats)
        if path == "/sim/compact" and m == "POST":
            with STORE.lock:
                return self.send_json(200, {"compactedTo": STORE.compact()})
        if path == "/sim/fault" and m in ("GET", "POST"):
            f = STORE.faults
            if m == "POST":
                body = self.json_body()
                mode = body.get("mode")
                with f.cond:
                    if mode == "clear":
                        f.mode, f.ms, f.nodes_notready = None, 0, False
                    elif mode == "nodes-notready":
                        f.nodes_notready = True
                    elif mode in ("down", "errors"):
                        f.mode, f.ms = mode, 0
                    elif mode == "slow" and isinstance(body.get("ms"), int) and body["ms"] >= 0:
                        f.mode, f.ms = mode, body["ms"]
                    else:
                        raise bad_request('mode must be one of "down", "slow" (with "ms"), "errors", '
                                          '"nodes-notready", "clear"')
                    f.cond.notify_all()
                log(f"fault: {f.view()}")
            with f.cond:
                return self.send_json(200, f.view())
        raise ApiError(404, "NotFound", "the server could not find the requested resource")

    def resource(self, res, ns, name, sub):
        m = self.command
        if sub:
            return self.subresource(res, ns, name, sub)
        if name is None:
            if m == "GET":
                return self.watch(res, ns) if self.q.get("watch") in ("true", "1") else self.list(res, ns)
            if res.readonly or (m == "POST" and res.namespaced and ns is None):
                raise method_not_allowed()
            if m == "POST":
                return self.create(res, ns)
            if m == "DELETE" and res.plural != "namespaces":
                return self.delete_collection(res, ns)
            raise method_not_allowed()
        if m == "GET":
            with STORE.lock:
                obj = STORE.get(res, ns, name)
            return self.send_json(200, obj)
        if res.readonly:
            raise method_not_allowed()
        if m == "PUT":
            return self.replace(res, ns, name)
        if m == "PATCH":
            return self.patch(res, ns, name)
        if m == "DELETE":
            return self.delete(res, ns, name)
        raise method_not_allowed()

    def check_body(self, res, obj, ns, name=None, need_type=False):
        av, kind = obj.get("apiVersion"), obj.get("kind")
        if need_type and (not av or not kind):
            raise bad_request("apiVersion and kind must be set in the body")
        if av and av != res.api_version:
            raise bad_request(f"the API version in the data ({av}) does not match the expected API version "
                              f"({res.api_version})")
        if kind and kind != res.kind:
            raise bad_request(f"the kind in the data ({kind}) does not match the expected kind ({res.kind})")
        md = obj.get("metadata")
        if md is None:
            md = obj["metadata"] = {}
        if not isinstance(md, dict):
            raise bad_request("metadata must be an object")
        if res.namespaced and md.get("namespace") and md["namespace"] != ns:
            raise bad_request("the namespace of the provided object does not match the namespace sent on the request")
        if name is not None and md.get("name") and md["name"] != name:
            raise bad_request(f"the name of the object ({md['name']}) does not match the name on the URL ({name})")
        return md

    # --- verbs

    def list(self, res, ns):
        lsel = parse_label_selector(self.q.get("labelSelector"))
        fsel = parse_field_selector(res, self.q.get("fieldSelector"))
        try:
            limit = int(self.q.get("limit") or 0)
        except ValueError:
            raise bad_request("limit must be an integer")
        with STORE.lock:
            items, rv = STORE.select(res, ns, lsel, fsel), STORE.rv
        meta = {"resourceVersion": str(rv)}
        if self.q.get("continue"):
            try:
                start = json.loads(base64.urlsafe_b64decode(self.q["continue"]))["start"]
            except (ValueError, KeyError, TypeError):
                raise bad_request("invalid continue token")
            items = [i for i in items if [i["metadata"].get("namespace", ""), i["metadata"]["name"]] > start]
        if limit > 0 and len(items) > limit:
            last = items[limit - 1]["metadata"]
            token = dumps({"start": [last.get("namespace", ""), last["name"]]}).encode()
            meta["continue"] = base64.urlsafe_b64encode(token).decode()
            meta["remainingItemCount"] = len(items) - limit
            items = items[:limit]
        self.send_json(200, {"kind": res.kind + "List", "apiVersion": res.api_version, "metadata": meta,
                             "items": [strip_type(i) for i in items]})

    def watch(self, res, ns):
        lsel = parse_label_selector(self.q.get("labelSelector"))
        fsel = parse_field_selector(res, self.q.get("fieldSelector"))
        try:
            timeout = float(self.q.get("timeoutSeconds") or 1800)
            rv_param = self.q.get("resourceVersion") or ""
            start = int(rv_param) if rv_param not in ("", "0") else None
        except ValueError:
            raise bad_request("resourceVersion and timeoutSeconds must be numbers")
        bookmarks = self.q.get("allowWatchBookmarks") in ("true", "1")
        initial = self.q.get("sendInitialEvents") in ("true", "1")
        deadline = time.monotonic() + timeout
        bookmark = lambda rv, extra=None: {"type": "BOOKMARK", "object": {
            "kind": res.kind, "apiVersion": res.api_version,
            "metadata": {"resourceVersion": str(rv), **({"annotations": extra} if extra else {})}}}
        events, done = [], False
        with STORE.lock:
            if start is not None and not initial:
                if start < STORE.history_start:
                    events.append({"type": "ERROR", "object": ApiError(
                        410, "Expired", f"too old resource version: {start} ({STORE.history_start})").status()})
                    done = True
                pos = start
            else:
                events = [{"type": "ADDED", "object": o} for o in STORE.select(res, ns, lsel, fsel)]
                pos = STORE.rv
                if initial:
                    events.append(bookmark(pos, {"k8s.io/initial-events-end": "true"}))
        self.start_stream("application/json")
        last_sent = time.monotonic()
        while True:
            for e in events:
                self.chunk(dumps(e).encode() + b"\n")
            if events:
                last_sent = time.monotonic()
            events = []
            if done:
                break
            now = time.monotonic()
            if now >= deadline or self.client_gone():
                break
            with STORE.lock:
                down = STORE.faults.mode == "down"  # an unreachable server delivers nothing
                if STORE.rv == pos or down:
                    STORE.cond.wait(min(1.0, deadline - now))
                if down:
                    continue
                if pos < STORE.history_start:
                    events = [{"type": "ERROR", "object": ApiError(
                        410, "Expired", f"too old resource version: {pos} ({STORE.history_start})").status()}]
                    done = True
                else:
                    events = [{"type": t, "object": o} for t, o in STORE.events_since(pos, res, ns, lsel, fsel)]
                    pos = max(pos, STORE.rv)
            if not events and bookmarks and time.monotonic() - last_sent >= BOOKMARK_SECONDS:
                events = [bookmark(pos)]
        self.end_stream()

    def create(self, res, ns):
        obj = self.json_body()
        md = self.check_body(res, obj, ns)
        if md.get("resourceVersion"):
            raise bad_request("resourceVersion should not be set on objects to be created")
        if not md.get("name"):
            if not md.get("generateName"):
                raise invalid(res, "", [("metadata.name", "FieldValueRequired",
                                         "Required value: name or generateName is required")])
            md["name"] = md["generateName"] + rand5()
        if res.namespaced:
            md["namespace"] = ns
        else:
            md.pop("namespace", None)
        with STORE.lock:
            out = STORE.create(res, obj, updater=self.manager(), dry=self.dry())
        self.send_json(201, out)

    def replace(self, res, ns, name):
        obj = self.json_body()
        md = self.check_body(res, obj, ns, name)
        with STORE.lock:
            cur = STORE.get(res, ns, name)
            if md.get("resourceVersion") and str(md["resourceVersion"]) != cur["metadata"]["resourceVersion"]:
                raise rv_conflict(res, name)
            managers = copy_managers(STORE.managed.get((res.plural, ns or "", name), {}))
            out, _ = STORE.update(res, cur, copy.deepcopy(obj), managers, updater=self.manager(), dry=self.dry())
        self.send_json(200, out)

    def patch_doc(self, doc):
        ctype = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        try:
            patch = json.loads(self.body)
        except ValueError as e:
            raise bad_request(f"the patch could not be decoded as JSON: {e}")
        if ctype in ("application/merge-patch+json", "application/strategic-merge-patch+json"):
            if not isinstance(patch, dict):
                raise bad_request("a merge patch must be a JSON object")
            return json_merge(doc, patch) if ctype == "application/merge-patch+json" else strategic_merge(doc, patch)
        if ctype == "application/json-patch+json":
            return json_patch(doc, patch)
        raise ApiError(415, "UnsupportedMediaType", f'the body of the request was in an unknown format "{ctype}" - '
                       "accepted media types include: application/json-patch+json, application/merge-patch+json, "
                       "application/apply-patch+yaml, application/strategic-merge-patch+json")

    def patch(self, res, ns, name):
        ctype = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if ctype == "application/apply-patch+yaml":
            return self.apply(res, ns, name)
        with STORE.lock:
            cur = STORE.get(res, ns, name)
            new = self.patch_doc(copy.deepcopy(cur))
            if not isinstance(new, dict):
                raise bad_request("the patched object must be a JSON object")
            self.check_body(res, new, ns, name)
            rv = new["metadata"].get("resourceVersion")
            if rv is not None and str(rv) != cur["metadata"]["resourceVersion"]:
                raise rv_conflict(res, name)
            managers = copy_managers(STORE.managed.get((res.plural, ns or "", name), {}))
            out, _ = STORE.update(res, cur, new, managers, updater=self.manager(), dry=self.dry())
        self.send_json(200, out)

    def apply(self, res, ns, name):
        manager = self.q.get("fieldManager")
        if not manager:
            raise ApiError(422, "Invalid", 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: '
                           "is required for apply patch", {"group": "meta.k8s.io", "kind": "PatchOptions", "causes": [{
                               "reason": "FieldValueRequired", "message": "Required value: is required for apply patch",
                               "field": "fieldManager"}]})
        try:
            obj = json.loads(self.body)
        except ValueError:
            raise ApiError(415, "UnsupportedMediaType", "kube-sim accepts only JSON-formatted apply bodies "
                           "(JSON is valid YAML, so send the object as JSON with Content-Type "
                           "application/apply-patch+yaml)")
        if not isinstance(obj, dict):
            raise bad_request("an apply body must be an object")
        self.check_body(res, obj, ns, name, need_type=True)
        with STORE.lock:
            code, out = STORE.apply(res, ns, name, obj, manager, self.q.get("force") in ("true", "1"), self.dry())
        self.send_json(code, out)

    def delete_options(self):
        opts = self.json_body(allow_empty=True) if self.body else {}
        propagation = self.q.get("propagationPolicy") or opts.get("propagationPolicy") or "Background"
        if propagation not in ("Background", "Foreground", "Orphan"):
            raise bad_request(f"propagationPolicy: Unsupported value: {propagation!r}")
        if self.q.get("orphanDependents") == "true" or opts.get("orphanDependents") is True:
            propagation = "Orphan"
        return opts.get("preconditions") or {}, propagation

    def delete(self, res, ns, name):
        pre, propagation = self.delete_options()
        with STORE.lock:
            gone = STORE.delete(res, ns, name, pre, propagation, self.dry())
        if res.plural in ("pods", "namespaces"):
            return self.send_json(200, gone)
        self.send_json(200, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                             "details": details(res, name, uid=gone["metadata"]["uid"])})

    def delete_collection(self, res, ns):
        pre, propagation = self.delete_options()
        lsel = parse_label_selector(self.q.get("labelSelector"))
        fsel = parse_field_selector(res, self.q.get("fieldSelector"))
        with STORE.lock:
            items = STORE.select(res, ns, lsel, fsel)
            gone = [STORE.delete(res, o["metadata"].get("namespace"), o["metadata"]["name"], {}, propagation,
                                 self.dry()) for o in items]
            rv = STORE.rv
        self.send_json(200, {"kind": res.kind + "List", "apiVersion": res.api_version,
                             "metadata": {"resourceVersion": str(rv)}, "items": [strip_type(o) for o in gone]})

    # --- subresources

    def subresource(self, res, ns, name, sub):
        m = self.command
        if sub == "status" and res.has_status:
            if m != "GET":
                raise ApiError(405, "MethodNotAllowed",
                               "kube-sim: status is written by the simulator's controllers only")
            with STORE.lock:
                return self.send_json(200, STORE.get(res, ns, name))
        if res.plural == "pods" and sub == "log" and m == "GET":
            return self.pod_log(ns, name)
        if res.plural == "pods" and sub == "ephemeralcontainers" and m in ("GET", "PATCH", "PUT"):
            return self.ephemeral(ns, name)
        if res.plural == "deployments" and sub == "scale" and m in ("GET", "PATCH", "PUT"):
            return self.scale(ns, name)
        if sub in ("log", "ephemeralcontainers", "scale", "status"):
            raise method_not_allowed()
        raise ApiError(404, "NotFound", "the server could not find the requested resource")

    def ephemeral(self, ns, name):
        res = R["pods"]
        with STORE.lock:
            cur = STORE.get(res, ns, name)
            if self.command == "GET":
                return self.send_json(200, cur)
            if self.command == "PUT":
                doc = self.json_body()
                self.check_body(res, doc, ns, name)
            else:
                doc = self.patch_doc(copy.deepcopy(cur))
            spec = doc.get("spec") if isinstance(doc, dict) else None
            wanted = (spec or {}).get("ephemeralContainers") or []
            if not isinstance(wanted, list):
                raise bad_request("spec.ephemeralContainers must be a list")
            existing = {c["name"]: c for c in cur["spec"].get("ephemeralContainers") or []}
            have = {c.get("name") for c in wanted if isinstance(c, dict)}
            removed = [n for n in existing if n not in have]
            if removed:
                raise invalid(res, name, [("spec.ephemeralContainers", "FieldValueForbidden", "Forbidden: existing "
                                           f"ephemeral containers {dumps(removed[0])} may not be removed")])
            new = copy.deepcopy(cur)
            new["spec"]["ephemeralContainers"] = copy.deepcopy(wanted)
            default_pod_spec(new["spec"], pod=True)
            for c in new["spec"]["ephemeralContainers"]:
                if c.get("name") in existing and c != existing[c["name"]]:
                    raise invalid(res, name, [("spec.ephemeralContainers", "FieldValueForbidden", "Forbidden: existing "
                                               f"ephemeral containers {dumps(c['name'])} may not be changed")])
            managers = copy_managers(STORE.managed.get(("pods", ns, name), {}))
            out, _ = STORE.update(res, cur, new, managers, updater=self.manager(), dry=self.dry(), ephemeral=True)
        self.send_json(200, out)

    def scale(self, ns, name):
        res = R["deployments"]

        def scale_of(d):
            sel = (d["spec"].get("selector") or {}).get("matchLabels") or {}
            md = d["metadata"]
            return {"kind": "Scale", "apiVersion": "autoscaling/v1", "metadata": {
                "name": md["name"], "namespace": md["namespace"], "uid": md["uid"],
                "resourceVersion": md["resourceVersion"], "creationTimestamp": md["creationTimestamp"]},
                "spec": {"replicas": d["spec"].get("replicas", 1)},
                "status": {"replicas": (d.get("status") or {}).get("replicas", 0),
                           "selector": ",".join(f"{k}={v}" for k, v in sorted(sel.items()))}}

        with STORE.lock:
            cur = STORE.get(res, ns, name)
            if self.command == "GET":
                return self.send_json(200, scale_of(cur))
            doc = self.json_body() if self.command == "PUT" else self.patch_doc(scale_of(cur))
            rv = (doc.get("metadata") or {}).get("resourceVersion")
            if rv and str(rv) != cur["metadata"]["resourceVersion"]:
                raise rv_conflict(res, name)
            replicas = (doc.get("spec") or {}).get("replicas")
            if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
                raise invalid(res, name, [bad_value("spec.replicas", replicas, "must be greater than or equal to 0")])
            new = copy.deepcopy(cur)
            new["spec"]["replicas"] = replicas
            managers = copy_managers(STORE.managed.get(("deployments", ns, name), {}))
            out, _ = STORE.update(res, cur, new, managers, updater=self.manager(), dry=self.dry())
            body = scale_of(out)
        self.send_json(200, body)

    def pod_log(self, ns, name):
        q = self.q
        with STORE.lock:
            pod = STORE.get(R["pods"], ns, name)
        names = [c["name"] for c in pod["spec"].get("containers") or []]
        eph = [c["name"] for c in pod["spec"].get("ephemeralContainers") or []]
        cname = q.get("container")
        if not cname:
            if len(names) != 1:
                raise bad_request(f"a container name must be specified for pod {name}, "
                                  f"choose one of: [{' '.join(names)}]")
            cname = names[0]
        if cname not in names + eph + [c["name"] for c in pod["spec"].get("initContainers") or []]:
            raise bad_request(f"container {cname} is not valid for pod {name}")
        tail = int(q["tailLines"]) if q.get("tailLines", "").isdigit() else None
        since = float(q["sinceSeconds"]) if q.get("sinceSeconds", "").isdigit() else None
        stamps = q.get("timestamps") in ("true", "1")
        lines = self.log_lines(pod, cname, time.time())
        if since is not None:
            lines = [l for l in lines if l[0] >= time.time() - since]
        if tail is not None:
            lines = lines[-tail:] if tail else []
        fmt = lambda t, text: ((iso_nano(t) + " ") if stamps else "") + text + "\n"
        if q.get("follow") not in ("true", "1"):
            return self.send_json(200, "".join(fmt(t, x) for t, x in lines), "text/plain")
        self.start_stream("text/plain")
        for t, x in lines:
            self.chunk(fmt(t, x).encode())
        last = lines[-1][0] if lines else 0
        uid, deadline = pod["metadata"]["uid"], time.monotonic() + 1800
        while time.monotonic() < deadline and not self.client_gone():
            time.sleep(0.5)
            with STORE.lock:
                cur = STORE.objects["pods"].get((ns, name))
            if cur is None or cur["metadata"]["uid"] != uid:
                break
            for t, x in self.log_lines(cur, cname, time.time()):
                if t > last:
                    self.chunk(fmt(t, x).encode())
                    last = t
        self.end_stream()

    @staticmethod
    def log_lines(pod, cname, now):
        st = pod.get("status") or {}
        cs = next((c for c in (st.get("containerStatuses") or []) + (st.get("ephemeralContainerStatuses") or [])
                   + (st.get("initContainerStatuses") or []) if c.get("name") == cname), None)
        state = (cs or {}).get("state") or {}
        if cs is None or (state.get("waiting") and not cs.get("restartCount")):
            why = "trying and failing to pull image" if "waiting" in state and \
                state["waiting"].get("reason") == "ImagePullBackOff" else "ContainerCreating"
            raise bad_request(f'container "{cname}" in pod "{pod["metadata"]["name"]}" is waiting to start: {why}')
        started = (state.get("running") or state.get("terminated") or {}).get("startedAt") or st.get("startTime")
        t0 = parse_iso(started) if started else now
        c = next((c for c in (pod["spec"].get("containers") or []) + (pod["spec"].get("ephemeralContainers") or [])
                  if c.get("name") == cname), {})
        stamp = lambda t: iso_nano(t)[:23] + "Z"
        lines = [(t0, f"{stamp(t0)} INFO kube-sim: container {cname} started (image {cs.get('image')})")]
        for p in c.get("ports") or []:
            lines.append((t0 + 0.001, f"{stamp(t0 + 0.001)} INFO listening on :{p.get('containerPort')}"))
        if "crashloop" in (cs.get("image") or ""):
            lines.append((t0 + 0.9, f"{stamp(t0 + 0.9)} FATAL simulated crash (the image name contains \"crashloop\")"))
            return lines
        lines.append((t0 + 0.002, f"{stamp(t0 + 0.002)} INFO ready"))
        n = int(max(now - t0, 0) // 5)
        for i in range(max(1, n - 999), n + 1):
            lines.append((t0 + 5 * i, f"{stamp(t0 + 5 * i)} INFO heartbeat {i}"))
        return lines


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, addr, handler, context):
        self.context = context
        super().__init__(addr, handler)

    def finish_request(self, request, client_address):
        # the TLS handshake runs here, in the connection's own thread, so a slow client cannot stall accept()
        request.settimeout(30)
        try:
            tls = self.context.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError):
            return
        try:
            tls.settimeout(None)
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            try:
                tls.close()
            except OSError:
                pass


# ---------------------------------------------------------------------------------------------------------------
# Commands

def serve(argv):
    p = argparse.ArgumentParser(prog="kube_sim.py serve")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--dir", required=True)
    p.add_argument("--nodes", type=int, default=3)
    p.add_argument("--node-cpu", default="4")
    p.add_argument("--node-memory", default="8Gi")
    p.add_argument("--ready-delay", type=float, default=1.0)
    p.add_argument("--pod-cidr", default="10.244")
    o = p.parse_args(argv)
    try:
        cpu, mem = millicores(o.node_cpu), byte_count(o.node_memory)
    except ValueError:
        p.error("--node-cpu and --node-memory must be Kubernetes quantities (e.g. 4, 4000m, 8Gi, 8589934592)")
    if not 1 <= o.nodes <= 200 or cpu <= 0 or mem <= 0 or o.ready_delay < 0:
        p.error("--nodes must be 1..200, --node-cpu and --node-memory positive, --ready-delay >= 0")
    m = re.fullmatch(r"10\.(\d{1,3})", o.pod_cidr)
    if not m or int(m.group(1)) > 255:
        p.error("--pod-cidr must look like 10.N (N 0..255); pods get 10.N.<node>.<host>")
    o.cpu_text = str(cpu // 1000) if cpu % 1000 == 0 else f"{cpu}m"
    o.memory_text = f"{mem // 1024}Ki" if mem % 1024 == 0 else str(mem)
    # close what a parent left open (a test runner's pipes), so nothing waits on this server
    os.closerange(3, 1024)
    global STORE, TOKEN
    with open(os.path.join(o.dir, "token")) as f:
        TOKEN = f.read().strip()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(o.dir, "server.crt"), os.path.join(o.dir, "server.key"))
    ctx.set_alpn_protocols(["http/1.1"])
    STORE = Store(o, log)
    STORE.bootstrap()

    def controller():
        while True:
            t = time.monotonic()
            try:
                STORE.tick()
            except Exception:
                log("controller: " + traceback.format_exc())
            time.sleep(max(0.01, TICK - (time.monotonic() - t)))

    threading.Thread(target=controller, name="controller", daemon=True).start()
    server = Server(("127.0.0.1", o.port), Handler, ctx)
    log(f"kube-sim serving https://127.0.0.1:{o.port} ({o.nodes} nodes of {o.cpu_text} CPU, {o.memory_text} memory; "
        f"ready delay {o.ready_delay}s; pod IPs {o.pod_cidr}.<node>.<n>)")
    server.serve_forever()


def call(d, method, path, body=None, timeout=10):
    with open(os.path.join(d, "port")) as f:
        port = f.read().strip()
    with open(os.path.join(d, "token")) as f:
        token = f.read().strip()
    ctx = ssl.create_default_context(cafile=os.path.join(d, "ca.crt"))
    req = urllib.request.Request(f"https://127.0.0.1:{port}{path}", method=method,
                                 data=None if body is None else dumps(body).encode(),
                                 headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, context=ctx, timeout=timeout) as r:
        return r.read().decode()


def alive(pid):
    try:
        os.kill(pid, 0)
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def main():
    args = sys.argv[1:]
    cmd = args[0] if args else ""
    if cmd == "serve":
        return serve(args[1:])
    if cmd == "wait" and len(args) == 3:
        with open(os.path.join(args[1], "pid")) as f:
            pid = int(f.read())
        end = time.monotonic() + float(args[2])
        while time.monotonic() < end and alive(pid):
            try:
                call(args[1], "GET", "/readyz", timeout=1)
                return 0
            except OSError:
                time.sleep(0.1)
        return 1
    if cmd == "fault" and len(args) in (3, 4):
        mode, body = args[2], {"mode": args[2]}
        if mode == "slow":
            if len(args) != 4 or not args[3].isdigit():
                sys.exit("usage: fault DIR slow MS")
            body["ms"] = int(args[3])
        print(call(args[1], "POST", "/sim/fault", body))
        return 0
    if cmd in ("compact", "stats", "stats-reset") and len(args) == 2:
        path = {"compact": "/sim/compact", "stats": "/sim/stats", "stats-reset": "/sim/stats/reset"}[cmd]
        print(call(args[1], "GET" if cmd == "stats" else "POST", path, None if cmd == "stats" else {}))
        return 0
    sys.exit(__doc__)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except urllib.error.HTTPError as e:
        sys.exit(f"kube-sim: {e.code} {e.read().decode(errors='replace')}")
    except (OSError, ValueError) as e:
        sys.exit(f"kube-sim: {e}")
