#!/bin/bash
# The code's own rules (HACKING.md), checked on every make check: lines
# within 80 columns (tabs count 8), function bodies within 60 lines, no
# shortcoming markers, no banned calls, every exported symbol prefixed
# by its file's name.
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
cd "$top_srcdir" || exit 99
rc=0
src=$(ls src/*.[ch])

wide=$(for f in $src tests/*.c; do
	expand -t 8 "$f" | awk -v f="$f" \
	    'length($0) > 80 { print f ":" FNR ": " length($0) " columns" }'
done)
[ -z "$wide" ] || { echo "$wide"; rc=1; }

long=$(awk '/^\{/ { start = FNR; name = prev }
	/^\}/ { if (start && FNR - start - 1 > 60)
		print FILENAME ": " name ": " FNR - start - 1 " lines"
		start = 0 }
	/^[a-z_][a-z0-9_]*\(/ { prev = $0 }' $src)
[ -z "$long" ] || { echo "$long"; rc=1; }

marks=$(grep -nwE 'TO''DO|XX''X|FIX''ME' $src)
[ -z "$marks" ] || { echo "$marks"; rc=1; }

banned=$(grep -nE '\b(sprintf|strcpy|strcat|gets|atoi|strtok)\(' $src)
[ -z "$banned" ] || { echo "banned call: $banned"; rc=1; }

lib=$top_builddir/libtokend.a
if [ -f "$lib" ] && command -v nm >/dev/null; then
	for o in $(ar t "$lib"); do
		f=${o#libtokend_a-}
		f=${f%.o}
		case $f in
		config) f=cfg ;;
		token) f=tok ;;
		resources) f=res ;;
		esac
		ar p "$lib" "$o" > /tmp/style.$$.o
		bad=$(nm -g --defined-only /tmp/style.$$.o |
		    awk '{ print $3 }' | grep -v "^${f}_" |
		    grep -v "^${f}$")
		rm -f /tmp/style.$$.o
		[ -z "$bad" ] || { echo "$f: not prefixed: $bad"; rc=1; }
	done
fi
[ $rc = 0 ] && echo "style: ok"
exit $rc
