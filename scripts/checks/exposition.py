"""Starts the exporter's demo, scrapes /metrics in both formats and lints each.

Classic text 0.0.4: `promtool check metrics` must print nothing and exit 0.
OpenMetrics 1.0: prometheus_client's strict OpenMetrics parser must accept the whole text.
Both: the exact Content-Type, and the same series in each.
"""
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics
from prometheus_client.parser import text_string_to_metric_families as parse_classic

sys.path.insert(0, str(Path(__file__).resolve().parent))
import catalogue  # noqa: E402  (every metric family with its type, unit and HELP, from the binary)

OPENMETRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8"
CLASSIC = "text/plain; version=0.0.4; charset=utf-8"
PROMETHEUS_ACCEPT = "application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.4,*/*;q=0.1"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(url, accept=None):
    req = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    with urllib.request.urlopen(req, timeout=5) as r:
        return r.headers["Content-Type"], r.read().decode()


def series(families):
    return sorted((s.name, tuple(sorted(s.labels.items()))) for f in families for s in f.samples)


def main():
    binary = sys.argv[1]
    port = free_port()
    proc = subprocess.Popen([binary, "--demo", "--web.listen-address", f"127.0.0.1:{port}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.time() + 30
        while True:
            try:
                with urllib.request.urlopen(base + "/-/ready", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.time() > deadline:
                sys.exit("the demo did not become ready within 30 s")
            time.sleep(0.1)

        ctype, classic = fetch(base + "/metrics")
        assert ctype == CLASSIC, f"classic Content-Type is {ctype!r}"
        lint = subprocess.run(["promtool", "check", "metrics"], input=classic, capture_output=True, text=True)
        if lint.returncode != 0 or lint.stdout.strip() or lint.stderr.strip():
            sys.exit(f"promtool check metrics:\n{lint.stdout}{lint.stderr}")

        ctype, om = fetch(base + "/metrics", PROMETHEUS_ACCEPT)
        assert ctype == OPENMETRICS, f"OpenMetrics Content-Type is {ctype!r}"
        om_families = list(parse_openmetrics(om))

        classic_series = series(parse_classic(classic))
        om_series = series(om_families)
        if classic_series != om_series:
            only_c = set(classic_series) - set(om_series)
            only_o = set(om_series) - set(classic_series)
            sys.exit(f"formats differ: only classic {sorted(only_c)[:5]}, only OpenMetrics {sorted(only_o)[:5]}")
        # Every family of the catalogue is served, as the catalogue declares it; every served
        # family is in the catalogue.
        cat = catalogue.load(binary)
        served = {f.name: f for f in om_families}
        declared = {f["name"]: f for f in cat["families"]}
        for name, f in declared.items():
            got = served.get(name)
            if got is None:
                sys.exit(f"{f['owner']} family {name} (--print-catalogue) is not in the demo's exposition")
            if (got.type, got.documentation, got.unit or None) != (f["type"], f["help"], f["unit"]):
                sys.exit(f"{name}: served as {got.type}/{got.unit!r}/{got.documentation!r}, "
                         f"the catalogue says {f['type']}/{f['unit']!r}/{f['help']!r}")
        for name in served.keys() - declared.keys():
            sys.exit(f"the demo serves {name}, which is not in the catalogue (--print-catalogue)")
        vendors = sorted({dict(l).get("vendor") for n, l in om_series if n == "quota_exporter_up"})
        missing = sorted(set(cat.vendor_names()) - set(vendors))
        if missing:
            sys.exit(f"the demo serves no account of {', '.join(missing)}")
        print(f"exposition ok: {len(om_families)} families (each as the catalogue declares it), {len(om_series)} series, "
              f"vendors {', '.join(vendors)}; "
              "promtool clean, OpenMetrics parser accepts")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    main()
