#!/bin/sh
# System packages the project needs beyond Python: Chromium for browser tests, poppler for
# rendering PDFs in tests, a CJK font for the printable proof, zbar for decoding QR codes in tests,
# Node.js and npm for the OpenID Provider the sign-in tests run (tests/oidc_provider),
# PgBouncer for the tests that run the API through it in transaction mode.
# Installed from Debian's packages on first use when we are root; otherwise we say what is missing.
set -e
need=""
command -v chromium >/dev/null 2>&1 || need="$need chromium"
command -v pdftoppm >/dev/null 2>&1 || need="$need poppler-utils"
command -v zbarimg >/dev/null 2>&1 || need="$need zbar-tools"
command -v node >/dev/null 2>&1 || need="$need nodejs"
command -v npm >/dev/null 2>&1 || need="$need npm"
[ -x /usr/sbin/pgbouncer ] || command -v pgbouncer >/dev/null 2>&1 || need="$need pgbouncer"
[ -f /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc ] || need="$need fonts-noto-cjk"
[ -z "$need" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing system packages:$need"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $need >/dev/null
else
  echo "missing system packages:$need (install them with apt-get; browser and PDF tests need them)" >&2
fi
