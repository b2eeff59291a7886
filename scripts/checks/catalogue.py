"""The exporter's catalogue, read from the binary (`quota-exporter --print-catalogue`).

The checks keep no list of vendors, metric prefixes or families of their own: they ask the
binary ($QUOTA_EXPORTER_BIN, default target/debug/quota-exporter), and a series whose name
carries no known prefix is an error, never a skip.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RECORDED_PREFIX = "quota:"

# PromQL words that are not series names: functions, aggregations, keywords.
PROMQL_WORDS = set("""
abs absent absent_over_time acos acosh asin asinh atan atanh avg avg_over_time bool bottomk by ceil
changes clamp clamp_max clamp_min cos cosh count count_over_time count_values day_of_month day_of_week
day_of_year days_in_month deg delta deriv exp floor group group_left group_right histogram_quantile
holt_winters hour idelta ignoring increase irate label_join label_replace last_over_time ln log10 log2
mad_over_time max max_over_time min min_over_time minute month offset on or and unless predict_linear
present_over_time quantile quantile_over_time rad rate resets round scalar sgn sin sinh sort sort_desc
sqrt stddev stddev_over_time stdvar stdvar_over_time sum sum_over_time tan tanh time timestamp topk
vector without year inf nan start end pi double_exponential_smoothing limitk limit_ratio
""".split())


# Series Prometheus itself writes for every target and rule.
PROMETHEUS_SERIES = {"up", "ALERTS", "ALERTS_FOR_STATE", "scrape_duration_seconds", "scrape_samples_scraped",
                     "scrape_samples_post_metric_relabeling", "scrape_series_added"}


class CatalogueError(Exception):
    pass


def load(binary: str | None = None) -> dict:
    binary = binary or os.environ.get("QUOTA_EXPORTER_BIN") or str(ROOT / "target/debug/quota-exporter")
    try:
        out = subprocess.run([binary, "--print-catalogue"], capture_output=True, text=True, timeout=60)
    except OSError as e:
        raise CatalogueError(f"cannot run {binary} --print-catalogue ({e}): build it, or set QUOTA_EXPORTER_BIN")
    if out.returncode != 0:
        raise CatalogueError(f"{binary} --print-catalogue exited {out.returncode}: {out.stderr.strip()}")
    return Catalogue(json.loads(out.stdout))


class Catalogue(dict):
    @property
    def vendors(self) -> list[dict]:
        return self["vendors"]

    def vendor_names(self) -> list[str]:
        return [v["name"] for v in self.vendors]

    def prefixes(self) -> dict[str, str]:
        """Metric prefix -> owner: a vendor's name, "exporter" or "process"."""
        out = {v["metric_prefix"]: v["name"] for v in self.vendors}
        out[self["exporter"]["metric_prefix"]] = "exporter"
        out[self["process"]["metric_prefix"]] = "process"
        return out

    def vendor_prefixes(self) -> dict[str, str]:
        return {v["metric_prefix"]: v["name"] for v in self.vendors}

    def owner(self, name: str) -> str | None:
        """Who a series belongs to, by its prefix; None for an unknown prefix."""
        return next((o for p, o in self.prefixes().items() if name.startswith(p)), None)

    def dashboard_of(self, owner: str) -> str | None:
        if owner in ("exporter", "process"):
            return self["exporter"]["dashboard"]
        return next((v["dashboard"] for v in self.vendors if v["name"] == owner), None)

    def sample_names(self) -> dict[str, dict]:
        return {f["sample_name"]: f for f in self["families"]}


def series_names(expr: str) -> set[str]:
    """Every series name a PromQL expression (or a dashboard query) selects."""
    e = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'', '""', expr)  # strings
    e = re.sub(r"\{[^}]*\}", "", e)  # label matchers
    e = re.sub(r"\[[^\]]*\]", "", e)  # ranges
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", r"\1", e)  # label lists
    e = re.sub(r"\$\{?\w+\}?|\[\[\w+\]\]", "", e)  # template variables
    names = set()
    for m in re.finditer(r"(?<![\w:.])([a-zA-Z_:][a-zA-Z0-9_:]*)", e):
        tok = m.group(1)
        if tok.lower() in PROMQL_WORDS or re.fullmatch(r"\d+[smhdwy]", tok):
            continue
        if e[m.end():].lstrip().startswith("(") and not tok.startswith(RECORDED_PREFIX):
            continue  # a function call not in the list above is a function still
        names.add(tok)
    return names


def classify(cat: Catalogue, expr: str) -> tuple[set[str], list[str]]:
    """The series an expression uses (ours or recorded), and errors for unknown prefixes."""
    names, errors = set(), []
    for n in series_names(expr):
        if n.startswith(RECORDED_PREFIX) or cat.owner(n):
            names.add(n)
        elif n in PROMETHEUS_SERIES:
            continue
        else:
            errors.append(f"{n} has no metric prefix the catalogue knows ({', '.join(sorted(cat.prefixes()))})")
    return names, errors
