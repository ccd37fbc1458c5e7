/* kernel <linux/wait.h> for the fuzzer: see ../kshim.h */
#include "../kshim.h"
