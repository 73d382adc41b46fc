// zlib (RFC 1950/1951), the system's: deflate for the portal's PNG previews.
#include <zlib.h>
