#!/usr/bin/env python3
"""End-to-end check of the monitoring content against a real Prometheus.

Starts the exporter's demo (the built-in vendor simulator) and a real Prometheus on
loopback that scrapes it every second and evaluates deploy/prometheus/rules/*.yml every
second, then through Prometheus' HTTP API:

  * every rule is loaded and evaluates without error;
  * every recording rule's expression, and every recorded series for each vendor it
    covers, returns data;
  * every query of every dashboard (dashboards/*.json), with its template variables
    expanded, parses and returns data;
  * alerts fire: at least one warning, and the ones the demo's accounts are built to
    trigger (config/demo-alerts.yml);
  * a real Alertmanager running deploy/alertmanager/alertmanager.yml (its receivers
    replaced by empty ones, so that nothing is sent anywhere) receives them, routes them
    by urgency and by the account's team label, and inhibits what the config's inhibit
    rules say (config/demo-alerts.yml).

The vendors, their metric prefixes and demo accounts come from the binary's catalogue
(--print-catalogue): a vendor the demo does not serve, or a series with a prefix the
catalogue does not know, is a failure.

Usage: prometheus_e2e.py EXPORTER_BINARY
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import catalogue  # noqa: E402  (the vendor list, prefixes and demo accounts, from the binary)

ROOT = Path(__file__).resolve().parents[2]
RULE_FILES = [ROOT / "deploy/prometheus/rules/recording.yml", ROOT / "deploy/prometheus/rules/alerts.yml"]
ALERTMANAGER_CONFIG = ROOT / "deploy/alertmanager/alertmanager.yml"
DASHBOARDS = sorted((ROOT / "dashboards").glob("*.json"))
NAME = "30-prometheus-e2e"

WAIT_SECONDS = 60  # bound for every wait below, together
JOB = "quota-exporter"  # the job name the alerts and dashboards expect

DEMO_ALERTS_FILE = ROOT / "config/demo-alerts.yml"
# Set from the binary's catalogue in run().
VENDOR_PREFIXES: dict[str, str] = {}


def demo_expectations(cat) -> tuple[list[tuple], dict[tuple, tuple], dict[str, dict]]:
    """The alerts the demo is built to trigger, their routing and the labels of the accounts,
    checked against the catalogue: every vendor and account must exist.

    Routing keys are (vendor, account, alertname, severity, item); `item` names one of an
    account's items (a Microsoft 365 SKU), or is None."""
    doc = yaml.safe_load(DEMO_ALERTS_FILE.read_text())
    known = {(v["name"], a) for v in cat.vendors for a in v["demo_accounts"]}
    alerts, routing = [], {}
    for e in doc.get("alerts", []) + doc.get("routing", []):
        if (e["vendor"], e["account"]) not in known:
            raise Failure(f"{DEMO_ALERTS_FILE.name}: {e['vendor']}/{e['account']} is not a demo account of the catalogue")
    for account in doc.get("labels", {}):
        if not any(account == a for _, a in known):
            raise Failure(f"{DEMO_ALERTS_FILE.name}: labels of {account}, which is not a demo account of the catalogue")
    for e in doc.get("alerts", []):
        alerts.append((e["vendor"], e["account"], e["alertname"], e["severity"]))
    for e in doc.get("routing", []):
        key = (e["vendor"], e["account"], e["alertname"], e["severity"], e.get("item"))
        routing[key] = (e["receivers"], e["inhibited"])
    return alerts, routing, doc.get("labels", {})


def matches(labels: dict, matcher: str) -> bool:
    m = re.fullmatch(r'\s*(\w+)\s*(=~|!~|!=|=)\s*"(.*)"\s*', matcher)
    if not m:
        raise Failure(f"alertmanager.yml: matcher {matcher!r} is not understood by this check")
    name, op, value = m.groups()
    got = labels.get(name, "")
    return {"=": got == value, "!=": got != value, "=~": re.fullmatch(value, got) is not None,
            "!~": re.fullmatch(value, got) is None}[op]


# Grafana's built-in variables, replaced by concrete values.
BUILTINS = {
    "__rate_interval": "1m",
    "__interval": "1m",
    "__interval_ms": "60000",
    "__range": "1h",
    "__range_s": "3600",
    "__range_ms": "3600000",
}


class Failure(Exception):
    pass


def log(msg: str) -> None:
    print(f"{NAME}: {msg}", flush=True)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url: str, timeout: float = 5.0) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace")


