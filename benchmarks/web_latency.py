"""Latency of POST /api/simulate over loopback, and the time to the first chart in a real browser.

Starts `gutjoint serve` (2 worker processes, one per core) on a free port, then:
1. 1 client: 200 sequential requests; 20 clients: 20 concurrent clients x 20 requests (400). p50 and p95.
   The request is the page's own: one year, daily output, a gut-driven person with barrier support, and the
   seven columns the page draws (`?columns=...`).
2. One heavy client among light ones: 10 light clients x 40 of those requests, alone and then while one more
   client sends, back to back, the heaviest explanation the web caps allow (ten years, 50 doses and 40 input
   windows: 17 runs, about 2,400 work units). p50 and p95 of the light requests, and the heavy requests' time.
   Then the same light load while one client repeats a request whose resting state needs the slow fallback
   (every value in range; SciPy's relaxation takes about a second), 10 light clients x 300 requests: it runs in
   the heavy-work process, so the light p95 must stay within 100 ms. Its time per request gives the work units
   a fallback costs.
3. With uncertainty (``&uncertainty=true``: 100 ensemble draws, bands, drivers), 10 concurrent clients x 10
   requests: the same person again (what the page sends as a reader looks around; the band is cached per
   scenario) and a different person every request (no cache). p50 and p95.
4. Debian's Chromium (Playwright): from navigation to the pain chart holding data, median of 3 loads.

Run:  .venv/bin/python benchmarks/web_latency.py [--workers 2]
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx

BODY = {"days": 365, "step_hours": 24, "subject": {"cross_reactivity": 0.7, "barrier_resilience": 0.7},
        "inputs": [{"name": "dysbiosis", "level": 0.8}, {"name": "barrier_insult", "level": 0.6},
                   {"name": "barrier_support", "level": 1.0, "start_day": 60}]}


HEAVY = {"scenario": {
    "days": 3650, "step_hours": 24 * 3650 / 4000,
    "subject": {"cross_reactivity": 0.7},
    "doses": [{"name": "lps_iv", "amount": 0.5, "day": 70.0 * i + 3} for i in range(50)],
    "inputs": [{"name": "dysbiosis", "level": 0.4 + 0.01 * i, "start_day": 90.0 * i, "end_day": 90.0 * i + 30}
               for i in range(40)]}}


SLOW_REST = {"days": 16.3, "parameters": {"tnf_activation_boost": 846.37, "gut_lps_bioactivity": 0.3,
                                          "tolerance_induction": 1.0}}
"""Light by the old estimate (every value in range), but its resting state needs SciPy's fallback: ~1 s."""


def client_run(url: str, n: int, body: dict = BODY) -> list[float]:
    """One client: n requests in a row on one keep-alive connection."""
    times = []
    with httpx.Client(timeout=120) as client:
        for _ in range(n):
            t0 = time.perf_counter()
            r = client.post(url, json=body)
            times.append(time.perf_counter() - t0)
            r.raise_for_status()
    return times


def load(url: str, clients: int, per_client: int) -> list[float]:
    """``clients`` concurrent clients (threads), each sending ``per_client`` requests."""
    with ThreadPoolExecutor(max_workers=clients) as pool:
        return [t for times in pool.map(lambda _: client_run(url, per_client), range(clients)) for t in times]


