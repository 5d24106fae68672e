#!/usr/bin/env python3
"""Renders every kustomize overlay under deploy/k8s and checks what operators rely on.

For each Deployment: startup/liveness/readiness probes (native gRPC for the latter two),
CPU and memory requests and limits, a non-root read-only security context without
privilege escalation or capabilities, a grace period covering preStop + drain, Prometheus
annotations on the metrics port, a Service and a headless Service that select its pods, a
PDB and an HPA (with the consumer-lag metric for journey and persona). Also: every
ConfigMap/Secret a pod references exists (Secrets may be left to the operator when listed
in OPERATOR_SECRETS), NetworkPolicies keep journey, persona and Redis private, every
definition file under config/ is deployed, every JOURNEY_<FLAG> variable names a defined
flag, and the Dockerfile builds the four binaries.

Usage: check_manifests.py REPO_ROOT            check every overlay
       check_manifests.py REPO_ROOT --self-test  prove each check fires on a broken input
Exit 0 = all good, 1 = problems (listed), 77 = kubectl missing (CTest SKIP).
"""
import copy
import os
import re
import shutil
import subprocess
import sys

import yaml

SERVICES = {  # DESIGN.md runtime conventions
    "ingest": {"grpc": 50051, "metrics": 9091},
    "journey": {"grpc": 50052, "metrics": 9092},
    "persona": {"grpc": 50053, "metrics": 9093},
    "recommend": {"grpc": 50054, "metrics": 9094},
}
PUBLIC = {"ingest", "recommend"}  # the only services reachable from outside the namespace
LAG_SCALED = {"journey", "persona"}
LAG_METRIC = "journey_consumer_lag_entries"
# Created by the operator in production (deploy/k8s/README.md, "Secrets").
OPERATOR_SECRETS = {"journey-redis", "journey-api-keys", "journey-tls"}
# JOURNEY_<FLAG> variables the manifests set before any binary defines the flag: unknown
# JOURNEY_* variables are ignored by the binaries, so these are allowed, and only these.
PENDING_FLAGS = {}
# Variables in the manifests that are not flags (parts of JOURNEY_REDIS_URL).
NOT_FLAGS = {"REDIS_PASSWORD", "REDIS_SCHEME", "REDIS_ADDRS"}
CONFIG_DIRS = ("journeys", "segments", "offers", "products", "triggers", "experiments")
DEFINITION_SUFFIXES = (".yaml", ".yml", ".json", ".csv")


def render(path):
    out = subprocess.run(["kubectl", "kustomize", path], capture_output=True, text=True)
    if out.returncode != 0:
        return None, out.stderr.strip()
    return [d for d in yaml.safe_load_all(out.stdout) if d], None


