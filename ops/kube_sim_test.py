#!/usr/bin/env python3
"""Self-test of the simulated Kubernetes API: starts it with ops/kube-sim on a free port in a temporary directory
and checks the behaviour Wharf relies on over HTTPS (verified against DIR/ca.crt). Exits non-zero on a failure.

usage: python3 ops/kube_sim_test.py
"""
import json
import os
import re
import shutil
import socket
import ssl
import stat
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

OPS = os.path.dirname(os.path.abspath(__file__))
WRAPPER = os.path.join(OPS, "kube-sim")
NS = "sim-test"
DEPLOY = f"/apis/apps/v1/namespaces/{NS}/deployments"
PODS = f"/api/v1/namespaces/{NS}/pods"


class Client:
    def __init__(self, d, port):
        self.base = f"https://127.0.0.1:{port}"
        with open(os.path.join(d, "token")) as f:
            self.token = f.read().strip()
        self.ctx = ssl.create_default_context(cafile=os.path.join(d, "ca.crt"))

    def open(self, method, path, body=None, ctype="application/json", token=True, timeout=10):
        headers = {"Content-Type": ctype}
        if token:
            headers["Authorization"] = f"Bearer {self.token}"
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)
        return urllib.request.urlopen(req, context=self.ctx, timeout=timeout)

    def call(self, method, path, body=None, ctype="application/json", token=True, timeout=10):
        """Returns (status, decoded JSON or text); HTTP errors are answers too."""
        try:
            with self.open(method, path, body, ctype, token, timeout) as r:
                code, raw, rtype = r.status, r.read(), r.headers.get("Content-Type", "")
        except urllib.error.HTTPError as e:
            code, raw, rtype = e.code, e.read(), e.headers.get("Content-Type", "")
        return code, (json.loads(raw) if rtype.startswith("application/json") else raw.decode())

    def apply(self, path, obj, manager="wharf", force=False):
        q = f"?fieldManager={manager}" + ("&force=true" if force else "")
        return self.call("PATCH", path + q, obj, "application/apply-patch+yaml")

    def watch(self, path, until, timeout=5):
        """Reads watch events until until(events) is true or the stream ends; returns the events."""
        events = []
        with self.open("GET", path, timeout=timeout) as r:
            for line in r:
                events.append(json.loads(line))
                if until(events):
                    break
        return events


def deployment(image="registry.local/web:v1", replicas=2, name="web", cpu="100m", memory="64Mi"):
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "labels": {"app": name}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{
                         "name": "app", "image": image, "ports": [{"containerPort": 8080}],
                         "resources": {"requests": {"cpu": cpu, "memory": memory}}}]}}}}


def ready(pod):
    return any(c["type"] == "Ready" and c["status"] == "True" for c in pod.get("status", {}).get("conditions", []))


