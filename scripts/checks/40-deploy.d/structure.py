#!/usr/bin/env python3
"""Structural checks of the deployment artifacts: the properties no schema can see.

Run by scripts/checks/40-deploy.sh from the repository root, one sub-command per
artifact; each prints what it verified and exits 1 with the list of problems.

    structure.py dockerfile
    structure.py compose                     (after `docker compose config` passed)
    structure.py compose-variant OUT.yml      write docker-compose.yml with the
                                              "real config" block uncommented
    structure.py compose-prometheus           compose vs. plain Prometheus config
    structure.py rules-groups OUT.yml         the PrometheusRule's groups as a rule file
    structure.py kubernetes BUILD.yaml SHARDED_BUILD.yaml
    structure.py crd-json OUT.json FILE...    Operator objects for validate-crds.mjs
    structure.py systemd                      directives of the unit and the env file
    structure.py config-check BINARY DIR      --config.check of the k8s config
"""

from __future__ import annotations

import json
import re
import shlex
import sys
from pathlib import Path

import yaml

ROOT = Path.cwd()
PORT = 10042
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "kubernetes"


class Problems:
    def __init__(self, what: str) -> None:
        self.what = what
        self.items: list[str] = []
        self.passed: list[str] = []

    def check(self, ok: bool, message: str) -> None:
        (self.passed if ok else self.items).append(message)

    def finish(self) -> int:
        for p in self.items:
            print(f"  problem: {p}", file=sys.stderr)
        if self.items:
            print(f"{self.what}: {len(self.items)} problem(s)", file=sys.stderr)
            return 1
        print(f"{self.what}: {len(self.passed)} properties hold")
        return 0


def load(path: Path):
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def load_all(path: Path) -> list:
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]


# ----------------------------------------------------------------------- Dockerfile
def dockerignore_patterns() -> list[str]:
    pats = []
    for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            pats.append(line)
    return pats


def ignored(rel: str, patterns: list[str]) -> bool:
    """Enough of .dockerignore semantics for this repository: no '!' exceptions."""
    import fnmatch

    parts = rel.split("/")
    for pat in patterns:
        if pat.startswith("!"):
            raise SystemExit(".dockerignore: '!' exceptions are not supported by this check")
        pat = pat.rstrip("/")
        if pat.startswith("**/"):
            if any(fnmatch.fnmatch(p, pat[3:]) for p in parts):
                return True
            continue
        # A pattern matches the path itself or any of its parent directories.
        for i in range(1, len(parts) + 1):
            if fnmatch.fnmatch("/".join(parts[:i]), pat):
                return True
    return False


