#!/usr/bin/env python3
# copies reference outputs from scratch/ into files/ and writes CASES.md (stdlib only)
import os, shutil, json, hashlib, gzip, glob, re
R = "/work/ref017"; L = f"{R}/logs"; S = f"{R}/scratch"; F = f"{R}/files"
GZ_OVER = 300_000
def rd(case, ext):
    p = f"{L}/{case}.{ext}"
    return open(p, errors="replace").read() if os.path.exists(p) else ""
def sha(b): return hashlib.sha256(b).hexdigest()
def nfeat(b):
    try: return len(json.loads(b)["features"])
    except Exception: return None
def store(src, dstdir):
    os.makedirs(dstdir, exist_ok=True)
    b = open(src, "rb").read()
    name = os.path.basename(src)
    info = dict(name=name, size=len(b), sha256=sha(b), nfeat=nfeat(b) if name.endswith(".geojson") else None,
                rows=(b.count(b"\n")-1) if name.endswith(".csv") else None)
    if len(b) > GZ_OVER:
        dst = f"{dstdir}/{name}.gz"
        with open(dst, "wb") as fo:
            with gzip.GzipFile(filename="", mode="wb", fileobj=fo, compresslevel=9, mtime=0) as g: g.write(b)
        info["stored"] = os.path.relpath(dst, R); info["gz"] = os.path.getsize(dst)
    else:
        dst = f"{dstdir}/{name}"; shutil.copyfile(src, dst); info["stored"] = os.path.relpath(dst, R)
    return info
def trim_err(t, ok):
    t = t.replace("\r", "\n")
    lines = [l for l in t.split("\n") if l.strip()]
    if not lines: return "(empty)"
    if ok:
        jl = [l for l in lines if l.startswith("[Parallel")]
        pb = [l for l in lines if "Elapsed Time" in l]
        other = [l for l in lines if l not in jl and l not in pb]
        out = []
        if jl: out += [jl[0], f"... ({len(jl)} joblib verbose lines in total) ...", jl[-1]]
        if pb: out += [f"(progressbar, {len(pb)} updates; last:)", pb[-1].strip()]
        out += other
        return "\n".join(out)
    return "\n".join(lines)  # errors: full traceback
def block(t): return "```\n" + t.rstrip("\n") + "\n```\n"

cases = []  # (section, case, outputs[list of src paths], dstdir, aoi, input, note)
aoimap = {"lux":"luxembourg"}
for d in sorted(glob.glob(f"{S}/grid-*")):
    c = os.path.basename(d)
    if c.endswith("-rerun") or c.endswith("-par") or "-err-" in c: continue
    a, m = c.split("-")[1], c.split("-")[2]
    cases.append(("grid", c, sorted(glob.glob(f"{d}/*.geojson")), f"{F}/grid/{a}-{m}", f"files/aois/{aoimap.get(a,a)}.wkt", None, ""))
for c in ["grid-err-underscore", "grid-err-nodestdir"]:
    cases.append(("grid-errors", c, [], None, "files/aois/tokyo.wkt", None, ""))
cases.append(("intersect", "intersect-lux-1000-x-10000", [f"{S}/intersect-lux-1000-x-10000/lux_partitions_aschips_14c55eb7d417f.geojson"],
              f"{F}/intersect/lux-1000-x-lux-10000", "files/aois/luxembourg.wkt",
              "tiles: files/grid/lux-1000/lux_partitions_aschips_14c55eb7d417f.geojson.gz (copied into the run dir, modified in place); foreign: files/grid/lux-10000/lux_partitions_aschips_38b2145239130.geojson (unchanged by the run)",
              "foreign name is the token after `partitions_` of the foreign file name, i.e. `aschips` (both files are grids) -> column `foreignid_aschips`; 255 chips have `\"-1\"` (string)."))
cases.append(("intersect", "intersect-quito-1000-x-coarse", [f"{S}/intersect-quito-1000-x-coarse/quito_partitions_aschips_266af64b36450.geojson", f"{S}/intersect-quito-1000-x-coarse/quito_partitions_coarse_12fab7c94b46b.geojson"],
              f"{F}/intersect/quito-1000-x-coarse", "files/aois/quito.wkt",
              "tiles: files/grid/quito-1000/quito_partitions_aschips_266af64b36450.geojson; foreign: byte-identical copy of files/grid/quito-5000/quito_partitions_aschips_12fab7c94b46b.geojson renamed to quito_partitions_coarse_12fab7c94b46b.geojson (stored here, unchanged by the run)",
              "renamed foreign file so the foreign name is `coarse` -> column `foreignid_coarse`; 97 chips have `\"-1\"`."))
