"""docker-compose.yml is valid Compose and matches what the code expects.

No Docker engine runs here, so the file is parsed by a spec-compliant Compose parser
and its wiring (ports, environment, health checks, dependencies) is checked against
the settings classes and the Rasa endpoints.
"""

import re
from pathlib import Path

import pytest
import yaml
from compose_spec import PyCompose

from actions.config import ActionSettings
from channels.config import GatewaySettings
from commerce_core.config import CoreSettings
from knowledge.config import KnowledgeSettings

REPO = Path(__file__).resolve().parent.parent
COMPOSE_TEXT = (REPO / "docker-compose.yml").read_text()
COMPOSE = yaml.safe_load(COMPOSE_TEXT)
SERVICES = COMPOSE["services"]
LONG_RUNNING = ["postgres", "redis", "app", "actions", "rasa", "telegram"]


def test_compose_file_is_valid_compose_spec() -> None:
    parsed = PyCompose.from_yaml(COMPOSE_TEXT)
    parsed.validate()
    assert set(parsed.service_names()) == {*LONG_RUNNING, "migrate"}


@pytest.mark.parametrize("service", LONG_RUNNING)
def test_every_long_running_service_has_a_health_check(service: str) -> None:
    test = SERVICES[service]["healthcheck"]["test"]
    assert test[0] in {"CMD", "CMD-SHELL"} and len(test) > 1


def test_only_the_gateway_is_published_on_the_port_the_code_uses() -> None:
    # Rasa's channel would skip the gateway's limits and handoff, and an action acts for
    # whichever shopper its tracker names: both stay on the compose network.
    published = {name: s["ports"] for name, s in SERVICES.items() if s.get("ports")}
    assert published == {"app": ["8000:8000"]}
    assert "--port" in SERVICES["app"]["command"] and "8000" in SERVICES["app"]["command"]
    assert SERVICES["actions"]["command"][-2:] == ["--port", "5055"]
    assert SERVICES["rasa"]["command"][SERVICES["rasa"]["command"].index("--port") + 1] == "5005"


def test_rasas_http_api_wants_the_token_the_gateway_sends() -> None:
    command, env = SERVICES["rasa"]["command"], SERVICES["rasa"]["environment"]
    assert command[command.index("--auth-token") + 1] == "${ATELIER_RASA_API_TOKEN}"
    required = r"\$\{ATELIER_RASA_API_TOKEN:\?.+\}"
    assert re.fullmatch(required, env["ATELIER_RASA_API_TOKEN"])
    assert re.fullmatch(required, SERVICES["app"]["environment"]["ATELIER_RASA_API_TOKEN"])
    assert "ATELIER_RASA_API_TOKEN" in " ".join(SERVICES["rasa"]["healthcheck"]["test"])


def test_app_environment_names_real_settings_and_production_secrets() -> None:
    env = SERVICES["app"]["environment"]
    fields = set()
    for settings in (CoreSettings, GatewaySettings, KnowledgeSettings, ActionSettings):
        fields |= {f"ATELIER_{name.upper()}" for name in settings.model_fields}
    assert set(env) <= fields, set(env) - fields
    assert env["ATELIER_ENVIRONMENT"] == "production"
    assert env["ATELIER_DATABASE_URL"].startswith("postgresql://")
    assert env["ATELIER_DATABASE_URL"].split("@")[1].startswith("postgres:5432/")
    assert env["ATELIER_REDIS_URL"].startswith("redis://redis:6379/")
    assert env["ATELIER_RASA_URL"] == "http://rasa:5005"
    assert env["ATELIER_API_URL"] == "http://app:8000/api"
    for secret in ("ATELIER_SERVICE_TOKEN", "ATELIER_SECRET_KEY",
                   "ATELIER_PAYMENT_WEBHOOK_SECRET"):
        pattern = r"\$\{" + secret + r":\?.+\}"
        assert re.fullmatch(pattern, env[secret]), "secrets must be required"
    assert SERVICES["actions"]["environment"] == env
    assert SERVICES["telegram"]["environment"] == env
    assert SERVICES["telegram"]["command"] == ["python", "-m", "channels.telegram"]


def test_the_gateway_rasa_and_the_actions_share_a_required_identity_secret() -> None:
    required = r"\$\{ATELIER_IDENTITY_SECRET:\?.+\}"
    assert re.fullmatch(required, SERVICES["app"]["environment"]["ATELIER_IDENTITY_SECRET"])
    assert SERVICES["actions"]["environment"] == SERVICES["app"]["environment"]
    assert re.fullmatch(required, SERVICES["rasa"]["environment"]["ATELIER_IDENTITY_SECRET"])
    # Rasa's only channel is the gateway's, which checks the signature with it
    credentials = yaml.safe_load((REPO / "bot" / "credentials.yml").read_text())
    assert credentials == {"atelier_channel.AtelierInput": {
        "identity_secret": "${ATELIER_IDENTITY_SECRET}"}}
    assert "--credentials" in SERVICES["rasa"]["command"]


def test_rasa_reaches_the_actions_and_keeps_state_in_redis() -> None:
    rasa_env = SERVICES["rasa"]["environment"]
    assert rasa_env["ATELIER_ACTION_ENDPOINT_URL"] == "http://actions:5055/webhook"
    assert rasa_env["ATELIER_RASA_REDIS_HOST"] == "redis"
    dockerfile = (REPO / SERVICES["rasa"]["build"]["dockerfile"]).read_text()
    assert "endpoints.compose.yml" in dockerfile
    endpoints = yaml.safe_load((REPO / "bot" / "endpoints.compose.yml").read_text())
    # Rasa's Redis store, made wipeable (a customer's data deleted): see the module
    store_type = endpoints["tracker_store"]["type"]
    assert store_type == "atelier_tracker_store.ErasableRedisTrackerStore"
    assert (REPO / "bot" / f"{store_type.split('.')[0]}.py").exists()
    assert endpoints["lock_store"]["type"] == "redis"
    for store in ("tracker_store", "lock_store"):  # Rasa drops a prefix that is not
        assert str(endpoints[store]["key_prefix"]).isalnum()
    assert endpoints["tracker_store"]["url"] == "${ATELIER_RASA_REDIS_HOST}"
    assert endpoints["action_endpoint"]["url"] == "${ATELIER_ACTION_ENDPOINT_URL}"


def test_dependencies_exist_and_wait_for_health() -> None:
    for name, service in SERVICES.items():
        for dependency, rule in service.get("depends_on", {}).items():
            assert dependency in SERVICES, f"{name} depends on unknown {dependency}"
            assert rule["condition"] in {"service_healthy", "service_completed_successfully"}
    assert SERVICES["app"]["depends_on"]["migrate"]["condition"] == \
        "service_completed_successfully"
    assert SERVICES["migrate"]["command"][-1] == "migrate"


def test_build_files_exist_and_copy_existing_paths() -> None:
    for service in SERVICES.values():
        if "build" not in service:
            continue
        dockerfile = REPO / service["build"]["dockerfile"]
        assert dockerfile.exists()
        text = dockerfile.read_text()
        stages = set(re.findall(r"^FROM \S+ AS (\S+)", text, flags=re.M | re.I))
        for stage in re.findall(r"^COPY --from=(\S+)", text, flags=re.M):
            assert stage in stages, f"{dockerfile.name} copies from unknown stage {stage}"
        for source in re.findall(r"^COPY (?!--)(\S+)", text, flags=re.M):
            assert (REPO / source).exists(), f"{dockerfile.name} copies missing {source}"