class Prom:
    def __init__(self, base: str):
        self.base = base

    def api(self, path: str, **params) -> dict:
        url = f"{self.base}/api/v1/{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        status, body = http_get(url, timeout=10)
        try:
            doc = json.loads(body)
        except json.JSONDecodeError:
            raise Failure(f"GET {path}: HTTP {status}, not JSON: {body[:200]}")
        if doc.get("status") != "success":
            raise Failure(f"{doc.get('errorType')}: {doc.get('error')}")
        return doc["data"]

    def query(self, expr: str) -> list:
        return self.api("query", query=expr)["result"]

    def query_range(self, expr: str, seconds: int = 30) -> list:
        end = time.time()
        return self.api("query_range", query=expr, start=f"{end - seconds:.3f}", end=f"{end:.3f}", step="1")["result"]


class Processes:
    """Children in their own process groups, all stopped on exit."""

    def __init__(self):
        self.procs: list[tuple[str, subprocess.Popen, Path]] = []

    def start(self, name: str, argv: list[str], logfile: Path) -> subprocess.Popen:
        out = open(logfile, "wb")
        p = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        out.close()
        self.procs.append((name, p, logfile))
        return p

    def check_alive(self) -> None:
        for name, p, logfile in self.procs:
            if p.poll() is not None:
                raise Failure(f"{name} exited with {p.returncode}:\n{tail(logfile)}")

    def stop_all(self) -> None:
        for _, p, _ in self.procs:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.time() + 10
        for _, p, _ in self.procs:
            try:
                p.wait(timeout=max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait()


def tail(path: Path, n: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return "(no log)"


class Deadline:
    def __init__(self, seconds: float):
        self.end = time.time() + seconds

    def wait_for(self, what: str, fn, procs: Processes, interval: float = 0.5):
        """Calls fn() until it returns a truthy value, or fails when the deadline passes."""
        last_err = None
        while True:
            procs.check_alive()
            try:
                v = fn()
                if v:
                    return v
            except (Failure, OSError) as e:
                last_err = e
            if time.time() > self.end:
                raise Failure(f"timed out waiting for {what}" + (f" (last error: {last_err})" if last_err else ""))
            time.sleep(interval)


# ---------------------------------------------------------------- what a query is about
def vendors_of_expr(expr: str, covers: dict[str, set[str]]) -> set[str] | None:
    """The vendors whose data an expression needs, or None when it needs none in particular.
    A series with a prefix the catalogue does not know is a failure."""
    found: set[str] = set()
    specific = False
    names, errors = catalogue.classify(CAT, expr)
    if errors:
        raise Failure("; ".join(errors) + f"\n    {expr}")
    for name in names:
        for prefix, vendor in VENDOR_PREFIXES.items():
            if name.startswith(prefix):
                found.add(vendor)
                specific = True
        if name in covers:
            found |= covers[name]
            specific = True
    return found if specific else None


def load_rules() -> tuple[list[dict], list[dict], dict[str, set[str]]]:
    recording, alerting = [], []
    for f in RULE_FILES:
        for g in yaml.safe_load(f.read_text())["groups"]:
            for r in g["rules"]:
                (recording if "record" in r else alerting).append(r)
    covers: dict[str, set[str]] = {}
    for r in recording:  # rules are in dependency order, as in the file
        v = (r.get("labels") or {}).get("vendor")
        vs = {v} if v else (vendors_of_expr(r["expr"], covers) or set())
        if not v and not re.search(r"\bor\b", r["expr"]):
            # Without `or`, a derived series exists only where all its recorded inputs do
            # (a ratio, a trend `and` its input): the vendors they have in common.
            inputs = [covers[n] for n in set(re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", r["expr"])) if covers.get(n)]
            if inputs:
                vs = set.intersection(*inputs)
        r["_vendors"] = vs
        covers.setdefault(r["record"], set()).update(vs)
    return recording, alerting, covers


def expand(expr: str, variables: dict[str, str], where: str) -> str:
    def sub(m: re.Match) -> str:
        name = m.group(1) or m.group(2) or m.group(3)
        if name in BUILTINS:
            return BUILTINS[name]
        if name in variables:
            return variables[name]
        raise Failure(f"{where}: unknown template variable ${name}")

    return re.sub(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]", sub, expr)


def dashboard_variables(dash: dict) -> tuple[dict[str, str], str | None]:
    """Template variable values for the check: query variables match everything (what
    "All" gives), constants keep their value. Also returns the dashboard's vendor, if it
    is about one vendor."""
    values: dict[str, str] = {}
    vendor = None
    for v in dash.get("templating", {}).get("list", []):
        if v["type"] == "constant":
            values[v["name"]] = v["query"]
            if v["name"] == "vendor":
                vendor = v["query"]
        elif v["type"] in ("query", "custom", "textbox"):
            values[v["name"]] = v.get("allValue") or ".*"
    return values, vendor


# ---------------------------------------------------------------- the check
def alertmanager_config(tmp: Path) -> Path:
    """The example config with its receivers emptied: routing and inhibition stay as they
    are, but nothing is sent (no paging service, chat or mail server is contacted)."""
    cfg = yaml.safe_load(ALERTMANAGER_CONFIG.read_text())
    cfg["receivers"] = [{"name": r["name"]} for r in cfg["receivers"]]
    cfg["global"] = {k: v for k, v in (cfg.get("global") or {}).items() if not k.startswith("smtp_")}
    path = tmp / "alertmanager.yml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def run(binary: str, tmp: Path, procs: Processes) -> None:
    prometheus = shutil.which("prometheus") or "/usr/bin/prometheus"
    alertmanager = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager") or "/usr/bin/prometheus-alertmanager"
    if not Path(binary).is_file():
        raise Failure(f"exporter binary {binary} not found (set QUOTA_EXPORTER_BIN)")
    deadline = Deadline(WAIT_SECONDS)
    global CAT, VENDOR_PREFIXES, DEMO_ALERTS, DEMO_ROUTING, DEMO_LABELS
    try:
        CAT = catalogue.load(binary)
    except catalogue.CatalogueError as e:
        raise Failure(str(e))
    VENDOR_PREFIXES = CAT.vendor_prefixes()
    DEMO_ALERTS, DEMO_ROUTING, DEMO_LABELS = demo_expectations(CAT)

    # -- exporter
    exp_port = free_port()
    procs.start("exporter", [binary, "--demo", "--web.listen-address", f"127.0.0.1:{exp_port}"], tmp / "exporter.log")

    def exporter_ready():
        status, body = http_get(f"http://127.0.0.1:{exp_port}/metrics")
        return status == 200 and "quota_exporter_up{" in body

    deadline.wait_for("the exporter to serve /metrics", exporter_ready, procs)
    log(f"exporter --demo is up on 127.0.0.1:{exp_port}")

    # -- Alertmanager (no cluster: it would listen on every interface)
    am_port = free_port()
    procs.start("alertmanager", [
        alertmanager,
        f"--config.file={alertmanager_config(tmp)}",
        f"--storage.path={tmp / 'am'}",
        f"--web.listen-address=127.0.0.1:{am_port}",
        "--cluster.listen-address=",
        "--log.level=warn",
    ], tmp / "alertmanager.log")
    am_base = f"http://127.0.0.1:{am_port}"
    deadline.wait_for("Alertmanager to be ready", lambda: http_get(f"{am_base}/-/ready")[0] == 200, procs)
    log(f"Alertmanager is up on 127.0.0.1:{am_port}")

    # -- Prometheus
    prom_port = free_port()
    config = {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(f) for f in RULE_FILES],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{am_port}"]}]}]},
        "scrape_configs": [{"job_name": JOB, "static_configs": [{"targets": [f"127.0.0.1:{exp_port}"]}]}],
    }
    (tmp / "prometheus.yml").write_text(yaml.safe_dump(config))
    procs.start("prometheus", [
        prometheus,
        f"--config.file={tmp / 'prometheus.yml'}",
        f"--storage.tsdb.path={tmp / 'data'}",
        f"--web.listen-address=127.0.0.1:{prom_port}",
        "--log.level=warn",
    ], tmp / "prometheus.log")
    prom = Prom(f"http://127.0.0.1:{prom_port}")
    deadline.wait_for("Prometheus to be ready", lambda: http_get(f"{prom.base}/-/ready")[0] == 200, procs)
    log(f"Prometheus is up on 127.0.0.1:{prom_port}")

    recording, alerting, covers = load_rules()

    # -- data: every vendor of the demo, its vendor series and its recorded series
    def vendors_up():
        return {s["metric"]["vendor"] for s in prom.query("quota_exporter_up")}

    vendors = deadline.wait_for("quota_exporter_up series", vendors_up, procs)
    accounts = {(s["metric"]["vendor"], s["metric"]["account"]) for s in prom.query("quota_exporter_up")}
    log(f"demo vendors: {', '.join(sorted(vendors))}; accounts: "
        + ", ".join(f"{v}/{a}" for v, a in sorted(accounts)))
    missing_vendors = sorted(set(VENDOR_PREFIXES.values()) - vendors)
    if missing_vendors:
        raise Failure(f"the demo serves no account of {', '.join(missing_vendors)}, which the catalogue lists")

    prefix_of = {v: p for p, v in VENDOR_PREFIXES.items()}

    def vendor_data():
        for v in vendors:
            if not prom.query(f'count({{__name__=~"{prefix_of[v]}.+"}})'):
                return False
            if not prom.query(f'count({{__name__=~"quota:.+", vendor="{v}"}})'):
                return False
        return True

    deadline.wait_for("vendor series and recorded series for every demo vendor", vendor_data, procs)

    # Every rule loaded and evaluated at least once without error.
    n_rules = len(recording) + len(alerting)

    def rules_evaluated():
        groups = prom.api("rules")["groups"]
        rules = [r for g in groups for r in g["rules"]]
        if len(rules) != n_rules:
            raise Failure(f"Prometheus loaded {len(rules)} rules, the files have {n_rules}")
        bad = [r for r in rules if r.get("health") == "err" or r.get("lastError")]
        if bad:
            raise Failure("rule evaluation errors: " + "; ".join(f"{r['name']}: {r.get('lastError')}" for r in bad))
        return all(r.get("health") == "ok" for r in rules)

    deadline.wait_for("every rule to be evaluated", rules_evaluated, procs)
    # A few more scrapes, so that range queries (increase, deriv...) have samples to use.
    time.sleep(4)
    procs.check_alive()

    failures: list[str] = []
    counts: dict[str, list[int]] = {}  # category -> [checked, skipped]

    def check_query(category: str, where: str, expr: str, needs: set[str] | None, instant: bool = True) -> None:
        c = counts.setdefault(category, [0, 0])
        if needs is not None and not (needs & vendors):
            failures.append(f"{where}: needs {'/'.join(sorted(needs))} data, which the demo does not serve\n    {expr}")
            return
        c[0] += 1
        try:
            result = prom.query(expr) if instant else prom.query_range(expr)
        except Failure as e:
            failures.append(f"{where}: {e}\n    {expr}")
            return
        if not result:
            failures.append(f"{where}: no data\n    {expr}")

    # -- recording rules: each rule's expression, and each recorded series per vendor
    for r in recording:
        check_query("recording rule expressions",
                    f"recording rule {r['record']} ({'/'.join(sorted(r['_vendors'])) or 'any'})",
                    r["expr"], r["_vendors"] or None)
    for record, vs in covers.items():
        for v in sorted(vs):
            check_query("recorded series", f"recorded series {record}{{vendor={v!r}}}", f'{record}{{vendor="{v}"}}', {v})

    # -- dashboards
    panel_queries = 0
    for path in DASHBOARDS:
        dash = json.loads(path.read_text())
        variables, dash_vendor = dashboard_variables(dash)
        for panel in dash.get("panels", []):
            for t in panel.get("targets", []):
                if not t.get("expr"):
                    continue
                where = f"{path.name}: panel {panel.get('title')!r} query {t.get('refId')}"
                try:
                    expr = expand(t["expr"], variables, where)
                except Failure as e:
                    failures.append(str(e))
                    continue
                try:
                    needs = {dash_vendor} if dash_vendor else vendors_of_expr(expr, covers)
                except Failure as e:
                    failures.append(f"{where}: {e}")
                    continue
                panel_queries += 1
                check_query(path.name, where, expr, needs, instant=bool(t.get("instant")) and not t.get("range"))

    # Rules still evaluate cleanly after all that time.
    try:
        rules_evaluated()
    except Failure as e:
        failures.append(str(e))

    # -- alerts
    expected = DEMO_ALERTS

    def firing():
        alerts = [a for a in prom.api("alerts")["alerts"] if a["state"] == "firing"]
        keys = {(a["labels"].get("vendor"), a["labels"].get("account"), a["labels"]["alertname"], a["labels"].get("severity"))
                for a in alerts}
        if any(a["labels"].get("severity") == "warning" for a in alerts) and all(e in keys for e in expected):
            return alerts
        return None

    try:
        alerts = deadline.wait_for("the demo's alerts to fire", firing, procs)
    except Failure as e:
        alerts = [a for a in prom.api("alerts")["alerts"] if a["state"] == "firing"]
        keys = {(a["labels"].get("vendor"), a["labels"].get("account"), a["labels"]["alertname"], a["labels"].get("severity"))
                for a in alerts}
        if not any(a["labels"].get("severity") == "warning" for a in alerts):
            failures.append("no warning alert is firing")
        for e_ in expected:
            if e_ not in keys:
                failures.append("expected alert not firing: %s{vendor=%r, account=%r, severity=%r}" % (e_[2], e_[0], e_[1], e_[3]))
        failures.append(str(e))
    for a in sorted(alerts, key=lambda a: (a["labels"].get("vendor", ""), a["labels"].get("account", ""), a["labels"]["alertname"])):
        lb = a["labels"]
        log(f"firing: {lb['alertname']} [{lb.get('severity')}] {lb.get('vendor', '-')}/{lb.get('account', '-')}: "
            f"{a['annotations'].get('summary', '')}")

    for cat, (ok, _) in counts.items():
        log(f"{cat}: {ok} queries checked")

    # -- Alertmanager: routing by severity and inhibitions
    routing = DEMO_ROUTING

    def am_alerts():
        status, body = http_get(f"{am_base}/api/v2/alerts")
        if status != 200:
            raise Failure(f"Alertmanager /api/v2/alerts: HTTP {status}")
        got = {}
        for a in json.loads(body):
            lb = a["labels"]
            key = (lb.get("vendor"), lb.get("account"), lb.get("alertname"), lb.get("severity"), lb.get("item"))
            got[key] = (sorted(r["name"] for r in a.get("receivers", [])), a["status"]["state"] == "suppressed"
                        and bool(a["status"].get("inhibitedBy")))
            for k, v in DEMO_LABELS.get(lb.get("account"), {}).items():
                if lb.get(k) != v:
                    failures.append(f"{lb.get('alertname')} of {lb.get('account')} has {k}={lb.get(k)!r}, expected {v!r} (the account's labels:)")
            labels_of[key] = lb
        return got if all(k in got for k in routing) else None

    labels_of: dict[tuple, dict] = {}
    inhibit_rules = yaml.safe_load(ALERTMANAGER_CONFIG.read_text()).get("inhibit_rules") or []

    try:
        got = deadline.wait_for("Prometheus to deliver the alerts to Alertmanager", am_alerts, procs)
        for key, (receivers, inhibited) in routing.items():
            g_receivers, g_inhibited = got[key]
            name = "%s{vendor=%r, account=%r, severity=%r%s}" % (key[2], key[0], key[1], key[3],
                                                                 f", item={key[4]!r}" if key[4] else "")
            if g_receivers != sorted(receivers):
                failures.append(f"Alertmanager routes {name} to {g_receivers}, expected {sorted(receivers)}")
            if g_inhibited != inhibited:
                failures.append(f"Alertmanager {'does not inhibit' if inhibited else 'inhibits'} {name}")
        for key, (g_receivers, g_inhibited) in got.items():
            # Every inhibit rule of the config silences what it says, whichever the vendor.
            target = labels_of[key]
            for rule in inhibit_rules:
                if not all(matches(target, m) for m in rule.get("target_matchers", [])):
                    continue
                sources = [k for k, lb in labels_of.items() if k != key
                           and all(matches(lb, m) for m in rule.get("source_matchers", []))
                           and all(lb.get(e, "") == target.get(e, "") for e in rule.get("equal", []))]
                if sources and not g_inhibited:
                    failures.append(f"Alertmanager does not inhibit {key[2]}[{key[3]}] of {key[0]}/{key[1]}, "
                                    f"which {sources[0][2]} should (inhibit rule {rule.get('source_matchers')})")
        if routing:
            log(f"Alertmanager: {len(got)} alerts received, routed by urgency and team; "
                f"{sum(1 for _, i in got.values() if i)} inhibited, as expected")
    except Failure as e:
        failures.append(str(e))

    if failures:
        for f in failures:
            print(f"{NAME}: FAIL {f}", file=sys.stderr)
        raise Failure(f"{len(failures)} problem(s)")
    total_ok = sum(c[0] for c in counts.values())
    log(f"OK: {n_rules} rules evaluate without errors; {total_ok} rule and dashboard queries "
        f"({panel_queries} dashboard queries in {len(DASHBOARDS)} dashboards) returned data for "
        f"{', '.join(sorted(vendors))}; {len(alerts)} alerts firing, including "
        f"the {len(expected)} the demo is built to trigger")


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    procs = Processes()

    def on_signal(signum, _frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    tmp = Path(tempfile.mkdtemp(prefix="quota-e2e-"))
    try:
        run(sys.argv[1], tmp, procs)
        return 0
    except Failure as e:
        print(f"{NAME}: FAIL {e}", file=sys.stderr)
        for name, _, logfile in procs.procs:
            print(f"--- {name} log (last lines):\n{tail(logfile)}", file=sys.stderr)
        return 1
    finally:
        procs.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
