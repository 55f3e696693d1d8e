"""B3: the whole tree (10,000 folders and scripts, 6 levels deep) in one
nested query. Baseline: the same rows read with one flat SELECT."""

from __future__ import annotations

import sqlite3
import time
from typing import Any

import httpx

from bench import profiling
from bench.config import Config
from bench.gql import Api, GraphQLFailed
from bench.results import BenchResult, Row
from bench.service import scriptbox_serve, temp_dir
from bench.sqlcount import count_sql, in_process_service
from bench.stats import Summary, num, ratio
from bench.tree_seed import SeededTree, seed

FOLDER_FIELDS = "id name path"
SCRIPT_FIELDS = "id name path version"
FLAT_SELECT = (
    "SELECT id, parent_id, name FROM folders WHERE owner_id = ? "
    "UNION ALL SELECT id, folder_id, name FROM scripts WHERE owner_id = ?"
)


def tree_query(depth: int, content: bool = False) -> str:
    """`tree` with folders nested depth-1 levels and scripts at every level."""
    scripts = f"scripts {{ {SCRIPT_FIELDS}{' content' if content else ''} }}"
    level = ""
    for _ in range(depth - 1):
        level = f"folders {{ {FOLDER_FIELDS} {scripts} {level} }}"
    return f"{{ tree {{ {scripts} {level} }} }}"


def count_nodes(node: dict[str, Any]) -> int:
    folders = node.get("folders") or []
    return len(node.get("scripts") or []) + len(folders) + sum(count_nodes(f) for f in folders)


async def timed_requests(api: Api, query: str, n: int, nodes: int) -> list[float]:
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        response = await api.http.post(
            f"{api.base_url}/graphql", json={"query": query}, headers=api.headers()
        )
        elapsed = time.perf_counter() - started
        body = response.json()
        if body.get("errors") or response.status_code != 200:
            raise GraphQLFailed(str(body)[:1000])
        got = count_nodes(body["data"]["tree"])
        if got != nodes:
            raise GraphQLFailed(f"the tree has {got} nodes, expected {nodes}")
        samples.append(elapsed * 1000)
    return samples


def flat_select_ms(db_path: str, owner_id: str, repeats: int) -> tuple[list[float], int]:
    samples = []
    rows = 0
    with sqlite3.connect(db_path) as conn:
        for _ in range(repeats):
            started = time.perf_counter()
            rows = len(conn.execute(FLAT_SELECT, (owner_id, owner_id)).fetchall())
            samples.append((time.perf_counter() - started) * 1000)
    return samples, rows


async def statements_per_request(data_dir_url: str, tree: SeededTree, query: str) -> int:
    api = await Api(data_dir_url).login(tree.username)
    try:
        with count_sql() as statements:
            response = await api.http.post(
                f"{data_dir_url}/graphql", json={"query": query}, headers=api.headers()
            )
        body = response.json()
        if body.get("errors"):
            raise GraphQLFailed(str(body)[:1000])
        return len(statements)
    finally:
        await api.aclose()


