#define USE_TCL_STUBS 1
#include <tcl.h>
/* Tcl 8.6 headers have no Tcl_Size; 9.0 defines it as ptrdiff_t. */
#ifndef TCL_SIZE_MAX
typedef int Tcl_Size;
#endif
