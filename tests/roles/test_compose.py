"""docker-compose.yml runs the production shape. No images can be pulled on
these machines, so the file's structure is checked instead."""

from __future__ import annotations

from typing import Any

import yaml

from tests.support.paths import REPO


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    return data


def test_services_of_the_production_shape() -> None:
    services = compose()["services"]
    assert {"api", "worker", "postgres", "redis", "minio"} <= set(services)
    assert services["minio"]["image"].startswith("minio/minio")
    assert services["postgres"]["image"].startswith("postgres:")
    assert services["redis"]["image"].startswith("redis:")
    assert services["api"]["deploy"]["replicas"] == 2
    assert services["worker"]["deploy"]["replicas"] >= 1
    assert services["worker"]["command"] == ["scriptbox", "worker"]


def test_only_workers_reach_the_docker_engine() -> None:
    services = compose()["services"]
    assert services["api"]["environment"]["SCRIPTBOX_EMBEDDED_WORKER"] == "false"
    assert not any("docker.sock" in v for v in services["api"].get("volumes", []))
    assert any("docker.sock" in v for v in services["worker"]["volumes"])
    assert services["worker"]["environment"]["SCRIPTBOX_REDIS_URL"].startswith("redis://")


def test_every_service_has_a_health_check_and_data_has_volumes() -> None:
    data = compose()
    for name, service in data["services"].items():
        assert "healthcheck" in service, name
    for name in ("postgres", "minio"):
        mounts = data["services"][name]["volumes"]
        assert any(mount.split(":")[0] in data["volumes"] for mount in mounts), name


def test_api_waits_for_healthy_dependencies_and_uses_them() -> None:
    api = compose()["services"]["api"]
    for dependency in ("postgres", "minio", "redis"):
        assert api["depends_on"][dependency]["condition"] == "service_healthy"
    env = api["environment"]
    assert env["SCRIPTBOX_DATABASE_URL"].startswith("postgres://")
    assert env["SCRIPTBOX_STORAGE"] == "s3"
    assert env["SCRIPTBOX_S3_ENDPOINT"] == "minio:9000"


def test_no_secret_is_written_in_the_file() -> None:
    for service in compose()["services"].values():
        for key, value in service.get("environment", {}).items():
            if any(word in key for word in ("PASSWORD", "SECRET")):
                assert str(value).startswith("${"), key


def test_ports_are_published_on_loopback_only() -> None:
    for service in compose()["services"].values():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), port


def dockerfile() -> list[tuple[str, str]]:
    """The Dockerfile's instructions, continuation lines joined: (INSTRUCTION, arguments)."""
    text = (REPO / "Dockerfile").read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1])
        for line in lines
        if line and not line.startswith("#")
    ]


def stages() -> dict[str, list[tuple[str, str]]]:
    """Instructions per build stage, by stage name (the last one: 'final')."""
    found: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] = []
    names: list[str] = []
    for instruction, arguments in dockerfile():
        if instruction == "FROM":
            words = arguments.split()
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else words[0]
            current = [(instruction, arguments)]
            found[name] = current
            names.append(name)
        else:
            current.append((instruction, arguments))
    found["final"] = found[names[-1]]
    return found


def test_the_image_installs_the_browser_assets_from_npm_so_its_pages_work_offline() -> None:
    """GraphiQL, the API docs and the web page load nothing from a CDN in
    compose: an npm stage installs web/'s locked packages, and the image's
    own copy step (the one scripts/setup-web-assets.sh runs) vendors them
    into the installed package, failing the build if anything is missing."""
    services = compose()["services"]
    assert services["api"]["build"] == "."
    every = stages()
    [npm_stage] = [name for name, lines in every.items() if lines[0][1].startswith("node:")]
    npm = every[npm_stage]
    copied = " ".join(arguments for instruction, arguments in npm if instruction == "COPY")
    assert "web/package.json" in copied and "web/package-lock.json" in copied
    assert any(
        instruction == "RUN" and arguments.startswith("npm ci") for instruction, arguments in npm
    )

    final = every["final"]
    assert final[0][1].startswith("python:")
    steps = [f"{instruction} {arguments}" for instruction, arguments in final]
    [from_npm] = [i for i, step in enumerate(steps) if step.startswith(f"COPY --from={npm_stage} ")]
    assert "/node_modules" in steps[from_npm]
    [installed] = [
        i for i, step in enumerate(steps) if "pip install" in step and step.endswith(" .")
    ]
    [vendored] = [i for i, step in enumerate(steps) if "python -m graphql_api.web vendor" in step]
    # Into the installed package: after it is installed, and not from /app's
    # copy of the sources (python -m imports from the working directory).
    assert installed < vendored and from_npm < vendored
    assert steps[vendored].startswith("RUN cd / && ")
    assert "python -m graphql_api.web missing" in steps[vendored]
    setup = (REPO / "scripts" / "setup-web-assets.sh").read_text()
    assert "-m graphql_api.web vendor web/node_modules" in setup  # the same step

    # The build context carries no local copy that could stand in for them.
    ignored = (REPO / ".dockerignore").read_text().split()
    assert {"web/node_modules", "graphql_api/static/vendor"} <= set(ignored)
