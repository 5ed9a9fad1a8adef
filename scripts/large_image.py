"""Large images before/after the seamless tiling: seam measure, encode/decode time and peak
memory on a 12-megapixel photo, written into docs/RESULTS.md (its own block, kept by `bench`).

    python scripts/large_image.py ../shared/data/kodak/kodim23.png --ref 190f37f --ref d58afa1

The photo is enlarged to 4000 x 3000 (Lanczos). Each --ref is an earlier commit (190f37f:
tiles analysed and synthesised each on its own; d58afa1: seamless transforms, each tile's
entropy model on its own), run from a temporary git worktree in a child process; "now" is this
tree. Each runs in its own process, so its peak RSS is its own. The seam measure
is the mean absolute jump across tile borders over the mean jump 16 and 32 px away (same phase
of the latent grid), as a multiple of the same ratio in the source (1.0 = no visible border).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

START, END = "<!-- large:start -->", "<!-- large:end -->"
KNOWN = {  # what the versions named in the module docstring did with tiles
    "190f37f": "tiles analysed and synthesised each on its own (format version 2).",
    "d58afa1": "g_a and g_s over overlapping windows of the whole image; each tile's entropy model still "
               "on its own (format version 2).",
    "14340d4": "format version 3 (as now), with the basic-s weights shipped before basic-m (model 8456241a19ea3feb).",
    "0b89ea8": "format version 3 (as now), with the m2 weights of basic-m (model ed26714871e441cd), shipped before m3.",
    "now": "format version 3: each tile's h_s and context also read the neighbours' z and decoded "
           "latents, as one pass over the whole image would (docs/DESIGN_NOTES.md).",
}

CHILD = r"""
import json, resource, sys, time
import numpy as np
from PIL import Image
import basic_codec
src, q = sys.argv[1], float(sys.argv[2])
img = np.asarray(Image.open(src).convert("RGB"))
codec = basic_codec.load()
t0 = time.perf_counter(); data = codec.compress(img, q); t1 = time.perf_counter()
out = codec.decompress_array(data)[0]; t2 = time.perf_counter()
np.save(sys.argv[3], out)
print(json.dumps({"enc_s": t1 - t0, "dec_s": t2 - t1, "bytes": len(data),
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "model_id": codec.model_id.hex()}))
"""


def run(tree: Path, src: Path, q: float, out_npy: Path) -> dict:
    r = subprocess.run([sys.executable, "-c", CHILD, str(src), str(q), str(out_npy)], cwd=tree,
                       env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin", "HOME": str(Path.home())},
                       capture_output=True, text=True, timeout=3600)
    if r.returncode:
        raise SystemExit(f"large_image: the run in {tree} failed:\n{r.stderr[-2000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def main() -> int:
    import numpy as np
    from PIL import Image

    from basic_codec.bench.metrics import psnr, seam_ratio
    from basic_codec.bench.report import replace_block
    from basic_codec.config import preset

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("photo", help="the photo to enlarge to 12 MP (e.g. ../shared/data/kodak/kodim23.png)")
    ap.add_argument("--ref", required=True, action="append",
                    help="an earlier git commit to compare with (repeat for several, oldest first)")
    ap.add_argument("--quality", type=float, default=0.5)
    ap.add_argument("--out", default=str(ROOT / "docs" / "RESULTS.md"), help="markdown file to update")
    args = ap.parse_args()
    tile = preset("basic-s").tile_size
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        big = tmp / "large.png"
        Image.open(args.photo).convert("RGB").resize((4000, 3000), Image.Resampling.LANCZOS).save(big)
        src = np.asarray(Image.open(big))
        rows: dict[str, dict] = {}
        for ref in args.ref:
            ref_tree = tmp / f"ref-{ref}"
            subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(ref_tree), ref],
                           check=True, capture_output=True)
            try:
                rows[ref] = run(ref_tree, big, args.quality, tmp / f"{ref}.npy")
            finally:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(ref_tree)],
                               capture_output=True)
        rows["now"] = run(ROOT, big, args.quality, tmp / "now.npy")
        base = seam_ratio(src, tile)
        seams = {k: seam_ratio(np.load(tmp / f"{k}.npy"), tile) / base for k in rows}
        psnr_db = {k: psnr(src, np.load(tmp / f"{k}.npy")) for k in rows}
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), "unknown CPU")
    lines = [START, "## Large images (12 MP): seams, time, memory", "",
             f"Made by `python scripts/large_image.py {args.photo} {' '.join('--ref ' + r for r in args.ref)}` on "
             f"{dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC ({cpu}, 2 cores). {Path(args.photo).name} "
             f"enlarged to 4000 x 3000, quality {args.quality}, top level, one row per version of the code "
             f"(a commit, and this tree: now), each in its own process with the weights it shipped.", "",
             "| code | weights | seam measure (1.0 = no seam) | bytes | PSNR (dB) | encode s | decode s | peak RSS (MB) |",
             "|---|---|---|---|---|---|---|---|"]
    for k, r in rows.items():
        lines.append(f"| {k} | {r['model_id']} | {seams[k]:.2f} | {r['bytes']} | {psnr_db[k]:.2f} | {r['enc_s']:.1f} | "
                     f"{r['dec_s']:.1f} | {r['peak_rss_mb']:.0f} |")
    lines += ["", "Seam measure (`basic_codec.bench.metrics.seam_ratio`): mean absolute jump across the tile "
              "borders (every 1024 px) over the mean jump 16 and 32 px away (same phase of the 16-px latent "
              "grid), divided by the same ratio in the source."]
    lines += [f"- {k}: {KNOWN[k]}" for k in rows if k in KNOWN] + [END]
    out = Path(args.out)
    replace_block(out, START, END, "\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
