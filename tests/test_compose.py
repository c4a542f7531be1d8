"""docker-compose.yml is valid Compose and matches what the code expects.

No Docker engine runs here, so the file is parsed by a spec-compliant Compose parser
and its wiring (ports, environment, health checks, dependencies) is checked against
the settings classes and the Rasa endpoints.
"""

import ipaddress
import re
from pathlib import Path

import pytest
import yaml
from compose_spec import PyCompose

from actions.config import ActionSettings
from channels.config import GatewaySettings
from commerce_core.config import CoreSettings
from commerce_core.planning.settings import PlanningSettings
from knowledge.config import KnowledgeSettings

REPO = Path(__file__).resolve().parent.parent
COMPOSE_TEXT = (REPO / "docker-compose.yml").read_text()
COMPOSE = yaml.safe_load(COMPOSE_TEXT)
SERVICES = COMPOSE["services"]
LONG_RUNNING = ["postgres", "redis", "app", "actions", "rasa", "telegram", "proxy"]


class MissingVariable(Exception):
    pass


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's interpolation: ``${VAR}``, ``${VAR:-default}``, ``${VAR:?error}``."""
    def one(match: re.Match[str]) -> str:
        name, operator, argument = match.group(1), match.group(2) or "", match.group(3) or ""
        value = env.get(name, "")
        if operator == ":?" and not value:
            raise MissingVariable(f"{name}: {argument}")
        if operator == ":-" and not value:
            return argument
        return value
    return re.sub(r"\$\{([A-Z0-9_]+)(?:(:[-?])([^}]*))?\}", one, text)


def _filled_env_example() -> dict[str, str]:
    """.env.example as a shop fills it in: every required secret set."""
    return {name: f"{name.lower()}0123456789"
            for name, value in _env_example().items() if not value}


def test_compose_file_is_valid_compose_spec_once_interpolated() -> None:
    parsed = PyCompose.from_yaml(interpolate(COMPOSE_TEXT, _filled_env_example()))
    parsed.validate()
    assert set(parsed.service_names()) == {*LONG_RUNNING, "migrate"}


def test_compose_refuses_to_start_while_a_required_secret_is_empty() -> None:
    env = _filled_env_example()
    env["ATELIER_POSTGRES_PASSWORD"] = ""
    with pytest.raises(MissingVariable, match="ATELIER_POSTGRES_PASSWORD"):
        interpolate(COMPOSE_TEXT, env)


@pytest.mark.parametrize("service", LONG_RUNNING)
def test_every_long_running_service_has_a_health_check(service: str) -> None:
    test = SERVICES[service]["healthcheck"]["test"]
    assert test[0] in {"CMD", "CMD-SHELL"} and len(test) > 1


def test_only_the_gateway_is_published_on_the_port_the_code_uses() -> None:
    # Rasa's channel would skip the gateway's limits and handoff, and an action acts for
    # whichever shopper its tracker names: both stay on the compose network.
    published = {name: s["ports"] for name, s in SERVICES.items() if s.get("ports")}
    assert published == {"app": [{"target": 8000,
                                   "published": "${ATELIER_APP_PORTS:-8000-8001}"}],
                          "proxy": ["80:80", "443:443", "443:443/udp"]}
    assert SERVICES["proxy"]["profiles"] == ["proxy"]
    assert SERVICES["app"]["command"][SERVICES["app"]["command"].index("--port") + 1] == "8000"
    actions = SERVICES["actions"]["command"]
    assert actions[actions.index("--port") + 1] == "5055"
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
    assert set(env) - {"FORWARDED_ALLOW_IPS"} <= fields, set(env) - fields  # uvicorn's own
    assert env["ATELIER_ENVIRONMENT"] == "production"
    assert env["ATELIER_DATABASE_URL"].startswith("postgresql://")
    assert env["ATELIER_DATABASE_URL"].split("@")[1].startswith("postgres:5432/")
    assert env["ATELIER_REDIS_URL"].startswith("redis://redis:6379/")
    assert env["ATELIER_RASA_URL"].startswith("${ATELIER_RASA_URL:-http://atelier-rasa-1:5005,")
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


def _default(text: str) -> str:
    return interpolate(str(text), {})


def test_rasa_the_actions_and_the_gateway_run_as_replicas() -> None:
    replicas = {name: int(_default(SERVICES[name]["deploy"]["replicas"]))
                for name in ("app", "actions", "rasa")}
    assert min(replicas.values()) >= 2, replicas
    # the gateway lists every Rasa replica by its container name (<project>-rasa-<n>), so
    # that it sends each conversation to one of them, and each gets a host port of its own
    urls = GatewaySettings(rasa_url=_default(SERVICES["app"]["environment"]["ATELIER_RASA_URL"]),
                           ).rasa_url.split(",")
    assert urls == [f"http://{COMPOSE['name']}-rasa-{n}:5005"
                    for n in range(1, replicas["rasa"] + 1)]
    first, last = _default(SERVICES["app"]["ports"][0]["published"]).split("-")
    assert int(last) - int(first) + 1 == replicas["app"]
    # several replicas of Rasa serve one conversation's turns one by one: the lock store
    # and the tracker store are shared (Redis), not in each process's memory
    endpoints = yaml.safe_load((REPO / "bot" / "endpoints.compose.yml").read_text())
    assert endpoints["lock_store"]["type"] == "redis"
    assert "Redis" in endpoints["tracker_store"]["type"]


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


def _interpolated(text: str) -> set[str]:
    return set(re.findall(r"\$\{([A-Z0-9_]+)(?::?[-?][^}]*)?\}", text))


