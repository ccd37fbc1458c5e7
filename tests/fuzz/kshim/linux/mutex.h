/* kernel <linux/mutex.h> for the fuzzer: see ../kshim.h */
#include "../kshim.h"