def wait_for(what, fn, timeout=15, every=0.05):
    end = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(every)


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def run(d, port):
    steps = []

    def step(name):
        now = time.monotonic()
        if steps:
            print(f"    ok ({now - steps[-1][1]:.1f}s)", flush=True)
        steps.append((name, now))
        print(f"  {name}", flush=True)

    c = Client(d, port)
    step("token file is private; requests without a token get 401 Status")
    check(stat.S_IMODE(os.stat(os.path.join(d, "token")).st_mode) == 0o600, "DIR/token is not mode 0600")
    code, body = c.call("GET", "/api/v1/namespaces", token=False)
    check(code == 401 and body["kind"] == "Status" and body["reason"] == "Unauthorized" and body["code"] == 401,
          f"want 401 Unauthorized, got {code} {body}")
    code, body = c.call("GET", "/version")
    check(code == 200 and body["major"] == "1", f"/version: {code} {body}")

    step("namespace by apply; errors come as Status objects")
    code, body = c.apply(f"/api/v1/namespaces/{NS}", {"apiVersion": "v1", "kind": "Namespace",
                                                      "metadata": {"name": NS}})
    check(code == 201 and body["status"]["phase"] == "Active", f"namespace apply: {code} {body}")
    code, body = c.apply(f"/apis/apps/v1/namespaces/nowhere/deployments/web", deployment())
    check(code == 404 and body["message"] == 'namespaces "nowhere" not found', f"missing namespace: {code} {body}")
    code, body = c.apply(f"{DEPLOY}/Bad_Name", dict(deployment(), metadata={"name": "Bad_Name"}))
    check(code == 422 and body["reason"] == "Invalid" and body["details"]["causes"][0]["field"] == "metadata.name",
          f"invalid name: {code} {body}")
    code, body = c.call("PATCH", f"{DEPLOY}/web?fieldManager=wharf", b"kind: Deployment\n",
                        "application/apply-patch+yaml")
    check(code == 415 and "JSON" in body["message"], f"YAML apply body: {code} {body}")
    code, body = c.call("PATCH", f"{DEPLOY}/web", deployment(), "application/apply-patch+yaml")
    check(code == 422 and "fieldManager" in body["message"], f"apply without fieldManager: {code} {body}")
    code, body = c.call("POST", f"/api/v1/namespaces/{NS}/configmaps",
                        {"apiVersion": "apps/v1", "kind": "ConfigMap", "metadata": {"name": "x"}})
    check(code == 400, f"wrong apiVersion in body: {code} {body}")

    step("apply a Deployment: 201, pods scheduled with IPs, ready, status readyReplicas 2")
    code, body = c.apply(f"{DEPLOY}/web", deployment())
    check(code == 201 and body["metadata"]["generation"] == 1
          and body["metadata"]["managedFields"][0]["manager"] == "wharf", f"deployment apply: {code} {body}")

    def deploy_ready(n, image=None):
        code, d = c.call("GET", f"{DEPLOY}/web")
        st = d.get("status", {})
        return d if (st.get("readyReplicas") == n and st.get("updatedReplicas") == n and st.get("replicas") == n
                     and st.get("observedGeneration") == d["metadata"]["generation"]) else None

    dep = wait_for("2 ready replicas", lambda: deploy_ready(2))
    pods = c.call("GET", f"{PODS}?labelSelector=app%3Dweb")[1]["items"]
    check(len(pods) == 2 and all(ready(p) for p in pods), f"pods: {pods}")
    ips = [p["status"]["podIP"] for p in pods]
    check(len(set(ips)) == 2 and all(ip.startswith("10.244.") for ip in ips), f"pod IPs {ips}")
    for p in pods:
        check(re.fullmatch(r"web-[0-9a-f]{10}-[a-z0-9]{5}", p["metadata"]["name"]), f"pod name {p['metadata']['name']}")
        check(p["metadata"]["ownerReferences"][0]["kind"] == "ReplicaSet"
              and p["spec"]["nodeName"].startswith("sim-node-"), "pod owner/node")
        check(p["status"]["containerStatuses"][0]["ready"] and p["status"]["phase"] == "Running", "container status")
    conds = {x["type"]: x["reason"] for x in dep["status"]["conditions"]}
    check(conds == {"Available": "MinimumReplicasAvailable", "Progressing": "NewReplicaSetAvailable"},
          f"conditions {conds}")
    code, logs = c.call("GET", f"{PODS}/{pods[0]['metadata']['name']}/log?tailLines=2")
    check(code == 200 and len(logs.splitlines()) == 2, f"pod log: {code} {logs!r}")

    step("re-applying the same body is a no-op: 200, same resourceVersion, counted in /sim/stats")
    stats0 = c.call("GET", "/sim/stats")[1]
    rv = c.call("GET", f"{DEPLOY}/web")[1]["metadata"]["resourceVersion"]
    code, body = c.apply(f"{DEPLOY}/web", deployment())
    check(code == 200 and body["metadata"]["resourceVersion"] == rv,
          f"no-op apply changed rv {rv} -> {body['metadata']}")
    stats1 = c.call("GET", "/sim/stats")[1]
    check(stats1["noopApplies"] == stats0["noopApplies"] + 1,
          f"noopApplies {stats0['noopApplies']} -> {stats1['noopApplies']}")
    check(stats1["writes"]["deployments"] == stats0["writes"]["deployments"], "a no-op apply was counted as a write")

    step("another manager's spec.replicas conflicts (409, cause .spec.replicas); force takes it over")
    other = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": {"replicas": 5}}
    code, body = c.apply(f"{DEPLOY}/web", other, manager="other")
    check(code == 409 and body["reason"] == "Conflict", f"conflict: {code} {body}")
    causes = body["details"]["causes"]
    check(causes == [{"type": "FieldManagerConflict", "message": 'conflict with "wharf"', "field": ".spec.replicas"}],
          f"causes {causes}")
    rv_before_force = c.call("GET", f"{DEPLOY}/web")[1]["metadata"]["resourceVersion"]
    code, body = c.apply(f"{DEPLOY}/web", other, manager="other", force=True)
    check(code == 200 and body["spec"]["replicas"] == 5 and body["metadata"]["generation"] == 2,
          f"force: {code} {body}")
    managers = {m["manager"]: m["fieldsV1"] for m in body["metadata"]["managedFields"]}
    check("f:replicas" in managers["other"]["f:spec"] and "f:replicas" not in managers["wharf"]["f:spec"],
          f"ownership after force: {managers}")
    code, body = c.apply(f"{DEPLOY}/web", deployment(), manager="wharf")
    check(code == 409, f"wharf no longer owns replicas and must conflict: {code}")
    code, body = c.apply(f"{DEPLOY}/web", dict(deployment(), metadata={"name": "web", "resourceVersion": "1"}))
    check(code == 409 and body["reason"] == "Conflict", f"stale resourceVersion in apply: {code} {body}")

    step("watch from a resourceVersion sees the MODIFIED events")
    events = c.watch(f"{DEPLOY}?watch=true&resourceVersion={rv_before_force}&timeoutSeconds=3",
                     lambda ev: any(e["type"] == "MODIFIED" and e["object"]["spec"]["replicas"] == 5 for e in ev))
    check(events and all(e["type"] == "MODIFIED" for e in events), f"watch events {[e['type'] for e in events]}")
    rvs = [int(e["object"]["metadata"]["resourceVersion"]) for e in events]
    check(rvs == sorted(rvs) and rvs[0] > int(rv_before_force), f"watch order {rvs}")

    step("after compact, a watch from an old resourceVersion gets ERROR 410 Expired")
    subprocess.run([WRAPPER, "compact", d], check=True, capture_output=True, timeout=10)
    events = c.watch(f"{DEPLOY}?watch=1&resourceVersion={rv_before_force}", lambda ev: False)
    check(len(events) == 1 and events[0]["type"] == "ERROR", f"events after compact {events}")
    st = events[0]["object"]
    check(st["code"] == 410 and st["reason"] == "Expired" and st["message"].startswith(
        f"too old resource version: {rv_before_force} ("), f"410 event {st}")
    list_rv = c.call("GET", DEPLOY)[1]["metadata"]["resourceVersion"]
    events = c.watch(f"{DEPLOY}?watch=1&resourceVersion={list_rv}&timeoutSeconds=1", lambda ev: False)
    check(not any(e["type"] == "ERROR" for e in events), f"a watch from the list's rv failed: {events}")

    step("an image change rolls: old and new pods coexist, ready never below replicas - maxUnavailable")
    code, body = c.apply(f"{DEPLOY}/web", deployment(replicas=4), force=True)
    check(code == 200 and body["spec"]["replicas"] == 4, f"scale to 4: {code}")
    wait_for("4 ready replicas", lambda: deploy_ready(4))
    replicas, max_unavailable = 4, 1  # 25% of 4, rounded down
    code, body = c.apply(f"{DEPLOY}/web", deployment(image="registry.local/web:v2", replicas=4))
    check(code == 200 and body["metadata"]["generation"] == 4, f"image change: {code} {body['metadata']}")
    samples, mixed = [], False
    end = time.monotonic() + 20
    while time.monotonic() < end:
        pods = c.call("GET", f"{PODS}?labelSelector=app%3Dweb")[1]["items"]
        images = {p["spec"]["containers"][0]["image"] for p in pods}
        mixed = mixed or len(images) == 2
        samples.append(sum(1 for p in pods if ready(p)))
        if images == {"registry.local/web:v2"} and len(pods) == 4 and all(ready(p) for p in pods):
            break
        time.sleep(0.03)
    else:
        raise AssertionError(f"the rollout did not finish; last pods {[p['metadata']['name'] for p in pods]}")
    check(mixed, "never saw old and new pods together")
    check(min(samples) >= replicas - max_unavailable, f"ready dropped to {min(samples)} (samples {samples})")
    dep = wait_for("rollout complete", lambda: deploy_ready(4))
    conds = {x["type"]: x["reason"] for x in dep["status"]["conditions"]}
    check(conds["Progressing"] == "NewReplicaSetAvailable", f"conditions after rollout {conds}")
    print(f"    ({len(samples)} samples, ready pods min {min(samples)} max {max(samples)})")

    step("a pod that fits no node stays Pending / Unschedulable")
    code, _ = c.apply(f"{DEPLOY}/huge", deployment(name="huge", replicas=1, cpu="1000"))
    check(code == 201, f"huge apply: {code}")

    def unschedulable():
        items = c.call("GET", f"{PODS}?labelSelector=app%3Dhuge")[1]["items"]
        for p in items:
            for x in p["status"].get("conditions", []):
                if x["type"] == "PodScheduled" and x["status"] == "False" and x.get("reason") == "Unschedulable":
                    return p
        return None

    p = wait_for("an Unschedulable pod", unschedulable)
    check(p["status"]["phase"] == "Pending" and not p["spec"].get("nodeName") and "Insufficient cpu" in
          next(x for x in p["status"]["conditions"] if x["type"] == "PodScheduled")["message"], f"pending pod {p}")
    code, _ = c.call("DELETE", f"{DEPLOY}/huge")
    check(code == 200, "delete huge")
    wait_for("huge's pods to go", lambda: not c.call("GET", f"{PODS}?labelSelector=app%3Dhuge")[1]["items"])

    step("fault down: a request with a 2 s timeout times out; clear: it works again")
    subprocess.run([WRAPPER, "fault", d, "down"], check=True, capture_output=True, timeout=10)
    t0 = time.monotonic()
    try:
        c.call("GET", "/api/v1/namespaces", timeout=2)
        raise AssertionError("a request answered while the fault down was set")
    except (TimeoutError, socket.timeout):
        pass
    except urllib.error.URLError as e:
        check(isinstance(e.reason, (TimeoutError, socket.timeout)), f"want a timeout, got {e!r}")
    check(1.9 <= time.monotonic() - t0 < 4, f"timed out after {time.monotonic() - t0:.1f}s")
    subprocess.run([WRAPPER, "fault", d, "clear"], check=True, capture_output=True, timeout=10)
    check(c.call("GET", "/api/v1/namespaces", timeout=5)[0] == 200, "not answering after clear")

    step("fault errors: 500 Status; slow: answers are delayed")
    subprocess.run([WRAPPER, "fault", d, "errors"], check=True, capture_output=True, timeout=10)
    code, body = c.call("GET", "/api/v1/namespaces")
    check(code == 500 and body["kind"] == "Status" and body["code"] == 500, f"errors fault: {code} {body}")
    subprocess.run([WRAPPER, "fault", d, "slow", "300"], check=True, capture_output=True, timeout=10)
    t0 = time.monotonic()
    check(c.call("GET", "/api/v1/namespaces")[0] == 200 and time.monotonic() - t0 >= 0.3, "slow fault")
    subprocess.run([WRAPPER, "fault", d, "clear"], check=True, capture_output=True, timeout=10)
    check(c.call("GET", "/api/v1/namespaces")[0] == 200, "not answering after clear")
    return steps


