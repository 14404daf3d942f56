/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for lib/debver.c: comparison vectors from apt's and cupt's version test lists
 * and Debian policy's examples, every one checked against `dpkg --compare-versions`, and
 * validity as dpkg's parseversion() decides it. */
#include "debver.h"

#include "check.h"
#include "util.h"

static int sign(int v)
{
	return (v > 0) - (v < 0);
}

static const struct {
	const char *a, *b;
	int cmp;
} vectors[] = {
	{ "0", "0", 0 },
	{ "0", "00", 0 },
	{ "0:0", "0:0-0", 0 },
	{ "0:0-0", "00:00-00", 0 },
	{ "1:2-3", "1:2-3", 0 },
	{ "0", "1:0", -1 },
	{ "1:0", "0", 1 },
	{ "1:0.4", "10.3", 1 },
	{ "1:1.25-4", "1:1.25-8", -1 },
	{ "0:1.18.36", "1.18.36", 0 },
	{ "00:1.0", "1.0", 0 },
	{ "2:1.0", "1:9.9", 1 },
	{ "5:2", "304-2", 1 },
	{ "5:2", "304:2", -1 },
	{ "25:2", "3:2", 1 },
	{ "1:2:123", "1:12:4", -1 },
	{ "9:1.18.36:5.4-20", "10:0.5.1-22", -1 },
	{ "9:1.18.36:5.4-20", "9:1.18.36:5.5-1", -1 },
	{ "9:1.18.36:5.4-20", "9:1.18.37:4.3-22", -1 },
	{ "1.18.36-0.17.35-18", "1.18.36-19", 1 },
	{ "7.6p2-4", "7.6-0", 1 },
	{ "1.0.3-3", "1.0-1", 1 },
	{ "1.3", "1.2.2-2", 1 },
	{ "1.3", "1.2.2", 1 },
	{ "1:1.2.13-3", "1:1.2.13-3.1", -1 },
	{ "2.0.7pre1-4", "2.0.7r-1", -1 },
	{ "0:0-0-0", "0-0", 1 },
	{ "1.2.3", "1.2.3", 0 },
	{ "4.4.3-2", "4.4.3-2", 0 },
	{ "1:2ab:5", "1:2ab:5", 0 },
	{ "7:1-a:b-5", "7:1-a:b-5", 0 },
	{ "57:1.2.3abYZ+~-4-5", "57:1.2.3abYZ+~-4-5", 0 },
	{ "1.2.3", "0:1.2.3", 0 },
	{ "1.2.3", "1.2.3-0", 0 },
	{ "009", "9", 0 },
	{ "009ab5", "9ab5", 0 },
	{ "1.2.3", "1.2.3-1", -1 },
	{ "1.2.3", "1.2.4", -1 },
	{ "1.2.4", "1.2.3", 1 },
	{ "1.2.24", "1.2.3", 1 },
	{ "0.10.0", "0.8.7", 1 },
	{ "3.2", "2.3", 1 },
	{ "1.3.2a", "1.3.2", 1 },
	{ "0.5.0~git", "0.5.0~git2", -1 },
	{ "2a", "21", -1 },
	{ "1.3.2a", "1.3.2b", -1 },
	{ "1:1.2.3", "1.2.4", 1 },
	{ "1:1.2.3", "1:1.2.4", -1 },
	{ "1.2a+~bCd3", "1.2a++", -1 },
	{ "1.2a+~bCd3", "1.2a+~", 1 },
	{ "1.2-5", "1.2-3-5", -1 },
	{ "5.10.0", "5.005", 1 },
	{ "3a9.8", "3.10.2", -1 },
	{ "3a9.8", "3~10", 1 },
	{ "1.4+OOo3.0.0~", "1.4+OOo3.0.0-4", -1 },
	{ "2.4.7-1", "2.4.7-z", -1 },
	{ "1.002-1+b2", "1.00", 1 },
	{ "1.0~rc1", "1.0", -1 },
	{ "1.0~rc1", "1.0~rc2", -1 },
	{ "1.0~~", "1.0~~a", -1 },
	{ "1.0~~a", "1.0~", -1 },
	{ "1.0~", "1.0", -1 },
	{ "1.0", "1.0a", -1 },
	{ "1.0", "1.0+b1", -1 },
	{ "1.0", "1.0.1", -1 },
	{ "1.0-1", "1.0", 1 },
	{ "1.0-1", "1.0-2", -1 },
	{ "1.0-1", "1.0-1.1", -1 },
	{ "1.0-1~bpo1", "1.0-1", -1 },
	{ "1.0-1ubuntu1", "1.0-1", 1 },
	{ "1.0-a", "1.0-1", 1 },
	{ "1.0a", "1.0.1", -1 },
	{ "1.0a", "1.0+", -1 },
	{ "1.01", "1.1", 0 },
	{ "1.001", "1.1", 0 },
	{ "01.0", "1.0", 0 },
	{ "1.10", "1.9", 1 },
	{ "10", "9", 1 },
	{ "1.2.3", "1.2.10", -1 },
	{ "2.30-1", "2.9-5", 1 },
	{ "1.0+dfsg-1", "1.0-1", 1 },
	{ "1.0+dfsg-1", "1.0.1-1", -1 },
	{ "2:1.0~rc1-1", "2:1.0-0", -1 },
	{ "1.0-2+deb12u1", "1.0-2", 1 },
	{ "1.0-2+deb12u1", "1.0-2+deb12u10", -1 },
	{ "1.0-2+b1", "1.0-2+deb12u1", -1 },
};

