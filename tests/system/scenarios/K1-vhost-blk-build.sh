# K1-vhost-blk-build: kmod/ was built on the host against this L2 kernel's Debian
# headers with W=1 and no warning, is checkpatch-clean and its selftest built
# (tests/system/lib/images.sh img_kmod); the module's vermagic is this kernel's.
K=/keel/kmod
[ -f $K/result ] || fail "no host-side kmod build result in L2 (img_kmod did not run)"
failed="" skipped=""
while read -r what tag reason; do
	info "host-side $what: $tag${reason:+ ($reason)}"
	case $tag in
	fail) failed="$failed $what: $reason;" ;;
	skip) skipped="$skipped $what: $reason;" ;;
	esac
done <$K/result
if [ -n "$failed" ]; then
	grep -E 'warning:|error:' $K/build.log 2>/dev/null | head -n 10 | sed 's/^/# /'
	head -n 10 $K/checkpatch.log 2>/dev/null | sed 's/^/# /'
	fail "kmod host-side build:$failed"
fi
grep -q '^build ' $K/result || fail "the result names no module build"
case $skipped in
*build:*) skip "$skipped" ;;
esac
v=$(strings $K/vhost-blk.ko | sed -n 's/^vermagic=\([^ ]*\) .*/\1/p' | head -n1)
[ "$v" = "$(uname -r)" ] || fail "vhost-blk.ko vermagic '$v', L2 runs '$(uname -r)'"
info "vhost-blk.ko vermagic $v matches L2"
[ -z "$skipped" ] || skip "$skipped"
:
