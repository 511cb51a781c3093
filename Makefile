# Build, stage, install and test nssmtpd for Tcl 8.6 and Tcl 9.0.
#
#   make build      Tcl 8.6 build   -> target/release/libnssmtpd.so
#   make build9     Tcl 9.0 build   -> target/tcl9/release/libtcl9nssmtpd.so
#   make stage      both builds, pkgIndex.tcl and the Tcl packages in target/pkg/nssmtpd<version>/
#   make stage86    the same for Tcl 8.6 only (nothing is downloaded)
#   make stage9     the same for Tcl 9.0 only
#   make install    what `stage` staged into $(DESTDIR)$(TCLLIBDIR)/nssmtpd<version>/
#   make install86  the Tcl 8.6 files only
#   make install9   the Tcl 9.0 files only
#   make test       every test, under Tcl 8.6 and Tcl 9.0 (scripts/test-all.sh)
#
# The Tcl 9.0 build uses TCL9_CONFIG, a Tcl 9 tclConfig.sh, when given (then nothing is
# downloaded: `make install9 TCL9_CONFIG=/usr/lib/tcl9.0/tclConfig.sh`); without it
# scripts/tcl9-setup.sh fetches Debian trixie's Tcl 9.0 into .tcl9 (once, then cached).
#
# Each build has its own cargo target directory, target/ for 8.6 and target/tcl9/ for 9.0
# (overriding CARGO_TARGET_DIR), so switching between them does not recompile the crate.

VERSION   := $(shell sed -n 's/^version *= *"\(.*\)"/\1/p' Cargo.toml | head -1)
PREFIX    ?= /usr/local
TCLLIBDIR ?= $(PREFIX)/lib/tcltk
STAGE     := target/pkg/nssmtpd$(VERSION)
TARGET86  := $(CURDIR)/target
TARGET9   := $(CURDIR)/target/tcl9
# Where scripts/tcl9-setup.sh puts Tcl 9.0 (its tclConfig.sh and tclsh9 wrapper).
NSSMTPD_TCL9_DIR ?= $(CURDIR)/.tcl9
export NSSMTPD_TCL9_DIR
# The 8.6 build uses Debian's tcl-dev unless TCL86_CONFIG names another tclConfig.sh; a
# TCL_CONFIG in the environment is ignored here (it usually points at the Tcl 9 one).
TCL86_CONFIG ?=
# The 9.0 build uses this tclConfig.sh when given, else the one tcl9-setup.sh makes.
TCL9_CONFIG ?=
TCL9_BUILD_CONFIG = $(or $(TCL9_CONFIG),$(NSSMTPD_TCL9_DIR)/tclConfig.sh)
# What every staged package has besides the libraries.
SCRIPTS   := pkgIndex.tcl smtpd-compat.tcl sink.tcl
INSTALLDIR = $(DESTDIR)$(TCLLIBDIR)/nssmtpd$(VERSION)

.PHONY: all build build9 stage stage86 stage9 stage-scripts install install86 install9 \
	test run clean

all: stage

build:
	$(if $(TCL86_CONFIG),env TCL_CONFIG=$(TCL86_CONFIG),env -u TCL_CONFIG) CARGO_TARGET_DIR=$(TARGET86) cargo build --release
	mkdir -p $(STAGE)
	cp $(TARGET86)/release/libnssmtpd.so $(STAGE)/libnssmtpd.so

build9:
	$(if $(TCL9_CONFIG),,bash scripts/tcl9-setup.sh)
	env TCL_CONFIG=$(TCL9_BUILD_CONFIG) CARGO_TARGET_DIR=$(TARGET9) cargo build --release
	cp $(TARGET9)/release/libnssmtpd.so $(TARGET9)/release/libtcl9nssmtpd.so
	mkdir -p $(STAGE)
	cp $(TARGET9)/release/libtcl9nssmtpd.so $(STAGE)/libtcl9nssmtpd.so

stage-scripts:
	mkdir -p $(STAGE)
	sed 's/@VERSION@/$(VERSION)/g' pkgIndex.tcl.in > $(STAGE)/pkgIndex.tcl
	cp tcl/smtpd-compat.tcl tcl/sink.tcl $(STAGE)/

stage: build9 build stage-scripts
	@echo "staged $(STAGE): $$(cd $(STAGE) && echo *)"

stage86: build stage-scripts
	@echo "staged $(STAGE) for Tcl 8.6: libnssmtpd.so $(SCRIPTS)"

stage9: build9 stage-scripts
	@echo "staged $(STAGE) for Tcl 9.0: libtcl9nssmtpd.so $(SCRIPTS)"

# Each installs what is staged (building it first only if it is not), so that
# `make && sudo make install` does not run cargo as root. install86 and install9 copy only
# their own library: after one of them only that Tcl version finds the package (pkgIndex.tcl
# skips a library that is not there); running both is the same as `make install`.
install:
	@test -f $(STAGE)/pkgIndex.tcl -a -f $(STAGE)/libnssmtpd.so \
		-a -f $(STAGE)/libtcl9nssmtpd.so || $(MAKE) stage
	mkdir -p $(INSTALLDIR)
	cp $(addprefix $(STAGE)/,libnssmtpd.so libtcl9nssmtpd.so $(SCRIPTS)) $(INSTALLDIR)/
	@echo "installed into $(INSTALLDIR)"

install86:
	@test -f $(STAGE)/pkgIndex.tcl -a -f $(STAGE)/libnssmtpd.so || $(MAKE) stage86
	mkdir -p $(INSTALLDIR)
	cp $(addprefix $(STAGE)/,libnssmtpd.so $(SCRIPTS)) $(INSTALLDIR)/
	@echo "installed the Tcl 8.6 package into $(INSTALLDIR)"

install9:
	@test -f $(STAGE)/pkgIndex.tcl -a -f $(STAGE)/libtcl9nssmtpd.so || $(MAKE) stage9
	mkdir -p $(INSTALLDIR)
	cp $(addprefix $(STAGE)/,libtcl9nssmtpd.so $(SCRIPTS)) $(INSTALLDIR)/
	@echo "installed the Tcl 9.0 package into $(INSTALLDIR)"

test:
	bash scripts/test-all.sh

# A local mail sink on 127.0.0.1:2525 delivering into ./Maildir.
run: build
	tclsh8.6 scripts/run-server.tcl $(STAGE)/libnssmtpd.so

clean:
	cargo clean --target-dir $(TARGET86)
