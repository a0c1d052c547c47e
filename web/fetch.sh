#!/usr/bin/env bash
# Fetch the JavaScript libraries memstudy's HTML page bundles (web/vendor.lock) into
# web/vendor/PACKAGE/, each npm tarball checked against its sha256 first. build.sh runs it;
# it does nothing when web/vendor/ already holds the locked versions.
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v npm >/dev/null; then
	echo "web/fetch.sh: npm is missing: apt-get install npm (build.sh installs it)" >&2
	exit 1
fi
mkdir -p vendor
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
while IFS=$'\t' read -r pkg ver sum files; do
	[[ -z "$pkg" || "$pkg" == \#* ]] && continue
	dest="vendor/$pkg"
	if [ -f "$dest/.version" ] && [ "$(cat "$dest/.version")" = "$ver $sum" ]; then
		continue
	fi
	echo "web/fetch.sh: $pkg@$ver from the npm registry"
	tgz=$(cd "$work" && npm pack --silent "$pkg@$ver")
	got=$(sha256sum "$work/$tgz" | cut -d' ' -f1)
	if [ "$got" != "$sum" ]; then
		echo "web/fetch.sh: $pkg@$ver: sha256 $got, not the locked $sum: not used" >&2
		exit 1
	fi
	rm -rf "$dest" "$work/package"
	tar -xzf "$work/$tgz" -C "$work"
	mkdir -p "$dest"
	for f in $files; do
		cp "$work/package/$f" "$dest/$(basename "$f")"
	done
	echo "$ver $sum" > "$dest/.version"
done < vendor.lock
