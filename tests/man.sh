#!/bin/sh
# Every manual page in the tree renders without a warning, names itself
# as its file does, refers only to tokencache pages that exist, names all
# the others under SEE ALSO, and is installed and uninstalled by the
# Makefile.  tokencachectl(1) documents every command and option the
# built tool has and every exit status tools/ctl.h defines.  Run by
# `make check`.
#
#   [CTL=build/tokencachectl] sh tests/man.sh
#
# Needs groff (groff-base) and man (man-db); tests/deps.sh installs them.
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP" || exit 1

pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok   - $1"; }
not_ok() {
	fail=$((fail + 1))
	echo "FAIL - $1"
	[ $# -gt 1 ] && printf '%s\n' "$2" | sed 's/^/       /'
	return 0
}

for c in groff man; do
	if ! command -v "$c" >/dev/null 2>&1; then
		not_ok "$c is installed" "tests/deps.sh installs groff-base and man-db"
		echo "man: $pass passed, $fail failed"
		exit 1
	fi
done

# The pages: files named NAME.SECTION with a .TH line, outside the build
# directories and the npm packages of the test server.
pages=$(find provider libclient tools packaging tests -name node_modules -prune -o \
    -type f -name '*.[1-8]' -print 2>/dev/null | sort | while read -r f; do
	grep -q '^\.TH ' "$f" && echo "$f"
done)

# The pages the project has: one missing is a failure, not a smaller test.
for want in provider/tokencached.8 provider/tokencache.conf.5 tools/tokencachectl.1 \
    libclient/tokencache.3 libclient/tokencache.7 provider/tokencache-module.3; do
	case " $(echo $pages) " in
	*" $want "*) ;;
	*) not_ok "$want exists" ;;
	esac
done

names=
for f in $pages; do
	base=${f##*/}
	names="$names ${base%.*}(${base##*.})"
done

for f in $pages; do
	base=${f##*/}
	sect=${base##*.}
	name=${base%.*}

	# groff's own warnings (-ww: all of them), then man-db's pipeline
	# (preconv, tbl, the terminal device) as a reader gets it.
	w=$(groff -man -ww -z "$f" 2>&1)
	[ -z "$w" ] || { not_ok "$f: groff -man -ww is silent" "$w"; continue; }
	w=$(MANWIDTH=80 man --warnings -l "$f" 2>&1 >/dev/null)
	[ -z "$w" ] || { not_ok "$f: man --warnings is silent" "$w"; continue; }

	# .TH NAME SECTION, NAME as the file's name in capitals.
	th=$(sed -n 's/^\.TH  *\([^ ]*\)  *\([^ ]*\).*/\1 \2/p' "$f" | head -n1)
	want=$(printf '%s %s' "$name" "$sect" | tr '[:lower:]' '[:upper:]')
	[ "$th" = "$want" ] || { not_ok "$f: .TH says '$th', not '$want'"; continue; }

	# Every tokencache page it names exists in the tree.
	refs=$(sed -n 's/^\.BR  *\(tokencache[a-z.-]*\) (\([1-8]\)).*/\1(\2)/p' "$f" | sort -u)
	bad=
	for r in $refs; do
		case "$names " in
		*" $r "*) ;;
		*) bad="$bad $r" ;;
		esac
	done
	[ -z "$bad" ] || { not_ok "$f: refers to pages that do not exist:$bad"; continue; }

	# Its SEE ALSO names every other tokencache page, so that a reader
	# of any one page finds the rest (the configuration in (5), the
	# overview in (7)).
	seealso=$(awk '/^\.SH  *"?SEE ALSO/ { p = 1; next } /^\.SH/ { p = 0 } p' "$f" |
	    sed -n 's/^\.BR  *\(tokencache[a-z.-]*\) (\([1-8]\)).*/\1(\2)/p' | sort -u)
	bad=
	for r in $names; do
		[ "$r" = "$name($sect)" ] && continue
		case " $(echo $seealso) " in
		*" $r "*) ;;
		*) bad="$bad $r" ;;
		esac
	done
	[ -z "$bad" ] || { not_ok "$f: SEE ALSO does not name:$bad"; continue; }

	# Installed into man$sect, and removed again.
	grep -q "install -m 0644 $f \$(DESTDIR)\$(MANDIR)/man$sect/\$" Makefile ||
	    { not_ok "$f: make install installs it into man$sect"; continue; }
	grep -q "\$(DESTDIR)\$(MANDIR)/man$sect/$base\( \\\\\)\{0,1\}\$" Makefile ||
	    { not_ok "$f: make uninstall removes it"; continue; }

	ok "$f: renders without warnings, .TH $th, $(echo $refs | wc -w) references to tokencache pages, installed"
