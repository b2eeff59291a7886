#!/usr/bin/env python3
"""Render the mixin (mixin/build.jsonnet) into the files it generates.

    mixin/render.py OUT_DIR [--mixin FILE]   write every generated file under OUT_DIR (paths as
                                             in the repo); FILE instead of mixin/build.jsonnet

Evaluates the jsonnet with the `jsonnet` command (Debian's package) or, without it, the PyPI
`jsonnet` module. Rule files are YAML with keys in the order Prometheus documents them; the
PrometheusRule is made from them by deploy/kubernetes/generate-prometheusrule.py's own code.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "deploy/kubernetes"))
prometheusrule = __import__("generate-prometheusrule")

KEY_ORDER = ["name", "interval", "rules", "record", "alert", "expr", "for", "keep_firing_for", "labels", "annotations",
             "summary", "description", "runbook_url"]


def evaluate(main: Path) -> dict:
    if shutil.which("jsonnet"):
        out = subprocess.run(["jsonnet", "-J", str(ROOT / "mixin"), str(main)], check=True, capture_output=True, text=True)
        return json.loads(out.stdout)
    import _jsonnet  # PyPI: jsonnet

    return json.loads(_jsonnet.evaluate_file(str(main), jpathdir=[str(ROOT / "mixin")]))


def ordered(value):
    if isinstance(value, dict):
        keys = sorted(value, key=lambda k: (KEY_ORDER.index(k) if k in KEY_ORDER else len(KEY_ORDER), k))
        return {k: ordered(value[k]) for k in keys}
    if isinstance(value, list):
        return [ordered(v) for v in value]
    return value


def rules_yaml(header: str, doc: dict) -> str:
    comment = "".join(f"# {line}".rstrip() + "\n" for line in header.rstrip("\n").split("\n"))
    body = yaml.dump(ordered(doc), Dumper=prometheusrule.Dumper, sort_keys=False, default_flow_style=False,
                     allow_unicode=True, width=4096)
    return comment + "\n" + body


def main() -> int:
    out = Path(sys.argv[1])
    main = Path(sys.argv[3]).resolve() if len(sys.argv) > 3 and sys.argv[2] == "--mixin" else ROOT / "mixin/build.jsonnet"
    files = evaluate(main)
    for path, spec in files.items():
        target = out / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if "yaml" in spec:
            target.write_text(rules_yaml(spec["header"], spec["yaml"]), encoding="utf-8")
        else:
            target.write_text(json.dumps(spec["json"], indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    rules = prometheusrule.rule_files(out / "deploy/prometheus/rules")
    manifest = out / "deploy/kubernetes/common/prometheusrule.yaml"
    manifest.parent.mkdir(parents=True, exist_ok=True)
    manifest.write_text(prometheusrule.render(prometheusrule.load_groups(rules)), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
