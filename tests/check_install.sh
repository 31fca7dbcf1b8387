#!/usr/bin/env bash
# check_install.sh — `make check-install`, part of `make test`: install into
# a temporary DESTDIR (PREFIX=/usr/local), then use that install the way a
# program outside the repository would: pkg-config for the flags, a static
# and a shared build of examples/train_esgd.c, run both. Checks the files
# and symlinks, the soname, that the shared library exports exactly what
# entropic.h declares, that Libs.private links the whole static library,
# and the example's results and its errors on bad input.
#
# pkg-config is pointed at the staged entropic.pc with PKG_CONFIG_PATH and
# --define-variable=prefix=STAGE/usr/local rather than PKG_CONFIG_SYSROOT_DIR:
# a sysroot is prefixed to every -L, also to the system ones of
# Libs.private (OpenBLAS's, MPI's), which are not under the stage.
#
# Environment (set by the Makefile): MAKE, BUILD, CC, ENT_LINK_FLAGS (the
# Makefile's $(LDFLAGS) $(LDLIBS), which Libs.private must repeat).
set -uo pipefail
cd "$(dirname "$0")/.."
MAKE=${MAKE:-make}
BUILD=${BUILD:-build}
CC=${CC:-cc}
FMNIST=/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz

# Part of the test command, not optional: missing tools fail (setup.sh installs them).
for tool in pkg-config readelf nm ldd; do
    command -v "$tool" >/dev/null || { echo "check-install: FAIL: $tool not found (bash scripts/setup.sh installs it)"; exit 1; }
done

