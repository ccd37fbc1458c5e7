/* kernel <linux/uio.h> for the fuzzer: see ../kshim.h */
#include "../kshim.h"
