/* keel: command-line entry point. */
#include <stdio.h>

int main(int argc, char **argv)
{
	fprintf(stderr, "keel: no commands yet\n");
	return 2;
}