static void test_compare_vectors(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(vectors); i++) {
		int ab = sign(debver_cmp(vectors[i].a, vectors[i].b));
		int ba = sign(debver_cmp(vectors[i].b, vectors[i].a));

		if (ab != vectors[i].cmp || ba != -vectors[i].cmp)
			fprintf(stderr, "  '%s' vs '%s': got %d/%d, expected %d\n", vectors[i].a,
				vectors[i].b, ab, ba, vectors[i].cmp);
		CHECK(ab == vectors[i].cmp);
		CHECK(ba == -vectors[i].cmp);
	}
	CHECK(ARRAY_SIZE(vectors) >= 40);
}

static void test_compare_reflexive(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(vectors); i++) {
		CHECK(debver_cmp(vectors[i].a, vectors[i].a) == 0);
		CHECK(debver_cmp(vectors[i].b, vectors[i].b) == 0);
	}
}

/* Policy 5.6.12: "~~" < "~~a" < "~" < "" < "a", checked as a chain for transitivity. */
static void test_compare_tilde_chain(void)
{
	static const char *const chain[] = {
		"1.0~~", "1.0~~a", "1.0~", "1.0~rc1", "1.0~rc2", "1.0", "1.0-0.1", "1.0-1~bpo1",
		"1.0-1", "1.0-1+b1", "1.0-1.1", "1.0a", "1.0+b1", "1.0.1", "1.1", "1:0.1",
	};

	for (size_t i = 0; i < ARRAY_SIZE(chain); i++)
		for (size_t j = 0; j < ARRAY_SIZE(chain); j++) {
			int c = sign(debver_cmp(chain[i], chain[j]));
			int want = (i > j) - (i < j);

			if (c != want)
				fprintf(stderr, "  '%s' vs '%s': got %d\n", chain[i], chain[j], c);
			CHECK(c == want);
		}
}

static void test_compare_huge_numbers(void)
{
	/* Digit runs and epochs longer than any integer type still compare numerically. */
	CHECK(debver_cmp("123456789012345678901234567890", "123456789012345678901234567891") < 0);
	CHECK(debver_cmp("1.00000000000000000000000000002", "1.2") == 0);
	CHECK(debver_cmp("99999999999999999999:1", "100000000000000000000:0") < 0);
	CHECK(debver_cmp("0000000000000000000001:1", "1:1") == 0);
}

static void test_valid(void)
{
	static const char *const good[] = {
		"0", "1.0", "1:1.0-1", "0:1.0", "00:1", "1.0-1-2", "2147483647:1",
		"1.0~rc1+dfsg-1~bpo12+1", "1.0-a~b", "1.0-1.2+3", "1:2:3", "7:1-a:b-5",
		"2.36-9+deb12u4", "1.0+b1", "3a9.8",
	};
	static const char *const bad[] = {
		"", "1.0-", "1:", ":1.0", "a1.0", "1.0 1", "1.0_1", "-1", "1.0-1:2", "a:1.0",
		"2147483648:1", "99999999999:1", " 1.0", "1.0 ", "1.0/1", "1.0-1_2", "1.0!",
		"~1", "1:~1", "1.0-1:", "1:-1", "1.0\n",
	};

	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		if (!debver_valid(good[i]))
			fprintf(stderr, "  rejected '%s'\n", good[i]);
		CHECK(debver_valid(good[i]));
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		if (debver_valid(bad[i]))
			fprintf(stderr, "  accepted '%s'\n", bad[i]);
		CHECK(!debver_valid(bad[i]));
	}
	CHECK(!debver_valid(NULL));
}

int main(void)
{
	RUN_TEST(test_compare_vectors);
	RUN_TEST(test_compare_reflexive);
	RUN_TEST(test_compare_tilde_chain);
	RUN_TEST(test_compare_huge_numbers);
	RUN_TEST(test_valid);
	CHECK_EXIT();
}
