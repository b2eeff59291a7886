#!/usr/bin/env bash
# The landing page in a real browser (headless Chromium from Debian, installed when missing),
# at 1280x900 — a common laptop width:
# - it renders (a screenshot is written and is a 1280-pixel-wide PNG);
# - nothing scrolls sideways: the document is no wider than the viewport, with the demo's
#   accounts, and again with a row whose message and settings are one 400-character word;
# - every account has a row with its key quota figures, and timestamps do not break.
# The screenshots stay in $LANDING_OUT (default: a temporary directory) for a look.
set -euo pipefail
cd "$(dirname "$0")/../.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
log() { printf '60-landing: %s\n' "$*"; }
fail() { printf '60-landing: FAIL: %s\n' "$*" >&2; exit 1; }

if ! command -v chromium >/dev/null; then
  log "installing chromium"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
fi
bin=${QUOTA_EXPORTER_BIN:-target/debug/quota-exporter}
[ -x "$bin" ] || cargo build --locked --quiet
work=$(mktemp -d)
out=${LANDING_OUT:-$work}
mkdir -p "$out"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$bin" --demo --web.listen-address "127.0.0.1:$port" >"$work/exporter.log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT

# Wait (bounded) until every demo account has been polled: no row says "waiting".
url="http://127.0.0.1:$port/"
for _ in $(seq 1 120); do
  if curl -fsS "$url" -o "$work/page.html" 2>/dev/null && grep -q '<td class=ok>' "$work/page.html" &&
    ! grep -q '<td class=wait>' "$work/page.html"; then
    break
  fi
  sleep 0.5
done
grep -q '<td class=ok>' "$work/page.html" || { cat "$work/exporter.log"; fail "the demo's accounts never came up"; }

browser() { timeout 60 chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage \
  --hide-scrollbars --window-size=1280,900 --user-data-dir="$work/profile" "$@" 2>>"$work/chromium.log"; }

# Screenshot of the page as served.
browser --screenshot="$out/landing.png" "$url" >/dev/null
python3 - "$out/landing.png" <<'PY' || fail "no usable screenshot"
import struct, sys
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
width, height = struct.unpack(">II", data[16:24])
assert (width, height) == (1280, 900), (width, height)
assert len(data) > 20_000, f"{len(data)} bytes: a blank page?"
PY
log "ok   screenshot $out/landing.png (1280x900)"

# Width: the same HTML with a script that records the document's width, read back from the
# DOM Chromium dumps. $1: the HTML file, $2: what it is.
fits() {
  sed 's#</body>#<script>document.body.dataset.widths = document.documentElement.scrollWidth + " " + window.innerWidth + " " + document.querySelector("table").scrollWidth;</script></body>#' \
    "$1" >"$1.probe.html"
  read -r scroll viewport table < <(browser --dump-dom "file://$1.probe.html" |
    sed -n 's/.*data-widths="\([0-9]*\) \([0-9]*\) \([0-9]*\)".*/\1 \2 \3/p')
  [ -n "${viewport:-}" ] || fail "$2: no widths in the dumped DOM"
  [ "$scroll" -le "$viewport" ] || fail "$2: the page is $scroll px wide in a $viewport px viewport"
  log "ok   $2: document $scroll px, table $table px, viewport $viewport px"
}
fits "$work/page.html" "the demo's page"

# The worst case: a message and settings that are one long word each.
word=$(printf 'x%.0s' $(seq 1 400))
python3 - "$work/page.html" "$work/long.html" "$word" "$bin" <<'PY'
import sys
sys.path.insert(0, "scripts/checks")
import catalogue
page, dest, word = open(sys.argv[1]).read(), sys.argv[2], sys.argv[3]
vendor = catalogue.load(sys.argv[4]).vendor_names()[0]
row = page.index("<tr><td>", page.index("</th></tr>"))
extra = ("<tr><td>" + vendor + "</td><td>a-very-long-account-name-" + word[:60] + "</td><td class=bad>down</td>"
         "<td class=fig></td><td>never</td><td>transport</td><td class=msg>" + word + "</td>"
         "<td><time>2026-01-01T00:00:00Z</time></td><td>5m</td><td class=set>base_url=" + word + "</td></tr>\n")
open(dest, "w").write(page[:row] + extra + page[row:])
PY
browser --screenshot="$out/landing-long.png" "file://$work/long.html" >/dev/null
fits "$work/long.html" "a page with 400-character words"

# Content: a row per account with figures; timestamps inside <time> (nowrap).
rows=$(grep -c '^<tr><td>' "$work/page.html")
accounts=$("$bin" --demo --config.check 2>/dev/null | grep -c '^  [a-z_]*/' || true)
grep -q 'storage .* of .* (' "$work/page.html" || fail "no storage figure on the page"
grep -q 'VIP seats [0-9]* of [0-9]*' "$work/page.html" || fail "no VIP seat figure on the page"
grep -q 'pro expires in [0-9]* day' "$work/page.html" || fail "no days to expiry on the page"
grep -q '<time datetime=' "$work/page.html" || fail "timestamps are not in <time>"
grep -q 'docs/runbooks.md' "$work/page.html" || fail "no link to the runbooks"
log "ok   $rows account rows${accounts:+ ($accounts in the config)}, quota figures, days to expiry, <time> stamps, docs and runbook links"
log "OK"
