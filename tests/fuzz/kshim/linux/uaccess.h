/* kernel <linux/uaccess.h> for the fuzzer: see ../kshim.h */
#include "../kshim.h"