def cmd_dockerfile() -> int:
    p = Problems("Dockerfile")
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    stages = re.findall(r"^FROM\s+(\S+)(?:\s+AS\s+(\S+))?", text, flags=re.M | re.I)
    args = dict(re.findall(r"^ARG\s+(\w+)=?(\S*)", text, flags=re.M))

    def resolve(image: str) -> str:
        m = re.fullmatch(r"\$\{(\w+)\}", image)
        return args.get(m.group(1), image) if m else image

    images = [resolve(i) for i, _ in stages]
    p.check(len(stages) >= 2, f"multi-stage build ({len(stages)} stages)")
    p.check(bool(images) and images[0].startswith("rust:") and "bookworm" in images[0], f"builder is rust:*-bookworm ({images[:1]})")
    p.check(bool(images) and images[-1].startswith("gcr.io/distroless/") and images[-1].endswith(":nonroot"), f"runtime is a distroless :nonroot image ({images[-1:]})")
    p.check(re.search(r"^USER\s+65532(:65532)?\s*$", text, flags=re.M) is not None, "runs as the numeric nonroot user 65532")
    p.check(re.search(rf"^EXPOSE\s+{PORT}\s*$", text, flags=re.M) is not None, f"EXPOSE {PORT}")
    for var in ("VERSION", "REVISION"):
        p.check(f"ARG {var}" in text, f"build arg {var}")
        p.check(re.search(rf"QUOTA_EXPORTER_{var}=\"?\$\{{{var}\}}", text) is not None, f"build arg {var} reaches cargo as QUOTA_EXPORTER_{var}")
    p.check("--mount=type=cache" in text, "dependency caching with BuildKit cache mounts")
    release = (ROOT / "scripts" / "release").read_text(encoding="utf-8")
    p.check(re.search(r"^\s*scripts/release --binary /out/quota-exporter\s*$", text, flags=re.M) is not None,
            "builds the binary as releases do (scripts/release --binary)")
    p.check(re.search(r"^cargo zigbuild --locked ", release, flags=re.M) is not None,
            "scripts/release: cargo zigbuild --locked (Cargo.lock is honoured)")
    p.check(re.search(r'^ENTRYPOINT \["/usr/local/bin/quota-exporter"\]', text, flags=re.M) is not None, "exec-form ENTRYPOINT on the binary")
    p.check("/etc/quota-exporter/config.yml" in text, "default --config.file under /etc/quota-exporter")
    hc = re.search(r"^HEALTHCHECK\s+(.*)$", text, flags=re.M)
    p.check(hc is None or "--version" not in hc.group(1), "no fake HEALTHCHECK (--version proves nothing)")

    patterns = dockerignore_patterns()
    for needed in ("Cargo.toml", "Cargo.lock", "src/main.rs", "src/lib.rs", "scripts/release"):
        p.check(not ignored(needed, patterns), f".dockerignore keeps {needed}")
    # Files the crate embeds at compile time must be in the build context.
    embedded = 0
    for rs in sorted(ROOT.glob("src/**/*.rs")):
        for m in re.finditer(r'include_(?:str|bytes)!\(\s*"([^"]+)"\s*\)', rs.read_text(encoding="utf-8")):
            target = (rs.parent / m.group(1)).resolve()
            try:
                rel = target.relative_to(ROOT).as_posix()
            except ValueError:
                continue
            embedded += 1
            p.check(not ignored(rel, patterns), f".dockerignore keeps {rel} (embedded by {rs.relative_to(ROOT)})")
    manifest = ROOT / "Cargo.toml"
    if manifest.exists():
        cargo = manifest.read_text(encoding="utf-8")
        for m in re.finditer(r'^\s*path\s*=\s*"([^"]+)"', cargo, flags=re.M):
            p.check(not ignored(m.group(1), patterns), f".dockerignore keeps {m.group(1)} (named in Cargo.toml)")
    print(f"Dockerfile: {embedded} embedded file(s) found in src/")
    return p.finish()


# -------------------------------------------------------------------------- compose
def cmd_compose_variant(out: str) -> int:
    """Uncomments the real-config blocks: their lines lose one leading '# '."""
    src = (DEPLOY / "docker-compose.yml").read_text(encoding="utf-8").splitlines(keepends=True)
    lines, inside, blocks = [], False, 0
    for line in src:
        if "--- real config: begin" in line:
            inside, blocks = True, blocks + 1
        elif "--- real config: end" in line:
            inside = False
        elif inside:
            line = re.sub(r"^(\s*)# ?", r"\1", line, count=1)
        lines.append(line)
    text = "".join(lines)
    # The variant replaces --demo.
    text, n = re.subn(r'^    command: \["--demo"\]\n', "", text, count=1, flags=re.M)
    if blocks < 2 or n != 1:
        print(f"compose variant: expected 2 real-config blocks and one --demo command, found {blocks} and {n}", file=sys.stderr)
        return 1
    Path(out).write_text(text, encoding="utf-8")
    return 0


