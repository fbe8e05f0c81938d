#!/usr/bin/env bash
# Extracts one program from a Debian package into .tools/bin and prints its path, installing
# nothing else from the package (nor its dependencies): fetch-debian-binary.sh <package> <program> [<suite>]
# Without <suite>: the package as the machine's apt sources offer it. With one (the next Debian
# release, when this one's package is too old): fetched through the archive the machine already
# uses, read from its own apt sources (deb822 or one-line form), so no host is written here.
# Needs root (apt).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tools="$root/.tools/bin"
package=$1 program=$2 suite=${3:-}
log() { echo "[setup] $*" >&2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
apt_opts=(-o "APT::Sandbox::User=root")
if [ -n "$suite" ]; then
  mirror=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '/^URIs:/ {print $2}' | grep -v -- '-security' | head -n 1)
  [ -n "$mirror" ] || mirror=$(grep -hs '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list | awk '{for (i=2;i<=NF;i++) if ($i ~ /^[a-z]+:\/\//) {print $i; exit}}' | grep -v -- '-security' | head -n 1)
  [ -n "$mirror" ] || { log "cannot find a Debian archive in the apt sources"; exit 1; }
  log "fetching $package from Debian $suite through the configured archive"
  mkdir -p "$work/lists/partial" "$work/archives/partial"
  echo "deb $mirror $suite main" > "$work/sources.list"
  # An empty status file: a package of the same name installed from elsewhere must not pin the version.
  touch "$work/status"
  apt_opts+=(-o "Dir::Etc::sourcelist=$work/sources.list" -o "Dir::Etc::sourceparts=-" -o "Dir::State::Lists=$work/lists"
    -o "Dir::State::status=$work/status" -o "Dir::Cache::Archives=$work/archives" -o "APT::Get::List-Cleanup=0")
  apt-get "${apt_opts[@]}" update -qq >&2
fi
(cd "$work" && apt-get "${apt_opts[@]}" download -qq "$package" >&2)

deb=$(ls "$work"/"${package}"_*.deb | head -n 1)
dpkg-deb -x "$deb" "$work/extract"
bin=$(find "$work/extract" -type f -name "$program" -perm -u+x | head -n 1)
[ -n "$bin" ] || { log "no $program in $deb"; exit 1; }
mkdir -p "$tools"
install -m 0755 "$bin" "$tools/$program"
echo "$tools/$program"
