/*
 * hetmem's NUMA extension of hmmtrace (compiled in by setup.sh, which
 * includes this file at the end of a copy of ../shared/oracle/hmmtrace.c and
 * routes two more op names to it).  Ops:
 *
 *   move_pages ID START NPAGES NODE [all]   move_pages(2) to NODE with
 *                                           MPOL_MF_MOVE (MPOL_MF_MOVE_ALL); NODE may
 *                                           be a list N1,N2,... that the pages take in
 *                                           turn (page i goes to N[i mod count])
 *   page_node ID START NPAGES               move_pages(2) with nodes=NULL
 *   set_mempolicy MODE [N1,N2,...]          set_mempolicy(2); MODE is default,
 *                                           preferred, bind, interleave or local;
 *                                           nodes 0..62 (maxnode 64 reads 63 bits)
 *
 * Result: "ret=R status=S,S,..." where R is the syscall's return value (or
 * -ERRNO) and S is each page's status: a node, -ERRNO, or "?" when the
 * kernel left the entry unwritten (it does that for the pages of a batch
 * whose migration failed).
 */
#include <limits.h>
#include <sched.h>
#include <sys/syscall.h>

#define NUMA_MAXPAGES 4096
#define MPOL_PREFERRED_ 1
#define MPOL_MF_MOVE_ (1 << 1)
#define MPOL_MF_MOVE_ALL_ (1 << 2)

static void *numa_pages[NUMA_MAXPAGES];
static int numa_nodes[NUMA_MAXPAGES], numa_status[NUMA_MAXPAGES];

/* NODE or N1,N2,...: each a C number as num() reads it, cast to int */
static int parse_nodes(const char *tok, int *list, int *count)
{
	char buf[256], *save, *p;

	if (strlen(tok) >= sizeof(buf))
		return -1;
	strcpy(buf, tok);
	*count = 0;
	for (p = strtok_r(buf, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
		unsigned long v;

		if (*count >= 64 || num(p, &v))
			return -1;
		list[(*count)++] = (int)v;
	}
	return *count ? 0 : -1;
}

static int op_move_pages(char **t, int n, int query)
{
	struct region *r;
	unsigned long s, np;
	int flags = MPOL_MF_MOVE_;
	int list[64], count = 1;
	long ret;

	list[0] = 0;
	if (n < (query ? 4 : 5) || num(t[2], &s) || num(t[3], &np) || np > NUMA_MAXPAGES)
		return -1;
	if (!query) {
		if (parse_nodes(t[4], list, &count))
			return -1;
		if (n > 5) {
			if (strcmp(t[5], "all"))
				return -1;
			flags = MPOL_MF_MOVE_ALL_;
		}
	}
	if (!(r = needreg(t[1])))
		return 0;
	for (unsigned long i = 0; i < np; i++) {
		numa_pages[i] = r->base + (s + i) * PAGE;
		numa_nodes[i] = list[i % count];
		numa_status[i] = INT_MIN;
	}
	ret = syscall(SYS_move_pages, 0, np, numa_pages, query ? NULL : numa_nodes,
		      numa_status, flags);
	if (ret < 0)
		outf("ret=-%s", ename(errno));
	else
		outf("ret=%ld", ret);
	outf(" status=");
	for (unsigned long i = 0; i < np; i++) {
		int v = numa_status[i];

		if (i)
			outf(",");
		if (v == INT_MIN)
			outf("?");
		else if (v < 0)
			outf("-%s", ename(-v));
		else
			outf("%d", v);
	}
	return 0;
}

static int op_set_mempolicy(char **t, int n)
{
	static const char *const modes[] = { "default", "preferred", "bind", "interleave", "local" };
	int mode = -1, list[64], count = 0;
	unsigned long mask = 0;
	long ret;

	if (n < 2)
		return -1;
	for (int i = 0; i < 5; i++)
		if (!strcmp(t[1], modes[i]))
			mode = i;
	if (mode < 0)
		return -1;
	if (n > 2 && parse_nodes(t[2], list, &count))
		return -1;
	for (int i = 0; i < count; i++) {
		if (list[i] < 0 || list[i] > 62)
			return -1;
		mask |= 1UL << list[i];
	}
	ret = syscall(SYS_set_mempolicy, mode, &mask, 8 * sizeof(mask));
	if (ret < 0)
		outf("ret=-%s", ename(errno));
	else
		outf("ret=%ld", ret);
	return 0;
}

/* Allocations prefer node 0 and the process stays on CPU 0 (so "local" is
 * CPU 0's node), so where a page lands is deterministic. */
static void numa_init(void)
{
	unsigned long mask = 1;
	cpu_set_t cpus;

	CPU_ZERO(&cpus);
	CPU_SET(0, &cpus);
	sched_setaffinity(0, sizeof(cpus), &cpus);
	syscall(SYS_set_mempolicy, MPOL_PREFERRED_, &mask, 8 * sizeof(mask));
}
