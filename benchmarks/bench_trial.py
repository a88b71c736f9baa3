"""Virtual trials, timed as users run them, in one run.

1. One two-arm trial, 500 per arm, 24 weeks (`anti-tnf-ra` resized): screening, randomisation, both arms,
   analysis. Goal: <= 5 s on 2 cores.
2. A power curve: 200 trials at each of 4 sample sizes (`barrier-support-joint-pain`, 25/50/100/200 per arm),
   if the model is right (one pool of potential outcomes). Goal: <= 2 min on 2 cores.
Both against what a user would otherwise write: the same trial re-simulated for every repetition (timed on a
few repetitions and scaled).

Run:  .venv/bin/python benchmarks/bench_trial.py
"""

from __future__ import annotations

import time
from dataclasses import replace


def main() -> None:
    from gutjoint._studies import trial as T

    T.run_trial(replace(T.load_trial("anti-tnf-ra"), per_arm=10))  # warm: model, imports
    big = replace(T.load_trial("anti-tnf-ra"), per_arm=500, screened=20_000)
    t0 = time.perf_counter()
    result = T.run_trial(big)
    one = time.perf_counter() - t0
    print(f"one trial, 2 arms x 500, 24 weeks: {one:.1f} s (screened {result.consort['screened']}, "
          f"eligible {result.consort['eligible']}) (goal <= 5 s on 2 cores)")
    sizes = [25, 50, 100, 200]
    t0 = time.perf_counter()
    power = T.trial_power("barrier-support-joint-pain", sizes, repeats=200)
    curve = time.perf_counter() - t0
    print(f"power curve, 200 trials x {len(sizes)} sizes: {curve:.1f} s (goal <= 120 s)")
    for row in power["rows"]:
        print(f"  {row['per_arm']:4d} per arm: power {row['power_pain_model_right']:.0%} (pain change), "
              f"{row['power_responder30_model_right']:.0%} (30% responders)")
    t0 = time.perf_counter()
    for seed in range(3):
        T.run_trial(replace(T.load_trial("barrier-support-joint-pain"), per_arm=100, seed=seed + 10))
    naive = (time.perf_counter() - t0) / 3 * 200 * len(sizes)
    print(f"re-simulating every trial instead (3 timed, scaled to {200 * len(sizes)}): {naive:.0f} s -> the "
          f"pooled potential outcomes are {naive / curve:.0f}x faster")


if __name__ == "__main__":
    main()