def _env_example() -> dict[str, str]:
    """Every ``NAME=value`` line of .env.example, commented out or not."""
    lines = (REPO / ".env.example").read_text().splitlines()
    found = (re.fullmatch(r"#? ?(ATELIER_[A-Z0-9_]+)=(.*)", line) for line in lines)
    return {m.group(1): m.group(2) for m in found if m}


def test_env_example_lists_every_setting_and_every_variable_of_the_compose_file() -> None:
    documented = _env_example()
    fields = set()
    for settings in (CoreSettings, PlanningSettings, GatewaySettings, KnowledgeSettings,
                     ActionSettings):
        fields |= {f"ATELIER_{name.upper()}" for name in settings.model_fields}
    assert fields - set(documented) == set()
    assert _interpolated(COMPOSE_TEXT) - set(documented) == set()
    # The required secrets are there, left empty, so that a copy fails until filled in
    required = {name for name in _interpolated(COMPOSE_TEXT)
                if re.search(r"\$\{" + name + r":\?", COMPOSE_TEXT)}
    assert required >= {"ATELIER_POSTGRES_PASSWORD", "ATELIER_IDENTITY_SECRET"}
    uncommented = {m.group(1): m.group(2) for line in
                   (REPO / ".env.example").read_text().splitlines()
                   if (m := re.fullmatch(r"(ATELIER_[A-Z0-9_]+)=(.*)", line))}
    assert uncommented == {name: "" for name in required}


def test_no_password_is_written_in_the_compose_file() -> None:
    required = r"\$\{ATELIER_POSTGRES_PASSWORD:\?[^}]+\}"
    assert re.fullmatch(required, SERVICES["postgres"]["environment"]["POSTGRES_PASSWORD"])
    url = SERVICES["app"]["environment"]["ATELIER_DATABASE_URL"]
    assert re.fullmatch(f"postgresql://atelier:{required}@postgres:5432/atelier", url)
    assert "atelier@" not in COMPOSE_TEXT and "POSTGRES_PASSWORD: atelier" not in COMPOSE_TEXT


def test_app_processes_read_the_env_file_and_the_wiring_wins() -> None:
    for name in ("app", "actions", "telegram", "migrate"):
        assert SERVICES[name]["env_file"] == [{"path": ".env", "required": False}], name
        assert SERVICES[name]["environment"] == SERVICES["app"]["environment"], name


def test_the_merchants_faq_folder_is_a_mounted_volume_not_part_of_the_image() -> None:
    env = SERVICES["app"]["environment"]
    mounts = {re.sub(r"^\$\{[^}]*\}", "", volume).split(":")[1]: volume
              for volume in SERVICES["app"]["volumes"] if not volume.startswith("app-data")}
    assert env["ATELIER_FAQ_DIR"] in mounts
    assert mounts[env["ATELIER_FAQ_DIR"]].startswith("${ATELIER_FAQ_HOST_DIR:-./knowledge/faq}")
    assert not mounts[env["ATELIER_FAQ_DIR"]].endswith(":ro")  # the app appends entries too
    assert "/srv/shop/files" in mounts


def test_the_https_proxy_forwards_to_the_app_and_is_the_only_trusted_forwarder() -> None:
    proxy = SERVICES["proxy"]
    caddyfile = REPO / "docker" / "Caddyfile"
    assert "./docker/Caddyfile:/etc/caddy/Caddyfile:ro" in proxy["volumes"]
    assert "reverse_proxy app:8000" in caddyfile.read_text()
    assert "{$ATELIER_DOMAIN}" in caddyfile.read_text()
    address = proxy["networks"]["default"]["ipv4_address"]
    assert SERVICES["app"]["environment"]["FORWARDED_ALLOW_IPS"] == address
    default_address = re.fullmatch(r"\$\{ATELIER_PROXY_ADDRESS:-(.+)\}", address).group(1)
    subnet = COMPOSE["networks"]["default"]["ipam"]["config"][0]["subnet"]
    default_subnet = re.fullmatch(r"\$\{ATELIER_NETWORK_SUBNET:-(.+)\}", subnet).group(1)
    assert ipaddress.ip_address(default_address) in ipaddress.ip_network(default_subnet)
    assert proxy["depends_on"] == {"app": {"condition": "service_healthy"}}


def test_dockerignore_keeps_secrets_and_local_state_out_of_the_images() -> None:
    ignored = (REPO / ".dockerignore").read_text().splitlines()
    for pattern in (".env", ".git", "var/", "bot/models/", "**/__pycache__/"):
        assert pattern in ignored, pattern
    for service in SERVICES.values():  # nothing a Dockerfile copies is ignored
        if "build" not in service:
            continue
        text = (REPO / service["build"]["dockerfile"]).read_text()
        for source in re.findall(r"^COPY (?!--)(\S+)", text, flags=re.M):
            top = source.split("/")[0]
            assert f"{top}/" not in ignored and top not in ignored, source


def test_the_app_is_healthy_when_ready_and_start_up_has_no_dependency_cycle() -> None:
    assert "/ready" in " ".join(SERVICES["app"]["healthcheck"]["test"])
    # /ready needs Rasa and the actions: neither may wait for the app's health
    graph = {name: set(service.get("depends_on", {})) for name, service in SERVICES.items()}
    done: set[str] = set()
    while len(done) < len(graph):
        free = {name for name, needs in graph.items() if name not in done and needs <= done}
        assert free, f"dependency cycle among {set(graph) - done}"
        done |= free


def test_app_and_actions_log_json_with_the_shared_logging_config() -> None:
    config = "commerce_core/observability/logging.yml"
    assert (REPO / config).exists()
    app, actions = SERVICES["app"]["command"], SERVICES["actions"]["command"]
    assert app[app.index("--log-config") + 1] == config
    assert actions[actions.index("--logging-config_file") + 1] == config
