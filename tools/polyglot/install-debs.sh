#!/bin/sh
# Install the Debian packages named on the command line that are not installed yet, as root or
# through sudo (without a password prompt). `apt-get update` runs only when needed: when a package
# has no installation candidate in the current package lists, or when the install fails (stale
# lists). Used by `make polyglot`.
set -eu

missing=""
for pkg in "$@"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
    [ "$status" = installed ] || missing="$missing $pkg"
done
[ -n "$missing" ] || exit 0

if [ "$(id -u)" -eq 0 ]; then
    as_root=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root="sudo -n"
else
    echo "error: these Debian packages are missing:$missing" >&2
    echo "       install them as root: apt-get install --no-install-recommends$missing" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
for pkg in $missing; do
    if ! apt-cache show "$pkg" >/dev/null 2>&1; then
        echo "apt-get update ($pkg is not in the package lists)"
        $as_root apt-get update -qq
        break
    fi
done
echo "apt-get install$missing"
# shellcheck disable=SC2086  # one word per package
if ! $as_root apt-get install -y -qq --no-install-recommends $missing; then
    echo "apt-get update (the install failed; the package lists may be stale)"
    $as_root apt-get update -qq
    $as_root apt-get install -y -qq --no-install-recommends $missing
fi
