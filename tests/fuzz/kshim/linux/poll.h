/* kernel <linux/poll.h> for the fuzzer: see ../kshim.h */
#include "../kshim.h"
