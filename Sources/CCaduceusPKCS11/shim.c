// Declarations only (include/caduceus_pkcs11.h): SwiftPM needs one source file for a C target. Nothing here links
// against a PKCS#11 module; Caduceus loads one at run time.
#include "caduceus_pkcs11.h"