done

# What tokencachectl(1) must cover, from the tool itself: its command
# table (help --commands), each command's option table (help --options)
# and its exit statuses (ctl.h).
CTL=${CTL:-build/tokencachectl}
page=tools/tokencachectl.1
# A man page's spelling of a word: each '-' as '\-', escaped for grep.
man_re() { printf '%s' "$1" | sed 's/-/\\\\-/g'; }
section() { awk -v s="$1" '$0 ~ "^\\.SH  *\"?" s { p = 1; next } /^\.SH/ { p = 0 } p' "$page"; }
if [ ! -x "$CTL" ]; then
	not_ok "$CTL is built (make all), to compare $page with it"
else
	cmds=$("$CTL" help --commands | sed 's/ .*//')
	n=$(echo $cmds | wc -w)
	[ "$n" -ge 13 ] || not_ok "$CTL help --commands lists only $n commands"
	section COMMANDS | grep -A1 '^\.TP' >"${TMPDIR:-/tmp}/man-tp.$$"
	missing=
	for c in $cmds; do
		grep -q "^\.B[IR]\{0,1\}  *$(man_re "$c")\( \|\$\)" "${TMPDIR:-/tmp}/man-tp.$$" ||
		    missing="$missing $c"
	done
	rm -f "${TMPDIR:-/tmp}/man-tp.$$"
	if [ -z "$missing" ]; then
		ok "$page: COMMANDS has an entry for each of the $n commands of $CTL"
	else
		not_ok "$page: COMMANDS has no entry for:$missing"
	fi
	missing=
	nopts=0
	for c in "" $cmds; do
		for o in $("$CTL" help --options $c | sed 's/ .*//'); do
			nopts=$((nopts + 1))
			grep -q -- "$(man_re "$o")" "$page" || missing="$missing ${c:-(global)}:$o"
		done
	done
	if [ -z "$missing" ]; then
		ok "$page: names each of the $nopts options of the commands"
	else
		not_ok "$page: does not name the options:$missing"
	fi
	# CTL_EXIT_* as a .TP entry of EXIT STATUS; check's CTL_PLUGIN_* as
	# "N NAME" in its text.
	exits=$(section "EXIT STATUS" | tr '\n' ' ')
	missing=
	for e in $(sed -n 's/^#define CTL_EXIT_[A-Z_]*  *\([0-9][0-9]*\).*/\1/p' tools/ctl.h); do
		case "$exits" in
		*".TP .B $e "*) ;;
		*) missing="$missing $e" ;;
		esac
	done
	for e in $(sed -n 's/^#define CTL_PLUGIN_\([A-Z_]*\)  *\([0-9][0-9]*\).*/\2:\1/p' tools/ctl.h); do
		case "$exits" in
		*"${e%%:*} ${e#*:}"*) ;;
		*) missing="$missing $e" ;;
		esac
	done
	if [ -z "$missing" ] && [ -n "$exits" ]; then
		ok "$page: EXIT STATUS gives every exit status of tools/ctl.h"
	else
		not_ok "$page: EXIT STATUS lacks:$missing"
	fi
fi

echo "man: $pass passed, $fail failed"
[ $fail -eq 0 ]
