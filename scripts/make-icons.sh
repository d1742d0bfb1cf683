#!/usr/bin/env bash
# Regenerates icons/ from icons/vmdeck.svg: 1024x1024 PNG via rsvg-convert (librsvg2-bin) or
# ImageMagick's /usr/bin/convert, then `tauri icon` for every platform size.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
png=$(mktemp --suffix=.png)
trap 'rm -f "$png"' EXIT
if command -v rsvg-convert >/dev/null; then
  rsvg-convert -w 1024 -h 1024 "$root/icons/vmdeck.svg" -o "$png"
else
  /usr/bin/convert -background none -density 384 "$root/icons/vmdeck.svg" -resize 1024x1024 "$png"
fi
"$root/ui/node_modules/.bin/tauri" icon "$png" -o "$root/icons"
rm -rf "$root/icons/android" "$root/icons/ios"
cp "$root/icons/vmdeck.svg" "$root/ui/public/vmdeck.svg"