for d in sorted(glob.glob(f"{S}/split-*")):
    c = os.path.basename(d)
    if c.endswith("-rerun"): continue
    inp = rd(c, "input").strip()
    src_rel = inp.replace("scratch/grid-", "files/grid/").replace("scratch/intersect-lux-1000-x-10000", "files/intersect/lux-1000-x-lux-10000").replace("scratch/intersect-quito-1000-x-coarse", "files/intersect/quito-1000-x-coarse")
    src_rel = re.sub(r"files/grid/(\w+)-(\d+)/", r"files/grid/\1-\2/", src_rel)
    if src_rel.startswith("files/grid/lux-1000/") or "lux-1000-x" in src_rel: src_rel += ".gz"
    m = re.search(r"/(\w+)_partitions", inp); a = m.group(1)
    if "-err-" in c:
        cases.append(("split-errors", c, [], None, f"files/aois/{aoimap.get(a,a)}.wkt", src_rel, ""))
    else:
        cases.append(("split", c, sorted(glob.glob(f"{d}/*.geojson"))+sorted(glob.glob(f"{d}/*.csv")), f"{F}/split/{c[len('split-'):]}", f"files/aois/{aoimap.get(a,a)}.wkt", src_rel, ""))

for sub in ["grid", "intersect", "split"]:
    shutil.rmtree(f"{F}/{sub}", ignore_errors=True)
md = []
md.append(open(f"{R}/CASES.head.md").read())
cur = None
for sec, c, outs, dst, aoi, inp, note in cases:
    if sec != cur:
        md.append(f"\n## {sec}\n"); cur = sec
    md.append(f"\n### {c}\n")
    md.append(f"- cwd: `{rd(c,'cwd').strip().replace(R+'/','')}` (scratch dir, not kept)\n")
    md.append(f"- command: `{rd(c,'cmd').strip()}`\n")
    md.append(f"- AOI: `{aoi}`\n")
    if inp: md.append(f"- input tiles file: {inp}\n")
    md.append(f"- exit code: {rd(c,'rc').strip()}   wall time: {rd(c,'time').strip()} s (nice 10, LOKY_MAX_CPU_COUNT=1)\n")
    if note: md.append(f"- note: {note}\n")
    if outs:
        md.append("- outputs:\n")
        for o in outs:
            i = store(o, dst)
            extra = f", {i['nfeat']} features" if i['nfeat'] is not None else (f", {i['rows']} rows" if i['rows'] is not None else "")
            gz = f" (stored gzipped: {i['gz']} bytes; `gzip -dk` to restore the original file name)" if 'gz' in i else ""
            md.append(f"  - `{i['stored']}` — {i['size']} bytes{extra}, sha256 {i['sha256'][:16]}…{gz}\n")
    if sec.endswith("errors"):
        ed = f"{F}/{sec.split('-')[0]}/errors"; os.makedirs(ed, exist_ok=True)
        for ext in ["stdout", "stderr"]:
            shutil.copyfile(f"{L}/{c}.{ext}", f"{ed}/{c}.{ext}")
        md.append(f"- exact console output stored in `files/{sec.split('-')[0]}/errors/{c}.stdout` and `.stderr`; "
                  "the input file in the run dir was left byte-identical (checked with cmp)\n" if sec=="split-errors" else
                  f"- exact console output stored in `files/grid/errors/{c}.stdout` and `.stderr`\n")
    ok = rd(c,'rc').strip()=="0"
    md.append("- stdout:\n\n" + block(rd(c,'stdout')))
    md.append("- stderr" + (" (trimmed)" if ok else "") + ":\n\n" + block(trim_err(rd(c,'stderr'), ok)))
md.append(open(f"{R}/CASES.tail.md").read())
open(f"{R}/CASES.md", "w").write("".join(md))
print("ok", len(cases))
