/* kernel <linux/slab.h> for the fuzzer: see ../kshim.h */
#include "../kshim.h"
