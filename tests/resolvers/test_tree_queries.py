"""Loading the tree costs a fixed number of SQL statements, whatever its size."""

from __future__ import annotations

import logging

import pytest

from harness.sql_counter import count_sql
from tests.support.client import GraphQLClient, registered
from tests.support.servers import Service
from tests.support.tree import folder, script
from tests.support.ws import subscription_client

# The session (user + whether their login has ended + the folders shared
# with them), then folders + scripts + versions.
TREE_STATEMENTS = 6
# A selection the compiled plan answers: the session + the tree's revision +
# folders + scripts; answered from the kept response while the tree is
# unchanged: the session + the revision.
PLANNED_TREE_STATEMENTS = 6
KEPT_TREE_STATEMENTS = 4
PLANNED_TREE = """
{ tree {
  scripts { id name path version }
  folders { id name path scripts { id name path version }
    folders { id name path scripts { id name path version }
      folders { id name path scripts { id path } } } }
} }
"""

FULL_TREE = """
{ tree {
  scripts { id name path version content versions { version } }
  folders { id name path
    scripts { id name path version content versions { version } }
    folders { id name path parent { id }
      scripts { id name path version content versions { version } }
      folders { id name path scripts { id path content } } } }
} }
"""


async def build_tree(client: GraphQLClient, top: int, per_level: int) -> int:
    """`top` folders, each with `per_level` subfolders twice down, a script in each."""
    nodes = 0
    for t in range(top):
        a = await folder(client, f"f{t}")
        await script(client, f"s{t}.py", f"x = {t}\n", a["id"])
        nodes += 2
        for m in range(per_level):
            b = await folder(client, f"m{m}", a["id"])
            await script(client, f"s{m}.sh", "true\n", b["id"])
            nodes += 2
            for n in range(per_level):
                c = await folder(client, f"n{n}", b["id"])
                await script(client, f"leaf{n}.py", "pass\n", c["id"])
                nodes += 2
    return nodes


@pytest.mark.parametrize("service", ["local"], indirect=True)
@pytest.mark.usefixtures("fresh_sessions")
async def test_tree_sql_statements_do_not_grow_with_size(anon: GraphQLClient) -> None:
    small = await registered(anon, "small")
    large = await registered(anon, "large")
    small_nodes = await build_tree(small, top=1, per_level=1)  # 6 nodes
    large_nodes = await build_tree(large, top=4, per_level=4)  # 168 nodes
    assert large_nodes > 20 * small_nodes // 2

    with count_sql() as small_statements:
        small_tree = await small.data(FULL_TREE)
    with count_sql() as large_statements:
        large_tree = await large.data(FULL_TREE)

    assert len(small_tree["tree"]["folders"]) == 1
    assert len(large_tree["tree"]["folders"]) == 4
    leaf = large_tree["tree"]["folders"][3]["folders"][3]["folders"][3]
    assert leaf["path"] == "f3/m3/n3"
    assert leaf["scripts"][0]["content"] == "pass\n"
    # TREE_STATEMENTS, for any size: exactly that many,
    # so a counter that counts nothing fails here too.
    assert len(small_statements) == TREE_STATEMENTS, small_statements
    assert len(large_statements) == TREE_STATEMENTS, large_statements


@pytest.mark.parametrize("service", ["local"], indirect=True)
@pytest.mark.usefixtures("fresh_sessions")
async def test_a_planned_tree_costs_the_same_statements_at_any_size(anon: GraphQLClient) -> None:
    small = await registered(anon, "small")
    large = await registered(anon, "large")
    await build_tree(small, top=1, per_level=1)
    await build_tree(large, top=4, per_level=4)

    counts = []
    for client in (small, large):
        with count_sql() as statements:
            first_tree = await client.data(PLANNED_TREE)
            first = len(statements)
            kept_tree = await client.data(PLANNED_TREE)
        assert kept_tree == first_tree
        counts.append((first, len(statements) - first))
    leaf = first_tree["tree"]["folders"][3]["folders"][3]["folders"][3]
    assert leaf["path"] == "f3/m3/n3"
    assert counts == [(PLANNED_TREE_STATEMENTS, KEPT_TREE_STATEMENTS)] * 2, statements


@pytest.mark.parametrize("service", ["local"], indirect=True)
async def test_the_counter_counts_the_statements_of_a_request(anon: GraphQLClient) -> None:
    """The counter itself: a request that writes sends statements it sees,
    and it sees them only while it is counting."""
    with count_sql() as statements:
        user = await registered(anon, "counted")
    assert any(s.lstrip().upper().startswith("INSERT") for s in statements), statements
    seen = len(statements)
    await folder(user, "after")
    assert len(statements) == seen


@pytest.mark.parametrize("service", ["local"], indirect=True)
async def test_the_counter_counts_only_http_requests(
    service: Service, alice: GraphQLClient
) -> None:
    """Statements sent outside an HTTP request (the service's own loops, a
    WebSocket operation) would make counts depend on timing: never counted."""
    with count_sql() as statements:
        logging.getLogger("tortoise.db_client").debug("SELECT 1 -- not in a request")
        async with subscription_client(service.url, alice.token) as ws:
            shown = await ws.collect("{ tree { folders { name } scripts { name } } }")
        assert shown == [{"tree": {"folders": [], "scripts": []}}], shown
        assert statements == []
        await alice.data("{ tree { folders { name } } }")
    assert statements, "an HTTP request's statements are counted"