def cmd_compose() -> int:
    p = Problems("docker-compose.yml")
    doc = load(DEPLOY / "docker-compose.yml")
    services = doc.get("services", {})
    for name in ("quota-exporter", "prometheus", "alertmanager", "grafana"):
        p.check(name in services, f"service {name}")
    exp = services.get("quota-exporter", {})
    p.check(exp.get("command") == ["--demo"], "the exporter runs --demo by default")
    p.check(exp.get("build", {}).get("context") == "..", "the exporter is built from the repository's Dockerfile")
    p.check(any(str(x).endswith(f":{PORT}:{PORT}") or str(x) == f"{PORT}:{PORT}" for x in exp.get("ports", [])), f"port {PORT} published")
    p.check(exp.get("read_only") is True and exp.get("cap_drop") == ["ALL"], "exporter: read-only root, all capabilities dropped")

    # Every bind mount exists (Docker would silently create a directory in its place).
    for sname, svc in services.items():
        for vol in svc.get("volumes", []):
            src = str(vol).split(":")[0]
            if src.startswith((".", "/")):
                path = (DEPLOY / src).resolve()
                p.check(path.exists(), f"{sname}: mounted {src} exists")

    prom = services.get("prometheus", {})
    mounts = {str(v).split(":")[1]: str(v).split(":")[0] for v in prom.get("volumes", []) if ":" in str(v)}
    p.check(mounts.get("/etc/prometheus/prometheus.yml") == "./compose/prometheus.yml", "Prometheus uses deploy/compose/prometheus.yml")
    p.check(mounts.get("/etc/prometheus/rules") == "./prometheus/rules", "Prometheus loads deploy/prometheus/rules/")
    am = services.get("alertmanager", {})
    p.check(any(str(v).startswith("./alertmanager/alertmanager.yml:") for v in am.get("volumes", [])), "Alertmanager uses deploy/alertmanager/alertmanager.yml")

    # Grafana: the provisioning files must point at what compose provides.
    graf = services.get("grafana", {})
    gm = {str(v).split(":")[0]: str(v).split(":")[1] for v in graf.get("volumes", []) if ":" in str(v)}
    ds_file = ROOT / "dashboards/provisioning/datasources.yml"
    db_file = ROOT / "dashboards/provisioning/dashboards.yml"
    if ds_file.exists():
        urls = [d.get("url", "") for d in (load(ds_file) or {}).get("datasources", []) if d.get("type") == "prometheus"]
        p.check(bool(urls), "datasources.yml has a Prometheus datasource")
        for url in urls:
            host = re.sub(r"^\w+://", "", url).split("/")[0]
            p.check(host.split(":")[0] in services or "${" in url, f"datasource URL {url} names a compose service")
    if db_file.exists():
        dash_target = gm.get("../dashboards")
        paths = [pr.get("options", {}).get("path") for pr in (load(db_file) or {}).get("providers", [])]
        p.check(bool(paths), "dashboards.yml has a file provider")
        for path in paths:
            p.check(dash_target is not None and str(path).startswith(dash_target), f"dashboard provider path {path} is inside the mounted dashboards/ ({dash_target})")
    return p.finish()


