# firewall.sh - apply a 10,000-entry accessible-IP list to table inet
# sluice in a private network namespace: the libnftnl batch (build +
# commit, as fw-apply measures it) against `nft -f` of the same IR
# rendered as text (wall time of the nft process).  Median of RUNS.
# Needs root, nft and python3.  Prints the numbers and the ratio.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
FWAPPLY="$top_builddir/test/helpers/fw-apply"
RUNS=${RUNS:-7}

[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
command -v nft >/dev/null && command -v python3 >/dev/null ||
    { echo "SKIP: needs nft and python3"; exit 77; }
NS=sluice-bench$$
T=$(mktemp -d "${TMPDIR:-/tmp}/sluice-fwbench.XXXXXX")
trap 'ip netns del "$NS" 2>/dev/null; rm -rf "$T"' EXIT
ip netns add "$NS" || exit 1

python3 - "$T/big.yaml" <<'EOF'
import sys
l = ["base: hardened", "services:", "  modbus-tcp: { enabled: true }",
     "accessible_ip:", "  activate: true", "  entries:"]
for i in range(10000):
    l.append("    - { address: 172.%d.%d.0/24 }" % (16 + i // 256, i % 256))
open(sys.argv[1], "w").write("\n".join(l) + "\n")
EOF
"$FWAPPLY" -r "$T/big.yaml" > "$T/big.nft" || exit 1

ip netns exec "$NS" python3 - "$FWAPPLY" "$T/big.yaml" "$T/big.nft" "$RUNS" <<'EOF'
import statistics, subprocess, sys, time
fwapply, yaml, nft, runs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
lib, build, commit, text = [], [], [], []
for _ in range(runs):
    out = subprocess.run([fwapply, yaml], capture_output=True, text=True,
                         check=True).stdout
    f = [l.split() for l in out.splitlines() if l.startswith("batch")][0]
    b, c = float(f[4]), float(f[6])
    build.append(b); commit.append(c); lib.append(b + c)
    size = int(f[1])
    t0 = time.perf_counter()
    subprocess.run(["nft", "-f", nft], check=True)
    text.append((time.perf_counter() - t0) * 1000)
m = statistics.median
print("10,000 ranges, batch %d bytes, median of %d:" % (size, runs))
print("  libnftnl: build %.1f ms + commit %.1f ms = %.1f ms" %
      (m(build), m(commit), m(lib)))
print("  nft -f:   %.1f ms (process wall time, parse included)" % m(text))
print("  ratio nft -f / libnftnl: %.1fx" % (m(text) / m(lib)))
EOF
