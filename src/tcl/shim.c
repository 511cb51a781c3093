/* Expands the Tcl_InitStubs macro so the stub magic and version bits match the headers used. */
#include <tcl.h>

const char *nssmtpd_init_stubs(Tcl_Interp *interp) {
#if TCL_MAJOR_VERSION >= 9
    return Tcl_InitStubs(interp, "9.0", 0);
#else
    return Tcl_InitStubs(interp, "8.6", 0);
#endif
}
