"""One person's data to their forecast, end to end, and the simulation-based calibration at scale, in one run.

1. `gutjoint person FILE --out DIR` (a year of weekly pain diary and three labs), as a user runs it: wall time, with
   no ensemble draws and with 3 (the goal: at most 30 s on 2 cores); then the same file with three events (an
   enteric infection, an NSAID course, barrier support started and stopped), whose bank of 10,000 people is
   simulated through the timeline;
2. the simulation-based calibration of the gut share over 200 people (bank of 15,000, the shipped size), for each data plan, timed,
   and through the timeline of ``person.TIMELINE_PLAN`` (bank of 10,000).

Run:  .venv/bin/python benchmarks/person.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "me.csv"
        rows = ["day,observable,value"] + [f"{-7 * w},pain_nrs,{5 + (w % 3) - 1}" for w in range(52)]
        rows += ["-30,crp_mg_l,4.2", "-60,crp_mg_l,3.1", "-30,lm_ratio,0.024"]
        path.write_text("\n".join(rows) + "\n", encoding="utf-8")
        for draws in (0, 3):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "gutjoint", "person", str(path), "--out", str(Path(folder) / "out"),
                            "--draws", str(draws)], check=True, capture_output=True)
            print(f"gutjoint person (52 diary weeks, 3 labs, --draws {draws}): {time.perf_counter() - t0:.1f} s")
        rows += ["-200,enteric_infection,7", "-120,nsaid,21", "-90,barrier_support,1", "-40,barrier_support,0"]
        path.write_text("\n".join(rows) + "\n", encoding="utf-8")
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "gutjoint", "person", str(path), "--out", str(Path(folder) / "out")],
                       check=True, capture_output=True)
        print(f"gutjoint person (the same, with 3 events): {time.perf_counter() - t0:.1f} s")
    from gutjoint._studies import person as P

    t0 = time.perf_counter()
    bank, truths = P.person_bank(P.SHIPPED_SIZE, 31, workers=2), P.person_bank(200, 99, workers=2)
    print(f"banks ({P.SHIPPED_SIZE:,} + 200 people): {time.perf_counter() - t0:.1f} s")
    for name, plan in P.DIARY_PLANS.items():
        t0 = time.perf_counter()
        c = P.simulation_based_calibration(bank, truths, plan)
        print(f"SBC {name:36s} coverage {c['coverage_90']:.1%}  width {100 * c['interval_width_median']:.1f} points  "
              f"uniformity p {c['uniformity_p']:.2f}  ({time.perf_counter() - t0:.1f} s)")
    t0 = time.perf_counter()
    checks = P.timeline_calibration(bank.iloc[:10_000].copy(), truths, P.person_from_rows(P.TIMELINE_PLAN),
                                    quantities=P.TIMELINE_QUANTITIES)
    for name, c in checks.items():
        print(f"SBC timeline {name:28s} coverage {c['coverage_90']:.1%}  uniformity p {c['uniformity_p']:.2f}")
    print(f"SBC through the timeline, 200 people: {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()

