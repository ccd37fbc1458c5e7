# keel: top-level build.
#
#   make            build the VMM and tools into build/bin/
#   make test       install what is missing, build, run every test tier
#   make demo       boot Debian's kernel under keel and show a short tour
#   make clean      remove build/ (keeps the harness download cache)
#
# Each layer of user/ is an archive; a binary names the layers it links.
# Test builds (unit tests) use a second object tree with ASan + UBSan.

BUILD   ?= build
CC      ?= gcc
CLANG   ?= clang

WARN     = -Wall -Wextra -Werror -Wno-unused-parameter
HARDEN   = -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIE
CPPFLAGS = -Iuser -Ikmod/include/uapi -D_GNU_SOURCE
CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 $(WARN) $(HARDEN) -MMD -MP
LDFLAGS += -pie -Wl,-z,relro,-z,now
SANFLAGS = -O1 -g -std=gnu11 $(WARN) -fno-omit-frame-pointer \
	   -fsanitize=address,undefined -fno-sanitize-recover=undefined -MMD -MP
LDLIBS   = -lpthread -lz -lzstd -luring -laio -lrt -ljansson -lseccomp

LAYERS   = lib block net migrate devices vmm
# A main() lives in user/vmm/main.c and in user/tools/<name>/; the rest
# of every layer goes into that layer's archive.
src_of   = $(filter-out user/vmm/main.c,$(shell find user/$(1) -name '*.c' 2>/dev/null))

define layer_rules
$(1)_SRC := $(call src_of,$(1))
$(1)_OBJ := $$(patsubst %.c,$(BUILD)/obj/%.o,$$($(1)_SRC))
$(1)_SAN := $$(patsubst %.c,$(BUILD)/obj-san/%.o,$$($(1)_SRC))
$(BUILD)/lib/libkeel-$(1).a: $$($(1)_OBJ)
	@mkdir -p $$(@D)
	@rm -f $$@
	$$(AR) rcs $$@ $$^
$(BUILD)/lib/libkeel-$(1)-san.a: $$($(1)_SAN)
	@mkdir -p $$(@D)
	@rm -f $$@
	$$(AR) rcs $$@ $$^
endef
$(foreach l,$(LAYERS),$(eval $(call layer_rules,$(l))))

lib_a     = $(foreach l,$(1),$(BUILD)/lib/libkeel-$(l).a)
lib_san_a = $(foreach l,$(1),$(BUILD)/lib/libkeel-$(l)-san.a)

# Binaries and the layers they link (highest floor first).
KEEL_LAYERS = vmm devices migrate block lib
TOOLS       = $(notdir $(wildcard user/tools/*))
keel-img_LAYERS = block lib

BINS = $(BUILD)/bin/keel $(addprefix $(BUILD)/bin/,$(TOOLS))

all: $(BINS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/obj-san/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(SANFLAGS) -c -o $@ $<

$(BUILD)/bin/keel: $(BUILD)/obj/user/vmm/main.o $(call lib_a,$(KEEL_LAYERS))
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

define tool_rules
$(1)_TSRC := $$(shell find user/tools/$(1) -name '*.c')
$(BUILD)/bin/$(1): $$(patsubst %.c,$(BUILD)/obj/%.o,$$($(1)_TSRC)) \
		$$(call lib_a,$$(or $$($(1)_LAYERS),lib))
	@mkdir -p $$(@D)
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(LDLIBS)
endef
$(foreach t,$(TOOLS),$(eval $(call tool_rules,$(t))))

# ---- unit tests: tests/unit/test_<name>.c, each linked against every layer
UNIT_SRC  = $(wildcard tests/unit/test_*.c)
UNIT_BINS = $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(UNIT_SRC))
SAN_LIBS  = $(call lib_san_a,vmm devices migrate net block lib)

$(BUILD)/tests/unit/%: tests/unit/%.c tests/unit/fake_machine.c $(SAN_LIBS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Itests/unit $(SANFLAGS) -o $@ $< tests/unit/fake_machine.c \
		-Wl,--start-group $(SAN_LIBS) -Wl,--end-group -lcmocka $(LDLIBS)

unit: $(UNIT_BINS)

# ---- fuzz targets: tests/fuzz/fuzz_<name>.c, built with clang + libFuzzer
# against a third object tree (clang, ASan + UBSan, fuzzer instrumentation).
FUZZ_SRC  = $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS = $(patsubst tests/fuzz/%.c,$(BUILD)/tests/fuzz/%,$(FUZZ_SRC))
FUZZBASE  = -O1 -g -std=gnu11 -Wall -Wextra -Wno-unused-parameter -MMD -MP
FUZZFLAGS = $(FUZZBASE) -fsanitize=fuzzer-no-link,address,undefined
FUZZ_OBJ  = $(patsubst %.c,$(BUILD)/obj-fuzz/%.o,$(foreach l,$(LAYERS),$($(l)_SRC)))

$(BUILD)/obj-fuzz/%.o: %.c
	@mkdir -p $(@D)
	$(CLANG) $(CPPFLAGS) $(FUZZFLAGS) -c -o $@ $<

$(BUILD)/lib/libkeel-fuzz.a: $(FUZZ_OBJ)
	@mkdir -p $(@D)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/tests/fuzz/%: tests/fuzz/%.c $(BUILD)/lib/libkeel-fuzz.a
	@mkdir -p $(@D)
	$(CLANG) $(CPPFLAGS) -Itests/unit $(FUZZBASE) -fsanitize=fuzzer,address,undefined \
		-o $@ $< tests/unit/fake_machine.c $(BUILD)/lib/libkeel-fuzz.a $(LDLIBS)

# the vhost ring fuzzer builds kmod/common with userspace stand-ins for kernel headers
$(BUILD)/tests/fuzz/fuzz_vhost_ring: private CPPFLAGS += -Itests/fuzz/kshim

fuzz: $(FUZZ_BINS)

# ---- entry points
deps:
	@scripts/install-deps

test: deps
	@tests/run

demo: deps all
	@tests/system/demo

bench: deps all
	@tests/bench/run

# Host kernel modules (Documentation/vhost-blk.md): `make kmod KDIR=<headers>` builds
# in kmod/; plain `make kmod` builds against the harness kernel's Debian headers as
# the system tests do (results in build/harness/kmod/).
kmod:
	@if [ -n "$(KDIR)" ]; then $(MAKE) -C kmod KDIR="$(KDIR)" W=1; else \
		bash -c '. tests/system/lib/images.sh && mkdir -p "$$HARNESS" && \
			 exec {l}>"$$HARNESS/.lock" && flock $$l && img_kernel && \
			 img_kmod && cat "$$HARNESS/kmod/result"'; fi

clean:
	rm -rf $(BUILD)/obj $(BUILD)/obj-san $(BUILD)/obj-fuzz $(BUILD)/lib $(BUILD)/bin $(BUILD)/tests

.PHONY: all unit fuzz deps test demo bench clean kmod
.SECONDARY:

-include $(shell find $(BUILD)/obj $(BUILD)/obj-san $(BUILD)/obj-fuzz -name '*.d' 2>/dev/null)