def labels_match(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def hash_base(name):
    """Generated ConfigMaps and Secrets carry a -<hash> suffix."""
    return re.sub(r"-[a-z0-9]{10}$", "", name)


def service_of(deploy):
    name = deploy["metadata"]["name"]
    return name[len("journey-"):] if name.startswith("journey-") else name


def check_deployment(d, objs, where, operator_secrets=True):
    errs = []
    name = d["metadata"]["name"]
    svc = service_of(d)
    tag = f"{where}: Deployment {name}"
    pod = d["spec"]["template"]
    spec = pod["spec"]
    plabels = pod["metadata"].get("labels", {})
    if not labels_match(d["spec"]["selector"].get("matchLabels", {}), plabels):
        errs.append(f"{tag}: selector does not match its pod labels")
    psc = spec.get("securityContext", {})
    if psc.get("runAsNonRoot") is not True:
        errs.append(f"{tag}: pod securityContext.runAsNonRoot is not true")
    if psc.get("runAsUser", 0) == 0:
        errs.append(f"{tag}: pod securityContext.runAsUser is missing or 0")
    containers = spec.get("containers", [])
    if not containers:
        errs.append(f"{tag}: no containers")
    for c in containers:
        ctag = f"{tag} container {c['name']}"
        ports = {p.get("name"): p["containerPort"] for p in c.get("ports", [])}
        want = SERVICES.get(svc)
        if want is None:
            errs.append(f"{ctag}: not one of the services {sorted(SERVICES)}")
            continue
        if ports.get("grpc") != want["grpc"] or ports.get("metrics") != want["metrics"]:
            errs.append(f"{ctag}: ports {ports} differ from DESIGN.md ({want})")
        env = {e["name"]: e.get("value") for e in c.get("env", [])}
        if env.get("JOURNEY_GRPC_PORT") != str(want["grpc"]):
            errs.append(f"{ctag}: JOURNEY_GRPC_PORT {env.get('JOURNEY_GRPC_PORT')} != containerPort {want['grpc']}")
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            p = c.get(probe)
            if not p:
                errs.append(f"{ctag}: no {probe}")
                continue
            if probe != "startupProbe" and "grpc" not in p:
                errs.append(f"{ctag}: {probe} is not a native gRPC probe")
            if "grpc" in p and p["grpc"].get("port") != want["grpc"]:
                errs.append(f"{ctag}: {probe} port {p['grpc'].get('port')} is not the gRPC port {want['grpc']}")
        live = c.get("livenessProbe", {}).get("grpc", {})
        if live and live.get("service", "") == "":
            errs.append(f"{ctag}: livenessProbe checks the overall status, which follows Redis: "
                        "a Redis outage would restart every pod (use service: liveness)")
        res = c.get("resources", {})
        for kind in ("requests", "limits"):
            for r in ("cpu", "memory"):
                if r not in res.get(kind, {}):
                    errs.append(f"{ctag}: no resources.{kind}.{r}")
        sc = c.get("securityContext", {})
        if sc.get("allowPrivilegeEscalation") is not False:
            errs.append(f"{ctag}: allowPrivilegeEscalation is not false")
        if sc.get("readOnlyRootFilesystem") is not True:
            errs.append(f"{ctag}: readOnlyRootFilesystem is not true")
        if sc.get("privileged"):
            errs.append(f"{ctag}: privileged")
        if "ALL" not in sc.get("capabilities", {}).get("drop", []):
            errs.append(f"{ctag}: capabilities.drop lacks ALL")
        if sc.get("runAsUser") == 0 or sc.get("runAsNonRoot") is False:
            errs.append(f"{ctag}: container overrides to root")
        pre = c.get("lifecycle", {}).get("preStop")
        if not pre:
            errs.append(f"{ctag}: no preStop pause")
        pause = int(pre.get("sleep", {}).get("seconds", 0)) if pre else 0
        drain = int(env.get("JOURNEY_DRAIN_DEADLINE_S") or 10)
        grace = spec.get("terminationGracePeriodSeconds", 30)
        if grace < pause + drain:
            errs.append(f"{ctag}: terminationGracePeriodSeconds {grace} < preStop {pause} s + drain {drain} s")
        ann = pod["metadata"].get("annotations", {})
        if ann.get("prometheus.io/scrape") != "true" or ann.get("prometheus.io/port") != str(want["metrics"]):
            errs.append(f"{ctag}: Prometheus annotations missing or not on the metrics port {want['metrics']}")
    # A Service with a virtual IP and a headless one, both selecting these pods on "grpc".
    services = [s for s in objs if s["kind"] == "Service"
                and labels_match(s["spec"].get("selector", {}), plabels)]
    if not any(s["spec"].get("clusterIP") != "None" for s in services):
        errs.append(f"{tag}: no Service selects its pods")
    if not any(s["spec"].get("clusterIP") == "None" for s in services):
        errs.append(f"{tag}: no headless Service selects its pods (client-side gRPC balancing)")
    for s in services:
        if not any(p.get("targetPort") == "grpc" for p in s["spec"].get("ports", [])):
            errs.append(f"{tag}: Service {s['metadata']['name']} has no port targeting grpc")
    if not any(p["kind"] == "PodDisruptionBudget"
               and labels_match(p["spec"].get("selector", {}).get("matchLabels", {}), plabels) for p in objs):
        errs.append(f"{tag}: no PodDisruptionBudget selects its pods")
    hpas = [h for h in objs if h["kind"] == "HorizontalPodAutoscaler"
            and h["spec"]["scaleTargetRef"].get("kind") == "Deployment"
            and h["spec"]["scaleTargetRef"].get("name") == name]
    if not hpas:
        errs.append(f"{tag}: no HorizontalPodAutoscaler targets it")
    for h in hpas:
        metrics = h["spec"].get("metrics", [])
        if h["spec"].get("minReplicas", 1) > h["spec"]["maxReplicas"]:
            errs.append(f"{tag}: HPA minReplicas > maxReplicas")
        if not any(m["type"] == "Resource" and m["resource"]["name"] == "cpu" for m in metrics):
            errs.append(f"{tag}: HPA has no CPU metric")
        if svc in LAG_SCALED and not any(
                m["type"] == "External" and m["external"]["metric"]["name"] == LAG_METRIC for m in metrics):
            errs.append(f"{tag}: HPA has no {LAG_METRIC} external metric")
    errs += check_references(pod, objs, tag, operator_secrets)
    return errs


def check_references(pod, objs, tag, operator_secrets=True):
    """Every ConfigMap/Secret the pod template names exists (or is an operator Secret,
    where the overlay leaves Secrets to the operator; dev must be self-contained)."""
    errs = []
    names = {(o["kind"], o["metadata"]["name"]) for o in objs}
    refs = []
    spec = pod["spec"]
    for v in spec.get("volumes", []):
        if "configMap" in v:
            refs.append(("ConfigMap", v["configMap"]["name"], v["configMap"].get("optional", False)))
        if "secret" in v:
            refs.append(("Secret", v["secret"]["secretName"], v["secret"].get("optional", False)))
    for c in spec.get("containers", []):
        for e in c.get("env", []):
            src = e.get("valueFrom", {})
            if "configMapKeyRef" in src:
                refs.append(("ConfigMap", src["configMapKeyRef"]["name"], False))
            if "secretKeyRef" in src:
                refs.append(("Secret", src["secretKeyRef"]["name"], False))
        for e in c.get("envFrom", []):
            if "configMapRef" in e:
                refs.append(("ConfigMap", e["configMapRef"]["name"], False))
            if "secretRef" in e:
                refs.append(("Secret", e["secretRef"]["name"], False))
    for kind, name, optional in refs:
        if (kind, name) in names or optional:
            continue
        if kind == "Secret" and name in OPERATOR_SECRETS and operator_secrets:
            continue
        errs.append(f"{tag}: references {kind} {name}, which the overlay does not contain")
    return errs


def pods_selected(policy, objs):
    sel = policy["spec"].get("podSelector", {})
    match = sel.get("matchLabels", {})
    exprs = sel.get("matchExpressions", [])
    out = []
    for o in objs:
        if o["kind"] not in ("Deployment", "StatefulSet"):
            continue
        labels = o["spec"]["template"]["metadata"].get("labels", {})
        ok = all(labels.get(k) == v for k, v in match.items())
        for e in exprs:
            if e["operator"] == "In":
                ok = ok and labels.get(e["key"]) in e["values"]
            else:
                ok = False  # keep the check conservative
        if ok:
            out.append(o)
    return out


def check_network_policies(objs, where):
    errs = []
    pols = [o for o in objs if o["kind"] == "NetworkPolicy"]
    if not any(p["spec"].get("podSelector") == {} and "Ingress" in p["spec"].get("policyTypes", [])
               and not p["spec"].get("ingress") for p in pols):
        errs.append(f"{where}: no default-deny ingress NetworkPolicy")
    for p in pols:
        for rule in p["spec"].get("ingress", []):
            sources = rule.get("from")
            public = not sources or any(
                s.get("namespaceSelector") == {} or "ipBlock" in s for s in sources)
            if not public:
                continue
            for o in pods_selected(p, objs):
                comp = o["spec"]["template"]["metadata"].get("labels", {}).get("app.kubernetes.io/component")
                if comp not in PUBLIC:
                    errs.append(f"{where}: NetworkPolicy {p['metadata']['name']} opens "
                                f"{o['kind']} {o['metadata']['name']} to other namespaces")
    redis = [o for o in objs if o["kind"] == "StatefulSet"
             and o["spec"]["template"]["metadata"].get("labels", {}).get("app.kubernetes.io/component") == "redis"]
    for r in redis:
        guarded = [p for p in pols if r in pods_selected(p, objs) and p["spec"].get("podSelector")]
        if not guarded:
            errs.append(f"{where}: Redis {r['metadata']['name']} has no NetworkPolicy of its own")
        for p in guarded:
            for rule in p["spec"].get("ingress", []):
                for s in rule.get("from", [{}]):
                    if "podSelector" not in s or "namespaceSelector" in s or not s["podSelector"]:
                        errs.append(f"{where}: Redis policy {p['metadata']['name']} admits more than the services")
    return errs


def check_overlay(objs, where, overlay):
    errs = []
    deployments = [o for o in objs if o["kind"] == "Deployment"]
    found = {service_of(d) for d in deployments}
    if found != set(SERVICES):
        errs.append(f"{where}: Deployments {sorted(found)} != services {sorted(SERVICES)}")
    for d in deployments:
        errs += check_deployment(d, objs, where, operator_secrets=overlay != "dev")
        for c in d["spec"]["template"]["spec"]["containers"]:
            for e in c.get("env", []):
                if e["name"] == "JOURNEY_AUTH" and e.get("value") != "on":
                    errs.append(f"{where}: Deployment {d['metadata']['name']} sets JOURNEY_AUTH={e.get('value')}")
    runtime = [o for o in objs if o["kind"] == "ConfigMap" and hash_base(o["metadata"]["name"]) == "journey-runtime"]
    if not runtime or runtime[0].get("data", {}).get("JOURNEY_AUTH") != "on":
        errs.append(f"{where}: journey-runtime does not set JOURNEY_AUTH=on (API keys must be checked)")
    errs += check_network_policies(objs, where)
    runtime = [o for o in objs if o["kind"] == "ConfigMap" and hash_base(o["metadata"]["name"]) == "journey-runtime"]
    scheme = runtime[0]["data"].get("REDIS_SCHEME") if runtime else None
    if overlay == "dev":
        redis = [o for o in objs if o["kind"] == "StatefulSet" and "redis" in o["metadata"]["name"]]
        if len(redis) != 1:
            errs.append(f"{where}: expected one Redis StatefulSet, found {len(redis)}")
        for r in redis:
            args = " ".join(r["spec"]["template"]["spec"]["containers"][0].get("args", []))
            if "--appendonly yes" not in args:
                errs.append(f"{where}: Redis {r['metadata']['name']} does not enable AOF")
            if not r["spec"].get("volumeClaimTemplates"):
                errs.append(f"{where}: Redis {r['metadata']['name']} has no PVC")
        if scheme != "redis":
            errs.append(f"{where}: REDIS_SCHEME {scheme} (expected redis)")
    if overlay == "prod":
        if any(o["kind"] == "StatefulSet" for o in objs):
            errs.append(f"{where}: production must use the external Redis Cluster, not an in-namespace one")
        if scheme != "redis+cluster":
            errs.append(f"{where}: REDIS_SCHEME {scheme} (expected redis+cluster)")
        for d in deployments:
            if d["spec"].get("replicas", 1) < 3:
                errs.append(f"{where}: Deployment {d['metadata']['name']} has fewer than 3 replicas")
    return errs


def defined_flags(root):
    """Every absl flag defined in the sources (ABSL_FLAG(type, name, ...))."""
    flags = set()
    for top in ("common", "services", "tools"):
        for dirpath, dirs, files in os.walk(os.path.join(root, top)):
            dirs[:] = [d for d in dirs if not d.startswith("build")]
            for f in files:
                if f.endswith((".cc", ".h")):
                    text = open(os.path.join(dirpath, f), errors="replace").read()
                    flags.update(re.findall(r"ABSL_FLAG\(\s*[\w:<>]+\s*,\s*(\w+)\s*,", text))
    return flags


def check_flag_variables(objs, where, flags):
    """A misspelt JOURNEY_<FLAG> is silently ignored by the binaries: catch it here."""
    errs = []
    names = set()
    for o in objs:
        if o["kind"] == "Deployment":
            for c in o["spec"]["template"]["spec"]["containers"]:
                names.update(e["name"] for e in c.get("env", []))
        if o["kind"] == "ConfigMap" and hash_base(o["metadata"]["name"]) == "journey-runtime":
            names.update(o.get("data", {}))
    for n in sorted(names - NOT_FLAGS):
        if not n.startswith("JOURNEY_"):
            errs.append(f"{where}: environment variable {n} is neither JOURNEY_<FLAG> nor a known helper")
            continue
        flag = n[len("JOURNEY_"):].lower()
        if flag not in flags and flag not in PENDING_FLAGS:
            errs.append(f"{where}: {n} sets --{flag}, which no binary defines (ABSL_FLAG)")
    return errs


def check_config_listing(root):
    """config/kustomization.yaml lists exactly the definition files under config/."""
    errs = []
    path = os.path.join(root, "config", "kustomization.yaml")
    if not os.path.exists(path):
        return [f"{path} is missing"]
    kz = yaml.safe_load(open(path))
    listed = set()
    for gen in kz.get("configMapGenerator", []):
        for f in gen.get("files") or []:
            f = f.split("=", 1)[-1]
            listed.add(os.path.normpath(f))
            if not os.path.isfile(os.path.join(root, "config", f)):
                errs.append(f"config/kustomization.yaml lists config/{f}, which does not exist")
    for d in CONFIG_DIRS:
        full = os.path.join(root, "config", d)
        if not os.path.isdir(full):
            continue
        for dirpath, _, files in os.walk(full):
            for f in files:
                if not f.endswith(DEFINITION_SUFFIXES):
                    continue
                rel = os.path.relpath(os.path.join(dirpath, f), os.path.join(root, "config"))
                if os.path.dirname(rel) != d:
                    errs.append(f"config/{rel}: ConfigMaps are flat; keep definitions directly in config/{d}/")
                elif rel not in listed:
                    errs.append(f"config/{rel} is not deployed: add `- {rel}` to the journey-{d} "
                                f"configMapGenerator in config/kustomization.yaml")
    return errs


def check_dockerfile(root):
    errs = []
    path = os.path.join(root, "deploy", "docker", "Dockerfile")
    if not os.path.exists(path):
        return [f"{path} is missing"]
    text = open(path).read()
    froms = re.findall(r"^FROM\s+(\S+)", text, re.M)
    if not froms or not froms[0].startswith("debian:bookworm"):
        errs.append("Dockerfile: the build stage is not debian:bookworm")
    if len(froms) < 2:
        errs.append("Dockerfile: not multi-stage")
    if "scripts/install-deps.sh" not in text:
        errs.append("Dockerfile: does not install dependencies with scripts/install-deps.sh")
    users = re.findall(r"^USER\s+(\S+)", text, re.M)
    if not users or users[-1].split(":")[0] in ("root", "0"):
        errs.append("Dockerfile: the final image does not run as a non-root USER")
    for s in SERVICES:
        if f"journey-{s}" not in text and "journey-$s" not in text:
            errs.append(f"Dockerfile: does not ship journey-{s}")
        cm = os.path.join(root, "services", s, "CMakeLists.txt")
        if os.path.exists(cm) and f"add_executable(journey-{s}" not in open(cm).read():
            errs.append(f"Dockerfile: services/{s}/CMakeLists.txt no longer builds journey-{s}")
    return errs


def overlays(root):
    base = os.path.join(root, "deploy", "k8s", "overlays")
    return sorted(d for d in os.listdir(base) if os.path.isfile(os.path.join(base, d, "kustomization.yaml")))


def check_all(root):
    errs = check_config_listing(root) + check_dockerfile(root)
    names = overlays(root)
    for need in ("dev", "prod"):
        if need not in names:
            errs.append(f"deploy/k8s/overlays/{need} is missing")
    rendered = {}
    flags = defined_flags(root)
    if "redis_url" not in flags:
        errs.append("found no ABSL_FLAG definitions (looked for redis_url): is the root right?")
    for o in names:
        objs, err = render(os.path.join(root, "deploy", "k8s", "overlays", o))
        if objs is None:
            errs.append(f"overlays/{o}: kubectl kustomize failed: {err}")
            continue
        rendered[o] = objs
        errs += check_overlay(objs, f"overlays/{o}", o)
        errs += check_flag_variables(objs, f"overlays/{o}", flags)
    return errs, rendered


def self_test(rendered, flags):
    """Each breakage below must be reported; otherwise the check cannot fail and is useless."""
    def dep(objs, svc):
        return next(o for o in objs if o["kind"] == "Deployment" and o["metadata"]["name"] == f"journey-{svc}")

    def drop_kind(kind, svc):
        def f(objs):
            objs[:] = [o for o in objs if not (o["kind"] == kind and f"journey-{svc}" in o["metadata"]["name"])]
        return f

    def container(svc):
        return lambda objs: dep(objs, svc)["spec"]["template"]["spec"]["containers"][0]

    def set_key(getter, key, value):
        def f(objs):
            getter(objs)[key] = value
        return f

    def del_key(getter, key):
        def f(objs):
            getter(objs).pop(key)
        return f

    cases = {
        "readiness probe removed": del_key(container("journey"), "readinessProbe"),
        "liveness on overall status": lambda o: container("persona")(o)["livenessProbe"]["grpc"].pop("service"),
        "limits removed": lambda o: container("ingest")(o)["resources"].pop("limits"),
        "runs as root": lambda o: dep(o, "recommend")["spec"]["template"]["spec"]["securityContext"].update(
            runAsNonRoot=False),
        "writable root fs": lambda o: container("journey")(o)["securityContext"].update(readOnlyRootFilesystem=False),
        "grace shorter than drain": lambda o: dep(o, "ingest")["spec"]["template"]["spec"].update(
            terminationGracePeriodSeconds=3),
        "PDB removed": drop_kind("PodDisruptionBudget", "persona"),
        "HPA removed": drop_kind("HorizontalPodAutoscaler", "recommend"),
        "lag metric removed": lambda o: next(h for h in o if h["kind"] == "HorizontalPodAutoscaler"
                                             and h["metadata"]["name"] == "journey-journey")["spec"]["metrics"].pop(),
        "Service removed": drop_kind("Service", "ingest"),
        "journey opened to the world": lambda o: next(p for p in o if p["kind"] == "NetworkPolicy"
                                                      and p["metadata"]["name"] == "journey-internal-services")[
            "spec"]["ingress"][0].pop("from"),
        "ConfigMap missing": lambda o: o.__setitem__(slice(None), [x for x in o if not (
            x["kind"] == "ConfigMap" and x["metadata"]["name"].startswith("journey-offers"))]),
        "misspelt flag variable": lambda o: container("journey")(o)["env"].append(
            {"name": "JOURNEY_DRAIN_DEADLINE", "value": "10"}),
        "dev secret missing": lambda o: o.__setitem__(slice(None), [x for x in o if not (
            x["kind"] == "Secret" and x["metadata"]["name"].startswith("journey-api-keys"))]),
        "auth turned off": lambda o: container("recommend")(o)["env"].append({"name": "JOURNEY_AUTH", "value": "off"}),
        "wrong gRPC port": set_key(lambda o: container("persona")(o)["ports"][0], "containerPort", 50059),
    }
    failures = []
    for name, breaker in cases.items():
        objs = copy.deepcopy(rendered["dev"])
        breaker(objs)
        if not check_overlay(objs, "self-test", "dev") + check_flag_variables(objs, "self-test", flags):
            failures.append(f"self-test: '{name}' was not detected")
    return failures, len(cases)


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 1
    root = os.path.abspath(sys.argv[1])
    if shutil.which("kubectl") is None:
        print("SKIP: kubectl is not installed (needed for `kubectl kustomize`)")
        return 77
    errs, rendered = check_all(root)
    if "--self-test" in sys.argv[2:]:
        if "dev" not in rendered:
            errs.append("self-test needs overlays/dev to render")
            n = 0
        else:
            fails, n = self_test(rendered, defined_flags(root))
            errs += fails
        checked = n
    else:
        checked = sum(len(v) for v in rendered.values())
    for e in errs:
        print("FAIL:", e)
    if errs:
        return 1
    print(f"OK: {len(rendered)} overlays rendered ({', '.join(rendered)}), {checked} "
          f"{'breakages detected' if '--self-test' in sys.argv else 'objects checked'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
