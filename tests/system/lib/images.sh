# Host side of the nested harness (TESTING.md "The nested harness"): fetch Debian's
# kernel and build the cached L3 and L2 initramfs images under build/harness/.
# Sourced by tests/system/run, tests/system/demo and tests/bench/boot (bash).

HARNESS=${HARNESS:-build/harness}
SYSDIR=tests/system

img_log() { echo "harness: $*" >&2; }

# img_newer OUT IN...: true when OUT is missing or any IN (file or dir tree) is newer.
img_newer()
{
	local out=$1 f
	shift
	[ -e "$out" ] || return 0
	for f in "$@"; do
		[ -n "$(find -L "$f" -newer "$out" -print -quit 2>/dev/null)" ] && return 0
	done
	return 1
}

# What the harness needs on the host; prints the missing commands.
img_missing_tools()
{
	local t
	for t in qemu-system-x86_64 busybox cpio xz dpkg-deb apt-get gcc fio qemu-img nm lspci; do
		command -v "$t" >/dev/null 2>&1 || echo "$t"
	done
	dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'ok installed' ||
		echo busybox-static
	return 0
}

# Resolve, download and unpack linux-image-<ver>; sets KVER, KROOT, VMLINUZ, VMLINUX.
img_kernel()
{
	local deb off
	KVER=$(apt-cache depends linux-image-amd64 2>/dev/null |
	       sed -n 's/.*Depends: linux-image-\([0-9].*-amd64\)$/\1/p' | head -n1)
	if [ -z "$KVER" ]; then
		# apt lists may be missing on a fresh machine
		apt-get update -q >/dev/null 2>&1
		KVER=$(apt-cache depends linux-image-amd64 2>/dev/null |
		       sed -n 's/.*Depends: linux-image-\([0-9].*-amd64\)$/\1/p' | head -n1)
	fi
	[ -n "$KVER" ] || { img_log "cannot resolve linux-image-amd64"; return 1; }
	KROOT=$HARNESS/kernel-$KVER
	VMLINUZ=$KROOT/boot/vmlinuz-$KVER
	VMLINUX=$KROOT/vmlinux
	if [ ! -f "$KROOT/.extracted" ]; then
		mkdir -p "$HARNESS/debs"
		deb=$(ls "$HARNESS"/debs/linux-image-"$KVER"_*.deb 2>/dev/null | head -n1)
		if [ -z "$deb" ]; then
			img_log "downloading linux-image-$KVER"
			(cd "$HARNESS/debs" && apt-get download -q "linux-image-$KVER" \
				>/dev/null 2>&1) || { img_log "apt-get download failed"; return 1; }
			deb=$(ls "$HARNESS"/debs/linux-image-"$KVER"_*.deb | head -n1)
		fi
		rm -rf "$KROOT"
		dpkg-deb -x "$deb" "$KROOT" || return 1
		touch "$KROOT/.extracted"
	fi
	if [ ! -s "$VMLINUX" ]; then
		# bzImage payload is xz: find the stream magic FD 37 7A 58 5A 00
		off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$VMLINUZ" | head -n1 | cut -d: -f1)
		[ -n "$off" ] || { img_log "no xz payload in $VMLINUZ"; return 1; }
		tail -c +$((off + 1)) "$VMLINUZ" | xz -dc --single-stream >"$VMLINUX.tmp" \
			2>/dev/null
		if [ "$(head -c 4 "$VMLINUX.tmp" | od -An -tx1 | tr -d ' ')" != 7f454c46 ]; then
			img_log "extracted vmlinux is not ELF"
			rm -f "$VMLINUX.tmp"
			return 1
		fi
		mv "$VMLINUX.tmp" "$VMLINUX"
	fi
	return 0
}

# img_copy_bin ROOT BIN [DEST]: copy a binary and every library ldd lists.
img_copy_bin()
{
	local root=$1 bin=$2 dest=${3:-$2} lib
	mkdir -p "$root$(dirname "$dest")"
	cp -L "$bin" "$root$dest"
	for lib in $(ldd "$bin" 2>/dev/null | grep -o '/[^ ]*'); do
		[ -e "$root$lib" ] && continue
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
}

# img_cpio DIR OUT: pack DIR as an uncompressed newc archive (concatenable).
img_cpio()
{
	(cd "$1" && find . -mindepth 1 | LC_ALL=C sort |
	 cpio -o -H newc --quiet -R 0:0) >"$2.tmp" && mv "$2.tmp" "$2"
}

