# SPDX-License-Identifier: GPL-2.0
# bpfcast build. `make help` lists the targets; V=1 shows the commands.

OUTPUT    ?= build
CLANG     ?= clang
BPFTOOL   ?= bpftool
CC        ?= gcc
PREFIX    ?= /usr/local
DESTDIR   ?=
ARCH      := x86
VMLINUX   := vmlinux/$(ARCH)/vmlinux.h

WARNINGS  := -Wall -Wextra -Wno-unused-parameter -Wshadow -Wstrict-prototypes \
	     -Wmissing-prototypes -Wformat=2
ifneq ($(WERROR),)
WARNINGS  += -Werror
endif
CFLAGS    ?= -g -O2
CFLAGS    += $(WARNINGS) -std=gnu11 -D_GNU_SOURCE
INCLUDES  := -Iinclude -Iuser/lib -Iuser/manager -I$(OUTPUT)
PKGS      := libbpf libmnl json-c sqlite3 libssl libcrypto libmicrohttpd libsystemd
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS  := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lelf -lz

BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Wno-unused-function \
	      -Iinclude -Ivmlinux/$(ARCH) $(if $(WERROR),-Werror)

LIB_SRCS   := $(wildcard user/lib/*.c)
LIB_OBJS   := $(patsubst user/lib/%.c,$(OUTPUT)/lib/%.o,$(LIB_SRCS))
# The manager's pure parts (policy, store) are a library the unit tests link.
MGR_SRCS   := $(filter-out user/manager/main.c,$(wildcard user/manager/*.c))
MGR_OBJS   := $(patsubst user/manager/%.c,$(OUTPUT)/manager/%.o,$(MGR_SRCS))
AGENT_SRCS := $(wildcard user/agent/*.c)
AGENT_OBJS := $(patsubst user/agent/%.c,$(OUTPUT)/agent/%.o,$(AGENT_SRCS))
BPF_HDRS   := $(wildcard bpf/*.h) include/bpfcast/maps.h
USER_HDRS  := $(wildcard include/bpfcast/*.h user/lib/*.h user/agent/*.h user/manager/*.h)
SKEL       := $(OUTPUT)/bpfcast.skel.h

UNIT_TESTS := $(patsubst tests/unit/%.c,$(OUTPUT)/tests/%,$(wildcard tests/unit/test_*.c))
HELPERS    := $(patsubst tests/helpers/%.c,$(OUTPUT)/tests/%,$(wildcard tests/helpers/*.c))
BINS       := $(OUTPUT)/bpfcast-agent $(OUTPUT)/bpfcastctl $(OUTPUT)/bpfcast-manager \
	      $(OUTPUT)/bpfcast-join

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

.DELETE_ON_ERROR:
.PHONY: bench man deb deb-check fuzz fuzz-run check-clang19 vmtest all test test-all test-unit test-bpf test-e2e install clean help vmlinux demo demo-run deps

all: $(BINS)

help:
	@echo 'Targets:'
	@echo '  all (default)  build bpfcast-agent, bpfcast-manager, bpfcastctl, bpfcast-join and'
	@echo '                 the BPF object'
	@echo '  test           build and run every test (unit, BPF, end-to-end; root for the last two)'
	@echo '  test-unit      cmocka unit tests only'
	@echo '  test-bpf       BPF_PROG_TEST_RUN program tests (root)'
	@echo '  test-e2e       network-namespace end-to-end tests (root)'
	@echo '  demo           live demo in network namespaces (root)'
	@echo '  vmtest         BPF and end-to-end tests on the kernels in tools/vm/kernels (root)'
	@echo '  check-clang19  build the BPF object with clang 19 and run the program tests (root)'
	@echo '  fuzz           build the libFuzzer targets; fuzz-run runs each FUZZ_SECONDS (60)'
	@echo '  man            build the man pages (scdoc) into $(OUTPUT)/man'
	@echo '  install        binaries, man pages, systemd units, example configs (PREFIX, DESTDIR)'
	@echo '  deb            the Debian package, built with dpkg-buildpackage into $(OUTPUT)/deb'
	@echo '  bench          fan-out benchmark against GStreamer and a batched relay (root; QUICK=1)''
	@echo '  vmlinux        regenerate vmlinux/$(ARCH)/vmlinux.h from the running kernel'
	@echo '  clean          remove $(OUTPUT)/'
	@echo 'Variables: V=1 verbose, WERROR=1 warnings are errors, CLANG, BPFTOOL, OUTPUT'

$(OUTPUT) $(OUTPUT)/lib $(OUTPUT)/agent $(OUTPUT)/manager $(OUTPUT)/ctl $(OUTPUT)/tests:
	$(Q)mkdir -p $@

# BPF: compile, link with bpftool (drops DWARF, keeps BTF), then the skeleton.
$(OUTPUT)/bpfcast.tmp.bpf.o: bpf/bpfcast.bpf.c $(BPF_HDRS) $(VMLINUX) | $(OUTPUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUTPUT)/bpfcast.bpf.o: $(OUTPUT)/bpfcast.tmp.bpf.o
	$(call msg,GEN-OBJ,$@)
	$(Q)$(BPFTOOL) gen object $@ $<

$(SKEL): $(OUTPUT)/bpfcast.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name bpfcast > $@

$(OUTPUT)/lib/%.o: user/lib/%.c $(USER_HDRS) | $(OUTPUT)/lib
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(INCLUDES) $(PKG_CFLAGS) -c $< -o $@

$(OUTPUT)/libbpfcast.a: $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)$(AR) rcs $@ $^

$(OUTPUT)/manager/%.o: user/manager/%.c $(USER_HDRS) | $(OUTPUT)/manager
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(INCLUDES) $(PKG_CFLAGS) -c $< -o $@

$(OUTPUT)/manager/dashboard.o: user/manager/dashboard.html

$(OUTPUT)/libmanager.a: $(MGR_OBJS)
	$(call msg,AR,$@)
	$(Q)$(AR) rcs $@ $^

$(OUTPUT)/agent/%.o: user/agent/%.c $(USER_HDRS) $(SKEL) | $(OUTPUT)/agent
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(INCLUDES) $(PKG_CFLAGS) -c $< -o $@

$(OUTPUT)/bpfcast-agent: $(AGENT_OBJS) $(OUTPUT)/libbpfcast.a
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(CFLAGS) $^ $(PKG_LIBS) -o $@

$(OUTPUT)/bpfcast-manager: user/manager/main.c $(OUTPUT)/libmanager.a $(OUTPUT)/libbpfcast.a \
		$(USER_HDRS) | $(OUTPUT)/manager
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(CFLAGS) $(INCLUDES) $(PKG_CFLAGS) $< $(OUTPUT)/libmanager.a \
		$(OUTPUT)/libbpfcast.a $(PKG_LIBS) -o $@

$(OUTPUT)/bpfcastctl: user/ctl/bpfcastctl.c $(OUTPUT)/libmanager.a $(OUTPUT)/libbpfcast.a \
		$(USER_HDRS) | $(OUTPUT)/ctl
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(CFLAGS) $(INCLUDES) $(PKG_CFLAGS) $< $(OUTPUT)/libmanager.a \
		$(OUTPUT)/libbpfcast.a $(PKG_LIBS) -o $@

$(OUTPUT)/bpfcast-join: user/join/bpfcast-join.c $(OUTPUT)/libbpfcast.a $(USER_HDRS)
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(CFLAGS) $(INCLUDES) $(PKG_CFLAGS) $< $(OUTPUT)/libbpfcast.a $(PKG_LIBS) -o $@

# Tests.
$(OUTPUT)/tests/test_%: tests/unit/test_%.c $(OUTPUT)/libmanager.a $(OUTPUT)/libbpfcast.a \
		$(USER_HDRS) | $(OUTPUT)/tests
	$(call msg,TEST,$@)
	$(Q)$(CC) $(CFLAGS) $(INCLUDES) $(PKG_CFLAGS) $< $(OUTPUT)/libmanager.a \
		$(OUTPUT)/libbpfcast.a $(PKG_LIBS) -lcmocka -o $@

$(OUTPUT)/tests/bpf_progs: tests/bpf/bpf_progs.c $(SKEL) $(OUTPUT)/libbpfcast.a | $(OUTPUT)/tests
	$(call msg,TEST,$@)
	$(Q)$(CC) $(CFLAGS) $(INCLUDES) $(PKG_CFLAGS) $< $(OUTPUT)/libbpfcast.a $(PKG_LIBS) -o $@

$(OUTPUT)/tests/%: tests/helpers/%.c | $(OUTPUT)/tests
	$(call msg,TEST,$@)
	$(Q)$(CC) $(CFLAGS) $(INCLUDES) $< -o $@

# `make test` and `make demo` first install missing Debian packages (tools/deps),
# then build with the flags those packages provide.
deps:
	$(Q)tools/deps

test: deps
	$(Q)$(MAKE) --no-print-directory test-all

test-all: all $(UNIT_TESTS) $(OUTPUT)/tests/bpf_progs $(HELPERS) man
	$(Q)tests/run $(OUTPUT)

test-unit: $(UNIT_TESTS)
	$(Q)tests/run $(OUTPUT) unit

test-bpf: $(OUTPUT)/tests/bpf_progs
	$(Q)tests/run $(OUTPUT) bpf

test-e2e: all $(HELPERS)
	$(Q)tests/run $(OUTPUT) e2e

demo: deps
	$(Q)$(MAKE) --no-print-directory demo-run

demo-run: all $(HELPERS)
	$(Q)tools/demo $(OUTPUT)

# libFuzzer targets: the protocol decoder, the JOIN-port parser and the config parser.
FUZZ_CC      ?= clang
FUZZ_FLAGS   := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
FUZZ_SECONDS ?= 60
FUZZ_LIB_SRCS := user/lib/tlv.c user/lib/addr.c user/lib/spec.c user/lib/config.c \
		 user/lib/denylist.c user/lib/consent.c
FUZZERS      := $(OUTPUT)/fuzz/fuzz_tlv $(OUTPUT)/fuzz/fuzz_config $(OUTPUT)/fuzz/fuzz_join

$(OUTPUT)/fuzz/%: tests/fuzz/%.c $(FUZZ_LIB_SRCS) $(USER_HDRS)
	$(call msg,FUZZ,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(FUZZ_CC) $(FUZZ_FLAGS) -std=gnu11 -D_GNU_SOURCE $(INCLUDES) $(PKG_CFLAGS) $< \
		$(FUZZ_LIB_SRCS) $(shell pkg-config --libs libmnl libcrypto) -o $@

fuzz: deps
	$(Q)$(MAKE) --no-print-directory $(FUZZERS)

# Each target for FUZZ_SECONDS from the seed corpus; a crash fails.
fuzz-run: fuzz
	$(Q)tests/fuzz/run $(OUTPUT) $(FUZZ_SECONDS)

# The BPF object built with clang 19 must verify and pass the program tests too.
check-clang19: deps
	$(Q)$(MAKE) --no-print-directory OUTPUT=$(OUTPUT)/clang19 CLANG=clang-19 \
		$(OUTPUT)/clang19/tests/bpf_progs
	$(Q)tests/run $(OUTPUT)/clang19 bpf

vmtest: deps
	$(Q)$(MAKE) --no-print-directory all $(OUTPUT)/tests/bpf_progs $(HELPERS)
	$(Q)tools/vm/run $(OUTPUT)

vmlinux:
	$(call msg,GEN,$(VMLINUX))
	$(Q)$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $(VMLINUX)

# Man pages from scdoc sources.
MAN_SRCS  := $(wildcard man/*.scd)
MAN_PAGES := $(patsubst man/%.scd,$(OUTPUT)/man/%,$(MAN_SRCS))

$(OUTPUT)/man/%: man/%.scd
	$(call msg,SCDOC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)scdoc < $< > $@

man: $(MAN_PAGES)

# PREFIX for programs and man pages; units and configs go where Debian keeps them.
SYSTEMDDIR ?= /lib/systemd/system
SYSCONFDIR ?= /etc
install: all man
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/bin \
		$(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man8 \
		$(DESTDIR)$(PREFIX)/share/bpfcast $(DESTDIR)$(SYSTEMDDIR) \
		$(DESTDIR)$(SYSCONFDIR)/bpfcast
	install -m 0755 $(OUTPUT)/bpfcast-agent $(OUTPUT)/bpfcast-manager $(DESTDIR)$(PREFIX)/sbin/
	install -m 0755 $(OUTPUT)/bpfcastctl $(OUTPUT)/bpfcast-join $(DESTDIR)$(PREFIX)/bin/
	install -m 0755 tools/certs $(DESTDIR)$(PREFIX)/share/bpfcast/make-certs
	install -m 0644 $(filter %.1,$(MAN_PAGES)) $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 0644 $(filter %.8,$(MAN_PAGES)) $(DESTDIR)$(PREFIX)/share/man/man8/
	for u in bpfcast-agent@.service bpfcast-manager.service; do \
		sed 's|@SBINDIR@|$(PREFIX)/sbin|' dist/$$u > $(DESTDIR)$(SYSTEMDDIR)/$$u; \
		chmod 0644 $(DESTDIR)$(SYSTEMDDIR)/$$u; \
	done
	install -m 0644 dist/agent.conf.example dist/manager.conf.example \
		$(DESTDIR)$(SYSCONFDIR)/bpfcast/

# The Debian package; deb-check also installs it here, checks it and removes it.
deb: deps
	$(Q)tools/deps package
	$(Q)tools/deb $(OUTPUT)

deb-check: deps
	$(Q)tools/deps package
	$(Q)tools/deb $(OUTPUT) --check

# The fan-out benchmark (root): make bench, or make bench QUICK=1 for a smoke run.
BENCH_TOOLS := $(OUTPUT)/bench/benchgen $(OUTPUT)/bench/mmsg_relay $(OUTPUT)/bench/cpuspin

$(OUTPUT)/bench/%: tools/bench/%.c tests/helpers/payload.h
	$(call msg,BENCH,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $< -o $@

$(OUTPUT)/bench/sink.bpf.o: tools/bench/sink.bpf.c
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) -g -O2 -target bpf -Wall $(if $(WERROR),-Werror) \
		-I/usr/include/$(shell $(CC) -dumpmachine) -c $< -o $@

bench: deps
	$(Q)tools/deps bench
	$(Q)$(MAKE) --no-print-directory all $(HELPERS) $(BENCH_TOOLS) $(OUTPUT)/bench/sink.bpf.o
	$(Q)QUICK=$(QUICK) tools/bench/run $(OUTPUT)

clean:
	$(call msg,CLEAN,$(OUTPUT))
	$(Q)rm -rf $(OUTPUT)
