# SPDX-License-Identifier: GPL-2.0
#
# kdist top-level Makefile.
#
#   make              build kmod/kdist.ko and the userspace parts
#   make lib          libkdist (build/lib); make lib-check runs its tests
#                     under ASan+UBSan, then lib-tsan (ThreadSanitizer)
#   make check        install missing dependencies, build (the module also
#                     against newer kernel headers), run the unit tests and
#                     fuzzers briefly, then boot the test VM and run every
#                     selftest (T=name runs one selftest)
#   make demo         the main job: boot the VM and run the cluster demo
#   make vm-shell     an interactive shell in the test VM, module loaded
#   make style        checkpatch over kmod/
#   make install      install the module, the tools and the man pages
#
# KDIR selects the kernel build tree; by default the running kernel's, or
# else that of the kernel the test VM boots (what linux-image-amd64 depends
# on), or else the newest one installed. `make module-compat` builds the
# module against every other installed tree (Debian's 6.12 headers, which
# tools/install-deps.sh installs), so that it keeps compiling on newer
# kernels.

KVER ?= $(shell k=$$(uname -r); [ -d /lib/modules/$$k/build ] || \
	k=$$(bash tools/install-deps.sh --kver 2>/dev/null); \
	[ -n "$$k" ] && [ -d /lib/modules/$$k/build ] || \
	k=$$(ls -1 /lib/modules 2>/dev/null | sort -V | tail -n 1); echo $$k)
KDIR ?= /lib/modules/$(KVER)/build
PREFIX ?= /usr/local
FUZZ_SECONDS ?= 10
export KVER KDIR PREFIX

SRC_DIR := $(CURDIR)
LINUX_SRC := $(SRC_DIR)/build/linux-source

.PHONY: all module userspace tools lib lib-check lib-tsan selftests deps linux-source \
	check unit fuzz module-compat vm-check demo vm-shell style install clean

all: module userspace

module:
	$(MAKE) -C $(KDIR) M=$(SRC_DIR) W=1 modules

userspace: tools lib

# kdist-bench and the demo programs link libkdist.
tools: lib
	$(MAKE) -C tools

lib:
	$(MAKE) -C lib

lib-check:
	$(MAKE) -C tests/lib check
	$(MAKE) -C tests/lib tsan

lib-tsan:
	$(MAKE) -C tests/lib tsan

selftests: linux-source tools lib
	$(MAKE) -C tests/selftests

deps:
	@bash tools/install-deps.sh

linux-source:
	@bash tests/vm/fetch-linux-source.sh

module-compat:
	bash tools/module-compat.sh

unit:
	$(MAKE) -C tests/unit check

fuzz:
	$(MAKE) -C tests/fuzz run FUZZ_SECONDS=$(FUZZ_SECONDS)

vm-check: module selftests
	bash tests/vm/run.sh --module kmod/kdist.ko $(if $(T),$(foreach t,$(T),--test $(t)))

check: deps
	$(MAKE) all
	$(MAKE) module-compat
	$(MAKE) unit
	$(MAKE) fuzz
	$(MAKE) lib-check
	$(MAKE) vm-check

demo: deps
	$(MAKE) all selftests
	bash tests/vm/run.sh --module kmod/kdist.ko --cmd "bash $(SRC_DIR)/tools/demo.sh"

vm-shell: module selftests
	bash tests/vm/run.sh --module kmod/kdist.ko --shell

# BIT_MACRO: the uAPI header cannot use BIT(), which userspace lacks.
# PREFER_KERNEL_TYPES: kd_compat.h defines u8..s64 from <stdint.h> for the
# userspace builds of kmod/proto.
STYLE_FILES := $(filter-out %.mod.c,$(wildcard kmod/*.c kmod/*.h \
	kmod/proto/*.c kmod/proto/*.h kmod/uapi/*.h))

style: linux-source
	$(LINUX_SRC)/scripts/checkpatch.pl --no-tree --strict --show-types \
		--ignore SPDX_LICENSE_TAG,FILE_PATH_CHANGES,BIT_MACRO,PREFER_KERNEL_TYPES \
		-f $(STYLE_FILES)

install: all
	$(MAKE) -C $(KDIR) M=$(SRC_DIR) INSTALL_MOD_DIR=extra modules_install
	-depmod -a $(KVER)
	$(MAKE) -C tools install
	$(MAKE) -C lib install
	install -D -m 0644 kmod/uapi/kdist.h $(DESTDIR)$(PREFIX)/include/kdist/kdist.h

clean:
	$(MAKE) -C $(KDIR) M=$(SRC_DIR) clean || true
	$(MAKE) -C tools clean
	-$(MAKE) -C tests/selftests clean
	rm -rf build
