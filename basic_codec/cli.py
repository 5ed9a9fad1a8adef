"""Command line: `basic-codec compress|decompress|info|levels|train ...`.

Every user error ends as one line on stderr and exit code 2 (`--debug` shows the traceback);
outputs are written to a temporary file and renamed, so a failure never leaves half a file.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
from pathlib import Path

from . import format as fmt
from .config import QUALITY_GRID
from .errors import CodecError, InputError
from .files import is_stdio, out_path, read_bytes
from .version import __version__

EPILOG = "Quality q in [0, 1] sets the rate; the level (or a kMAC/px budget) sets the compute."


def _load(args):
    from .api import load

    return load(args.weights, threads=args.threads)


def _lambda_range(text: str) -> tuple[float, float]:
    """argparse type of --lambda-range: 'LOW,HIGH' with 0 < LOW < HIGH."""
    try:
        lo, hi = (float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected LOW,HIGH (two numbers), got {text!r}") from None
    if not 0 < lo < hi:
        raise argparse.ArgumentTypeError(f"expected 0 < LOW < HIGH, got {text!r}")
    return lo, hi


def _efforts(text: str) -> tuple[int, ...]:
    """argparse type of bench --effort: '0' or '0,3,6,9', each in 0..9, no repeats."""
    try:
        vals = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected efforts like 0 or 0,3,9, got {text!r}") from None
    if not all(0 <= v <= 9 for v in vals) or len(set(vals)) != len(vals):
        raise argparse.ArgumentTypeError(f"efforts must be distinct integers in 0..9, got {text!r}")
    return vals


def _set_threads(args) -> None:
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)


def _inputs_and_output(args, extensions: set[str]) -> tuple[list[Path] | None, str | None]:
    """`IN OUT` (one file) or `IN... --out-dir DIR` (many, folders expanded)."""
    from .files import expand

    if args.out_dir:
        if any(is_stdio(p) for p in args.paths):
            raise InputError("'-' (standard input) is for one file, not for --out-dir")
        return expand(args.paths, extensions), None
    if len(args.paths) != 2:
        raise InputError("give INPUT OUTPUT, or several inputs (files or folders) with --out-dir DIR")
    return None, args.paths[1]


def _say(args, message: str, output: str | None = None, detail: str | None = None) -> None:
    """The one-line summary of a command: on stdout, or on stderr when the data goes to stdout;
    nothing with --quiet; `detail` only with -v."""
    if getattr(args, "quiet", False):
        return
    stream = sys.stderr if output is not None and is_stdio(output) else sys.stdout
    print(message, file=stream)
    if detail and getattr(args, "verbose", False):
        print(detail, file=stream)


def _finish_batch(done) -> int:
    """One error line per failed file; exit code 2 if any failed (the others are written)."""
    failed = [d for d in done if not d.ok]
    for d in failed:
        print(f"basic-codec: error: {d.message}", file=sys.stderr)
    return 2 if failed else 0


def cmd_compress(args) -> int | None:
    from .files import IMAGE_EXTENSIONS, compress_file, run_many

    options = dict(quality=args.quality, level=args.level, budget=args.budget, enc_budget=args.enc_budget,
                   force=args.force, effort=args.effort)
    many, output = _inputs_and_output(args, IMAGE_EXTENSIONS)
    if many:
        return _finish_batch(run_many("compress", many, args.out_dir, ".bsic", options, args.weights, args.jobs,
                                      args.quiet))
    from .imageio import read_picture

    out_path(output, args.force)
    if not is_stdio(output) and Path(output).suffix.lower() != ".bsic" and not args.quiet:
        print(f"basic-codec: warning: {output} does not end in .bsic; writing a .bsic file under that name",
              file=sys.stderr)
    image = read_picture(args.paths[0])  # a bad input fails before the model is loaded
    codec = _load(args)
    done = compress_file(codec, args.paths[0], output, image=image, progress=False if args.quiet else None,
                         **options)
    _say(args, done.message, output, _level_detail(codec, args.level, args.budget, args.enc_budget))


def cmd_decompress(args) -> int | None:
    from .files import decompress_file, run_many

    from .files import image_format

    many, output = _inputs_and_output(args, {".bsic"})
    if many:
        return _finish_batch(run_many("decompress", many, args.out_dir, ".png", {"force": args.force},
                                      args.weights, args.jobs, args.quiet))
    out_path(output, args.force)
    image_format(output)  # an output name of no known image format fails before any work
    data = read_bytes(args.paths[0])
    f = fmt.unpack(data)  # fail fast on a bad file before loading the model
    done = decompress_file(_load(args), args.paths[0], output, force=args.force, data=data,
                           progress=False if args.quiet else None)
    _say(args, done.message, output, f"quality {f.quality:.4g}, level {f.level}, structure {f.structure}, "
                                     f"{len(f.tiles)} tile(s), format version {f.version}")


def _level_detail(codec, level, budget, enc_budget) -> str:
    lv = codec.resolve(level, budget, enc_budget)
    w = "/".join(str(c) for c in lv.structure.widths(codec.cfg))
    return (f"level {lv.level}: widths g_a/h_a/h_s/g_s {w} channels, {lv.structure.partites} partites, "
            f"encoder {lv.enc_kmac_per_px:.1f} / decoder {lv.dec_kmac_per_px:.1f} kMAC per pixel")


def cmd_info(args) -> None:
    data = read_bytes(args.input)
    f = fmt.unpack(data)
    info = {"file": args.input, "bytes": len(data), "format_version": f.version, "model_id": f.model_id.hex(),
            "width": f.width, "height": f.height, "mode": f.mode, "bit_depth": f.bit_depth,
            "quality": round(f.quality, 4), "level": None if f.level == fmt.CUSTOM_LEVEL else f.level,
            "partites": f.structure[4], "tile_size": f.tile_size, "tiles": len(f.tiles),
            "bpp": round(8 * len(data) / (f.width * f.height), 5),
            "header_bytes": f.header_bytes(), "payload_bytes": f.payload_bytes(),
            "metadata": [tag.decode("ascii", "replace").strip() for tag in f.chunks]}
    info.update(_file_cost(args, f))
    if args.json:
        print(json.dumps(info))
        return
    names = {"format_version": "format version", "model_id": "weights (model id)", "bit_depth": "bit depth",
             "tile_size": "tile size", "header_bytes": "header bytes", "payload_bytes": "payload bytes",
             "widths": "widths (channels)", "enc_kmac_per_px": "encoder kMAC/px", "dec_kmac_per_px": "decoder kMAC/px"}
    for k, v in info.items():
        if isinstance(v, dict):
            v = ", ".join(f"{e} {c}" for e, c in v.items())
        elif isinstance(v, list):
            v = ", ".join(v) or "none"
        print(f"{names.get(k, k):>20}: {v}")


def _file_cost(args, f) -> dict:
    """Widths in channels and the decoding cost, from the weights that wrote the file (the
    shipped ones, or --weights); empty when those are not at hand."""
    try:
        codec = _load(args)
    except CodecError:
        return {}
    if codec.model_id != f.model_id:
        return {}
    from .api import describe_level
    from .structure import Level, Structure, cost

    s = Structure(*f.structure)
    try:
        s.validate(codec.cfg)
    except ValueError:
        return {}
    c = cost(codec.cfg, s, codec.model.steps(s))
    d = describe_level(Level(f.level, s, c.encoder / 1000, c.decoder / 1000), codec.cfg)
    return {k: d[k] for k in ("widths", "enc_kmac_per_px", "dec_kmac_per_px")}


def cmd_levels(args) -> None:
    codec = _load(args)
    rows = codec.describe_levels()
    if args.json:
        print(json.dumps(rows))
        return
    print(f"{'level':>5} {'widths g_a/h_a/h_s/g_s':>24} {'partites':>8} {'enc kMAC/px':>12} {'dec kMAC/px':>12}"
          f" {'val bpp':>8} {'val PSNR':>8}")
    for r in rows:
        w = "/".join(str(c) for c in r["widths"].values())
        print(f"{r['level']:>5} {w:>24} {r['partites']:>8} {r['enc_kmac_per_px']:>12.2f} "
              f"{r['dec_kmac_per_px']:>12.2f} {r.get('val_bpp', '-'):>8} {r.get('val_psnr', '-'):>8}")


INFO_HELP = """\
What a .bsic file says about itself (the header; nothing is decoded):
  format version, weights (model id)  which build and which weights can decode it
  width, height, mode, bit depth       the image (mode RGBA/LA: an alpha plane is stored too)
  quality, level, partites             the rate setting and the structure it was coded with
  widths (channels), encoder/decoder kMAC/px  that structure's channel counts and compute cost
                                       (shown when the weights that wrote the file are at hand)
  tile size, tiles                     large images are coded as independent tiles
  bpp, header bytes, payload bytes     size per pixel; container overhead; coded streams
  metadata                             optional chunks kept from the input (ICCP, EXIF, XMP, ALPH)
