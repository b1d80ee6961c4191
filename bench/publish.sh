#!/usr/bin/env bash
# Regenerates the results published in docs/results, from a clean, committed revision (every record
# names its git revision, and a "-dirty" one could not be reproduced).  About 40 minutes on 2 cores.
#
#   bash bench/publish.sh                       # every step, in the order below
#   STEPS="sweeps model" bash bench/publish.sh  # some of them
#   TAG=2core-epyc bash bench/publish.sh        # the machine's tag in the sweep folders' names
#
# Run it on a quiet machine: each record says whether its runs were disturbed, and the README reads
# only undisturbed figures.  Each step rewrites its own folder and nothing else.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "$(git status --porcelain --untracked-files=no)" ]; then
    echo "publish.sh: the working tree has uncommitted changes; commit them first (results must name a clean revision)" >&2
    exit 2
fi
TAG=${TAG:-2core-$(python3 -c 'import platform,re;m=open("/proc/cpuinfo").read();print("epyc" if "EPYC" in m else "xeon" if "Xeon" in m else re.sub(r"\W","",platform.machine()).lower())')}
R=docs/results
STEPS=${STEPS:-"sweeps kernels writeback recheck reclaim recursion claims model lockstat hunter soak"}
zc() { echo "\$ zswap-conc $*" >&2; python3 -m zswap_conc.cli "$@"; }
fresh() { rm -rf "$1"; mkdir -p "$(dirname "$1")"; }

for step in $STEPS; do
    case $step in
    sweeps)     # the main job: the default sweep, with LZ4 and with an 800 ns compressor
        fresh "$R/$TAG-lz4"; zc sweep --quiet --out "$R/$TAG-lz4"
        fresh "$R/$TAG-synthetic800"; zc sweep --quiet --compressor synthetic:800ns --out "$R/$TAG-synthetic800" ;;
    kernels)    # every release's design on one workload and think time
        fresh "$R/kernel-history-2core"; zc sweep --quiet --kernels all --cpus 1,2 --out "$R/kernel-history-2core" ;;
    writeback)  # the writeback paths under pool pressure on the reviewed design; deferred is the newest
                # kernel's (the 2012 LRU lives in the tree, which a shrinker cannot walk)
        fresh "$R/$TAG-writeback"
        zc sweep --quiet --max-pool-frames 256 --out "$R/$TAG-writeback" \
            --strategies kernel=2012@recursive,kernel=2012@denial-map,kernel=2012@direct,kernel=6.11 ;;
    recheck)    # writeback's re-check under pool pressure: the LRU's entry was freed (and its slot reused)
                # between the pick and the claim; no think time and a small pool make the window frequent
        fresh "$R/recheck-2core"; mkdir -p "$R/recheck-2core"
        for k in 6.6 6.11; do
            zc run --kernel $k --cpus 2 --max-pool-frames 32 --think-ns 0 --clusters-per-cpu 1 --duration 20 \
                --out "$R/recheck-2core/run-$k.json" | tee "$R/recheck-2core/run-$k.txt"
        done ;;
    reclaim)    # pageframes freed per object written back, with churn
        fresh "$R/reclaim"; zc reclaim --out "$R/reclaim" ;;
    recursion)  # concern 1: does recursive writeback progress without the stack bound?
        fresh "$R/recursion-bound-2core"; python3 bench/recursion_bound.py --out "$R/recursion-bound-2core" ;;
    claims)     # the kernel's own figures beside the testbed's
        fresh "$R/kernel-claims-2core"; python3 bench/kernel_claims.py --out "$R/kernel-claims-2core" ;;
    model)      # the contention model's calibration, its error at every measured point, its predictions
        fresh "$R/model-2core"; python3 bench/model_validation.py --out "$R/model-2core" ;;
    lockstat)   # lock_stat's cost inside the lock: tree_lock holds with statistics on and off
        fresh "$R/lockstat-2core"; mkdir -p "$R/lockstat-2core"
        python3 -m pytest -q -p no:cacheprovider bench/test_bench_lockstat.py --benchmark-only \
            --benchmark-json "$R/lockstat-2core/bench.json" -s | tee "$R/lockstat-2core/lockstat.txt" ;;
    hunter)     # the race hunter's rates, schedules to find each variant, and the reduction's ratio
        fresh "$R/hunter-2core"; mkdir -p "$R/hunter-2core"; python3 bench/hunt_figures.py --out "$R/hunter-2core/hunt.json" ;;
    soak)       # long verified runs, one per writeback path (1 minute each here; the default is 10)
        fresh "$R/soak"; mkdir -p "$R/soak"
        for wb in recursive denial-map direct; do
            zc soak --kernel 2012 --writeback "$wb" --duration 1m --max-pool-frames 256 --out "$R/soak/soak-$wb.json"
        done
        zc soak --kernel 6.11 --duration 1m --max-pool-frames 256 --out "$R/soak/soak-deferred.json" ;;
    *) echo "publish.sh: unknown step '$step'; accepted: sweeps kernels writeback recheck reclaim recursion claims model lockstat hunter soak" >&2
       exit 2 ;;
    esac
done
echo "publish.sh: done at $(git rev-parse --short HEAD)" >&2
