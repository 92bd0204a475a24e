#!/bin/bash
# setup.sh - a NUMA variant of the HMM oracle (tools/oracle), for checking
# hetmem's NUMA model (move_pages) against Linux 6.1.  Development tool only.
#
# It copies the oracle scripts to $NUMA_SCRIPTS (default /tmp/oracle-numa-scripts)
# and changes three things there:
#   * kconfig: CONFIG_NUMA and CONFIG_NUMA_EMU;
#   * boot: numa=fake=2 (two nodes of 1 GiB each);
#   * hmmtrace: the move_pages / page_node ops of hmmtrace-numa.c, and a
#     preferred-node-0 memory policy set at start.
# Then build and run as with the plain oracle, with ORACLE_DIR kept apart:
#   ORACLE_DIR=/tmp/oracle-numa $NUMA_SCRIPTS/build.sh
#   ORACLE_DIR=/tmp/oracle-numa $NUMA_SCRIPTS/run-batch.sh IN OUT
# An already unpacked kernel source under /tmp/oracle is reused.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ORIG=${ORACLE_SRC:-$HERE/../oracle}
S=${NUMA_SCRIPTS:-/tmp/oracle-numa-scripts}
W=${ORACLE_DIR:-/tmp/oracle-numa}
rm -rf "$S"; mkdir -p "$S" "$W"
cp "$ORIG"/* "$S"/
chmod u+w "$S"/*
printf 'cfg --enable NUMA --enable NUMA_EMU\n' >> "$S/kconfig-hmm.sh"
grep -q 'panic=-1 oops=panic \$\*' "$S/boot.sh"
sed -i 's/panic=-1 oops=panic \$\*/panic=-1 oops=panic numa=fake=2 $*/' "$S/boot.sh"
# route the new ops and call numa_init() first thing in main()
grep -q 'if (!strcmp(op, "gup")) return op_gup(t, n);' "$S/hmmtrace.c"
sed -i 's/\tif (!strcmp(op, "gup")) return op_gup(t, n);/&\n\tif (!strcmp(op, "move_pages")) return op_move_pages(t, n, 0);\n\tif (!strcmp(op, "page_node")) return op_move_pages(t, n, 1);\n\tif (!strcmp(op, "set_mempolicy")) return op_set_mempolicy(t, n);/' "$S/hmmtrace.c"
sed -i 's/^static int run_op(char \*\*t, int n);$/&\n#include "hmmtrace-numa.c"/' "$S/hmmtrace.c"
sed -i 's/^\tsignal(SIGSEGV, sighandler);$/\tnuma_init();\n&/' "$S/hmmtrace.c"
cp "$HERE/hmmtrace-numa.c" "$S/"
grep -c 'numa' "$S/hmmtrace.c" >/dev/null
if [ -d /tmp/oracle/linux-source-6.1 ] && [ ! -e "$W/linux-source-6.1" ]; then
	ln -s /tmp/oracle/linux-source-6.1 "$W/linux-source-6.1"
fi
echo "NUMA oracle scripts in $S; build with: ORACLE_DIR=$W $S/build.sh"