def main():
    t_start = time.monotonic()
    tmp = tempfile.mkdtemp(prefix="kube-sim-test.")
    d, port = os.path.join(tmp, "sim"), free_port()
    ok = False
    try:
        print(f"kube-sim self-test on 127.0.0.1:{port} in {d}", flush=True)
        subprocess.run([WRAPPER, "start", str(port), d, "--ready-delay", "0.3"], check=True, capture_output=True,
                       timeout=30)
        steps = run(d, port)
        print(f"    ok ({time.monotonic() - steps[-1][1]:.1f}s)", flush=True)
        print("  stop", flush=True)
        subprocess.run([WRAPPER, "stop", d], check=True, capture_output=True, timeout=15)
        with socket.socket() as s:
            check(s.connect_ex(("127.0.0.1", port)) != 0, "the simulator still listens after stop")
        ok = True
    except (AssertionError, subprocess.CalledProcessError) as e:
        print(f"FAILED: {e}", file=sys.stderr)
        if isinstance(e, subprocess.CalledProcessError):
            print(e.stderr.decode(errors="replace"), file=sys.stderr)
        try:
            with open(os.path.join(d, "log")) as f:
                print("last lines of the simulator's log:\n" + "".join(f.readlines()[-30:]), file=sys.stderr)
        except OSError:
            pass
    finally:
        subprocess.run([WRAPPER, "stop", d], capture_output=True, timeout=15)
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{'ok' if ok else 'FAILED'} in {time.monotonic() - t_start:.1f}s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
