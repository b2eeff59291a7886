#!/usr/bin/env python3
"""Consistency checks of the monitoring content that promtool and amtool do not make.

  alerts      every alert has a severity of warning or critical, an urgency of high or low,
              a summary, a description naming the vendor and account (or the exporter
              instance, for target-level alerts) and a runbook_url pointing at its section;
              every alert band is in the table of docs/alerting.md, with its urgency and `for`
  tests       every (alert, severity) has a promtool test in which it fires, every alert a
              test in which it stays quiet, every recording rule a test with expected samples;
              every test file evaluates the rule groups in a fixed order
  docs        docs/runbooks.md has a section per alert (anchor = alert name in lower case)
              and no section for an alert that does not exist; docs/alerting.md names every
              alert and every recording rule
  metrics     every metric name used in rules and dashboards is in docs/metrics.md, and every
              vendor metric of docs/metrics.md is on its vendor's dashboard, every exporter
              metric on the health dashboard
  dashboards  valid JSON, unique uids, a `datasource` variable and `vendor`/`account`
              variables, every panel with a description and a unit, every query on
              `${datasource}` and filtered by `$account` where the series has an account

Prints one line per problem and exits 1 if there is any.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import catalogue  # noqa: E402  (the vendor list, prefixes and families, from the binary)

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy/prometheus/rules"
TESTS = ROOT / "deploy/prometheus/tests"
RUNBOOKS = ROOT / "docs/runbooks.md"
ALERTING_DOC = ROOT / "docs/alerting.md"
METRICS_DOC = ROOT / "docs/metrics.md"
DASHBOARDS = ROOT / "dashboards"
RUNBOOK_BASE = "https://github.com/quota-exporter/quota-exporter/blob/main/docs/runbooks.md#"

try:
    CAT = catalogue.load()
except catalogue.CatalogueError as e:
    sys.exit(f"20-rules: FAIL {e}")
VENDOR_PREFIXES = CAT.vendor_prefixes()
VENDOR_DASHBOARD = {v["name"]: v["dashboard"] for v in CAT.vendors}
HEALTH_DASHBOARD = CAT["exporter"]["dashboard"]
SEVERITIES = {"warning", "critical"}

problems: list[str] = []


def problem(msg: str) -> None:
    problems.append(msg)


def metric_tokens(expr: str, where: str = "") -> set[str]:
    """The series of ours (or recorded) a PromQL expression selects; a series with a prefix the
    catalogue does not know is a problem."""
    names, errors = catalogue.classify(CAT, expr)
    for e in errors:
        problem(f"{where or expr}: {e}")
    # X:held is X held at its last value (recording.yml): the metric is X.
    return {n.removesuffix(":held") for n in names}


def documented_metrics() -> tuple[dict[str, str], set[str]]:
    """Metric name -> vendor (or "exporter", "process") from docs/metrics.md, which must list
    every family of the catalogue and nothing else."""
    out: dict[str, str] = {}
    for m in re.finditer(r"^\|\s*`([a-z0-9_:]+)`\s*\|", METRICS_DOC.read_text(), re.M):
        name = m.group(1)
        owner = CAT.owner(name)
        if owner is None:
            problem(f"docs/metrics.md: {name} has no metric prefix the catalogue knows")
        elif name not in CAT.sample_names():
            problem(f"docs/metrics.md: {name} is not a metric family of the exporter (--print-catalogue)")
        else:
            out[name] = owner
    for name, f in sorted(CAT.sample_names().items()):
        if name not in out:
            problem(f"docs/metrics.md: {f['owner']} metric {name} is not in the table")
    return out, {n for n, v in out.items() if v == "exporter"}


def github_anchor(heading: str) -> str:
    a = heading.strip().lower()
    a = re.sub(r"[^\w\- ]", "", a)
    return a.replace(" ", "-")


# ---------------------------------------------------------------- rules
def load_rules():
    recording, alerting = [], []
    for f in (RULES / "recording.yml", RULES / "alerts.yml"):
        for g in yaml.safe_load(f.read_text())["groups"]:
            for r in g["rules"]:
                (recording if "record" in r else alerting).append(r)
    return recording, alerting


def check_alerts(alerting, documented):
    table = {}
    for m in re.finditer(r"^\| `(Quota\w+)` \| (warning|critical) \| (high|low) \| .* \| (\S+) \|$", ALERTING_DOC.read_text(), re.M):
        table[(m.group(1), m.group(2), m.group(3))] = m.group(4)
    seen = set()
    for r in alerting:
        name = r["alert"]
        labels = r.get("labels") or {}
        ann = r.get("annotations") or {}
        sev = labels.get("severity")
        where = f"alerts.yml: {name}[{sev}]"
        if not re.fullmatch(r"Quota[A-Z][A-Za-z]+", name):
            problem(f"{where}: alert names are CamelCase and start with Quota")
        if sev not in SEVERITIES:
            problem(f"{where}: severity must be one of {sorted(SEVERITIES)}")
        # One rule per name, severity and urgency (a band may page or not by what it is about).
        band = (name, sev, labels.get("urgency"))
        if band in seen:
            problem(f"{where}: two rules with the same name, severity and urgency")
        seen.add(band)
        if labels.get("urgency") not in ("high", "low"):
            problem(f"{where}: urgency must be high (pages) or low (a ticket)")
        for key in ("summary", "description", "runbook_url"):
            if not str(ann.get(key, "")).strip():
                problem(f"{where}: no annotation {key}")
        if ann.get("runbook_url") != RUNBOOK_BASE + name.lower():
            problem(f"{where}: runbook_url should be {RUNBOOK_BASE + name.lower()}")
        text = f"{ann.get('summary', '')} {ann.get('description', '')}"
        per_account = any(
            t.startswith(tuple(VENDOR_PREFIXES)) or t.startswith("quota:") or t in (
                "quota_exporter_up", "quota_exporter_last_success_timestamp_seconds")
            for t in metric_tokens(r["expr"]))
        if per_account:
            if "$labels.account" not in text:
                problem(f"{where}: summary/description should name the account ($labels.account)")
            # The vendors the expression is about: by its series' prefixes and its vendor matchers.
            uses = {CAT.owner(t) for t in metric_tokens(r["expr"])} | set(re.findall(r'vendor="(\w+)"', r["expr"]))
            titles = [w for v in CAT.vendors if v["name"] in uses for w in v["title"].split() if len(w) > 3]
            if "$labels.vendor" not in text and "vendor" not in labels and not any(w in text for w in titles):
                problem(f"{where}: summary/description should name the vendor")
        elif "$labels.instance" not in text and "$labels.job" not in text:
            problem(f"{where}: summary/description should name the exporter instance or job")
        for t in metric_tokens(r["expr"]):
            if not t.startswith("quota:") and t not in documented:
                problem(f"{where}: {t} is not in docs/metrics.md")
        if band not in table:
            problem(f"{where}: missing from the alert table of docs/alerting.md with urgency {labels.get('urgency')}")
        elif table[band] != str(r.get("for", "0m")):
            problem(f"{where}: docs/alerting.md says for {table[band]}, the rule has {r.get('for', '0m')}")
    for key in table.keys() - seen:
        problem(f"docs/alerting.md: the alert table lists {key[0]}[{key[1]}] urgency {key[2]}, which is not a rule")


def check_recording(recording, documented):
    for r in recording:
        # X:held is X held at its last value while the account's data is missing.
        base = r["record"].removesuffix(":held")
        if not (re.fullmatch(r"quota:[a-z_]+(:[a-z_]+)?", base) or (r["record"].endswith(":held") and base in documented)):
            problem(f"recording.yml: {r['record']}: names follow level:metric:operations (quota:...:unit)")
        v = (r.get("labels") or {}).get("vendor")
        uses_vendor = {VENDOR_PREFIXES[p] for t in metric_tokens(r["expr"]) for p in VENDOR_PREFIXES if t.startswith(p)}
        if uses_vendor and (v is None or {v} != uses_vendor):
            problem(f"recording.yml: {r['record']}: a rule on {sorted(uses_vendor)} series must carry vendor label "
                    f"{sorted(uses_vendor)}, has {v!r}")
        for t in metric_tokens(r["expr"]):
            if not t.startswith("quota:") and t not in documented:
                problem(f"recording.yml: {r['record']}: {t} is not in docs/metrics.md")


# ---------------------------------------------------------------- tests
def check_tests(recording, alerting):
    fires: set[tuple[str, str]] = set()
    quiet: set[str] = set()
    exprs_tested: list[str] = []
    files = sorted(TESTS.glob("*.yml"))
    if not files:
        problem("deploy/prometheus/tests: no test files")
    group_order = [g["name"] for f in (RULES / "recording.yml", RULES / "alerts.yml")
                   for g in yaml.safe_load(f.read_text())["groups"]]
    for f in files:
        doc = yaml.safe_load(f.read_text())
        # Without a complete order promtool evaluates groups in random order, and alerts on
        # recorded series see this or the previous evaluation's values by chance.
        if doc.get("group_eval_order") != group_order:
            problem(f"{f.name}: group_eval_order must list every rule group, recording first: {group_order}")
        for t in doc.get("tests", []):
            for a in t.get("alert_rule_test", []) or []:
                exp = a.get("exp_alerts") or []
                if not exp:
                    quiet.add(a["alertname"])
                for e in exp:
                    fires.add((a["alertname"], (e.get("exp_labels") or {}).get("severity")))
                    if "exp_annotations" not in e:
                        problem(f"{f.name}: {a['alertname']} at {a['eval_time']}: expected alerts must assert annotations")
            for p in t.get("promql_expr_test", []) or []:
                if p.get("exp_samples"):
                    exprs_tested.append(p["expr"])
    for r in alerting:
        key = (r["alert"], r["labels"]["severity"])
        if key not in fires:
            problem(f"tests: no test in which {key[0]}[{key[1]}] fires")
        if r["alert"] not in quiet:
            problem(f"tests: no test in which {r['alert']} stays quiet")
    for record in sorted({r["record"] for r in recording}):
        if not any(re.search(rf"(?<![\w:]){re.escape(record)}(?![\w:])", e) for e in exprs_tested):
            problem(f"tests: no promql_expr_test with expected samples for {record}")
    return fires, quiet


# ---------------------------------------------------------------- docs
def check_docs(recording, alerting):
    names = {r["alert"] for r in alerting}
    if not RUNBOOKS.exists():
        problem("docs/runbooks.md is missing")
    else:
        headings = [m.group(1) for m in re.finditer(r"^##\s+(.+?)\s*$", RUNBOOKS.read_text(), re.M)]
        anchors = {github_anchor(h) for h in headings}
        for n in sorted(names):
            if n.lower() not in anchors:
                problem(f"docs/runbooks.md: no section '## {n}' (anchor #{n.lower()})")
        for h in headings:
            if re.fullmatch(r"Quota\w+", h) and h not in names:
                problem(f"docs/runbooks.md: section {h} is about an alert that does not exist")
    if not ALERTING_DOC.exists():
        problem("docs/alerting.md is missing")
    else:
        text = ALERTING_DOC.read_text()
        for n in sorted(names):
            if f"`{n}`" not in text:
                problem(f"docs/alerting.md: alert {n} is not listed")
        for rec in sorted({r["record"] for r in recording}):
            if f"`{rec}`" not in text:
                problem(f"docs/alerting.md: recording rule {rec} is not listed")


# ---------------------------------------------------------------- dashboards
PER_ACCOUNT_EXPORTER = {
    "quota_exporter_up", "quota_exporter_last_success_timestamp_seconds", "quota_exporter_poll_duration_seconds",
    "quota_exporter_poll_interval_seconds", "quota_exporter_polls_total", "quota_exporter_poll_failures_total",
    "quota_exporter_api_requests_total", "quota_exporter_token_refreshes_total",
}


def iter_panels(panels):
    for p in panels:
        yield p
        yield from iter_panels(p.get("panels", []))


def check_dashboards(documented, recorded):
    files = sorted(DASHBOARDS.glob("*.json"))
    expected = {"quota-overview.json", HEALTH_DASHBOARD, *VENDOR_DASHBOARD.values()}
    for missing in sorted(expected - {f.name for f in files}):
        problem(f"dashboards/{missing} is missing")
    uids = {}
    used_by_file: dict[str, set[str]] = {}
    n_panels = n_targets = 0
    for f in files:
        where = f"dashboards/{f.name}"
        try:
            d = json.loads(f.read_text())
        except json.JSONDecodeError as e:
            problem(f"{where}: invalid JSON: {e}")
            continue
        if d.get("uid") in uids:
            problem(f"{where}: uid {d.get('uid')} is also used by {uids[d.get('uid')]}")
        uids[d.get("uid")] = f.name
        if not isinstance(d.get("schemaVersion"), int) or d["schemaVersion"] < 36:
            problem(f"{where}: schemaVersion should be recent (>= 36), is {d.get('schemaVersion')}")
        if d.get("id") is not None:
            problem(f"{where}: id must be null (Grafana assigns it)")
        if not d.get("title") or not d.get("description"):
            problem(f"{where}: needs a title and a description")
        variables = {v["name"]: v for v in d.get("templating", {}).get("list", [])}
        ds = variables.get("datasource")
        if not ds or ds.get("type") != "datasource" or ds.get("query") != "prometheus":
            problem(f"{where}: needs a `datasource` variable of type datasource for prometheus")
        for name in ("vendor", "account"):
            if name not in variables:
                problem(f"{where}: needs a `{name}` template variable")
        acc = variables.get("account", {})
        q = acc.get("query")
        q = q.get("query") if isinstance(q, dict) else q
        if acc.get("type") != "query" or not str(q).startswith("label_values("):
            problem(f"{where}: the account variable should be a label_values(...) query")
        used: set[str] = set()
        panel_ids = set()
        for p in iter_panels(d.get("panels", [])):
            if p.get("type") == "row":
                continue
            n_panels += 1
            pw = f"{where}: panel {p.get('title')!r}"
            if p.get("id") in panel_ids:
                problem(f"{pw}: duplicate panel id {p.get('id')}")
            panel_ids.add(p.get("id"))
            if not str(p.get("description", "")).strip():
                problem(f"{pw}: no description")
            unit = ((p.get("fieldConfig") or {}).get("defaults") or {}).get("unit")
            if not unit:
                problem(f"{pw}: no unit (fieldConfig.defaults.unit)")
            if not p.get("targets"):
                problem(f"{pw}: no query")
            for t in p.get("targets", []):
                n_targets += 1
                uid = (t.get("datasource") or p.get("datasource") or {}).get("uid")
                if uid != "${datasource}":
                    problem(f"{pw}: query {t.get('refId')} should use the ${{datasource}} variable, uses {uid!r}")
                expr = t.get("expr", "")
                if not expr.strip():
                    problem(f"{pw}: query {t.get('refId')} is empty")
                for tok in metric_tokens(expr):
                    used.add(tok)
                    if tok.startswith("quota:"):
                        if tok not in recorded:
                            problem(f"{pw}: {tok} is not a recording rule")
                    elif tok not in documented:
                        problem(f"{pw}: {tok} is not in docs/metrics.md")
                # Every per-account series is filtered by the account variable.
                for m in re.finditer(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{[^}]*\})?", expr):
                    tok, sel = m.group(1), m.group(2) or ""
                    per_account = tok.startswith(tuple(VENDOR_PREFIXES)) or tok.startswith("quota:") or tok in PER_ACCOUNT_EXPORTER
                    if per_account and 'account=~"$account"' not in sel:
                        problem(f"{pw}: {tok} is not filtered with account=~\"$account\"")
        used_by_file[f.name] = used
    for metric, vendor in sorted(documented.items()):
        fname = CAT.dashboard_of(vendor)
        if metric not in used_by_file.get(fname, set()):
            problem(f"dashboards/{fname}: does not show {metric}")
    return len(files), n_panels, n_targets


def check_provisioning():
    ds = yaml.safe_load((DASHBOARDS / "provisioning/datasources.yml").read_text())
    if not any(d.get("type") == "prometheus" and d.get("url") for d in ds.get("datasources", [])):
        problem("dashboards/provisioning/datasources.yml: no Prometheus datasource with a url")
    db = yaml.safe_load((DASHBOARDS / "provisioning/dashboards.yml").read_text())
    if not any(p.get("type") == "file" and (p.get("options") or {}).get("path") for p in db.get("providers", [])):
        problem("dashboards/provisioning/dashboards.yml: no file provider with a path")


def main() -> int:
    documented, _ = documented_metrics()
    if not documented:
        problem("docs/metrics.md: no metric found")
    recording, alerting = load_rules()
    recorded = {r["record"] for r in recording}
    check_alerts(alerting, documented)
    check_recording(recording, documented)
    fires, quiet = check_tests(recording, alerting)
    check_docs(recording, alerting)
    n_dash, n_panels, n_targets = check_dashboards(documented, recorded)
    check_provisioning()
    if problems:
        for p in dict.fromkeys(problems):
            print(f"20-rules: FAIL {p}", file=sys.stderr)
        return 1
    print(f"20-rules: lint OK: {len({r['alert'] for r in alerting})} alerts ({len(alerting)} rules) each with "
          f"labels, annotations, runbook section, firing and quiet tests; {len(recorded)} recorded series "
          f"({len(recording)} rules) each tested; {n_dash} dashboards, {n_panels} panels and {n_targets} "
          f"queries with units, descriptions and variables")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (OSError, yaml.YAMLError, json.JSONDecodeError, KeyError) as e:
        print(f"20-rules: FAIL cannot read the monitoring files: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)
