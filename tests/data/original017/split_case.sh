#!/bin/bash
# usage: split_case.sh CASEID SRCFILE [extra files to copy...] -- split args (without --tiles_file)
id=$1; src=$2; shift 2
d=/work/ref017/scratch/$id; rm -rf $d; mkdir -p $d
while [ "$1" != "--" ]; do cp "$1" $d/; shift; done; shift
cp "$src" $d/
echo "$src" > /work/ref017/logs/$id.input
/work/ref017/run.sh $id $d -- split --tiles_file $(basename $src) "$@"
