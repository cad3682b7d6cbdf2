#!/bin/bash
# usage: run.sh CASEID WORKDIR -- geet args...
# runs the original geet in WORKDIR, records stdout/stderr/rc/time in /work/ref017/logs/CASEID.*
set -u
id=$1; wd=$2; shift 3
mkdir -p /work/ref017/logs "$wd"
cd "$wd"
export LOKY_MAX_CPU_COUNT=1 PATH=/work/ref017/venv/bin:$PATH
echo "geet $*" > /work/ref017/logs/$id.cmd
echo "$wd" > /work/ref017/logs/$id.cwd
s=$(date +%s.%N)
nice -n 10 geet "$@" > /work/ref017/logs/$id.stdout 2> /work/ref017/logs/$id.stderr
rc=$?
e=$(date +%s.%N)
echo $rc > /work/ref017/logs/$id.rc
python3 -c "print(round($e-$s,1))" > /work/ref017/logs/$id.time
echo "$id rc=$rc time=$(cat /work/ref017/logs/$id.time)s"