# img_busybox_root DIR: a root with busybox-static, /dev/console and mount points.
img_busybox_root()
{
	local root=$1
	rm -rf "$root"
	mkdir -p "$root"/{bin,sbin,dev,proc,sys,tmp,etc,root}
	cp -L /bin/busybox "$root/bin/busybox"
	ln -s busybox "$root/bin/sh"
	mknod "$root/dev/console" c 5 1
	mknod "$root/dev/null" c 1 3
}

# Debian's modules L3 loads at once (with their dependencies): the PCI and MMIO
# virtio transports (virtio_mmio finds microvm's LNRO0005 devices through ACPI
# and finds nothing elsewhere), the devices, and the pvpanic drivers (ISA/ACPI
# QEMU0001 and PCI).
L3_MODULES="virtio_pci virtio_mmio virtio_blk virtio-rng virtio_console pvpanic-mmio pvpanic-pci"

# img_copy_mods MODDIR DEST NAME...: NAMEs and their dependencies as DEST/<m>.ko,
# in load order in DEST/order.
img_copy_mods()
{
	local dir=$1 dest=$2 m f
	shift 2
	mkdir -p "$dest"
	: >"$dest/order"
	for m in $(for m in "$@"; do img_mod_deps "$dir" "$m" || echo "MISSING-$m"; done |
		   awk '!seen[$0]++'); do
		case $m in MISSING-*) return 1 ;; esac
		f=$(find "$dir" -name "$m.ko" -o -name "$m.ko.xz" | head -n1)
		case $f in
		*.xz) xz -dc "$f" >"$dest/$m.ko" ;;
		*) cp "$f" "$dest/$m.ko" ;;
		esac
		echo "$m" >>"$dest/order"
	done
}

# Libraries Debian's fio links for engines L3 never uses (ceph, gluster, rdma, nbd,
# pmem): with their dependencies they weigh ~80 MB. fio is linked with BIND_NOW, so
# each gets a stub with the same soname and versioned symbols that trap if called.
FIO_STUB_LIBS="libgfapi.so.0 libnbd.so.0 libibverbs.so.1 librdmacm.so.1 librados.so.2
	librbd.so.1 libpmemblk.so.1 libpmem.so.1"

# img_fio_stubs DIR: build the stub libraries for /usr/bin/fio into DIR.
img_fio_stubs()
{
	local dir=$1 fio=/usr/bin/fio lib path sym
	mkdir -p "$dir"
	for lib in $FIO_STUB_LIBS; do
		path=$(ldd "$fio" | awk -v l="$lib" '$1 == l { print $3 }')
		[ -n "$path" ] || continue
		: >"$dir/$lib.c"
		: >"$dir/$lib.syms"
		nm -D --defined-only "$path" | awk '{ sub(/@.*/, "", $3); print $3 }' \
			>"$dir/$lib.defined"
		# fio's undefined NAME[@VERSION] that this library defines
		for sym in $(nm -D --undefined-only --with-symbol-versions "$fio" |
			     awk '{ print $2 }'); do
			grep -qx "${sym%%@*}" "$dir/$lib.defined" || continue
			echo "void ${sym%%@*}(void) { __builtin_trap(); }" >>"$dir/$lib.c"
			case $sym in
			*@*) echo "${sym#*@} ${sym%%@*}" >>"$dir/$lib.syms" ;;
			esac
		done
		if [ -s "$dir/$lib.syms" ]; then
			sort "$dir/$lib.syms" | awk '$1 != v { if (v != "") print "};"
				v = $1; print v " { global:" } { print "  " $2 ";" }
				END { if (v != "") print "};" }' >"$dir/$lib.map"
			set -- -Wl,--version-script="$dir/$lib.map"
		else
			set --
		fi
		gcc -shared -fPIC -nostdlib -o "$dir/$lib" -Wl,-soname,"$lib" "$@" \
			"$dir/$lib.c" || return 1
	done
}