fails=0 passes=0
ok() { passes=$((passes + 1)); echo "  ok: $*"; }
bad() { fails=$((fails + 1)); echo "  FAIL: $*"; }
check() { # check DESCRIPTION COMMAND...: ok if the command succeeds
    local what=$1; shift
    if "$@"; then ok "$what"; else bad "$what"; fi
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/entropic-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
stage=$tmp/stage prefix=/usr/local
root=$stage$prefix lib=$stage$prefix/lib

echo "check-install: make install DESTDIR=$stage PREFIX=$prefix"
if ! $MAKE --no-print-directory BUILD="$BUILD" install DESTDIR="$stage" PREFIX="$prefix" >"$tmp/install.log" 2>&1; then
    tail -20 "$tmp/install.log"
    echo "check-install: FAIL: make install failed"
    exit 1
fi

version=$(sed -n 's/.*define ENT_VERSION "\(.*\)".*/\1/p' include/entropic.h)
major=${version%%.*}
echo "check-install: version $version"

# --- the files, the symlinks, the soname
for f in bin/entropic include/entropic.h lib/libentropic.a "lib/libentropic.so.$version" lib/pkgconfig/entropic.pc; do
    check "$prefix/$f installed" test -f "$root/$f" -a ! -L "$root/$f"
done
check "libentropic.so.$major -> libentropic.so.$version" test "$(readlink "$lib/libentropic.so.$major")" = "libentropic.so.$version"
check "libentropic.so -> libentropic.so.$major" test "$(readlink "$lib/libentropic.so")" = "libentropic.so.$major"
soname=$(readelf -d "$lib/libentropic.so.$version" 2>&1 | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
check "readelf -d: SONAME '$soname' (want libentropic.so.$major)" test "$soname" = "libentropic.so.$major"
check "installed entropic --version" test "$("$root/bin/entropic" --version 2>&1)" = "entropic $version"

# --- exports: the functions entropic.h declares (gcc -aux-info lists each
# prototype with its file; NC = a declaration, NF = a static inline
# definition), against the dynamic symbols the library defines.
echo '#include <entropic.h>' >"$tmp/decl.c"
$CC -I"$root/include" -aux-info "$tmp/aux.txt" -fsyntax-only "$tmp/decl.c"
grep 'entropic\.h:[0-9]*:NC \*/' "$tmp/aux.txt" | sed 's/.*[ *]\(ent_[a-z0-9_]*\) (.*/\1/' | sort -u >"$tmp/declared"
nm -D --defined-only "$lib/libentropic.so.$version" | awk '{print $3}' | sort -u >"$tmp/exported"
n_decl=$(wc -l <"$tmp/declared") n_exp=$(wc -l <"$tmp/exported")
missing=$(comm -23 "$tmp/declared" "$tmp/exported" | head -5 | tr '\n' ' ')
extra=$(comm -13 "$tmp/declared" "$tmp/exported" | head -5 | tr '\n' ' ')
check "header declares $n_decl functions (expect > 100)" test "$n_decl" -gt 100
check "every declared function exported (missing: ${missing:-none})" test -z "$missing"
check "nothing else exported ($n_exp symbols; extra: ${extra:-none})" test -z "$extra"

# --- pkg-config
export PKG_CONFIG_PATH=$lib/pkgconfig
PC="pkg-config --define-variable=prefix=$root"
check "pkg-config --modversion entropic = $version" test "$($PC --modversion entropic 2>&1)" = "$version"
private=$(sed -n 's/^Libs.private: *//p' "$lib/pkgconfig/entropic.pc")
check "Libs.private is the Makefile's link flags ('$private')" test "$private" = "${ENT_LINK_FLAGS-unset}"
cflags=$($PC --cflags entropic) libs=$($PC --libs entropic)
# The archive where the shared library sits beside it (examples/Makefile).
libs_static=$($PC --libs --static entropic | sed 's/-lentropic\b/-l:libentropic.a/')
echo "  pkg-config --cflags --libs --static: $cflags $libs_static"

# A program that takes the address of every exported function pulls every
# object of libentropic.a into the link, so the static link succeeds only
# if Libs.private names every library the archive needs.
{
    echo '#include <stdio.h>'
    echo '#include <entropic.h>'
    echo 'typedef void (*fn)(void);'
    echo 'static const fn all[] = {'
    sed 's/.*/    (fn)&,/' "$tmp/declared"
    echo '};'
    echo 'int main(void) { printf("%zu\n", sizeof all / sizeof all[0]); return 0; }'
} >"$tmp/every.c"
if $CC -o "$tmp/every_static" "$tmp/every.c" $cflags $libs_static 2>"$tmp/every.err"; then
    check "every function linked from libentropic.a runs" test "$("$tmp/every_static")" = "$n_decl"
else
    head -5 "$tmp/every.err"
    bad "static link of every function with pkg-config --static flags"
fi
if $CC -o "$tmp/every_shared" "$tmp/every.c" $cflags $libs 2>"$tmp/every.err"; then
    check "every function linked from libentropic.so runs" test "$(LD_LIBRARY_PATH=$lib "$tmp/every_shared")" = "$n_decl"
else
    head -5 "$tmp/every.err"
    bad "shared link of every function with pkg-config flags"
fi

# --- the example, built by examples/Makefile both ways
out=$tmp/out
mkdir -p "$out"
if $MAKE --no-print-directory -C examples OUT="$out" CC="$CC" PKG_CONFIG="$PC" "$out/train_esgd" "$out/train_esgd_static" \
    >"$tmp/examples.log" 2>&1; then
    ok "examples/Makefile built train_esgd and train_esgd_static"
else
    tail -20 "$tmp/examples.log"
    bad "examples/Makefile"
    echo "check-install: $passes ok, $fails FAILED"
    exit 1
fi
needed() { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' '; }
contains() { [[ $1 == *"$2"* ]]; }
n_shared=$(needed "$out/train_esgd") n_static=$(needed "$out/train_esgd_static")
check "shared example needs libentropic.so.$major ($n_shared)" contains "$n_shared" "libentropic.so.$major"
check "static example needs no libentropic ($n_static)" test -n "$n_static" -a -z "$(grep -o libentropic <<<"$n_static")"
resolved=$(LD_LIBRARY_PATH=$lib ldd "$out/train_esgd" | sed -n "s/.*libentropic.so.$major => \([^ ]*\).*/\1/p")
check "LD_LIBRARY_PATH: the loader takes the staged library ($resolved)" test "$resolved" = "$lib/libentropic.so.$major"

# Bad input: one line on stderr, exit status 2.
expect_usage() { # expect_usage WHAT-IN-MESSAGE ARGS...
    local want=$1; shift
    LD_LIBRARY_PATH=$lib "$out/train_esgd" "$@" >/dev/null 2>"$tmp/err"
    local rc=$? lines msg
    lines=$(wc -l <"$tmp/err") msg=$(cat "$tmp/err")
    check "train_esgd $* -> exit $rc (want 2), $lines line: $msg" \
        test "$rc" = 2 -a "$lines" = 1 -a -n "$(grep -F -- "$want" "$tmp/err")"
}
expect_usage "--steps" --steps 0
expect_usage "--batch" --batch 12x
expect_usage "--frobnicate" --frobnicate 1
expect_usage "--seed needs a value" --seed
expect_usage "/nonexistent/fm" --data-dir /nonexistent/fm

# A quick training run (the defaults: mnistfc, 2000 images, 20 updates of
# L = 5), shared and static. Both run the same library code on the same
# machine, so they print the same losses and error; each must end well
# below chance (90% error).
if [ ! -f "$FMNIST" ]; then
    echo "  skip: the training runs ($FMNIST absent: apt-get install dataset-fashion-mnist)"
else
    expect_usage "unknown model 'nope'" --model nope --train 10 --test 10
    export OMP_WAIT_POLICY=passive OMP_NUM_THREADS=2
    for v in train_esgd train_esgd_static; do
        t0=$(date +%s%N)
        LD_LIBRARY_PATH=$lib "$out/$v" --threads 2 >"$tmp/$v.out" 2>&1
        rc=$?
        ms=$((($(date +%s%N) - t0) / 1000000))
        sed 's/^/    /' "$tmp/$v.out"
        err=$(sed -n 's/.*test error \([0-9.]*\)%.*/\1/p' "$tmp/$v.out")
        steps=$(grep -c '^step ' "$tmp/$v.out")
        check "$v: exit $rc, $steps progress lines, test error ${err:-none}% < 40% ($ms ms)" \
            awk -v rc="$rc" -v steps="$steps" -v err="${err:-100}" 'BEGIN { exit !(rc == 0 && steps >= 10 && err < 40) }'
        sed 's/  [0-9.]* s$//' "$tmp/$v.out" >"$tmp/$v.cut"
    done
    check "shared and static runs print the same losses and error" cmp -s "$tmp/train_esgd.cut" "$tmp/train_esgd_static.cut"
fi

echo "check-install: $passes ok, $fails failed"
[ "$fails" = 0 ]
