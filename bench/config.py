"""Sizes of every benchmark. `--quick` shrinks them for a smoke run (its
figures are not comparable and are never written as before/after)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Config:
    # B1: sequential runs, pause between runs (lets the warm pool refill, as
    # an interactive user's pace would), and baseline `docker run`s.
    b1_runs: int = 50
    b1_warmup: int = 3
    b1_pause_seconds: float = 0.5
    b1_baseline_runs: int = 25
    # Before each baseline `docker run`: long enough for the service's
    # background engine work after a run (removing the used container,
    # refilling the warm pool) to be over, so the baseline does not pay it.
    b1_baseline_pause_seconds: float = 1.0
    # B2: executions submitted at once, by this many users (the per-user
    # queue cap is 100), and baseline runs per parallelism level.
    b2_executions: int = 200
    b2_users: int = 4
    b2_baseline_runs: int = 48
    b2_baseline_parallel: tuple[int, ...] = (2, 4, 8)
    # B3: the tree sizes of the scaling curve (the goals are set at 10,000
    # and 100,000 nodes), the small tree, depth, timed requests per size
    # (each a first load after a change, then the same request unchanged).
    b3_sizes: tuple[int, ...] = (100, 1_000, 10_000, 100_000)
    b3_nodes: int = 10_000
    b3_large_nodes: int = 100_000
    b3_small_nodes: int = 10
    b3_depth: int = 6
    b3_requests: int = 10
    b3_flat_repeats: int = 20
    # B4: subscribers, client processes, lines, pause between lines.
    b4_subscribers: int = 1_000
    b4_client_processes: int = 4
    b4_lines: int = 1_000
    b4_line_interval_ms: float = 1.0
    b4_deadline_seconds: float = 180.0
    # The scaling curve: one fresh service per size; the figures of
    # `b4_subscribers` carry the goals, the largest size is held to order and
    # memory only (its clients share the 2 cores with the service).
    b4_scales: tuple[int, ...] = (10, 100, 1_000, 10_000)
    # B5: concurrent clients, seconds per round, rounds per target.
    b5_clients: int = 50
    b5_seconds: float = 10.0
    b5_rounds: int = 3
    # B7: worker processes, queue depths, submissions at 0 queued, and each
    # worker's concurrency (its runs only wait on the database and Redis).
    b7_workers: tuple[int, ...] = (1, 2, 4, 8)
    b7_queued: tuple[int, ...] = (0, 1_000, 10_000)
    b7_stream: int = 1_000
    b7_concurrency: int = 8
    quick: bool = False
    # The profiling pass: measured phases only (no baselines), under py-spy.
    profile: bool = False


QUICK = Config(
    b1_runs=10,
    b1_warmup=1,
    b1_baseline_runs=5,
    b2_executions=40,
    b2_users=2,
    b2_baseline_runs=16,
    b3_sizes=(100, 1_000, 2_000),
    b3_nodes=2_000,
    b3_requests=3,
    b3_flat_repeats=5,
    b4_subscribers=200,
    b4_client_processes=2,
    b4_scales=(10, 200),
    b4_lines=200,
    b5_seconds=3.0,
    b5_rounds=1,
    b7_workers=(1, 2),
    b7_queued=(0, 200, 1_000),
    b7_stream=200,
    quick=True,
)


PROFILE = Config(
    b1_runs=20,
    b1_warmup=1,
    b2_executions=100,
    b3_requests=5,
    b4_lines=300,
    b4_scales=(1_000,),
    b5_rounds=1,
    profile=True,
)
