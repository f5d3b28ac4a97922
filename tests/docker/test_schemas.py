"""The deployment files against the schemas their tools use, offline: every Kubernetes object of
deploy/k8s (rendered the way kustomize renders this kustomization: namespace and image overrides applied)
against the Kubernetes API schemas shipped by `kubernetes-validate`, and the compose files and the Swarm
stack against the Compose Specification schema (vendored in tests/docker/schemas, see its README)."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from .dockerlib import REPO

K8S = REPO / "deploy" / "k8s"
COMPOSE_SCHEMA = Path(__file__).with_name("schemas") / "compose-spec.json"
COMPOSE_FILES = [
    REPO / "docker-compose.yml",
    REPO / "docker" / "compose.demo.yml",
    REPO / "deploy" / "swarm" / "stack.yml",
    Path(__file__).with_name("compose.e2e.yml"),
]
# The kustomization fields this renderer understands; anything else would be silently ignored by it.
KUSTOMIZE_FIELDS = {"apiVersion", "kind", "namespace", "resources", "images"}
# Kinds that live in no namespace (kustomize leaves them alone when it sets one).
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "PersistentVolume", "StorageClass"}
VARIABLE = re.compile(r"\$\{([A-Z0-9_]+)(?::?-([^}]*))?\}")
# Same cluster version for every run: validation must not change when the package gains a newer schema.
K8S_VERSION = "1.30.0"


def render_kustomization(directory: Path) -> list[dict[str, Any]]:
    """The objects `kubectl apply -k directory` would send, for the kustomize features this one uses."""
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    unknown = set(kustomization) - KUSTOMIZE_FIELDS
    assert not unknown, f"kustomization fields this test does not render: {sorted(unknown)}"
    assert kustomization["apiVersion"] == "kustomize.config.k8s.io/v1beta1"
    assert kustomization["kind"] == "Kustomization"
    images = {entry["name"]: entry for entry in kustomization.get("images", [])}
    rendered = []
    for name in kustomization["resources"]:
        for document in yaml.safe_load_all((directory / name).read_text()):
            if document is None:
                continue
            document = copy.deepcopy(document)
            if "namespace" in kustomization and document.get("kind") not in CLUSTER_SCOPED:
                document.setdefault("metadata", {})["namespace"] = kustomization["namespace"]
            for container in containers_of(document):
                container["image"] = override_image(container["image"], images)
            rendered.append(document)
    return rendered


def containers_of(document: dict[str, Any]) -> list[dict[str, Any]]:
    pod = document.get("spec", {}).get("template", {}).get("spec", {})
    return [*pod.get("initContainers", []), *pod.get("containers", [])]


def override_image(image: str, images: dict[str, dict[str, str]]) -> str:
    name, _, tag = image.partition(":")
    entry = images.get(name)
    if entry is None:
        return image
    return f"{entry.get('newName', name)}:{entry.get('newTag', tag or 'latest')}"


def test_rendered_kustomization_is_valid_against_the_kubernetes_schemas() -> None:
    documents = render_kustomization(K8S)
    kinds = sorted({d["kind"] for d in documents})
    assert {"StatefulSet", "Deployment", "Service", "NetworkPolicy", "ConfigMap", "Secret"} <= set(kinds)
    problems = []
    for document in documents:
        try:
            # strict: a field Kubernetes does not know (a typo) is an error, as `kubectl --validate=strict`.
            kubernetes_validate.validate(document, K8S_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            path = ".".join(str(p) for p in exc.path)
            problems.append(f"{document['kind']}/{document['metadata']['name']} at {path}: {exc.message}")
    assert problems == [], "\n".join(problems)
    namespaced = [d for d in documents if d["kind"] not in CLUSTER_SCOPED]
    assert all(d["metadata"]["namespace"] == "scavenger" for d in namespaced)


def test_the_kubernetes_check_catches_a_broken_manifest() -> None:
    # The validator must not accept anything: a typo in a field name and a wrong type both fail.
    statefulset = next(d for d in render_kustomization(K8S) if d["kind"] == "StatefulSet")
    typo = copy.deepcopy(statefulset)
    typo["spec"]["replica"] = 2
    wrong_type = copy.deepcopy(statefulset)
    wrong_type["spec"]["replicas"] = "two"
    for broken in (typo, wrong_type):
        with pytest.raises(kubernetes_validate.ValidationError):
            kubernetes_validate.validate(broken, K8S_VERSION, strict=True)


def interpolate(value: Any) -> Any:
    """Every `${VAR:-default}` replaced by its default, as compose and `docker stack deploy` do with an
    empty environment. A value that is one whole variable with a whole-number default becomes that number,
    as those tools convert `replicas: ${N:-2}` to the integer 2 before validating."""
    if isinstance(value, dict):
        return {key: interpolate(item) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item) for item in value]
    if not isinstance(value, str):
        return value
    whole = VARIABLE.fullmatch(value)
    if whole and (whole.group(2) or "").isdigit():
        return int(whole.group(2))
    return VARIABLE.sub(lambda m: m.group(2) or "", value)


def compose_validator() -> jsonschema.protocols.Validator:
    schema = json.loads(COMPOSE_SCHEMA.read_text())
    # docker-compose validates with draft 4 too (its $schema line names a draft the library cannot resolve).
    return jsonschema.Draft4Validator(schema)


@pytest.mark.parametrize("path", COMPOSE_FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_compose_files_and_swarm_stack_are_valid_against_the_compose_schema(path: Path) -> None:
    document = interpolate(yaml.safe_load(path.read_text()))
    errors = sorted(compose_validator().iter_errors(document), key=lambda e: list(e.path))
    assert [f"{'.'.join(map(str, e.path))}: {e.message}" for e in errors] == []


def test_the_compose_check_catches_a_broken_file() -> None:
    stack = interpolate(yaml.safe_load((REPO / "deploy" / "swarm" / "stack.yml").read_text()))
    stack["services"]["miner"]["deploy"]["replicas"] = "many"
    stack["services"]["miner"]["restart_policy"] = "always"  # belongs under deploy: unknown here
    messages = [e.message for e in compose_validator().iter_errors(stack)]
    assert any("'many' is not of type 'integer'" in m for m in messages), messages
    assert any("restart_policy" in m for m in messages), messages
