"""B3: the whole tree in one nested query, at 100 to 100,000 nodes, 6 levels
deep: the first load after a change to the tree, and the same request again
with nothing changed. Baseline: the same rows read with one flat SELECT."""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
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
FIRST_FOLDERS = "{ tree { folders { id name } } }"
RENAME = "mutation($id: ID!, $n: String!) { renameFolder(id: $id, name: $n) { id } }"
# Goals, by tree size (nodes): first load after a change, and unchanged (ms).
FIRST_LOAD_GOALS_MS = {10_000: 200.0, 100_000: 2000.0}
UNCHANGED_GOALS_MS = {10_000: 20.0}


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


class TreeChanger:
    """Renames one top-level folder back and forth: a change to the tree
    (every path below it moves) that keeps its size."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.folder: dict[str, str] | None = None
        self.renamed = False

    async def change(self) -> None:
        if self.folder is None:
            folders = (await self.api.data(FIRST_FOLDERS))["tree"]["folders"]
            self.folder = folders[0]
        assert self.folder is not None
        self.renamed = not self.renamed
        name = self.folder["name"] + ("-renamed" if self.renamed else "")
        await self.api.data(RENAME, {"id": self.folder["id"], "n": name})


async def timed_request(api: Api, query: str, nodes: int) -> float:
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
    return elapsed * 1000


@dataclass
class SizeTimes:
    first_ms: list[float]
    unchanged_ms: list[float]


async def first_and_unchanged(api: Api, query: str, nodes: int, n: int) -> SizeTimes:
    """`n` rounds of: change the tree, load it (first load), load it again
    (unchanged); the change itself is not timed."""
    changer = TreeChanger(api)
    times = SizeTimes([], [])
    for _ in range(n):
        await changer.change()
        times.first_ms.append(await timed_request(api, query, nodes))
        times.unchanged_ms.append(await timed_request(api, query, nodes))
    return times


async def repeated(api: Api, query: str, n: int, nodes: int) -> list[float]:
    return [await timed_request(api, query, nodes) for _ in range(n)]


async def not_modified_ms(api: Api, query: str, n: int) -> tuple[list[float], int]:
    """GETs that name the ETag of the previous answer: times and how many were 304."""
    url = f"{api.base_url}/graphql"
    first = await api.http.get(url, params={"query": query}, headers=api.headers())
    etag = first.headers.get("etag")
    if etag is None:
        return [], 0
    samples, not_modified = [], 0
    for _ in range(n):
        started = time.perf_counter()
        response = await api.http.get(
            url, params={"query": query}, headers={**api.headers(), "If-None-Match": etag}
        )
        samples.append((time.perf_counter() - started) * 1000)
        not_modified += response.status_code == 304
    return samples, not_modified


def flat_select_ms(db_path: str, owner_id: str, repeats: int) -> tuple[list[float], int]:
    samples = []
    rows = 0
    with sqlite3.connect(db_path) as conn:
        for _ in range(repeats):
            started = time.perf_counter()
            rows = len(conn.execute(FLAT_SELECT, (owner_id, owner_id)).fetchall())
            samples.append((time.perf_counter() - started) * 1000)
    return samples, rows


def flat_select_for(db_path: str, owner_id: str, nodes: int, repeats: int) -> list[float]:
    samples, rows = flat_select_ms(db_path, owner_id.replace("-", ""), repeats)
    if rows != nodes:
        # Tortoise stores UUIDs as text with dashes on SQLite; try that form.
        samples, rows = flat_select_ms(db_path, owner_id, repeats)
    return samples


async def statements_per_request(url: str, tree: SeededTree, query: str) -> tuple[int, int]:
    """SQL statements of a first load after a change, then of the same request again."""
    api = await Api(url).login(tree.username)
    try:
        await TreeChanger(api).change()
        counts = []
        for _ in range(2):
            with count_sql() as statements:
                response = await api.http.post(
                    f"{url}/graphql", json={"query": query}, headers=api.headers()
                )
            body = response.json()
            if body.get("errors"):
                raise GraphQLFailed(str(body)[:1000])
            counts.append(len(statements))
        return counts[0], counts[1]
    finally:
        await api.aclose()


def _goal_text(nodes: int) -> str:
    parts = []
    if nodes in FIRST_LOAD_GOALS_MS:
        parts.append(f"first ≤ {num(FIRST_LOAD_GOALS_MS[nodes])} ms")
    if nodes in UNCHANGED_GOALS_MS:
        parts.append(f"unchanged ≤ {num(UNCHANGED_GOALS_MS[nodes])} ms")
    return "; ".join(parts) or "-"


def _met(nodes: int, first: Summary, unchanged: Summary) -> bool | None:
    checks = []
    if nodes in FIRST_LOAD_GOALS_MS:
        checks.append(first.median <= FIRST_LOAD_GOALS_MS[nodes])
    if nodes in UNCHANGED_GOALS_MS:
        checks.append(unchanged.median <= UNCHANGED_GOALS_MS[nodes])
    return all(checks) if checks else None


async def run(config: Config) -> BenchResult:
    result = BenchResult("B3", "the whole tree in one nested query")
    data_dir = temp_dir("b3")
    started = time.monotonic()
    sizes = sorted(set(config.b3_sizes))
    seeded = await seed(
        data_dir,
        {
            **{f"tree-{n}": n for n in sizes},
            "small-tree": config.b3_small_nodes,
        },
        config.b3_depth,
    )
    seed_seconds = time.monotonic() - started
    trees = {tree.nodes: tree for tree in seeded if tree.username != "small-tree"}
    small = next(tree for tree in seeded if tree.username == "small-tree")
    goal_size = config.b3_nodes if config.b3_nodes in trees else max(trees)
    query = tree_query(config.b3_depth)
    content_query = tree_query(config.b3_depth, content=True)

    # SQL statements per request, counted in-process.
    async with in_process_service(data_dir) as url:
        statements = {n: await statements_per_request(url, trees[n], query) for n in sizes}
        content_statements = await statements_per_request(url, trees[goal_size], content_query)

    # Timings against `scriptbox serve` on the same data dir.
    times: dict[int, SizeTimes] = {}
    owner_ids: dict[int, str] = {}
    with scriptbox_serve("b3", data_dir=data_dir) as service:
        http = httpx.AsyncClient(timeout=300)
        try:
            apis = {n: await Api(service.url, http=http).login(trees[n].username) for n in sizes}
            owner_ids = {n: api.user_id for n, api in apis.items()}
            goal_api = apis[goal_size]
            await timed_request(goal_api, query, goal_size)  # warm-up
            with profiling.phase("B3-service", service.pid):
                times[goal_size] = await first_and_unchanged(
                    goal_api, query, goal_size, config.b3_requests
                )
            if config.profile:
                return result
            for n in sizes:
                if n != goal_size:
                    rounds = (
                        config.b3_requests if n <= goal_size else max(3, config.b3_requests // 2)
                    )
                    times[n] = await first_and_unchanged(apis[n], query, n, rounds)
            small_api = await Api(service.url, http=http).login(small.username)
            small_ms = await repeated(small_api, query, config.b3_requests * 2, small.nodes)
            not_modified, not_modified_count = await not_modified_ms(
                goal_api, query, config.b3_requests
            )
            content_ms = await repeated(
                goal_api, content_query, max(2, config.b3_requests // 3), goal_size
            )
        finally:
            await http.aclose()
    db_path = str(data_dir / "scriptbox.sqlite3")
    flat = {n: flat_select_for(db_path, owner_ids[n], n, config.b3_flat_repeats) for n in sizes}

    rows = []
    for n in sizes:
        first, unchanged = Summary.of(times[n].first_ms), Summary.of(times[n].unchanged_ms)
        f = Summary.of(flat[n])
        rows.append(
            Row(
                "B3",
                f"tree of {n:,} nodes, {config.b3_depth} levels: first load after a change "
                f"/ unchanged, p50 ({first.n} requests each)",
                f"{num(first.median, 1)} / {num(unchanged.median, 1)} ms",
                f"first {first.iqr(' ms', 1)}; unchanged {unchanged.iqr(' ms', 1)}",
                f"flat SELECT p50 {num(f.median, 2)} ms ({n:,} rows)",
                f"first {ratio(first.median / f.median, 0)} slower",
                _goal_text(n),
                _met(n, first, unchanged),
            )
        )
    same = len({statements[n] for n in sizes}) == 1
    rows.append(
        Row(
            "B3",
            "SQL statements per request: first load / unchanged",
            ", ".join(f"{a} / {b} at {n:,}" for n, (a, b) in statements.items()),
            "-",
            f"{sizes[0]:,} to {sizes[-1]:,} nodes",
            "same" if same else "differs",
            f"the same from {sizes[0]:,} to {sizes[-1]:,} nodes",
            same,
        )
    )
    small_s = Summary.of(small_ms)
    rows.append(
        Row(
            "B3",
            f"tree of {small.nodes} nodes, {small.depth} levels: p50",
            f"{num(small_s.median, 1)} ms",
            small_s.iqr(" ms", 1),
            "-",
            "-",
            "-",
            None,
        )
    )
    nm = Summary.of(not_modified) if not_modified else None
    rows.append(
        Row(
            "B3",
            f"GET of the unchanged {goal_size:,}-node tree with its ETag (If-None-Match): p50",
            f"{num(nm.median, 1)} ms" if nm else "no ETag",
            f"{not_modified_count} of {nm.n} answered 304" if nm else "-",
            "-",
            "-",
            "-",
            None,
        )
    )
    c = Summary.of(content_ms)
    rows.append(
        Row(
            "B3",
            f"tree of {goal_size:,} nodes with every script's `content`: p50 ({c.n} requests)",
            f"{num(c.median)} ms",
            c.range(" ms") + " (min-max)",
            "-",
            "-",
            "-",
            None,
        )
    )
    result.rows = rows
    biggest = trees[max(trees)]
    result.notes = [
        f"Seeded straight into the service's SQLite file and local store with the project's "
        f"models (one user per size; the {biggest.nodes:,}-node tree has {biggest.folders:,} "
        f"folders over {biggest.depth - 1} levels and {biggest.scripts:,} scripts spread over "
        "every level, one script_versions row and one stored object each; another user owns "
        f"the {small.nodes}-node tree) in {seed_seconds:.1f} s.",
        "Query: `tree { scripts { id name path version } folders { id name path scripts {...} "
        f"folders {{ ... }} }} }}` nested to {config.b3_depth} levels. Timed from the request "
        "to the whole response body; every response is checked to hold every node. Each "
        "round renames a top-level folder through `renameFolder` (not timed: every path "
        "below it changes), loads the tree (first load after a change), then loads it again "
        "(unchanged).",
        "SQL statements counted in-process on `tortoise.db_client` for one request, token "
        "check included, first load after a change / unchanged: "
        + ", ".join(f"{a} / {b} at {n:,} nodes" for n, (a, b) in statements.items())
        + f"; with content at {goal_size:,} nodes: {content_statements[0]} / "
        f"{content_statements[1]}.",
        "Baseline: `" + FLAT_SELECT + "` with Python's sqlite3 on the same file (no HTTP, no "
        "GraphQL, no JSON), per size.",
    ]
    result.raw = {
        "times": {
            str(n): {"first_ms": t.first_ms, "unchanged_ms": t.unchanged_ms}
            for n, t in times.items()
        },
        "small_ms": small_ms,
        "content_ms": content_ms,
        "not_modified_ms": not_modified,
        "flat_ms": {str(n): v for n, v in flat.items()},
        "statements": {str(n): list(v) for n, v in statements.items()},
        "content_statements": list(content_statements),
        "seed_seconds": seed_seconds,
        "data_dir_for_profile": str(data_dir),
    }
    return result
