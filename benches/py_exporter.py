"""A small prometheus_client exporter serving the same series as a given exposition file.

Used by benches/run as the Python comparator: the file is parsed once at start, and every scrape
re-encodes the families through prometheus_client's own collector/encoder path and HTTP server
(gzip when asked), the way a typical Python exporter with a custom collector does.

Usage: python3 benches/py_exporter.py PORT EXPOSITION_FILE
"""

import sys
import time

from prometheus_client import GC_COLLECTOR, PLATFORM_COLLECTOR, PROCESS_COLLECTOR, REGISTRY, start_http_server
from prometheus_client.parser import text_string_to_metric_families


class Static:
    def __init__(self, families):
        self.families = families

    def collect(self):
        return self.families


def main():
    port, path = int(sys.argv[1]), sys.argv[2]
    for collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
        REGISTRY.unregister(collector)
    with open(path, encoding="utf-8") as f:
        families = list(text_string_to_metric_families(f.read()))
    REGISTRY.register(Static(families))
    start_http_server(port, addr="127.0.0.1")
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
