"""Where and how every process connects to Temporal: the SDK's environment
configuration (TEMPORAL_* variables, temporal.toml profiles) over sopflow's dev
defaults. The dev server cannot serve TLS, so these check the options each
setting produces, down to what goes on the wire (https or not, the API key)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from temporalio.service import ConnectConfig, TLSConfig

from sopflow.config import Settings
from sopflow.devstack import dev_temporal_environ
from sopflow.temporal import connect_options

REPO = Path(__file__).resolve().parents[2]
DEV = Settings(temporal_port=7299)
NO_FILE = {"TEMPORAL_CONFIG_FILE": "/nonexistent/temporal.toml"}


def wire(options: dict) -> tuple[str, str | None]:
    """The URL scheme the SDK dials and the API key it sends, for these options."""
    connect = {k: v for k, v in options.items() if k != "namespace"}
    bridge = ConnectConfig(**connect)._to_bridge_config()
    return bridge.target_url.split("://")[0], bridge.api_key


@pytest.fixture
def certs(tmp_path: Path) -> Path:
    for name, text in {
        "client.pem": "CLIENT CERT",
        "client.key": "CLIENT KEY",
        "ca.pem": "CA",
    }.items():
        (tmp_path / name).write_text(text)
    return tmp_path


def test_nothing_configured_is_the_dev_stack_in_plain_text() -> None:
    options = connect_options(DEV, environ=NO_FILE)
    assert options == {"target_host": "127.0.0.1:7299", "namespace": "default"}
    assert wire(options) == ("http", None)


def test_sopflow_settings_are_the_defaults() -> None:
    settings = Settings(temporal_address="temporal:7233", temporal_namespace="orders")
    assert connect_options(settings, environ=NO_FILE) == {
        "target_host": "temporal:7233",
        "namespace": "orders",
    }


def test_cloud_with_an_api_key_from_the_environment() -> None:
    environ = {
        **NO_FILE,
        "TEMPORAL_ADDRESS": "us-east-1.aws.api.temporal.io:7233",
        "TEMPORAL_NAMESPACE": "sopflow-prod.a2b3c",
        "TEMPORAL_API_KEY": "secret-key",
    }
    options = connect_options(DEV, environ=environ)
    assert options["target_host"] == "us-east-1.aws.api.temporal.io:7233"
    assert options["namespace"] == "sopflow-prod.a2b3c"
    assert options["api_key"] == "secret-key"
    # An API key turns TLS on without a word about it.
    assert wire(options) == ("https", "secret-key")


def test_mtls_with_certificate_server_name_and_ca_from_the_environment(certs: Path) -> None:
    environ = {
        **NO_FILE,
        "TEMPORAL_ADDRESS": "temporal.internal:7233",
        "TEMPORAL_NAMESPACE": "sopflow",
        "TEMPORAL_TLS_CLIENT_CERT_PATH": str(certs / "client.pem"),
        "TEMPORAL_TLS_CLIENT_KEY_PATH": str(certs / "client.key"),
        "TEMPORAL_TLS_SERVER_CA_CERT_PATH": str(certs / "ca.pem"),
        "TEMPORAL_TLS_SERVER_NAME": "frontend.temporal.internal",
    }
    options = connect_options(DEV, environ=environ)
    assert options["target_host"] == "temporal.internal:7233"
    assert options["namespace"] == "sopflow"
    assert "api_key" not in options
    assert options["tls"] == TLSConfig(
        client_cert=b"CLIENT CERT",
        client_private_key=b"CLIENT KEY",
        server_root_ca_cert=b"CA",
        domain="frontend.temporal.internal",
    )
    assert wire(options) == ("https", None)


def test_a_profile_from_temporal_toml(certs: Path) -> None:
    config = certs / "temporal.toml"
    config.write_text(
        f"""
[profile.default]
address = "127.0.0.1:7233"

[profile.cloud]
address = "sopflow-prod.a2b3c.tmprl.cloud:7233"
namespace = "sopflow-prod.a2b3c"

[profile.cloud.tls]
client_cert_path = "{certs / "client.pem"}"
client_key_path = "{certs / "client.key"}"

[profile.selfhosted]
address = "temporal.internal:7233"
namespace = "sopflow"

