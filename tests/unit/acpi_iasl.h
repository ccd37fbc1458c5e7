/*
 * Test helper for tests/unit/test_acpi.c and test_aml.c: write an ACPI table
 * to a temp dir and decompile it with `iasl -d` (acpica-tools); any iasl
 * error or warning, or a missing iasl, is a failure.
 */
#ifndef KEEL_TESTS_ACPI_IASL_H
#define KEEL_TESTS_ACPI_IASL_H

#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

struct acpi_iasl {
	char dir[64];
};

/* Words in iasl's output or in a decompiled table that mean trouble. */
static const char *const acpi_iasl_bad_words[] = {
	"error", "warning", "incorrect", "invalid", "unknown", "not found",
};

static inline int acpi_iasl_open(struct acpi_iasl *ia)
{
	if (system("command -v iasl >/dev/null 2>&1") != 0) {
		fprintf(stderr, "iasl not found: install acpica-tools "
			"(scripts/install-deps)\n");
		return -1;
	}
	strcpy(ia->dir, "/tmp/keel-acpi-XXXXXX");
	return mkdtemp(ia->dir) ? 0 : -1;
}

static inline int acpi_iasl_rm(const char *path, const struct stat *st,
			       int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* KEEL_ACPI_KEEP=1 keeps the .dat/.dsl files for a look. */
static inline void acpi_iasl_close(struct acpi_iasl *ia)
{
	if (getenv("KEEL_ACPI_KEEP")) {
		fprintf(stderr, "# iasl files kept in %s\n", ia->dir);
		return;
	}
	nftw(ia->dir, acpi_iasl_rm, 8, FTW_DEPTH | FTW_PHYS);
}

/* Whole file as a NUL-terminated string, or NULL. */
static inline char *acpi_iasl_slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *s = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0) {
		s = calloc(1, n + 1);
		if (s && fread(s, 1, n, f) != (size_t)n) {
			free(s);
			s = NULL;
		}
	}
	fclose(f);
	return s;
}

static inline int acpi_iasl_clean(const char *what, const char *text)
{
	size_t i;

	for (i = 0; i < sizeof(acpi_iasl_bad_words) / sizeof(acpi_iasl_bad_words[0]); i++) {
		if (strcasestr(text, acpi_iasl_bad_words[i])) {
			fprintf(stderr, "iasl: '%s' in %s:\n%s\n",
				acpi_iasl_bad_words[i], what, text);
			return -1;
		}
	}
	return 0;
}

/*
 * Decompile one table called name (e.g. "dsdt"). Returns the .dsl text
 * (free it) when iasl ran cleanly, NULL otherwise (reason on stderr).
 */
static inline char *acpi_iasl_decompile(struct acpi_iasl *ia, const char *name,
					const void *data, size_t len)
{
	char path[160], cmd[400];
	char *log, *dsl = NULL;
	FILE *f;
	int rc;

	snprintf(path, sizeof(path), "%s/%s.dat", ia->dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(data, 1, len, f) != len) {
		if (f)
			fclose(f);
		return NULL;
	}
	fclose(f);
	snprintf(cmd, sizeof(cmd), "cd %s && iasl -d %s.dat >%s.log 2>&1",
		 ia->dir, name, name);
	rc = system(cmd);
	snprintf(path, sizeof(path), "%s/%s.log", ia->dir, name);
	log = acpi_iasl_slurp(path);
	if (rc != 0 || !log) {
		fprintf(stderr, "iasl -d %s failed (%d):\n%s\n", name, rc,
			log ? log : "");
		free(log);
		return NULL;
	}
	snprintf(path, sizeof(path), "%s/%s.dsl", ia->dir, name);
	if (acpi_iasl_clean("iasl output", log) == 0)
		dsl = acpi_iasl_slurp(path);
	if (!dsl)
		fprintf(stderr, "iasl -d %s: no clean %s.dsl:\n%s\n", name,
			name, log);
	free(log);
	/* The header comment names the tool ("Disassembler"), skip it. */
	if (dsl && acpi_iasl_clean(name, strstr(dsl, "*/") ? strstr(dsl, "*/") : dsl)) {
		free(dsl);
		dsl = NULL;
	}
	return dsl;
}

/* Bytes of a compiled table that name the compiler, not the content. */
static inline int acpi_iasl_same(const uint8_t *a, const uint8_t *b, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (i == 9 || (i >= 28 && i < 36))
			continue;	/* checksum, creator ID and revision */
		if (a[i] != b[i]) {
			fprintf(stderr, "recompiled table differs at byte %zu: "
				"%02x, ours %02x\n", i, a[i], b[i]);
			return -1;
		}
	}
	return 0;
}

/*
 * Compile the .dsl of an earlier acpi_iasl_decompile() back with iasl: no
 * error or warning allowed; with exact, the result must be our table.
 */
static inline int acpi_iasl_recompile(struct acpi_iasl *ia, const char *name,
				      const void *data, size_t len, int exact)
{
	char path[160], cmd[400];
	char *log, *aml;
	size_t n = 0;
	FILE *f;
	int rc, ret = -1;

	snprintf(cmd, sizeof(cmd), "cd %s && iasl -p %s_re %s.dsl >%s_re.log 2>&1",
		 ia->dir, name, name, name);
	rc = system(cmd);
	snprintf(path, sizeof(path), "%s/%s_re.log", ia->dir, name);
	log = acpi_iasl_slurp(path);
	if (rc != 0 || !log || !strstr(log, " 0 Errors, 0 Warnings")) {
		fprintf(stderr, "iasl could not compile %s.dsl back (%d):\n%s\n",
			name, rc, log ? log : "");
		free(log);
		return -1;
	}
	free(log);
	if (!exact)
		return 0;
	snprintf(path, sizeof(path), "%s/%s_re.aml", ia->dir, name);
	f = fopen(path, "rb");
	aml = malloc(len + 1);
	if (f && aml)
		n = fread(aml, 1, len + 1, f);
	if (n != len)
		fprintf(stderr, "recompiled %s: %zu bytes, ours %zu\n", name, n, len);
	else
		ret = acpi_iasl_same((const uint8_t *)aml, data, len);
	if (f)
		fclose(f);
	free(aml);
	return ret;
}

#endif