def cmd_compose_prometheus() -> int:
    p = Problems("compose/prometheus.yml")
    compose = load(DEPLOY / "compose/prometheus.yml")
    plain = load(DEPLOY / "prometheus/prometheus.yml")
    p.check(compose.get("global") == plain.get("global"), "same global settings as deploy/prometheus/prometheus.yml")

    rules_dir = DEPLOY / "prometheus/rules"
    on_disk = {f.name for f in rules_dir.glob("*.yml")} | {f.name for f in rules_dir.glob("*.yaml")}

    def loaded(rule_files: list[str]) -> set[str]:
        out = set()
        for pattern in rule_files:
            out |= {f.name for f in rules_dir.glob(Path(pattern).name)} if pattern.startswith("rules/") else set()
        return out

    p.check(loaded(compose.get("rule_files", [])) == on_disk, f"compose Prometheus loads every rule file ({sorted(on_disk)})")
    p.check(loaded(plain.get("rule_files", [])) == on_disk, f"deploy/prometheus/prometheus.yml loads every rule file, as the PrometheusRule does ({sorted(on_disk)})")

    def jobs(cfg):
        return {j["job_name"]: j for j in cfg.get("scrape_configs", [])}

    cj, pj = jobs(compose), jobs(plain)
    p.check("quota-exporter" in cj and "quota-exporter" in pj, "both scrape job quota-exporter")
    if "quota-exporter" in cj and "quota-exporter" in pj:
        strip = lambda j: {k: v for k, v in j.items() if k != "static_configs"}  # noqa: E731
        p.check(strip(cj["quota-exporter"]) == strip(pj["quota-exporter"]), "job quota-exporter: same scrape settings apart from targets")
        targets = [t for sc in cj["quota-exporter"].get("static_configs", []) for t in sc.get("targets", [])]
        p.check(targets == [f"quota-exporter:{PORT}"], f"compose target is the compose service ({targets})")
    am = [t for a in compose.get("alerting", {}).get("alertmanagers", []) for sc in a.get("static_configs", []) for t in sc.get("targets", [])]
    p.check(am == ["alertmanager:9093"], f"alerts go to the compose Alertmanager ({am})")
    return p.finish()


# ---------------------------------------------------------------------- rules
def cmd_rules_groups(out: str) -> int:
    docs = load_all(K8S / "common/prometheusrule.yaml")
    groups = docs[0]["spec"]["groups"]
    Path(out).write_text(yaml.safe_dump({"groups": groups}, sort_keys=False), encoding="utf-8")
    print(f"PrometheusRule: {len(groups)} group(s), {sum(len(g.get('rules', [])) for g in groups)} rule(s)")
    return 0


def cmd_crd_json(out: str, *files: str) -> int:
    objs = []
    for f in files:
        for d in load_all(Path(f)):
            if str(d.get("apiVersion", "")).startswith("monitoring.coreos.com/"):
                objs.append({"source": f, "manifest": d})
    Path(out).write_text(json.dumps(objs), encoding="utf-8")
    return 0


# ------------------------------------------------------------------------ kubernetes
def by_kind(docs: list, kind: str) -> list:
    return [d for d in docs if d.get("kind") == kind]


def check_workload(p: Problems, w: dict) -> dict:
    name = f"{w['kind']}/{w['metadata']['name']}"
    spec = w["spec"]["template"]["spec"]
    pod_labels = w["spec"]["template"]["metadata"]["labels"]
    sel = w["spec"]["selector"]["matchLabels"]
    p.check(all(pod_labels.get(k) == v for k, v in sel.items()), f"{name}: selector matches the pod labels")
    psc = spec.get("securityContext", {})
    p.check(psc.get("runAsNonRoot") is True, f"{name}: runAsNonRoot")
    p.check(psc.get("seccompProfile", {}).get("type") == "RuntimeDefault", f"{name}: seccompProfile RuntimeDefault")
    p.check(spec.get("automountServiceAccountToken") is False, f"{name}: no service account token")
    (c,) = [c for c in spec["containers"] if c["name"] == "quota-exporter"]
    sc = c.get("securityContext", {})
    p.check(sc.get("readOnlyRootFilesystem") is True, f"{name}: readOnlyRootFilesystem")
    p.check(sc.get("allowPrivilegeEscalation") is False, f"{name}: allowPrivilegeEscalation false")
    p.check(sc.get("capabilities", {}).get("drop") == ["ALL"], f"{name}: capabilities drop ALL")
    ports = {pt["name"]: pt["containerPort"] for pt in c.get("ports", [])}
    p.check(ports.get("metrics") == PORT, f"{name}: container port metrics={PORT}")
    p.check(c.get("livenessProbe", {}).get("httpGet", {}).get("path") == "/-/healthy", f"{name}: liveness on /-/healthy")
    p.check(c.get("readinessProbe", {}).get("httpGet", {}).get("path") == "/-/ready", f"{name}: readiness on /-/ready")
    res = c.get("resources", {})
    p.check(bool(res.get("requests", {}).get("memory")) and bool(res.get("limits", {}).get("memory")), f"{name}: memory request and limit")
    p.check("--config.file=/etc/quota-exporter/config.yml" in c.get("args", []), f"{name}: --config.file in the mounted ConfigMap")
    mounts = {m["name"]: m["mountPath"] for m in c.get("volumeMounts", [])}
    p.check(mounts.get("config") == "/etc/quota-exporter", f"{name}: config mounted at /etc/quota-exporter")
    p.check(mounts.get("secrets") == "/run/secrets/quota-exporter", f"{name}: secrets mounted at /run/secrets/quota-exporter")
    p.check(str(c.get("image", "")).startswith("registry.example.com/quota-exporter:"), f"{name}: image set by kustomize ({c.get('image')})")
    return {"labels": pod_labels, "container": c, "volumes": {v["name"]: v for v in spec.get("volumes", [])}}


