//! Build script: finds Tcl through `tclConfig.sh`, generates the Tcl API bindings with bindgen,
//! compiles the stubs-initialisation shim and links the static Tcl stub library.
//!
//! `TCL_CONFIG` names the `tclConfig.sh` to use (default: Debian's Tcl 8.6). A Tcl 9 config
//! switches on `cfg(tcl9)`. No libtcl is linked: every call goes through the stubs table.
use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

const DEFAULT_CONFIG: &str = "/usr/lib/x86_64-linux-gnu/tcl8.6/tclConfig.sh";

struct TclConfig {
    include_dir: String,
    stub_lib: PathBuf,
    version: String,
}

fn read_tcl_config(path: &str) -> TclConfig {
    let script = format!(
        ". '{path}' && printf '%s\\n%s\\n%s\\n' \"$TCL_INCLUDE_SPEC\" \"$TCL_STUB_LIB_PATH\" \"$TCL_VERSION\""
    );
    let out = Command::new("sh")
        .arg("-c")
        .arg(script)
        .output()
        .unwrap_or_else(|e| panic!("cannot run sh to read {path}: {e}"));
    assert!(
        out.status.success(),
        "reading {path} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("tclConfig.sh output is not UTF-8");
    let mut lines = text.lines();
    let include = lines.next().unwrap_or("").trim();
    let include_dir = include
        .split_whitespace()
        .next()
        .unwrap_or("")
        .trim_start_matches("-I")
        .to_string();
    let stub_lib = PathBuf::from(lines.next().unwrap_or("").trim());
    let version = lines.next().unwrap_or("").trim().to_string();
    assert!(
        !include_dir.is_empty() && stub_lib.is_file() && !version.is_empty(),
        "{path} does not name a usable Tcl (include '{include_dir}', stub library '{}', version '{version}'); \
         install tcl-dev or set TCL_CONFIG",
        stub_lib.display()
    );
    TclConfig {
        include_dir,
        stub_lib,
        version,
    }
}

fn stub_link_name(stub_lib: &Path) -> String {
    let file = stub_lib.file_name().unwrap().to_string_lossy();
    file.trim_start_matches("lib")
        .trim_end_matches(".a")
        .to_string()
}

fn main() {
    println!("cargo:rerun-if-env-changed=TCL_CONFIG");
    println!("cargo:rerun-if-changed=src/tcl/shim.c");
    println!("cargo:rerun-if-changed=src/tcl/wrapper.h");
    println!("cargo:rustc-check-cfg=cfg(tcl9)");

    let config_path = env::var("TCL_CONFIG").unwrap_or_else(|_| DEFAULT_CONFIG.to_string());
    println!("cargo:rerun-if-changed={config_path}");
    let tcl = read_tcl_config(&config_path);
    let major: u32 = tcl
        .version
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .expect("TCL_VERSION has no major number");
    if major >= 9 {
        println!("cargo:rustc-cfg=tcl9");
    }
    println!("cargo:rustc-env=NSSMTPD_TCL_VERSION={}", tcl.version);

    cc::Build::new()
        .file("src/tcl/shim.c")
        .include(&tcl.include_dir)
        .define("USE_TCL_STUBS", None)
        .warnings(true)
        .compile("nssmtpd_shim");
    // After the shim (link order matters): the stub library resolves Tcl_InitStubs.
    println!(
        "cargo:rustc-link-search=native={}",
        tcl.stub_lib.parent().unwrap().display()
    );
    println!(
        "cargo:rustc-link-lib=static={}",
        stub_link_name(&tcl.stub_lib)
    );

    let bindings = bindgen::Builder::default()
        .header("src/tcl/wrapper.h")
        .clang_arg(format!("-I{}", tcl.include_dir))
        .allowlist_type("Tcl_.*")
        .allowlist_type("TclStubs")
        .allowlist_var("tclStubsPtr")
        .allowlist_var("TCL_.*")
        .prepend_enum_name(false)
        .layout_tests(false)
        .generate()
        .expect("bindgen failed on the Tcl headers");
    let out = PathBuf::from(env::var("OUT_DIR").unwrap()).join("tcl_bindings.rs");
    bindings.write_to_file(out).expect("cannot write bindings");
}
