# firewall.sh - apply table inet sluice in a private network namespace:
# the libnftnl batch (build + commit, as fw-apply measures it) against
# `nft -f` of the same IR rendered as text (wall time of the nft
# process), in the same run, for
#   10, 1,000 and 10,000 accessible-IP entries (/24 networks), and
#   10,000 bans (-b ADDR:SECONDS, one batch) with 10 entries.
# Median of RUNS (default 5).  Needs root, nft and python3.  Prints the
# numbers and the ratio nft -f / libnftnl per case.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
FWAPPLY="$top_builddir/test/helpers/fw-apply"
RUNS=${RUNS:-5}

[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
command -v nft >/dev/null && command -v python3 >/dev/null ||
    { echo "SKIP: needs nft and python3"; exit 77; }
NS=sluice-bench$$
T=$(mktemp -d "${TMPDIR:-/tmp}/sluice-fwbench.XXXXXX")
trap 'ip netns del "$NS" 2>/dev/null; rm -rf "$T"' EXIT
ip netns add "$NS" || exit 1

# acl-N.yaml: N accessible-IP entries; bans.args: 10,000 -b options.
python3 - "$T" <<'EOF'
import sys
d = sys.argv[1]
for n in (10, 1000, 10000):
    l = ["base: hardened", "services:", "  modbus-tcp: { enabled: true }",
         "accessible_ip:", "  activate: true", "  entries:"]
    for i in range(n):
        l.append("    - { address: 172.%d.%d.0/24 }" % (16 + i // 256, i % 256))
    open("%s/acl-%d.yaml" % (d, n), "w").write("\n".join(l) + "\n")
with open(d + "/bans.args", "w") as f:
    for i in range(10000):
        f.write("-b\n198.%d.%d.%d:%d\n" % (18 + i // 65536, i // 256 % 256,
                                         i % 256, 60 + i % 3600))
EOF

ip netns exec "$NS" python3 - "$FWAPPLY" "$T" "$RUNS" <<'EOF'
import statistics, subprocess, sys, time
fwapply, d, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
bans = open(d + "/bans.args").read().split()
cases = [("10 entries", [], "acl-10.yaml"),
         ("1,000 entries", [], "acl-1000.yaml"),
         ("10,000 entries", [], "acl-10000.yaml"),
         ("10,000 bans", bans, "acl-10.yaml")]
m = statistics.median
print("table inet sluice apply, median of %d (libnftnl: build + commit as "
      "fw-apply measures them; nft -f: process wall time, parse included)"
      % runs)
print("%-15s %12s %9s %9s %10s %10s %7s" % ("case", "batch bytes", "build ms",
      "commit ms", "libnftnl", "nft -f ms", "ratio"))
for name, opts, yaml in cases:
    nft = "%s/%s.nft" % (d, name.replace(",", "").replace(" ", "-"))
    with open(nft, "w") as f:
        subprocess.run([fwapply, "-r"] + opts + [d + "/" + yaml], stdout=f,
                       check=True)
    build, commit, lib, text = [], [], [], []
    for _ in range(runs):
        out = subprocess.run([fwapply] + opts + [d + "/" + yaml],
                             capture_output=True, text=True, check=True).stdout
        f = [l.split() for l in out.splitlines() if l.startswith("batch")][0]
        b, c = float(f[4]), float(f[6])
        build.append(b); commit.append(c); lib.append(b + c)
        size = int(f[1])
        t0 = time.perf_counter()
        subprocess.run(["nft", "-f", nft], check=True)
        text.append((time.perf_counter() - t0) * 1000)
    print("%-15s %12d %9.1f %9.1f %10.1f %10.1f %6.1fx" % (name, size,
          m(build), m(commit), m(lib), m(text), m(text) / m(lib)))
EOF