"""

LEVELS_HELP = """\
Each level is one structure of the network, cheapest first:
  widths    channels of the hidden layers of each part of the network: g_a (encoder analysis),
            h_a (hyper-encoder), h_s (hyper-decoder), g_s (decoder synthesis); fewer channels
            cost less compute and code a little worse
  partites  K, how many passes the decoder makes over the latent: 1 decodes everything at once
            (fastest); 2, 4, 8 decode in that many rounds, each predicted from the ones before
            (slower, fewer bits)
  kMAC/px   thousands of multiply-accumulates per image pixel: the compute cost of encoding and
            of decoding at this level
  val bpp / val PSNR  bits per pixel and quality measured by `search` on held-out training images
"""

def _level_list(text: str | None, flag: str) -> tuple[int, ...] | None:
    """'0,9' -> (0, 9); None or '' -> None (every level)."""
    if not text:
        return None
    try:
        return tuple(int(v) for v in text.split(","))
    except ValueError:
        raise InputError(f"{flag} takes comma-separated level numbers, got {text!r}") from None


def cmd_bench(args) -> None:
    from .bench.run import BenchConfig, bench

    if not Path(args.images).is_dir():
        raise InputError(f"not a folder of images: {args.images}")
    quals = tuple(float(q) for q in args.qualities.split(","))
    levels = _level_list(args.levels, "--levels")
    baselines = tuple(b for b in args.baselines.split(",") if b) if args.baselines != "none" else ()
    if baselines:
        if importlib.util.find_spec("imagecodecs") is None:
            raise InputError("baselines need the bench extra: pip install -e '.[bench]' "
                             "(or pass --baselines none)")
    report = args.report if args.report is not None else str(Path(args.out) / "RESULTS.md")
    cfg = BenchConfig(args.images, args.out, quals, levels, baselines, anchors=args.anchors, report=report or None,
                      name=args.name, limit=args.limit, speed=args.speed, readme=args.readme, efforts=args.effort,
                      effort_levels=_level_list(args.effort_levels, "--effort-levels"),
                      effort_limit=args.effort_limit)
    summary = bench(cfg, _load(args))
    if summary:
        print(summary)
    print(f"results in {args.out}" + (f", report {cfg.report}" if cfg.report else ""))


def cmd_demo(args) -> None:
    """Every level on one image, through real files: the quickest look at the compute dial."""
    import tempfile
    import time

    import numpy as np

    from .imageio import read_picture
    from .ops.metrics import psnr_from_mse

    arr = read_picture(args.image).rgb
    codec = _load(args)
    h, w = arr.shape[:2]
    print(f"{args.image}: {w}x{h}, quality {args.quality}, weights {codec.model_id.hex()}")
    print(f"{'level':>5} {'dec kMAC/px':>12} {'bytes':>8} {'bpp':>7} {'PSNR':>7} {'enc s':>6} {'dec s':>6}")
    with tempfile.TemporaryDirectory() as tmp:
        for lv in codec.levels:
            path = Path(tmp) / f"level{lv.level}.bsic"
            t0 = time.perf_counter()
            path.write_bytes(codec.compress(arr, args.quality, level=lv.level))
            t1 = time.perf_counter()
            out = np.asarray(codec.decompress(path.read_bytes()).convert("RGB"))
            t2 = time.perf_counter()
            mse = np.mean((out.astype(np.float64) - arr) ** 2)
            psnr = psnr_from_mse(mse, 255.0)
            size = path.stat().st_size
            print(f"{lv.level:>5} {lv.dec_kmac_per_px:>12.1f} {size:>8} {8 * size / (h * w):>7.4f} "
                  f"{psnr:>7.2f} {t1 - t0:>6.2f} {t2 - t1:>6.2f}")


def cmd_train(args) -> None:
    from .train.loop import TrainConfig, train

    _set_threads(args)
    out = Path(args.out)
    if (out / "checkpoint.safetensors").exists() and not args.resume:
        raise InputError(f"{out} already holds a run; pass --resume to continue it")
    tc = TrainConfig(data=args.data, out=args.out, config=args.config, steps=args.steps,
                     batch=args.batch, crop=args.crop, lr=args.lr, seed=args.seed, warmup=args.warmup,
                     checkpoint_minutes=args.checkpoint_minutes,
                     max_minutes=args.max_minutes, init_weights=args.init_weights, stage=args.stage,
                     lambda_c=args.lambda_c, vimco_samples=args.vimco_samples, table_lr=args.table_lr,
                     bf16=args.bf16, downscale=args.downscale, rate_sandwich=args.rate_sandwich, ema=args.ema,
                     lambda_range=args.lambda_range, widest_every=args.widest_every)
    path = train(tc)
    if os.environ.get("RANK", "0") == "0":
        print(f"exported {path}")


def cmd_search(args) -> None:
    from .train.search import DEFAULT_CROP, SearchConfig, search_weights
    from .weights import load_weights, save_weights

    if not Path(args.data).is_dir():
        raise InputError(f"not a folder of images: {args.data}")
    out = out_path(args.out, args.force)
    _set_threads(args)
    model, _, meta = load_weights(args.weights)
    crop = DEFAULT_CROP if args.crop is None else args.crop
    result = search_weights(model, meta, SearchConfig(args.data, crop=crop, max_levels=args.max_levels, min_gain=args.min_gain,
                                                         ladder=args.ladder))
    save_weights(model, out, result.levels, meta)
    if args.scores:
        Path(args.scores).write_text(json.dumps(result.score_rows(), indent=1))
    picks = ", ".join(f"K={k}: {t.table}" for k, t in result.tables.items())
    print(f"partite tables {picks}; {len(result.scores)} candidates, {len(result.levels)} levels "
          f"({args.ladder} ladder) -> {out}")


def cmd_export(args) -> None:
    from .train.checkpoint import export_checkpoint
    from .weights import load_weights

    ckpt = Path(args.run) / "checkpoint.safetensors" if Path(args.run).is_dir() else Path(args.run)
    if not ckpt.is_file():
        raise InputError(f"no training checkpoint at {ckpt}")
    out = out_path(args.out, args.force)
    levels = load_weights(args.levels_from)[1] if args.levels_from else None
    step = export_checkpoint(ckpt, out, levels)
    print(f"step {step} of {ckpt} -> {out}")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="basic-codec", description=__doc__.split("\n")[0], epilog=EPILOG)
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    p.add_argument("--version", action="version",
                   version=f"basic-codec {__version__} (.bsic format version {fmt.VERSION})")
    sub = p.add_subparsers(dest="command", required=True)

    def common(sp, model=True, force=True):
        if model:
            sp.add_argument("--weights", help="weights .safetensors (default: shipped)")
            sp.add_argument("--threads", type=int, help="tiles coded at once (each on one thread, so results never depend on it); default: all cores")
        if force:
            sp.add_argument("--force", action="store_true", help="overwrite an existing output")

    def chatter(sp):
        sp.add_argument("--quiet", action="store_true", help="print nothing but errors (no summary, no progress)")
        sp.add_argument("-v", "--verbose", action="store_true", help="also print the level/structure details")

    c = sub.add_parser("compress", help="image (PNG/JPEG/...) -> .bsic")
    c.add_argument("paths", nargs="+", metavar="PATH",
                   help="INPUT OUTPUT ('-' for standard input/output), or inputs (files/folders) with --out-dir")
    c.add_argument("--out-dir", help="compress every input into this folder as NAME.bsic (process pool)")
    c.add_argument("--jobs", type=int, help="processes for --out-dir (default: one per core)")
    c.add_argument("-q", "--quality", type=float, default=0.5, help="0 (smallest) .. 1 (best); default 0.5")
    g = c.add_mutually_exclusive_group()
    g.add_argument("--level", type=int, help="complexity level (see `levels`); default: the highest")
    g.add_argument("--budget", type=float, help="decoder budget in kMAC per pixel: best level that fits")
    c.add_argument("--enc-budget", type=float, help="encoder budget in kMAC per pixel")
    c.add_argument("-e", "--effort", type=int, default=0, choices=range(0, 10), metavar="E",
                   help="encoder effort 0..9: refine the latents of this image for fewer bits at the same "
                        "quality; 0 = one pass (default), each step up about doubles the encode time; the "
                        "decoder does not change")
    common(c)
    chatter(c)
    c.set_defaults(func=cmd_compress)

    d = sub.add_parser("decompress", help=".bsic -> image (format from the output's extension; structure "
                                          "and quality come from the file)")
    d.add_argument("paths", nargs="+", metavar="PATH",
                   help="INPUT OUTPUT ('-' for standard input/output; '-' writes PNG), or inputs with --out-dir. "
                        "OUTPUT may be any format Pillow writes (.png, .jpg, .webp, .tiff, ...); lossy "
                        "formats are written at quality 95")
    d.add_argument("--out-dir", help="decompress every input into this folder as NAME.png (process pool)")
    d.add_argument("--jobs", type=int, help="processes for --out-dir (default: one per core)")
    common(d)
    chatter(d)
    d.set_defaults(func=cmd_decompress)

    i = sub.add_parser("info", help="print a .bsic header (and its decoding cost, with the weights that wrote it)",
                       description=INFO_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    i.add_argument("input", help="a .bsic file ('-' for standard input)")
    i.add_argument("--json", action="store_true", help="print the header as JSON")
    i.add_argument("--weights", help="weights .safetensors that wrote the file (default: shipped)")
    i.add_argument("--threads", type=int, help=argparse.SUPPRESS)
    i.set_defaults(func=cmd_info)

    lv = sub.add_parser("levels", help="the complexity levels of the weights", description=LEVELS_HELP,
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    lv.add_argument("--json", action="store_true", help="print the level table as JSON")
    common(lv, force=False)
    lv.set_defaults(func=cmd_levels)

    b = sub.add_parser("bench", help="measure every level (and classical codecs) on a folder of images")
    b.add_argument("images", help="folder of images (e.g. ../shared/data/kodak)")
    b.add_argument("--out", default="results/bench", help="per-image JSON lines + aggregate.json (resumable)")
    b.add_argument("--qualities", default=",".join(f"{q:g}" for q in QUALITY_GRID),
                   help="comma-separated, in [0, 1] (default %(default)s)")
    b.add_argument("--levels", help="comma-separated (default: all)")
    b.add_argument("--baselines", default="jpeg,webp,jpeg2000,avif,jpegxl", help="comma-separated or 'none'")
    b.add_argument("--anchors", help="published anchors folder (default: ../shared/anchors)")
    b.add_argument("--report", help="markdown report to (re)write, plots beside it in img/ "
                                    "(default: OUT/RESULTS.md; '' for none)")
    b.add_argument("--name", help="what to call the image set in the report (default: the folder's name)")
    b.add_argument("--readme", help="also refresh the results block of this README")
    b.add_argument("--limit", type=int, help="first N images only")
    b.add_argument("-e", "--effort", type=_efforts, default=(0,), metavar="E[,E...]",
                   help="encoder effort(s) 0..9 to code with (default 0); with several, the report "
                        "adds a table of what each one buys against the first; records are kept per effort")
    b.add_argument("--effort-levels", metavar="LEVELS",
                   help="levels coded at the efforts after the first (default: every level benched)")
    b.add_argument("--effort-limit", type=int, metavar="N",
                   help="the first N images only at the efforts after the first (default: all)")
    b.add_argument("--speed", action="store_true",
                   help="also time every level on one 768x512 image (median of 5), network vs entropy coding")
    common(b, force=False)
    b.set_defaults(func=cmd_bench)

    dm = sub.add_parser("demo", help="compress + decompress one image at every level, print bpp/PSNR/time")
    dm.add_argument("image", nargs="?", default=str(Path(__file__).resolve().parent / "data" / "sample.png"),
                    help="image to code (default: the sample photo shipped in the package, basic_codec/data/sample.png)")
    dm.add_argument("-q", "--quality", type=float, default=0.5, help="0 (smallest) .. 1 (best); default 0.5")
    common(dm, force=False)
    dm.set_defaults(func=cmd_demo)

    t = sub.add_parser("train", help="train a model on a folder of images")
    t.add_argument("data", help="folder of training images (PNG/JPEG, any size; 5%% of the files held out)")
    t.add_argument("--out", required=True, help="run folder (checkpoint, log.jsonl, weights)")
    t.add_argument("--resume", action="store_true", help="continue the run in --out")
    t.add_argument("--config", help="basic-s | basic-m | basic-paper | tiny (default: the --init-weights' "
                                    "config, else basic-s); a larger config than --init-weights' grows them")
    t.add_argument("--steps", type=int, default=10000, help="length of the learning-rate plan (default 10000)")
    t.add_argument("--batch", type=int, default=8, help="global batch size (split over torchrun processes)")
    t.add_argument("--crop", type=int, default=128, help="random crop size in pixels (default 128)")
    t.add_argument("--lr", type=float, default=1.5e-4, help="peak learning rate (3e-4 diverged once, docs/TRAINING.md)")
    t.add_argument("--seed", type=int, default=0, help="seed of crops, qualities and structures")
    t.add_argument("--warmup", type=int, default=300, help="linear warm-up steps before the cosine decay")
    t.add_argument("--checkpoint-minutes", type=float, default=10.0, help="write a checkpoint this often (default 10)")
    t.add_argument("--max-minutes", type=float, help="stop with a checkpoint after this long")
    t.add_argument("--init-weights", help="start from exported weights (e.g. the shipped ones)")
    t.add_argument("--stage", choices=("backbone", "structure"), default="backbone",
                   help="backbone: random structures (sandwich rule); structure: controller + "
                        "Gumbel-softmax widths + VIMCO partite tables, started from backbone weights")
    t.add_argument("--lambda-c", type=float, default=1.0, help="complexity penalty weight (structure stage)")
    t.add_argument("--vimco-samples", type=int, default=2, help="partite tables drawn per step (structure stage)")
    t.add_argument("--table-lr", type=float, default=1e-2, help="peak learning rate of the partite tables (structure stage)")
    t.add_argument("--bf16", action="store_true",
                   help="convolutions in bfloat16 while training (about 1.6x faster on CPUs with AMX; "
                        "rates, noise and MSE stay float32); give it again with --resume")
    t.add_argument("--downscale", type=float, default=1.0,
                   help="cut each crop from the image scaled by U(D, 1) (e.g. 0.5: removes JPEG artifacts; default 1: off)")
    t.add_argument("--rate-sandwich", action="store_true",
                   help="put q = 0 and q = 1 in every batch (the rest uniform)")
    t.add_argument("--widest-every", type=int, choices=(2, 4), default=4,
                   help="train the widest structure every N steps (default 4, the sandwich rule; "
                        "2: half the steps, for the top level and high qualities)")
    t.add_argument("--ema", type=float, default=0.0,
                   help="export an exponential moving average of the weights with this decay (e.g. 0.999; default off)")
    t.add_argument("--lambda-range", type=_lambda_range, metavar="LOW,HIGH",
                   help="lambda at q = 0 and q = 1 (default: the config's; e.g. 0.001,0.18); "
                        "the quality gains are re-read at the new lambdas; kept by --resume")
    t.add_argument("--threads", type=int, help="torch threads (default: all cores)")
    t.set_defaults(func=cmd_train)

    se = sub.add_parser("search", help="measure structures on the validation split, write the level table")
    se.add_argument("data", help="the training folder (its 5%% validation split is used)")
    se.add_argument("--weights", help="weights to search (default: shipped)")
    se.add_argument("--out", required=True, help="weights file to write, with the new level table")
    se.add_argument("--crop", type=int, help="centre crop of each validation image in pixels (default 320)")
    se.add_argument("--max-levels", type=int, default=12, help="most levels to keep from the ladder (default 12)")
    se.add_argument("--min-gain", type=float, default=0.005,
                    help="each level must beat the one below by this fraction of RD loss on the validation "
                         "crops (default 0.005: near-ties swap on other images)")
    se.add_argument("--ladder", choices=("nested", "pareto"), default="nested",
                    help="nested (default): each level contains the one below (no edge narrower, no fewer "
                         "partites), the chain that buys the lowest RD loss over the budgets; pareto: the "
                         "Pareto front of decoder cost and RD loss (it may trade partites for width, which "
                         "other images rank differently)")
    se.add_argument("--scores", help="also write every candidate's score as JSON here")
    se.add_argument("--threads", type=int, help="torch threads (default: all cores)")
    se.add_argument("--force", action="store_true", help="overwrite an existing output")
    se.set_defaults(func=cmd_search)

    ex = sub.add_parser("export", help="training checkpoint -> shipped .safetensors (no optimizer state)")
    ex.add_argument("run", help="run folder or checkpoint.safetensors")
    ex.add_argument("out", help="weights .safetensors to write")
    ex.add_argument("--levels-from", help="copy the level table of these weights (default: hand-picked)")
    ex.add_argument("--force", action="store_true", help="overwrite an existing output")
    ex.set_defaults(func=cmd_export)
    return p


def _warning_line(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"basic-codec: warning: {message}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    import warnings

    from .errors import CodecWarning

    parser = build_parser()
    args = parser.parse_args(argv)
    with warnings.catch_warnings():
        # what the input carried and could not be kept: one line each (none with --quiet)
        warnings.simplefilter("ignore" if getattr(args, "quiet", False) else "always", CodecWarning)
        warnings.showwarning = _warning_line
        return _run(args)


def _run(args) -> int:
    try:
        code = args.func(args) or 0
    except (CodecError, OSError, ValueError) as e:
        if args.debug:
            raise
        print(f"basic-codec: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("basic-codec: interrupted", file=sys.stderr)
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
