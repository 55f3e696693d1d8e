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