# img_fio ROOT DEST: Debian's fio as ROOT/DEST with its small libraries and the stubs.
img_fio()
{
	local root=$1 dest=$2 lib stubs
	[ -e "$HARNESS/fio-stubs/.built" ] && [ "$HARNESS/fio-stubs/.built" -nt /usr/bin/fio ] || {
		img_fio_stubs "$HARNESS/fio-stubs" || return 1
		touch "$HARNESS/fio-stubs/.built"
	}
	mkdir -p "$root$(dirname "$dest")" "$root/lib/x86_64-linux-gnu"
	cp -L /usr/bin/fio "$root$dest"
	stubs=$(cd "$HARNESS/fio-stubs" && pwd)
	for lib in $(LD_LIBRARY_PATH=$stubs ldd /usr/bin/fio | grep -o '/[^ ]*'); do
		case $lib in "$stubs"/*) continue ;; esac
		[ -e "$root$lib" ] && continue
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
	# a real library already there (QEMU in L2 needs libpmem, librdmacm,
	# libibverbs) is kept: fio works with it too
	for lib in $FIO_STUB_LIBS; do
		[ -e "$stubs/$lib" ] && [ ! -e "$root/lib/x86_64-linux-gnu/$lib" ] &&
			cp "$stubs/$lib" "$root/lib/x86_64-linux-gnu/$lib"
	done
	return 0
}

# img_l3_tools ROOT: fio (with stubs), util-linux's blkdiscard and fstrim, the
# pattern generator and the benchmark's fio jobs, for the disk tests.
img_l3_tools()
{
	local root=$1 t
	img_fio "$root" /usr/local/bin/fio || return 1
	for t in /usr/sbin/blkdiscard /usr/sbin/fstrim /usr/sbin/mkfs.ext4; do
		img_copy_bin "$root" "$t" "/usr/local/bin/${t##*/}"
	done
	# lspci -vv for the PCI scenarios, with the ID database
	img_copy_bin "$root" /usr/bin/lspci /usr/local/bin/lspci
	mkdir -p "$root/usr/share/misc"
	cp /usr/share/misc/pci.ids "$root/usr/share/misc/pci.ids"
	mkdir -p "$root/etc"
	cp /etc/mke2fs.conf "$root/etc/mke2fs.conf"
	for t in keel-pattern keel-fio-bench; do
		cp $SYSDIR/l3/$t "$root/usr/local/bin/$t"
		chmod 755 "$root/usr/local/bin/$t"
	done
}

# L3 initramfs: busybox + tests/system/l3/init + modules + disk tools. Sets L3_INITRD.
img_l3()
{
	local root=$HARNESS/l3-root
	L3_INITRD=$HARNESS/l3-initramfs.cpio
	img_newer "$L3_INITRD" $SYSDIR/l3 /bin/busybox $SYSDIR/lib/images.sh /usr/bin/fio \
		/usr/sbin/blkdiscard /usr/sbin/mkfs.ext4 /usr/bin/lspci || return 0
	img_log "building L3 initramfs"
	img_busybox_root "$root"
	cp $SYSDIR/l3/init "$root/init"
	chmod 755 "$root/init"
	img_copy_mods "$KROOT/lib/modules/$KVER" "$root/lib/keel-modules" $L3_MODULES ||
		return 1
	# ext4 for the fstrim test, loaded only by it
	img_copy_mods "$KROOT/lib/modules/$KVER" "$root/lib/keel-modules-fs" crc32c_generic ext4 ||
		return 1
	img_l3_tools "$root" || return 1
	img_cpio "$root" "$L3_INITRD"
}

# img_mod_deps MODDIR NAME: print NAME's dependencies first, then NAME (one per line).
img_mod_deps()
{
	local dir=$1 name=$2 f d
	f=$(find "$dir" -name "$name.ko" -o -name "$name.ko.xz" | head -n1)
	[ -n "$f" ] || { img_log "module $name not found"; return 1; }
	case $f in
	*.xz) d=$(xz -dc "$f" | strings | sed -n 's/^depends=//p') ;;
	*) d=$(strings "$f" | sed -n 's/^depends=//p') ;;
	esac
	for m in ${d//,/ }; do
		img_mod_deps "$dir" "$m" || return 1
	done
	echo "$name"
}