def light_beside(url: str, heavy_url: str, heavy_body: dict, per_client: int = 40) -> tuple[list[float], list[float]]:
    """10 light clients x ``per_client`` requests to ``url`` while one more client posts ``heavy_body`` to
    ``heavy_url`` back to back: the light requests' times and the heavy ones'."""
    stop, heavy_times = threading.Event(), []

    def heavy_client() -> None:
        with httpx.Client(timeout=300) as client:
            while not stop.is_set():
                t0 = time.perf_counter()
                client.post(heavy_url, json=heavy_body).raise_for_status()
                heavy_times.append(time.perf_counter() - t0)

    heavy = threading.Thread(target=heavy_client)
    heavy.start()
    time.sleep(1.0)  # the first heavy request is running
    light = load(url, 10, per_client)
    stop.set()
    heavy.join()
    return light, heavy_times


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] * 1e3


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, "-m", "gutjoint", "serve", "--port", str(port),
                               "--workers", str(args.workers)], stdout=subprocess.DEVNULL)
    try:
        for _ in range(600):
            try:
                if httpx.get(base + "/api/red-flags", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        url = base + "/api/simulate?columns=pain_nrs,crp_mg_l,il6_pg_ml,lm_ratio,lps_pg_ml,tnf_pg_ml,synovitis"
        load(url, 2, 10)  # warm every worker
        print(f"POST /api/simulate (one year, daily output), {args.workers} server processes, loopback")
        for clients, per in ((1, 200), (20, 20)):
            times = load(url, clients, per)
            print(f"  {clients:2d} client(s), {len(times)} requests: p50 {pct(times, 50):6.1f} ms, "
                  f"p95 {pct(times, 95):6.1f} ms (goal at 20 clients: p95 <= 100 ms)")
        light_alone = load(url, 10, 40)
        light_with_heavy, heavy_times = light_beside(url, base + "/api/explain", HEAVY)
        print("one heavy client (explain, ten years, 50 doses, 40 windows) among 10 light clients x 40 requests:")
        print(f"  light alone:        p50 {pct(light_alone, 50):6.1f} ms, p95 {pct(light_alone, 95):6.1f} ms")
        print(f"  light, heavy going: p50 {pct(light_with_heavy, 50):6.1f} ms, p95 {pct(light_with_heavy, 95):6.1f} ms "
              "(goal: p95 <= 100 ms)")
        from gutjoint._interfaces.web.app import estimated_work
        from gutjoint._studies.scenario import scenario_from_dict

        units = estimated_work(scenario_from_dict(HEAVY["scenario"]), 17)
        print(f"  heavy requests: {len(heavy_times)}, median {statistics.median(heavy_times):.2f} s each "
              f"({units:.0f} work units: {1e3 * statistics.median(heavy_times) / units:.2f} ms a unit)")
        started = time.perf_counter()
        light_with_slow_rest, slow_times = light_beside(url, base + "/api/simulate?columns=pain_nrs", SLOW_REST, 300)
        rate = len(light_with_slow_rest) / (time.perf_counter() - started - 1.0)
        from gutjoint._interfaces.web.app import REST_FALLBACK_WORK

        print("one client repeating a simulation whose resting state needs the slow fallback, among 10 light "
              "clients x 300 requests:")
        print(f"  light, fallback going: p50 {pct(light_with_slow_rest, 50):6.1f} ms, p95 "
              f"{pct(light_with_slow_rest, 95):6.1f} ms (goal: p95 <= 100 ms), max "
              f"{1e3 * max(light_with_slow_rest):.0f} ms, {rate:.0f} requests/s")
        print(f"  fallback requests: {len(slow_times)}, median {statistics.median(slow_times):.2f} s each "
              f"(counted as {REST_FALLBACK_WORK:g} work units)")
        banded = url + "&uncertainty=true"
        same = load(banded, 10, 10)

        def distinct_client(k: int) -> list[float]:
            times = []
            with httpx.Client(timeout=300) as client:
                for i in range(10):
                    body = {**BODY, "inputs": [{"name": "dysbiosis", "level": 0.3 + 0.005 * (10 * k + i)},
                                               *BODY["inputs"][1:]]}
                    t0 = time.perf_counter()
                    client.post(banded, json=body).raise_for_status()
                    times.append(time.perf_counter() - t0)
            return times

        with ThreadPoolExecutor(max_workers=10) as pool:
            distinct = [t for times in pool.map(distinct_client, range(10)) for t in times]
        print("with uncertainty (100 ensemble draws, bands and drivers), 10 clients x 10 requests:")
        print(f"  the same person:      p50 {pct(same, 50):7.1f} ms, p95 {pct(same, 95):7.1f} ms (goal: p95 <= 300 ms)")
        print(f"  a new person each:    p50 {pct(distinct, 50):7.1f} ms, p95 {pct(distinct, 95):7.1f} ms")
        from playwright.sync_api import sync_playwright

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
            loads = []
            for _ in range(3):
                page = browser.new_page()
                t0 = time.perf_counter()
                page.goto(base + "/")
                page.wait_for_function("document.querySelector('#chart-pain').dataset.points !== undefined")
                loads.append(time.perf_counter() - t0)
                page.close()
            browser.close()
        print(f"time to first chart in Chromium: median {statistics.median(loads):.2f} s of 3 loads (goal <= 2 s)")
    finally:
        server.terminate()
        server.wait(timeout=20)


if __name__ == "__main__":
    main()
