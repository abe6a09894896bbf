#!/usr/bin/env bash
# The Debian package: cpack makes it from the build directory $1; it is then
# installed with `apt-get install ./sdscope_*.deb` in a clean root that this
# test makes (a copy-on-write overlay of this machine in a private mount
# namespace, thrown away at the end, so the host is never touched and no
# package is downloaded: apt gets a dead loopback proxy), checked there (sdscope --version, man -w, the
# completion files) and removed again.
set -eu
build=$(realpath "$1")
[ "$(id -u)" = 0 ] || { echo "skipped: making the root needs root"; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && cpack --config "$build/CPackConfig.cmake" -B "$work/pkg" > cpack.log 2>&1) ||
  { cat "$work/cpack.log"; exit 1; }
deb=$(ls "$work"/pkg/sdscope_*.deb)
depends=$(dpkg-deb -f "$deb" Depends)
for lib in libcurl4 libyaml-cpp0.7 libre2-9 libc-ares2 libzookeeper-mt2 libfmt9 libssl3; do
  case "$depends" in *"$lib"*) ;; *) echo "FAIL: Depends lacks $lib: $depends"; exit 1 ;; esac
done
contents=$(dpkg-deb -c "$deb")
for f in ./usr/bin/sdscope ./usr/share/man/man1/sdscope.1.gz ./usr/share/bash-completion/completions/sdscope \
         ./usr/share/zsh/vendor-completions/_sdscope ./usr/share/fish/vendor_completions.d/sdscope.fish; do
  grep -q " $f\$" <<< "$contents" || { echo "FAIL: the package lacks $f"; echo "$contents"; exit 1; }
done

unshare -m bash -euc '
  deb=$1 mnt=$2
  mkdir "$mnt" && mount -t tmpfs tmpfs "$mnt"
  mkdir "$mnt/upper" "$mnt/work" "$mnt/root"
  mount -t overlay overlay -o "lowerdir=/,upperdir=$mnt/upper,workdir=$mnt/work" "$mnt/root"
  root=$mnt/root
  mount -t proc proc "$root/proc"
  mount --rbind /dev "$root/dev"
  cd "$root" # apt wants a working directory it can name inside the root
  in_root() { chroot "$root" "$@"; }
  if in_root sh -c "command -v sdscope" > /dev/null; then echo "FAIL: sdscope is installed before the test"; exit 1; fi
  in_root apt-get install -y -q -o Acquire::http::Proxy=http://127.0.0.1:9 -o Acquire::https::Proxy=http://127.0.0.1:9 "$deb" > "$mnt/apt.log" 2>&1 || { cat "$mnt/apt.log"; exit 1; }
  in_root sdscope --version | grep -q "follows Prometheus v2.45" || { echo "FAIL: sdscope --version"; exit 1; }
  [ "$(in_root man -w sdscope)" = /usr/share/man/man1/sdscope.1.gz ] || { echo "FAIL: man -w sdscope"; exit 1; }
  in_root bash -c "source /usr/share/bash-completion/completions/sdscope && complete -p sdscope" > /dev/null ||
    { echo "FAIL: the installed bash completion"; exit 1; }
  in_root apt-get remove -y -q sdscope > "$mnt/apt.log" 2>&1 || { cat "$mnt/apt.log"; exit 1; }
  if in_root sh -c "command -v sdscope" > /dev/null; then echo "FAIL: sdscope is still there after removal"; exit 1; fi
' sh "$deb" "$work/mnt"
echo "ok: $(basename "$deb") installs, works and removes cleanly"
