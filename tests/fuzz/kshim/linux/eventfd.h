/* kernel <linux/eventfd.h> for the fuzzer: see ../kshim.h */
#include "../kshim.h"
