"""How much coarse contrast a diffuser leaves against a focus ring: the line between them.

Owns the figures behind ``TamperConfig.diffuse_spread`` and ``defocus_min_spread`` (TAICS TS
5100-2-1 5.1.2.1: a diffuser over the lens is a cover, a turned focus ring a defocus). For every
diffuser and every blur of the tamper benchmark's streams (``tamper_dataset``, field
conditions, the same stream seeds as ``benchmarks/tamper.py --seed S``), a detector learns the
view over the four minutes before the tamper and then reports the view's median plain
deviation ratio (``TamperScores.spread``, now against the learned view) from 1 to 3 s after the
tamper settled. The figure is the highest median a diffuser left, the reference the lowest a
blur left, in the same run; a blurred cell counts as behind a diffuser below the line between.

Run: ``.venv/bin/python benchmarks/tamper_spread_split.py --seeds 531 571 451`` (about
2.5 minutes per seed on 2 cores).
"""

from __future__ import annotations

import argparse
import os
import sys
from concurrent.futures import ProcessPoolExecutor

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import tamper_dataset as ds  # noqa: E402

from vigilcam.analytics.tamper import TamperDetector  # noqa: E402

LEARN_S = 240.0


def stream_spreads(job: tuple[str, int, float, int]) -> list[tuple[str, str, float]]:
    """(class, episode name, median spread 1-3 s after settling) for each diffuser and blur."""
    scene, seed, hours, per_kind = job
    plan = ds.make_plan(scene, seed, hours, per_kind, field_conditions=True)
    out = []
    for ep in plan.episodes:
        cls = ("diffuser" if ep.variant == "diffused"
               else "blur" if ep.kind == "defocused" else None)
        if cls is None:
            continue
        det = TamperDetector()
        spreads = []
        for fr in ds.render(plan, max(0.0, ep.settled - LEARN_S), ep.settled + 3.0):
            det.update(fr.gray, fr.t, fr.colour)
            if fr.t >= ep.settled + 1.0 and det.last_scores is not None:
                spreads.append(det.last_scores.spread)
        if spreads:
            name = f"{scene}#{seed}:{ep.condition}:{ep.variant}@{ep.start:.0f}"
            out.append((cls, name, float(np.median(spreads))))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[531])
    # As benchmarks/tamper.py --hours 14.4 --episodes 8 --chunks 8: the same streams.
    ap.add_argument("--hours", type=float, default=14.4)
    ap.add_argument("--episodes", type=int, default=8)
    ap.add_argument("--chunks", type=int, default=8)
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args()
    scenes = ds.TUNE_SCENES + ds.HELD_OUT_SCENES
    per_kind = max(1, a.episodes // a.chunks)
    jobs = [(s, ds.stream_seed(seed, i, c), a.hours / a.chunks, per_kind)
            for seed in a.seeds for i, s in enumerate(scenes) for c in range(a.chunks)]
    found: dict[str, list[tuple[float, str]]] = {"diffuser": [], "blur": []}
    with ProcessPoolExecutor(a.workers) as pool:
        for rows in pool.map(stream_spreads, jobs):
            for cls, name, spread in rows:
                found[cls].append((spread, name))
    diff, blur = sorted(found["diffuser"]), sorted(found["blur"])
    print(f"# Diffuser against blur, median plain deviation ratio 1-3 s after settling "
          f"(seeds {' '.join(map(str, a.seeds))})")
    for label, ranked in (("diffusers", diff), ("blurs", blur)):
        v = np.array([s for s, _ in ranked])
        print(f"{label:10} n={len(v):4d}  min {v.min():.2f}  p5 {np.percentile(v, 5):.2f}  "
              f"median {np.median(v):.2f}  p95 {np.percentile(v, 95):.2f}  max {v.max():.2f}")
    print(f"highest after a diffuser (figure)  {diff[-1][0]:.2f}  {diff[-1][1]}")
    print(f"lowest after a blur (reference)    {blur[0][0]:.2f}  {blur[0][1]}")
    print(f"ratio                              {blur[0][0] / max(diff[-1][0], 1e-6):.2f}")


if __name__ == "__main__":
    main()
