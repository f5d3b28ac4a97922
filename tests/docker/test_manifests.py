"""Structural checks of the compose file, the Swarm stack and the Kubernetes manifests (no engine needed):
the properties docs/docker.md promises and the seed got wrong (published ports, required .env, per-replica
identity), plus cross-file consistency that no YAML parser checks."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from .dockerlib import REPO

COMPOSE = REPO / "docker-compose.yml"
STACK = REPO / "deploy" / "swarm" / "stack.yml"
K8S = REPO / "deploy" / "k8s"
VARIABLE = re.compile(r"\$\{([A-Z0-9_]+)(:?-[^}]*)?\}")


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict), f"{path} is not a YAML mapping"
    return data


def k8s_documents() -> list[dict[str, Any]]:
    kustomization = load(K8S / "kustomization.yaml")
    documents: list[dict[str, Any]] = []
    for name in kustomization["resources"]:
        for document in yaml.safe_load_all((K8S / name).read_text()):
            assert isinstance(document, dict) and {"apiVersion", "kind", "metadata"} <= document.keys(), (
                f"{name}: every document needs apiVersion, kind and metadata"
            )
            documents.append(document)
    return documents


def by_kind(documents: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in documents if d["kind"] == kind}


def test_compose_runs_without_env_file_and_every_variable_has_a_default() -> None:
    text = COMPOSE.read_text()
    assert "env_file" not in load(COMPOSE)["services"]["miner"], "env_file would make .env mandatory again"
    without_default = sorted({m.group(1) for m in VARIABLE.finditer(text) if m.group(2) is None})
    assert without_default == [], f"variables without a ${{VAR:-default}}: {without_default}"


def test_compose_scalable_miner_shares_one_config_and_nothing_is_published_widely() -> None:
    services = load(COMPOSE)["services"]
    miner = services["miner"]
    assert "container_name" not in miner and "ports" not in miner, "--scale needs no name and no host port"
    assert any(str(v).endswith(":/usr/local/bin/config") for v in miner["volumes"]), miner["volumes"]
    assert "ports" not in services["stats-db"], "PostgreSQL must not be published on the host"
    for name in ("stats-backend", "simulator"):
        for port in services[name].get("ports", []):
            assert str(port).startswith("${") and "127.0.0.1" in str(port), f"{name} publishes {port}"
    assert services["simulator"]["profiles"] == ["demo"]
    assert services["stats-backend"]["depends_on"]["stats-db"]["condition"] == "service_healthy"
    for name, service in services.items():
        assert "healthcheck" in service, f"{name} has no health check"


def test_every_app_service_mounts_the_config_folder_so_down_leaves_no_anonymous_volume() -> None:
    # The image declares /usr/local/bin/config a VOLUME: a service that mounts nothing there gets a fresh
    # anonymous volume, which `down` (without -v) leaves behind on every run.
    for name, service in load(COMPOSE)["services"].items():
        if "SCAVENGER_IMAGE" not in str(service.get("image", "")):
            continue
        target = "/usr/local/bin/config"
        volumes = [str(v) for v in service.get("volumes", [])]
        mounted = any(v.endswith(f":{target}") or f":{target}:" in v for v in volumes)
        in_memory = any(str(t).split(":")[0] == target for t in service.get("tmpfs", []))
        assert mounted or in_memory, f"{name} leaves an anonymous config volume"


def test_env_example_documents_every_compose_variable_without_real_secrets() -> None:
    example = (REPO / ".env.example").read_text()
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", example, flags=re.MULTILINE))
    used = {m.group(1) for m in VARIABLE.finditer(COMPOSE.read_text() + STACK.read_text())}
    missing = sorted(used - documented - {"MINER_REPLICAS", "SIMULATOR_REPLICAS", "STATS_DB_CONSTRAINT",
                                          "SCAVENGER_POSTGRES_IMAGE", "INSTANCE_SLOT"})
    assert missing == [], f".env.example lacks {missing}"
    token_block = example[: example.index("STATS_BEARER_TOKEN=")].rsplit("\n\n", 1)[-1]
    assert "CHANGE THIS" in token_block, "the bearer token line must tell users to change it"


def test_docs_mention_every_variable() -> None:
    docs = (REPO / "docs" / "docker.md").read_text()
    used = {m.group(1) for m in VARIABLE.finditer(COMPOSE.read_text() + STACK.read_text())}
    missing = sorted(name for name in used if f"`{name}`" not in docs)
    assert missing == [], f"docs/docker.md does not describe {missing}"


def test_swarm_stack_gives_each_task_its_slot_and_matches_compose() -> None:
    stack = load(STACK)
    assert str(stack["version"]).startswith("3."), "docker stack deploy needs a 3.x file"
    services = stack["services"]
    miner = services["miner"]
    assert miner["environment"]["INSTANCE_SLOT"] == "{{.Task.Slot}}"
    assert miner["hostname"] == "miner-{{.Task.Slot}}"
    for name, service in services.items():
        assert "build" not in service, f"{name}: stack deploy ignores build"
        assert service["deploy"]["endpoint_mode"] == "dnsrr", f"{name}: VIP mode needs IPVS"
    compose_miner = load(COMPOSE)["services"]["miner"]["environment"]
    assert set(miner["environment"]) == set(compose_miner), "miner variables differ between compose and Swarm"


def test_kubernetes_statefulset_maps_ordinal_to_slot_with_one_volume_per_pod() -> None:
    documents = k8s_documents()
    statefulsets = by_kind(documents, "StatefulSet")
    services = by_kind(documents, "Service")
    miner = statefulsets["miner"]["spec"]
    assert services[miner["serviceName"]]["spec"]["clusterIP"] == "None", "the miner service must be headless"
    pod = miner["template"]["spec"]
    container = pod["containers"][0]
    env = {e["name"]: e for e in container["env"]}
    assert env["INSTANCE_SLOT_FROM_ORDINAL"]["value"] == "true"
    assert "INSTANCE_SLOT" not in env, "a fixed slot would give every pod the same one"
    claims = [t["metadata"]["name"] for t in miner["volumeClaimTemplates"]]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert mounts == {"config": "/usr/local/bin/config"} and claims == ["config"]
    assert pod["securityContext"]["runAsUser"] == 10001 and pod["securityContext"]["fsGroup"] == 10001
    assert container["startupProbe"]["exec"]["command"] == ["scavenger-healthcheck"]


def pod_labels(workload: dict[str, Any]) -> dict[str, str]:
    labels: dict[str, str] = workload["spec"]["template"]["metadata"]["labels"]
    return labels


def test_kubernetes_references_resolve() -> None:
    documents = k8s_documents()
    secrets = by_kind(documents, "Secret")
    config_maps = by_kind(documents, "ConfigMap")
    workloads = [*by_kind(documents, "StatefulSet").values(), *by_kind(documents, "Deployment").values()]
    for service in by_kind(documents, "Service").values():
        selector = service["spec"]["selector"]
        matched = [w for w in workloads if selector.items() <= pod_labels(w).items()]
        assert matched, f"service {service['metadata']['name']} selects no workload"
        for port in service["spec"]["ports"]:
            names = {p.get("name") for w in matched for c in w["spec"]["template"]["spec"]["containers"]
                     for p in c.get("ports", [])}
            assert port["targetPort"] in names, f"{service['metadata']['name']}: no port {port['targetPort']}"
    for workload in workloads:
        spec = workload["spec"]
        assert spec["selector"]["matchLabels"].items() <= spec["template"]["metadata"]["labels"].items()
        for container in spec["template"]["spec"]["containers"]:
            for env in container.get("env", []):
                source = env.get("valueFrom", {})
                if "secretKeyRef" in source:
                    ref = source["secretKeyRef"]
                    assert ref["key"] in secrets[ref["name"]]["stringData"], f"missing secret key {ref}"
                if "configMapKeyRef" in source:
                    ref = source["configMapKeyRef"]
                    assert ref["key"] in config_maps[ref["name"]]["data"], f"missing config key {ref}"
            for env_from in container.get("envFrom", []):
                assert env_from["configMapRef"]["name"] in config_maps


@pytest.mark.parametrize("path", sorted(K8S.glob("*.yaml")), ids=lambda p: p.name)
def test_kubernetes_files_are_listed_in_the_kustomization(path: Path) -> None:
    if path.name == "kustomization.yaml":
        return
    assert path.name in load(K8S / "kustomization.yaml")["resources"], f"{path.name} would never be applied"
