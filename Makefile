# Build, stage, install and test nssmtpd for Tcl 8.6 and Tcl 9.0.
VERSION   := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
PREFIX    ?= /usr/local
TCLLIBDIR ?= $(PREFIX)/lib/tcltk
STAGE     := target/pkg/nssmtpd$(VERSION)
TCL9_DIR  := .tcl9

.PHONY: all build build9 stage install test run clean

all: stage

# Tcl 8.6 build (Debian's tcl-dev).
build:
	cargo build --release
	mkdir -p $(STAGE)
	cp target/release/libnssmtpd.so $(STAGE)/libnssmtpd.so

# Tcl 9.0 build, against the Tcl 9 fetched by scripts/tcl9-setup.sh (same target dir:
# only this crate is rebuilt, so copy its output right away).
build9:
	bash scripts/tcl9-setup.sh
	TCL_CONFIG=$(CURDIR)/$(TCL9_DIR)/tclConfig.sh cargo build --release
	mkdir -p $(STAGE)
	cp target/release/libnssmtpd.so $(STAGE)/libtcl9nssmtpd.so

stage: build9 build
	sed 's/@VERSION@/$(VERSION)/g' pkgIndex.tcl.in > $(STAGE)/pkgIndex.tcl
	@echo "staged $(STAGE)"

install: stage
	mkdir -p $(DESTDIR)$(TCLLIBDIR)/nssmtpd$(VERSION)
	cp $(STAGE)/pkgIndex.tcl $(STAGE)/libnssmtpd.so $(STAGE)/libtcl9nssmtpd.so \
	    $(DESTDIR)$(TCLLIBDIR)/nssmtpd$(VERSION)/
	@echo "installed into $(DESTDIR)$(TCLLIBDIR)/nssmtpd$(VERSION)"

test:
	bash scripts/test-all.sh

# A local mail sink on 127.0.0.1:2525 delivering into ./Maildir.
run: build
	tclsh8.6 scripts/run-server.tcl $(STAGE)/libnssmtpd.so

clean:
	cargo clean
