#!/bin/bash
# config-golden.sh - `plex-tokend -t` against the golden files.
#
# For each tests/config/NAME.conf, `plex-tokend -t -c DIR/NAME.conf` must
# exit 1 and the first line of its standard error must equal NAME.err,
# where @DIR@ stands for the temporary folder the cases are copied to.
# Files are made 0600 there (git keeps no modes), or 0644 when NAME
# holds "perm".  Then etc/plex-tokend.conf.example, with its paths moved
# into the temporary folder, must pass (exit 0, nothing on stderr).
#
# Run by `make check` with top_srcdir and top_builddir set; by hand:
#   top_srcdir=. top_builddir=build bash tests/config-golden.sh
# make runs tests/*.sh with $(SHELL), which may be a POSIX sh.
if [ -z "${BASH_VERSION:-}" ]; then
	exec bash "$0" "$@"
fi
set -u

: "${top_srcdir:?top_srcdir must be set}"
: "${top_builddir:?top_builddir must be set}"
bin=$top_builddir/plex-tokend
cases=$top_srcdir/tests/config
example=$top_srcdir/etc/plex-tokend.conf.example

if [[ ! -x $bin ]]; then
	echo "config-golden: $bin is missing; build it first" >&2
	exit 99
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/config-golden.XXXXXX") || exit 99
trap 'rm -rf -- "$tmp"' EXIT
# the credential cases expect no systemd credentials
unset CREDENTIALS_DIRECTORY

umask 077
cp -- "$cases"/* "$tmp"/ || exit 99
for f in "$tmp"/*; do
	case ${f##*/} in
	*perm*) chmod 644 -- "$f" ;;
	*) chmod 600 -- "$f" ;;
	esac
done

failed=0
n=0
for conf in "$tmp"/*.conf; do
	name=${conf##*/}
	name=${name%.conf}
	errfile=$cases/$name.err
	n=$((n + 1))
	if [[ ! -f $errfile ]]; then
		echo "FAIL $name: $errfile is missing"
		failed=$((failed + 1))
		continue
	fi
	want=$(head -n 1 -- "$errfile")
	want=${want//@DIR@/$tmp}
	"$bin" -t -c "$conf" >/dev/null 2>"$tmp/stderr"
	rc=$?
	got=$(head -n 1 -- "$tmp/stderr")
	if [[ $rc -ne 1 ]]; then
		echo "FAIL $name: exit status $rc, expected 1"
		echo "  stderr: $got"
		failed=$((failed + 1))
	elif [[ $got != "$want" ]]; then
		echo "FAIL $name: unexpected message"
		echo "  expected: $want"
		echo "  got:      $got"
		failed=$((failed + 1))
	else
		echo "ok   $name"
	fi
done

# The example, with /etc/plex-tokend/ moved to the temporary folder and
# the secrets it names made there.
n=$((n + 1))
sed "s|/etc/plex-tokend/|$tmp/|g" -- "$example" >"$tmp/example.conf" ||
    exit 99
printf 'example-not-a-secret-admin\n' >"$tmp/living-room.token"
printf 'example-not-a-secret-key\n' >"$tmp/home-assistant.key"
chmod 600 -- "$tmp/example.conf" "$tmp/living-room.token" \
    "$tmp/home-assistant.key"
"$bin" -t -c "$tmp/example.conf" >/dev/null 2>"$tmp/stderr"
rc=$?
if [[ $rc -ne 0 || -s $tmp/stderr ]]; then
	echo "FAIL example: exit status $rc, expected 0"
	sed 's/^/  stderr: /' -- "$tmp/stderr"
	failed=$((failed + 1))
else
	echo "ok   example"
fi

if [[ $failed -ne 0 ]]; then
	echo "config-golden: $failed of $n checks failed"
	exit 1
fi
echo "config-golden: all $n checks passed"
exit 0
