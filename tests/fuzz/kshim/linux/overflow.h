/* kernel <linux/overflow.h> for the fuzzer: see ../kshim.h */
#include "../kshim.h"