# The big, rarely changing part of L2: busybox, kvm modules, L3 kernels, QEMU
# (the peer VMM) with its libraries and firmware. Sets L2_BASE.
img_l2_base()
{
	local root=$HARNESS/l2-base-root mods=$KROOT/lib/modules/$KVER m f q
	L2_BASE=$HARNESS/l2-base.cpio
	q=$(command -v qemu-system-x86_64)
	img_newer "$L2_BASE" "$KROOT/.extracted" "$VMLINUX" /bin/busybox "$q" \
		/usr/bin/qemu-img /usr/bin/fio $SYSDIR/lib/images.sh || return 0
	img_log "building L2 base initramfs (kernel $KVER)"
	img_busybox_root "$root"
	mkdir -p "$root/keel/modules" "$root/keel/l3" "$root/lib64"
	: >"$root/keel/modules/order"
	for m in $( (img_mod_deps "$mods" irqbypass && img_mod_deps "$mods" kvm &&
		     img_mod_deps "$mods" ccp && img_mod_deps "$mods" kvm-amd) |
		   awk '!seen[$0]++'); do
		f=$(find "$mods" -name "$m.ko" -o -name "$m.ko.xz" | head -n1)
		case $f in
		*.xz) xz -dc "$f" >"$root/keel/modules/$m.ko" ;;
		*) cp "$f" "$root/keel/modules/$m.ko" ;;
		esac
		echo "$m" >>"$root/keel/modules/order"
	done
	cp "$VMLINUZ" "$root/keel/l3/bzImage"
	cp "$VMLINUX" "$root/keel/l3/vmlinux"
	echo "$KVER" >"$root/keel/l3/version"
	# QEMU 7.2 as the peer VMM; firmware it loads for -M pc and -M microvm
	img_copy_bin "$root" "$q" /usr/bin/qemu-system-x86_64
	# qemu-img: the oracle for the disk scenarios (check, compare, map, convert);
	# fio: the limit column of tests/bench/blk
	img_copy_bin "$root" /usr/bin/qemu-img /usr/bin/qemu-img
	img_fio "$root" /usr/bin/fio || return 1
	# null_blk (benchmark backing) and loop (O_DIRECT on an image file in tmpfs)
	img_copy_mods "$mods" "$root/keel/modules-extra" null_blk loop || return 1
	mkdir -p "$root/usr/share/qemu" "$root/usr/share/seabios"
	for f in /usr/share/seabios/bios-256k.bin /usr/share/qemu/qboot.rom \
		 /usr/share/qemu/bios-microvm.bin /usr/share/qemu/linuxboot_dma.bin \
		 /usr/share/qemu/kvmvapic.bin /usr/share/qemu/pvh.bin \
		 /usr/share/qemu/bios-256k.bin; do
		[ -e "$f" ] && cp -L "$f" "$root$f"
	done
	img_cpio "$root" "$L2_BASE"
}

# The small part of L2 rebuilt on every run: keel, its libraries, the L3
# initramfs and the scripts, in a directory of this run only (several runs may
# share build/harness). Sets L2_INITRD (base + top concatenated), removed at exit.
img_l2()
{
	local root top
	IMG_RUN_DIR=$(mktemp -d "$HARNESS/run.XXXXXX") || return 1
	trap 'rm -rf "$IMG_RUN_DIR"' EXIT
	root=$IMG_RUN_DIR/root top=$IMG_RUN_DIR/top.cpio
	mkdir -p "$root/keel/bin" "$root/keel/l3" "$root/keel/bench"
	cp $SYSDIR/l2/init "$root/init"
	chmod 755 "$root/init"
	cp -r $SYSDIR/l2 "$root/keel/l2"
	cp -r $SYSDIR/scenarios "$root/keel/scenarios"
	cp tests/bench/boot-l2.sh "$root/keel/bench/boot-l2"
	cp $SYSDIR/l3/keel-pattern $SYSDIR/l3/keel-fio-bench "$root/keel/bin/"
	chmod 755 "$root/keel/bin/keel-pattern" "$root/keel/bin/keel-fio-bench"
	cp tests/bench/blk-l2.sh "$root/keel/bench/blk-l2"
	cp "$L3_INITRD" "$root/keel/l3/initramfs.cpio"
	if [ -x build/bin/keel ]; then
		img_copy_bin "$root" build/bin/keel /keel/bin/keel
	fi
	if [ -x build/bin/keelctl ]; then
		img_copy_bin "$root" build/bin/keelctl /keel/bin/keelctl
	fi
	if [ -x build/bin/keel-vhost ]; then
		img_copy_bin "$root" build/bin/keel-vhost /keel/bin/keel-vhost
	fi
	cp "$HARNESS/vmm-watch" "$root/keel/bin/vmm-watch"
	cp "$HARNESS/keel-sockcat" "$root/keel/bin/keel-sockcat"
	cp "$HARNESS/kvm-pin" "$root/keel/bin/kvm-pin"
	img_kmod_install "$root"
	img_cpio "$root" "$top"
	L2_INITRD=$IMG_RUN_DIR/l2-initramfs.cpio
	cat "$L2_BASE" "$top" >"$L2_INITRD"
}