def check_service_and_monitor(p: Problems, docs: list, pod_labels: dict, headless: bool) -> None:
    (svc,) = by_kind(docs, "Service")
    (sm,) = by_kind(docs, "ServiceMonitor")
    sname = f"Service/{svc['metadata']['name']}"
    p.check(all(pod_labels.get(k) == v for k, v in svc["spec"]["selector"].items()), f"{sname}: selects the exporter pods")
    ports = {pt["name"]: pt for pt in svc["spec"]["ports"]}
    p.check(ports.get("metrics", {}).get("port") == PORT, f"{sname}: port metrics={PORT}")
    p.check((svc["spec"].get("clusterIP") == "None") == headless, f"{sname}: {'headless' if headless else 'ClusterIP'}")
    mname = f"ServiceMonitor/{sm['metadata']['name']}"
    p.check(all(svc["metadata"]["labels"].get(k) == v for k, v in sm["spec"]["selector"]["matchLabels"].items()), f"{mname}: selects {sname}")
    p.check(all(e.get("port") in ports for e in sm["spec"]["endpoints"]), f"{mname}: endpoint ports exist on the Service")
    job_label = sm["spec"].get("jobLabel")
    p.check(job_label is not None and svc["metadata"]["labels"].get(job_label) == "quota-exporter", f'{mname}: job="quota-exporter", as the alerts expect')
    p.check(sm["metadata"].get("namespace") == svc["metadata"].get("namespace"), f"{mname}: same namespace as the Service")


def secret_paths_in_config() -> set[str]:
    text = (K8S / "common/config.yml").read_text(encoding="utf-8")
    return set(re.findall(r"file:\s*/run/secrets/quota-exporter/([\w.-]+)", text))


def cmd_kubernetes(build: str, sharded_build: str) -> int:
    p = Problems("kubernetes")
    docs = load_all(Path(build))
    sdocs = load_all(Path(sharded_build))
    for label, ds in (("deploy/kubernetes", docs), ("deploy/kubernetes/sharded", sdocs)):
        kinds = sorted(d["kind"] for d in ds)
        p.check(kinds == sorted(["ConfigMap", "PrometheusRule", "Service", "ServiceMonitor", "Deployment" if ds is docs else "StatefulSet"]), f"{label}: builds {kinds}")

    (dep,) = by_kind(docs, "Deployment")
    w = check_workload(p, dep)
    p.check(dep["spec"].get("replicas") == 1, "Deployment: one replica (every replica polls every account)")
    p.check(dep["spec"].get("strategy", {}).get("type") == "Recreate", "Deployment: Recreate, never two pollers at once")
    check_service_and_monitor(p, docs, w["labels"], headless=False)
    (cm,) = by_kind(docs, "ConfigMap")
    p.check(w["volumes"]["config"]["configMap"]["name"] == cm["metadata"]["name"], "Deployment: mounts the generated ConfigMap (hash-suffixed name)")
    p.check("config.yml" in cm.get("data", {}), "ConfigMap holds config.yml")

    (sts,) = by_kind(sdocs, "StatefulSet")
    s = check_workload(p, sts)
    replicas = sts["spec"].get("replicas")
    shard_args = [a for a in s["container"].get("args", []) if a.startswith("--shard")]
    p.check(shard_args == [f"--shard=$(POD_INDEX)/{replicas}"], f"StatefulSet: --shard=$(POD_INDEX)/N with N = replicas = {replicas} ({shard_args})")
    env = {e["name"]: e for e in s["container"].get("env", [])}
    field = env.get("POD_INDEX", {}).get("valueFrom", {}).get("fieldRef", {}).get("fieldPath")
    p.check(field == "metadata.labels['apps.kubernetes.io/pod-index']", "StatefulSet: POD_INDEX from the pod-index label (downward API)")
    p.check(sts["spec"].get("podManagementPolicy") == "Parallel", "StatefulSet: shards start in parallel")
    (ssvc,) = by_kind(sdocs, "Service")
    p.check(sts["spec"].get("serviceName") == ssvc["metadata"]["name"], "StatefulSet: serviceName is the headless Service")
    check_service_and_monitor(p, sdocs, s["labels"], headless=True)
    (scm,) = by_kind(sdocs, "ConfigMap")
    p.check(s["volumes"]["config"]["configMap"]["name"] == scm["metadata"]["name"], "StatefulSet: mounts the generated ConfigMap")
    p.check(scm.get("data") == cm.get("data"), "both variants use the same configuration")

    # The example Secret provides every file the config references.
    secret = load(K8S / "secret.example.yaml")
    keys = set(secret.get("stringData", {}))
    wanted = secret_paths_in_config()
    p.check(bool(wanted) and wanted <= keys, f"secret.example.yaml has every key common/config.yml reads ({sorted(wanted - keys) or 'all'})")
    p.check(w["volumes"]["secrets"]["secret"]["secretName"] == secret["metadata"]["name"], "Deployment mounts the Secret of secret.example.yaml")

    # The generated PrometheusRule is the one deployed by both variants.
    for label, ds in (("deploy/kubernetes", docs), ("deploy/kubernetes/sharded", sdocs)):
        (pr,) = by_kind(ds, "PrometheusRule")
        p.check(pr["spec"] == load_all(K8S / "common/prometheusrule.yaml")[0]["spec"], f"{label}: deploys common/prometheusrule.yaml")
    return p.finish()


def cmd_config_check(binary: str, outdir: str) -> int:
    """Runs `BINARY --config.check` on the k8s config, its secret files redirected to
    dummy files in OUTDIR, without and with --shard.

    A vendor section the binary does not know yet ("unknown section") is reported and
    left out, so a vendor still being written does not hide errors in the others; any
    other error fails."""
    import subprocess

    out = Path(outdir)
    text = (K8S / "common/config.yml").read_text(encoding="utf-8")
    for key in secret_paths_in_config():
        (out / key).write_text("dummy-secret-value\n", encoding="utf-8")
    config = yaml.safe_load(text.replace("/run/secrets/quota-exporter/", f"{out}/"))
    path = out / "config.yml"
    dropped: list[str] = []
    for extra in ([], ["--shard=2/3"]):
        while True:
            path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
            run = subprocess.run([binary, "--config.check", f"--config.file={path}", *extra], capture_output=True, text=True)
            if run.returncode == 0:
                print(f"--config.check {' '.join(extra)}: ok")
                break
            errors = [line.strip() for line in (run.stdout + run.stderr).splitlines() if line.strip()]
            unknown = [line.split(":")[0] for line in errors if re.match(r"^\w+: unknown section", line)]
            unknown = [u for u in unknown if u in config and u != "defaults"]
            if not unknown:
                print(run.stdout + run.stderr, file=sys.stderr)
                return 1
            for section in unknown:
                dropped.append(section)
                del config[section]
    for section in dropped:
        print(f"note: this binary has no vendor section {section!r} yet; it was left out of the check")
    return 0


