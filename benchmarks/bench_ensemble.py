"""A prediction with its band: one scenario-year over the parameter ensemble, warm, in one run.

Times ``studies.uncertainty.simulate_ensemble`` on ``barrier-support`` (365 days, daily output) over 500 draws,
warm (model loaded, resting states not cached): in one process, and split over two worker processes (each warm
before the clock starts), against the same 500 runs one at a time through ``simulate`` (the loop a user would
write). Also: the bands and the top-three drivers computed from the dataset.

Run:  .venv/bin/python benchmarks/bench_ensemble.py [--draws 500]
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ProcessPoolExecutor


def _run(scenario: str, start: int, stop: int) -> float:
    from gutjoint._studies import uncertainty as unc

    ensemble = unc.load_ensemble()
    members = unc.draw_scenarios(scenario, ensemble, stop)[start:]
    from gutjoint._studies.problem import prepare_many, solve_many

    t0 = time.perf_counter()
    solve_many(prepare_many(members, relax=False))  # as simulate_ensemble runs them
    return time.perf_counter() - t0


def _warm(_: int) -> None:
    _run("healthy", 0, 4)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--draws", type=int, default=500)
    args = ap.parse_args()
    from gutjoint._studies import uncertainty as unc
    from gutjoint._studies.simulate import simulate

    ensemble = unc.load_ensemble()
    n = min(args.draws, len(ensemble))
    unc.simulate_ensemble("healthy", ensemble=ensemble, draws=4)  # warm: model, ensemble, xarray
    t0 = time.perf_counter()
    dataset = unc.simulate_ensemble("barrier-support", ensemble=ensemble, draws=n)
    one = time.perf_counter() - t0
    t0 = time.perf_counter()
    unc.bands(dataset)
    unc.band_drivers(dataset, ensemble)
    analysis = time.perf_counter() - t0
    with ProcessPoolExecutor(max_workers=2) as pool:
        list(pool.map(_warm, range(2)))
        t0 = time.perf_counter()
        list(pool.map(_run, ["barrier-support"] * 2, [0, n // 2], [n // 2, n]))
        two = time.perf_counter() - t0
    members = unc.draw_scenarios("barrier-support", ensemble, min(n, 100))
    t0 = time.perf_counter()
    for member in members:
        simulate(member)
    loop = (time.perf_counter() - t0) * n / len(members)
    print(f"barrier-support, one year, {n} ensemble draws ({dataset.attrs['n_failed']} failed), warm:")
    print(f"  simulate_ensemble, 1 process:     {one:6.2f} s (the Dataset included)")
    print(f"  the same runs on 2 processes:     {two:6.2f} s (goal: <= 1 s)")
    print(f"  a loop of simulate(), 1 process:  {loop:6.2f} s (timed on the first {len(members)}, scaled; "
          f"simulate_ensemble / loop = {one / loop:.2f})")
    print(f"  bands + top-3 drivers:            {analysis:6.2f} s")


if __name__ == "__main__":
    main()
