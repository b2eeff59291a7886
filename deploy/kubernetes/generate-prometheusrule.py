#!/usr/bin/env python3
"""Generate the PrometheusRule manifest from the Prometheus rule files.

deploy/prometheus/rules/*.yml is the one source of truth for recording and alerting
rules. This script puts their groups, in file-name order, into a Prometheus Operator
PrometheusRule (deploy/kubernetes/common/prometheusrule.yaml), so plain Prometheus,
the compose stack and Kubernetes all evaluate the same rules.

    deploy/kubernetes/generate-prometheusrule.py           # rewrite the manifest
    deploy/kubernetes/generate-prometheusrule.py --check   # exit 1 if it is stale

Needs Python 3 and PyYAML.
"""

from __future__ import annotations

import argparse
import difflib
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
DEFAULT_RULES_DIR = HERE.parent / "prometheus" / "rules"
DEFAULT_OUTPUT = HERE / "common" / "prometheusrule.yaml"

HEADER = """\
# GENERATED FILE, DO NOT EDIT.
# Source: deploy/prometheus/rules/*.yml (groups in file-name order).
# Regenerate: deploy/kubernetes/generate-prometheusrule.py
# scripts/checks/40-deploy.sh fails when this file differs from a fresh generation.
"""

METADATA = {
    "name": "quota-exporter",
    "labels": {
        "app.kubernetes.io/name": "quota-exporter",
        "app.kubernetes.io/part-of": "quota-exporter",
    },
}


class Dumper(yaml.SafeDumper):
    """Block style, indented sequences, literal blocks for multi-line strings."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if "\n" in value:
        # A literal block cannot keep trailing spaces on a line; fall back to quoting.
        if any(line != line.rstrip() for line in value.split("\n")):
            return dumper.represent_scalar("tag:yaml.org,2002:str", value, style='"')
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


Dumper.add_representer(str, _str)


class RulesError(Exception):
    pass


def rule_files(rules_dir: Path) -> list[Path]:
    if not rules_dir.is_dir():
        return []
    return sorted(
        p for p in rules_dir.iterdir() if p.is_file() and p.suffix in (".yml", ".yaml")
    )


def load_groups(files: list[Path]) -> list[dict]:
    groups: list[dict] = []
    seen: dict[str, Path] = {}
    for path in files:
        try:
            doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as e:
            raise RulesError(f"{path}: not valid YAML: {e}") from e
        if doc is None:
            continue
        if not isinstance(doc, dict) or set(doc) != {"groups"}:
            raise RulesError(f"{path}: expected a Prometheus rule file with only a top-level 'groups' key")
        if not isinstance(doc["groups"], list):
            raise RulesError(f"{path}: 'groups' must be a list")
        for group in doc["groups"]:
            name = group.get("name") if isinstance(group, dict) else None
            if not isinstance(name, str):
                raise RulesError(f"{path}: every group needs a name")
            if name in seen:
                # One PrometheusRule is one rule file to Prometheus: names must be unique.
                raise RulesError(f"{path}: group {name!r} is also defined in {seen[name]}")
            seen[name] = path
            groups.append(group)
    return groups


def render(groups: list[dict]) -> str:
    manifest = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": METADATA,
        "spec": {"groups": groups},
    }
    body = yaml.dump(
        manifest,
        Dumper=Dumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=4096,
    )
    return HEADER + body


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rules-dir", type=Path, default=DEFAULT_RULES_DIR, help="directory of Prometheus rule files (default: %(default)s)")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="manifest to write or check (default: %(default)s)")
    parser.add_argument("--check", action="store_true", help="do not write; exit 1 if --output differs from a fresh generation")
    args = parser.parse_args(argv)

    files = rule_files(args.rules_dir)
    if not files:
        print(f"warning: no rule files in {args.rules_dir}; the PrometheusRule has no groups", file=sys.stderr)
    try:
        text = render(load_groups(files))
    except RulesError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1

    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current == text:
            print(f"{args.output}: up to date with {len(files)} rule file(s)")
            return 0
        sys.stderr.writelines(
            difflib.unified_diff(
                current.splitlines(keepends=True),
                text.splitlines(keepends=True),
                fromfile=f"{args.output} (committed)",
                tofile=f"{args.output} (generated)",
            )
        )
        print(f"error: {args.output} is stale: run deploy/kubernetes/generate-prometheusrule.py", file=sys.stderr)
        return 1

    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output} from {len(files)} rule file(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
