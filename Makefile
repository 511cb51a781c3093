# Build, stage, install and test nssmtpd for Tcl 8.6 and Tcl 9.0.
#
#   make build     Tcl 8.6 build     -> target/release/libnssmtpd.so
#   make build9    Tcl 9.0 build     -> target/release/libtcl9nssmtpd.so
#   make stage     both builds and pkgIndex.tcl in target/pkg/nssmtpd<version>/
#   make install   the staged package into $(DESTDIR)$(TCLLIBDIR)/nssmtpd<version>/
#   make test      every test, under Tcl 8.6 and Tcl 9.0 (scripts/test-all.sh)
#
# Both builds use the same target directory, so the dependencies are compiled once and only
# this crate is rebuilt when switching Tcl versions. They also write the same output file,
# target/release/libnssmtpd.so: each build target copies its result away right after
# building it, and after `make build9` that file is the Tcl 9 build until `make build`.

VERSION   := $(shell sed -n 's/^version *= *"\(.*\)"/\1/p' Cargo.toml | head -1)
PREFIX    ?= /usr/local
TCLLIBDIR ?= $(PREFIX)/lib/tcltk
STAGE     := target/pkg/nssmtpd$(VERSION)
RELEASE   := target/release
# Where scripts/tcl9-setup.sh puts Tcl 9.0 (its tclConfig.sh and tclsh9 wrapper).
NSSMTPD_TCL9_DIR ?= $(CURDIR)/.tcl9
export NSSMTPD_TCL9_DIR
# The 8.6 build uses Debian's tcl-dev unless TCL86_CONFIG names another tclConfig.sh; a
# TCL_CONFIG in the environment is ignored here (it usually points at the Tcl 9 one).
TCL86_CONFIG ?=

# The builds share one output file: never run two of them at once.
.NOTPARALLEL:
.PHONY: all build build9 stage install test run clean

all: stage

build:
	$(if $(TCL86_CONFIG),env TCL_CONFIG=$(TCL86_CONFIG),env -u TCL_CONFIG) cargo build --release
	mkdir -p $(STAGE)
	cp $(RELEASE)/libnssmtpd.so $(STAGE)/libnssmtpd.so

build9:
	bash scripts/tcl9-setup.sh
	TCL_CONFIG=$(NSSMTPD_TCL9_DIR)/tclConfig.sh cargo build --release
	cp $(RELEASE)/libnssmtpd.so $(RELEASE)/libtcl9nssmtpd.so
	mkdir -p $(STAGE)
	cp $(RELEASE)/libtcl9nssmtpd.so $(STAGE)/libtcl9nssmtpd.so

# build last, so that target/release/libnssmtpd.so is the Tcl 8.6 build afterwards.
stage: build9 build
	sed 's/@VERSION@/$(VERSION)/g' pkgIndex.tcl.in > $(STAGE)/pkgIndex.tcl
	cp tcl/smtpd-compat.tcl tcl/sink.tcl $(STAGE)/
	@echo "staged $(STAGE): $$(cd $(STAGE) && echo *)"

# Installs what is staged (building it first only if nothing is), so that
# `make && sudo make install` does not run cargo as root.
install:
	@test -f $(STAGE)/pkgIndex.tcl || $(MAKE) stage
	mkdir -p $(DESTDIR)$(TCLLIBDIR)/nssmtpd$(VERSION)
	cp $(STAGE)/* $(DESTDIR)$(TCLLIBDIR)/nssmtpd$(VERSION)/
	@echo "installed into $(DESTDIR)$(TCLLIBDIR)/nssmtpd$(VERSION)"

test:
	bash scripts/test-all.sh

# A local mail sink on 127.0.0.1:2525 delivering into ./Maildir.
run: build
	tclsh8.6 scripts/run-server.tcl $(STAGE)/libnssmtpd.so

clean:
	cargo clean
