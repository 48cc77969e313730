#!/usr/bin/env bash
# The reports' charting library (docs/reports.md, "Charts"): uPlot, fetched from the npm registry
# with `npm pack`, checked against the integrity recorded here, and unpacked into
# static/vendor/uplot-<version>/ with its LICENSE and the SHA-256 of each file it keeps
# (tests/test_vendored.py checks the files against that record). The pages serve it from our own
# static files: no CDN. To upgrade: change VERSION and INTEGRITY (`npm view uplot@X dist.integrity`),
# run this, remove the old directory, point static/pages/js/reports.js at the new one.
set -euo pipefail

NAME=uplot
VERSION=1.6.32
INTEGRITY=sha512-KIMVnG68zvu5XXUbC4LQEPnhwOxBuLyW1AHtpm6IKTXImkbLgkMy+jabjLgSLMasNuGGzQm/ep3tOkyTxpiQIw==
KEEP=(dist/uPlot.esm.js dist/uPlot.min.css LICENSE)

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DEST="$ROOT/static/vendor/$NAME-$VERSION"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

(cd "$WORK" && npm pack --silent "$NAME@$VERSION" >/dev/null)
TARBALL="$WORK/$NAME-$VERSION.tgz"
GOT="sha512-$(openssl dgst -sha512 -binary "$TARBALL" | base64 -w0)"
if [ "$GOT" != "$INTEGRITY" ]; then
  echo "integrity mismatch for $NAME@$VERSION: got $GOT, expected $INTEGRITY" >&2
  exit 1
fi

tar -xzf "$TARBALL" -C "$WORK"
rm -rf "$DEST"
mkdir -p "$DEST"
for file in "${KEEP[@]}"; do
  cp "$WORK/package/$file" "$DEST/$(basename "$file")"
done
(cd "$DEST" && sha256sum -- * > SHA256SUMS)
echo "$NAME@$VERSION ($INTEGRITY) in ${DEST#"$ROOT"/}:"
cat "$DEST/SHA256SUMS"