# vmm-watch: static helper that runs a VMM, logs its console and times markers.
img_vmm_watch()
{
	local out=$HARNESS/vmm-watch src=$SYSDIR/l2/vmm_watch.c
	img_newer "$out" "$src" || return 0
	gcc -std=gnu11 -O2 -Wall -Wextra -Werror -static -o "$out.tmp" "$src" &&
		mv "$out.tmp" "$out"
}

# kvm-pin: static helper that holds an idle VM in L2 (see tests/system/l2/kvm_pin.c).
img_kvm_pin()
{
	local out=$HARNESS/kvm-pin src=$SYSDIR/l2/kvm_pin.c
	img_newer "$out" "$src" || return 0
	gcc -std=gnu11 -O2 -Wall -Wextra -Werror -static -o "$out.tmp" "$src" &&
		mv "$out.tmp" "$out"
}

# keel-sockcat: static unix-socket client, the L2 end of chardev scenarios (F27).
img_sockcat()
{
	local out=$HARNESS/keel-sockcat src=$SYSDIR/l2/sockcat.c
	img_newer "$out" "$src" || return 0
	gcc -std=gnu11 -O2 -Wall -Wextra -Werror -static -o "$out.tmp" "$src" &&
		mv "$out.tmp" "$out"
}

# Debian's linux-headers for the harness kernel (kmod/ builds against them).
# Sets KDIR; returns non-zero when the packages cannot be had.
img_kheaders()
{
	local d=$HARNESS/headers-$KVER mm p
	mm=$(echo "$KVER" | cut -d. -f1,2)
	KDIR=$d/usr/src/linux-headers-$KVER
	[ -f "$d/.extracted" ] && return 0
	mkdir -p "$HARNESS/debs"
	for p in "linux-headers-$KVER" "linux-headers-${KVER%-*}-common" "linux-kbuild-$mm"; do
		ls "$HARNESS"/debs/"$p"_*.deb >/dev/null 2>&1 && continue
		img_log "downloading $p"
		(cd "$HARNESS/debs" && apt-get download -q "$p" >/dev/null 2>&1) ||
			{ img_log "apt-get download $p failed"; return 1; }
	done
	rm -rf "$d"
	for p in "linux-headers-$KVER" "linux-headers-${KVER%-*}-common" "linux-kbuild-$mm"; do
		dpkg-deb -x "$(ls "$HARNESS"/debs/"$p"_*.deb | head -n1)" "$d" || return 1
	done
	# the arch tree includes the common tree by absolute path
	sed -i "s|^include /usr/src/|include $(realpath "$d")/usr/src/|" "$KDIR/Makefile"
	touch "$d/.extracted"
}

# checkpatch.pl from Debian's linux-source tarball (STYLE.md). Sets CHECKPATCH.
img_checkpatch()
{
	local d=$HARNESS/checkpatch mm deb
	mm=$(echo "$KVER" | cut -d. -f1,2)
	CHECKPATCH=$d/linux-source-$mm/scripts/checkpatch.pl
	[ -f "$CHECKPATCH" ] && return 0
	deb=$(ls "$HARNESS"/debs/linux-source-"$mm"_*.deb 2>/dev/null | head -n1)
	if [ -z "$deb" ]; then
		img_log "downloading linux-source-$mm (for checkpatch.pl)"
		(cd "$HARNESS/debs" && apt-get download -q "linux-source-$mm" >/dev/null 2>&1) ||
			return 1
		deb=$(ls "$HARNESS"/debs/linux-source-"$mm"_*.deb | head -n1)
	fi
	mkdir -p "$d"
	dpkg-deb --fsys-tarfile "$deb" | tar -xO "./usr/src/linux-source-$mm.tar.xz" |
		tar -xJ -C "$d" "linux-source-$mm/scripts/checkpatch.pl" \
			"linux-source-$mm/scripts/spelling.txt" \
			"linux-source-$mm/scripts/const_structs.checkpatch"
	[ -f "$CHECKPATCH" ]
}