async def run(config: Config) -> BenchResult:
    result = BenchResult("B3", "the whole tree in one nested query")
    data_dir = temp_dir("b3")
    started = time.monotonic()
    big, small = await seed(
        data_dir,
        {"big-tree": config.b3_nodes, "small-tree": config.b3_small_nodes},
        config.b3_depth,
    )
    seed_seconds = time.monotonic() - started
    query = tree_query(config.b3_depth)
    content_query = tree_query(config.b3_depth, content=True)

    # SQL statements per request, counted in-process.
    async with in_process_service(data_dir) as url:
        statements = {
            tree.nodes: await statements_per_request(url, tree, query) for tree in (small, big)
        }
        content_statements = {
            tree.nodes: await statements_per_request(url, tree, content_query)
            for tree in (small, big)
        }

    # Timings against `scriptbox serve` on the same data dir.
    with scriptbox_serve("b3", data_dir=data_dir) as service:
        http = httpx.AsyncClient(timeout=120)
        try:
            big_api = await Api(service.url, http=http).login(big.username)
            small_api = await Api(service.url, http=http).login(small.username)
            await timed_requests(big_api, query, 1, big.nodes)  # warm-up
            with profiling.phase("B3-service", service.pid):
                big_ms = await timed_requests(big_api, query, config.b3_requests, big.nodes)
            if config.profile:
                return result
            small_ms = await timed_requests(small_api, query, config.b3_requests * 2, small.nodes)
            content_ms = await timed_requests(
                big_api, content_query, max(2, config.b3_requests // 3), big.nodes
            )
            owner_id = big_api.user_id
        finally:
            await http.aclose()
    flat_ms, flat_rows = flat_select_ms(
        str(data_dir / "scriptbox.sqlite3"), owner_id.replace("-", ""), config.b3_flat_repeats
    )
    if flat_rows != big.nodes:
        # Tortoise stores UUIDs as text with dashes on SQLite; try that form.
        flat_ms, flat_rows = flat_select_ms(
            str(data_dir / "scriptbox.sqlite3"), owner_id, config.b3_flat_repeats
        )

    s = Summary.of(big_ms)
    f = Summary.of(flat_ms)
    small_s = Summary.of(small_ms)
    c = Summary.of(content_ms)
    same = statements[small.nodes] == statements[big.nodes]
    result.rows = [
        Row(
            "B3",
            f"tree of {big.nodes:,} nodes, {big.depth} levels: p50 ({s.n} requests)",
            f"{num(s.median)} ms",
            s.iqr(" ms"),
            f"flat SELECT p50 {num(f.median, 1)} ms ({flat_rows:,} rows)",
            f"{ratio(s.median / f.median, 0)} slower",
            "p50 ≤ 200 ms",
            s.median <= 200,
        ),
        Row(
            "B3",
            "SQL statements per request",
            f"{statements[big.nodes]} for {big.nodes:,} nodes",
            "-",
            f"{statements[small.nodes]} for {small.nodes} nodes",
            "same" if same else "differs",
            "the same for 10 and 10,000 nodes",
            same,
        ),
        Row(
            "B3",
            f"tree of {small.nodes} nodes, {small.depth} levels: p50",
            f"{num(small_s.median, 1)} ms",
            small_s.iqr(" ms", 1),
            "-",
            "-",
            "-",
            None,
        ),
        Row(
            "B3",
            f"tree of {big.nodes:,} nodes with every script's `content`: p50 ({c.n} requests)",
            f"{num(c.median)} ms",
            c.range(" ms") + " (min-max)",
            "-",
            "-",
            "-",
            None,
        ),
    ]
    result.notes = [
        f"Seeded straight into the service's SQLite file and local store with the project's "
        f"models ({big.folders:,} folders with a fan-out of up to "
        f"{max(1, round(big.folders ** (1 / (big.depth - 1))))} over {big.depth - 1} levels, "
        f"{big.scripts:,} scripts spread over every level, one script_versions row and one "
        f"stored object each; a second user owns the {small.nodes}-node tree) in "
        f"{seed_seconds:.1f} s.",
        "Query: `tree { scripts { id name path version } folders { id name path scripts {...} "
        f"folders {{ ... }} }} }}` nested to {big.depth} levels. Timed from the request to the "
        "whole response body; every response is checked to hold every node.",
        f"SQL statements counted in-process on `tortoise.db_client` for one request, token "
        f"check included: {statements[small.nodes]} (10 nodes) and {statements[big.nodes]} "
        f"(10,000 nodes) without content; {content_statements[small.nodes]} and "
        f"{content_statements[big.nodes]} with content.",
        "Baseline: `" + FLAT_SELECT + "` with Python's sqlite3 on the same file (no HTTP, no "
        "GraphQL, no JSON).",
    ]
    result.raw = {
        "big_ms": big_ms,
        "small_ms": small_ms,
        "content_ms": content_ms,
        "flat_ms": flat_ms,
        "statements": {str(k): v for k, v in statements.items()},
        "content_statements": {str(k): v for k, v in content_statements.items()},
        "seed_seconds": seed_seconds,
        "data_dir_for_profile": str(data_dir),
    }
    return result