[profile.selfhosted.tls]
client_cert_path = "{certs / "client.pem"}"
client_key_path = "{certs / "client.key"}"
server_ca_cert_path = "{certs / "ca.pem"}"
server_name = "frontend.temporal.internal"
"""
    )
    file = {"TEMPORAL_CONFIG_FILE": str(config)}

    cloud = connect_options(DEV, environ={**file, "TEMPORAL_PROFILE": "cloud"})
    assert cloud["target_host"] == "sopflow-prod.a2b3c.tmprl.cloud:7233"
    assert cloud["namespace"] == "sopflow-prod.a2b3c"
    assert cloud["tls"] == TLSConfig(client_cert=b"CLIENT CERT", client_private_key=b"CLIENT KEY")

    own = connect_options(DEV, environ={**file, "TEMPORAL_PROFILE": "selfhosted"})
    assert own["tls"].server_root_ca_cert == b"CA"
    assert own["tls"].domain == "frontend.temporal.internal"

    # The default profile gives the address only; the namespace is sopflow's.
    default = connect_options(Settings(temporal_namespace="orders"), environ=file)
    assert default == {"target_host": "127.0.0.1:7233", "namespace": "orders"}

    # A variable overrides its profile's value.
    moved = connect_options(
        DEV, environ={**file, "TEMPORAL_PROFILE": "cloud", "TEMPORAL_NAMESPACE": "sopflow-dr.a2b3c"}
    )
    assert moved["namespace"] == "sopflow-dr.a2b3c"
    assert moved["tls"].client_cert == b"CLIENT CERT"


def test_a_profile_that_is_not_there_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "temporal.toml"
    config.write_text('[profile.default]\naddress = "127.0.0.1:7233"\n')
    with pytest.raises(Exception, match="nope"):
        connect_options(
            DEV, environ={"TEMPORAL_CONFIG_FILE": str(config), "TEMPORAL_PROFILE": "nope"}
        )


def test_the_dev_stack_ignores_the_callers_temporal_configuration() -> None:
    caller = {
        "PATH": "/usr/bin",
        "TEMPORAL_ADDRESS": "sopflow-prod.a2b3c.tmprl.cloud:7233",
        "TEMPORAL_API_KEY": "secret-key",
        "TEMPORAL_PROFILE": "cloud",
        "TEMPORAL_TLS_CLIENT_CERT_PATH": "/etc/sopflow/client.pem",
    }
    env = dev_temporal_environ(caller, DEV)
    assert env["PATH"] == "/usr/bin"
    assert not {"TEMPORAL_API_KEY", "TEMPORAL_PROFILE", "TEMPORAL_TLS_CLIENT_CERT_PATH"} & set(env)
    options = connect_options(DEV, environ=env)
    assert options == {"target_host": "127.0.0.1:7299", "namespace": "default"}
    # And the way the stack's own process checks its server is up.
    assert connect_options(DEV, sdk_config=False) == options


def test_tests_see_no_temporal_configuration_of_their_runner() -> None:
    """What every test's worker, API and subprocess connects with: loopback only."""
    assert [n for n in os.environ if n.startswith("TEMPORAL_")] == ["TEMPORAL_CONFIG_FILE"]
    settings = Settings(temporal_address="127.0.0.1:7299")
    assert connect_options(settings) == {"target_host": "127.0.0.1:7299", "namespace": "default"}


def test_a_runner_with_cloud_settings_does_not_reach_the_tests(tmp_path: Path) -> None:
    """The check above, run by a pytest whose caller has a Cloud namespace in
    its environment and a default profile in its home directory."""
    home = tmp_path / "home"
    (home / ".config" / "temporalio").mkdir(parents=True)
    (home / ".config" / "temporalio" / "temporal.toml").write_text(
        '[profile.default]\naddress = "sopflow-prod.a2b3c.tmprl.cloud:7233"\napi_key = "home-key"\n'
    )
    env = {
        **os.environ,
        "HOME": str(home),
        "TEMPORAL_ADDRESS": "sopflow-prod.a2b3c.tmprl.cloud:7233",
        "TEMPORAL_NAMESPACE": "sopflow-prod.a2b3c",
        "TEMPORAL_API_KEY": "secret-key",
    }
    env.pop("TEMPORAL_CONFIG_FILE", None)
    test = f"{Path(__file__).relative_to(REPO)}::test_tests_see_no_temporal_configuration_of_their_runner"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            test,
            "-q",
            "-p",
            "no:cacheprovider",
            "--basetemp",
            str(tmp_path / "run"),
        ],  # fmt: skip
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr


def test_the_operations_guide_lists_every_search_attribute() -> None:
    from domain import search

    kinds = {
        "KEYWORD": "Keyword",
        "KEYWORD_LIST": "KeywordList",
        "DATETIME": "Datetime",
        "BOOL": "Bool",
        "TEXT": "Text",
    }
    ours = {key.name: kinds[key.indexed_value_type.name] for key in search.ALL}
    guide = (REPO / "docs" / "operations.md").read_text()
    section = guide.split("### Registering the search attributes", 1)[1]
    rows = re.findall(r"^\| `(\w+)` \| (\w+) \|$", section, re.MULTILINE)
    assert dict(rows) == ours
    assert len(rows) == len(ours)
    # The Cloud command names each one with its type too.
    assert set(re.findall(r"--sa (\w+=\w+)", section)) == {f"{k}={v}" for k, v in ours.items()}