# --------------------------------------------------------------------------- systemd
def cmd_systemd() -> int:
    p = Problems("systemd")
    unit = (DEPLOY / "systemd/quota-exporter.service").read_text(encoding="utf-8")
    directives: dict[str, list[str]] = {}
    for line in unit.splitlines():
        m = re.match(r"^(\w+)=(.*)$", line)
        if m:
            directives.setdefault(m.group(1), []).append(m.group(2))

    def has(key: str, value: str | None = None) -> bool:
        vals = directives.get(key, [])
        return bool(vals) if value is None else value in vals

    for key, value in [
        ("DynamicUser", "yes"), ("ProtectSystem", "strict"), ("ProtectHome", "yes"), ("PrivateTmp", "yes"),
        ("PrivateDevices", "yes"), ("NoNewPrivileges", "yes"), ("CapabilityBoundingSet", ""),
        ("RestrictAddressFamilies", "AF_INET AF_INET6 AF_UNIX"), ("SystemCallFilter", "@system-service"),
        ("MemoryDenyWriteExecute", "yes"), ("LockPersonality", "yes"), ("ExecReload", "/bin/kill -HUP $MAINPID"),
        ("Restart", "on-failure"),
    ]:
        p.check(has(key, value), f"{key}={value}")
    start = directives.get("ExecStart", [""])[0]
    argv = shlex.split(start)
    p.check(argv[:1] == ["/usr/local/bin/quota-exporter"], "ExecStart runs /usr/local/bin/quota-exporter")
    p.check("--config.file=/etc/quota-exporter/config.yml" in argv, "ExecStart reads /etc/quota-exporter/config.yml")
    envfile = [v.lstrip("-") for v in directives.get("EnvironmentFile", [])]
    p.check(envfile == ["/etc/quota-exporter/quota-exporter.env"], "EnvironmentFile=/etc/quota-exporter/quota-exporter.env")
    # As shipped the unit must start: a LoadCredential= whose file is missing stops it, so the
    # examples are comments.
    p.check(not directives.get("LoadCredential"), "no active LoadCredential= (the unit starts as shipped)")
    examples = re.findall(r"^#LoadCredential=(.*)$", unit, re.M)
    p.check(bool(examples) and all(re.fullmatch(r"[\w.-]+:/\S+", c) for c in examples),
            "commented LoadCredential=ID:/absolute/path examples")
    docs = directives.get("Documentation", [])
    p.check(any(d.startswith("https://github.com/quota-exporter/quota-exporter/") for d in docs),
            "Documentation= points to the project's docs")
    p.check(has("User", "quota-exporter") and has("Group", "quota-exporter"),
            "User=/Group=quota-exporter (the .deb's system user; dynamic when it does not exist)")

    # The environment file: KEY=VALUE lines systemd can read.
    names = []
    for n, line in enumerate((DEPLOY / "systemd/quota-exporter.env").read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        m = re.match(r'^([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|[^\s"]*)$', line)
        p.check(m is not None, f"quota-exporter.env:{n}: KEY=VALUE")
        if m:
            names.append(m.group(1))
            p.check(not m.group(1).startswith("QUOTA_EXPORTER_"), f"quota-exporter.env:{n}: {m.group(1)} is not read as a config override")
    p.check("ARGS" in names, "quota-exporter.env sets ARGS, which ExecStart expands")
    return p.finish()


COMMANDS = {
    "dockerfile": cmd_dockerfile,
    "compose": cmd_compose,
    "compose-variant": cmd_compose_variant,
    "compose-prometheus": cmd_compose_prometheus,
    "rules-groups": cmd_rules_groups,
    "crd-json": cmd_crd_json,
    "kubernetes": cmd_kubernetes,
    "config-check": cmd_config_check,
    "systemd": cmd_systemd,
}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(COMMANDS[sys.argv[1]](*sys.argv[2:]))
