#!/usr/bin/env bash
# Make sure Debian's chromium is at /usr/bin/chromium for the browser tests (tests/browser).
# Installs it with apt-get when missing; never downloads a browser of Playwright's own.
# Quiet when it is already there.
set -uo pipefail

CHROMIUM=/usr/bin/chromium

[ -x "$CHROMIUM" ] && exit 0

fail() {
    echo "browser: $1" >&2
    echo "browser: install Debian's chromium yourself (apt-get install chromium) so that" \
        "$CHROMIUM exists; the browser tests need it." >&2
    exit 1
}

if [ "$(id -u)" != "0" ]; then
    fail "$CHROMIUM is missing and installing it needs root."
fi
if ! command -v apt-get >/dev/null 2>&1; then
    fail "$CHROMIUM is missing and there is no apt-get on this machine."
fi

echo "browser: installing chromium"
export DEBIAN_FRONTEND=noninteractive
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
# apt's chatter goes to a log that is shown only when something fails.
if ! apt-get update -qq >"$log" 2>&1; then
    cat "$log" >&2
    fail "apt-get update failed."
fi
if ! apt-get install -y -qq --no-install-recommends chromium >"$log" 2>&1; then
    cat "$log" >&2
    fail "apt-get install -y --no-install-recommends chromium failed."
fi
if [ ! -x "$CHROMIUM" ]; then
    fail "chromium was installed but $CHROMIUM is not there."
fi
echo "browser: $("$CHROMIUM" --version 2>/dev/null || echo chromium) installed"
exit 0