# Host-side build of kmod/ against the harness kernel, warning-free with W=1
# and checkpatch-clean, plus the selftest (design/vhost-blk.md). Never fails:
# $HARNESS/kmod/result says "<what> ok|fail|skip [reason]" for the K1 scenarios.
img_kmod()
{
	local out=$HARNESS/kmod.new src=$HARNESS/kmod.new/src n f
	img_newer "$HARNESS/kmod/result" kmod tests/selftests/vhost-blk \
		$SYSDIR/lib/images.sh || return 0
	img_log "building kmod/ against linux-headers-$KVER"
	# built aside and renamed: runs that are packing L2 never see half of it
	rm -rf "$out"
	mkdir -p "$out"
	if ! img_kheaders; then
		echo "build skip linux-headers-$KVER not available" >"$out/result"
		rm -rf "$HARNESS/kmod" && mv "$out" "$HARNESS/kmod"
		return 0
	fi
	cp -r kmod "$src"
	rm -f "$src"/*.ko "$src"/*/*.o
	if ! make -C "$KDIR" M="$(realpath "$src")" W=1 modules >"$out/build.log" 2>&1; then
		echo "build fail make exited non-zero" >>"$out/result"
	else
		n=$(grep -c -E 'warning:|error:' "$out/build.log")
		if [ "$n" = 0 ]; then
			echo "build ok" >>"$out/result"
		else
			echo "build fail $n compiler warnings with W=1" >>"$out/result"
		fi
		cp "$src/vhost-blk.ko" "$out/"
	fi
	if img_checkpatch; then
		n=0
		for f in $(find kmod tests/selftests/vhost-blk -name '*.[ch]' ! -name '*.mod.c' | sort); do
			perl "$CHECKPATCH" --no-tree --terse -f "$f" >>"$out/checkpatch.log" 2>&1 ||
				n=$((n + 1))
		done
		if [ $n = 0 ]; then
			echo "checkpatch ok" >>"$out/result"
		else
			echo "checkpatch fail $n files with problems" >>"$out/result"
		fi
	else
		echo "checkpatch skip linux-source not available" >>"$out/result"
	fi
	if gcc -std=gnu11 -O2 -Wall -Wextra -Werror -Ikmod/include/uapi -static \
		-o "$out/vhost_blk_test" tests/selftests/vhost-blk/vhost_blk_test.c \
		>>"$out/build.log" 2>&1; then
		echo "selftest ok" >>"$out/result"
	else
		echo "selftest fail the selftest did not build" >>"$out/result"
	fi
	# a block device for the O_DIRECT run
	f=$(find "$KROOT/lib/modules/$KVER" -name loop.ko -o -name loop.ko.xz | head -n1)
	case $f in
	*.xz) xz -dc "$f" >"$out/loop.ko" ;;
	?*) cp "$f" "$out/loop.ko" ;;
	esac
	rm -rf "$out/src" "$HARNESS/kmod"
	mv "$out" "$HARNESS/kmod"
	return 0
}

# img_kmod_install ROOT: put the kmod results into L2 under /keel/kmod.
img_kmod_install()
{
	local f
	[ -d "$HARNESS/kmod" ] || return 0
	mkdir -p "$1/keel/kmod"
	for f in result build.log checkpatch.log vhost-blk.ko vhost_blk_test loop.ko; do
		[ -e "$HARNESS/kmod/$f" ] && cp "$HARNESS/kmod/$f" "$1/keel/kmod/"
	done
	return 0
}

# img_all: everything L2 needs. Returns non-zero with a message on failure,
# 3 when Debian's kernel cannot be had (no network, no apt lists).
img_all()
{
	mkdir -p "$HARNESS"
	# the cached parts are built under a lock: runs may start side by side
	exec {IMG_LOCK}>"$HARNESS/.lock"
	flock "$IMG_LOCK"
	local st=0
	if ! img_kernel; then
		st=3
	else
		img_vmm_watch && img_sockcat && img_kvm_pin && img_l3 && img_l2_base && img_kmod
		st=$?
	fi
	flock -u "$IMG_LOCK"
	exec {IMG_LOCK}>&-
	[ $st = 0 ] || return $st
	img_l2
}
