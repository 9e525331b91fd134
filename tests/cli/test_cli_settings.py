"""Settings from the environment and ``.env`` (igtoken.config.settings, igtoken.config.dotenv)."""

from __future__ import annotations

from pathlib import Path

import pytest

from igtoken.config.dotenv import parse_dotenv, read_dotenv
from igtoken.config.settings import Settings, known_variables, load_settings
from igtoken.core.exceptions import ConfigurationError
from igtoken.core.secret import Secret


def write_env(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "test.env"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_any_variable():
    """With nothing set, every setting has its documented default."""
    settings = load_settings({}, None)
    assert settings.database_url.startswith("sqlite:///")
    assert settings.database_url.endswith("igtoken/igtoken.db")
    assert settings.key_file.name == "keys.json"
    assert settings.key_file.parent != Path(settings.database_url.removeprefix("sqlite:///")).parent
    assert (settings.host, settings.port) == ("127.0.0.1", 8000)
    assert settings.keys is None and settings.admin_password is None
    assert (settings.sandbox, settings.dev, settings.worker) == (False, False, True)
    assert (settings.log_level, settings.log_format, settings.graph_version) == ("INFO", "text", "v25.0")
    assert settings.meta_base_url is None and settings.public_url is None
    assert settings.warnings == ()
    assert set(settings.sources.values()) == {"default"}


def test_environment_beats_dotenv_beats_default(tmp_path):
    """A variable in the environment wins over the .env file, which wins over the default."""
    env_file = write_env(tmp_path, "IGTOKEN_PORT=9001\nIGTOKEN_HOST=192.0.2.10\n")
    settings = load_settings({"IGTOKEN_PORT": "9002"}, env_file)
    assert settings.port == 9002
    assert settings.host == "192.0.2.10"
    assert settings.log_level == "INFO"
    assert settings.sources["IGTOKEN_PORT"] == "environment"
    assert settings.sources["IGTOKEN_HOST"] == ".env"
    assert settings.sources["IGTOKEN_LOG_LEVEL"] == "default"


def test_empty_value_counts_as_unset(tmp_path):
    """An empty environment value falls through to the .env file, and an empty .env value to the default."""
    env_file = write_env(tmp_path, "IGTOKEN_PORT=9001\nIGTOKEN_LOG_LEVEL=\n")
    settings = load_settings({"IGTOKEN_PORT": ""}, env_file)
    assert settings.port == 9001
    assert settings.log_level == "INFO"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1", True),
        ("true", True),
        ("YES", True),
        ("on", True),
        ("0", False),
        ("False", False),
        ("no", False),
        ("off", False),
    ],
)
def test_booleans(raw, expected):
    """Booleans accept 1/true/yes/on and 0/false/no/off in any case."""
    assert load_settings({"IGTOKEN_SANDBOX": raw}).sandbox is expected
    assert load_settings({"IGTOKEN_WORKER": raw}).worker is expected


@pytest.mark.parametrize(
    ("name", "raw", "expected_form"),
    [
        ("IGTOKEN_SANDBOX", "maybe", "1/true/yes/on or 0/false/no/off"),
        ("IGTOKEN_PORT", "http", "integer from 0 to 65535"),
        ("IGTOKEN_PORT", "70000", "integer from 0 to 65535"),
        ("IGTOKEN_PORT", "-1", "integer from 0 to 65535"),
        ("IGTOKEN_META_BASE_URL", "localhost:8080", "absolute http(s) URL"),
        ("IGTOKEN_META_BASE_URL", "ftp://example.com", "absolute http(s) URL"),
        ("IGTOKEN_META_BASE_URL", "http://[::1", "absolute http(s) URL"),
        ("IGTOKEN_META_BASE_URL", "http://example.com/?x=1", "absolute http(s) URL"),
        ("IGTOKEN_PUBLIC_URL", "https://", "absolute http(s) URL"),
        ("IGTOKEN_HOST", "http://192.0.2.10", "not a URL"),
        ("IGTOKEN_LOG_LEVEL", "chatty", "DEBUG, INFO, WARNING, ERROR, CRITICAL"),
        ("IGTOKEN_LOG_FORMAT", "xml", "json or text"),
        ("IGTOKEN_GRAPH_VERSION", "latest", "vNN.N"),
        ("IGTOKEN_DATABASE_URL", "mysql://root@db/x", "sqlite:///"),
        ("IGTOKEN_DATABASE_URL", "/var/lib/igtoken.db", "sqlite:///"),
    ],
)
def test_bad_values_name_the_variable_and_the_form(name, raw, expected_form):
    """A malformed value raises ConfigurationError naming the variable and the expected form."""
    with pytest.raises(ConfigurationError) as info:
        load_settings({name: raw})
    assert name in info.value.message
    assert expected_form in info.value.fix


def test_bad_value_in_dotenv_is_reported_too(tmp_path):
    """Validation applies to values coming from the .env file as well."""
    with pytest.raises(ConfigurationError, match="IGTOKEN_PORT"):
        load_settings({}, write_env(tmp_path, "IGTOKEN_PORT=eighty\n"))


def test_public_url_must_be_https_unless_dev():
    """A plain-http public URL is refused unless IGTOKEN_DEV allows it; trailing slashes are dropped."""
    with pytest.raises(ConfigurationError) as info:
        load_settings({"IGTOKEN_PUBLIC_URL": "http://127.0.0.1:8000"})
    assert "IGTOKEN_DEV" in info.value.fix
    dev = load_settings({"IGTOKEN_PUBLIC_URL": "http://127.0.0.1:8000/", "IGTOKEN_DEV": "1"})
    assert dev.public_url == "http://127.0.0.1:8000"
    assert (
        load_settings({"IGTOKEN_PUBLIC_URL": "https://tok.example.com/"}).public_url
        == "https://tok.example.com"
    )


def test_meta_base_url_and_graph_version_are_normalised():
    """The emulator base URL loses its trailing slash; a bare Graph version gains its 'v'."""
    settings = load_settings(
        {"IGTOKEN_META_BASE_URL": "http://127.0.0.1:9999/", "IGTOKEN_GRAPH_VERSION": "24.0"}
    )
    assert settings.meta_base_url == "http://127.0.0.1:9999"
    assert settings.graph_version == "v24.0"


def test_postgres_urls_get_the_shipped_driver():
    """postgres:// and postgresql:// become postgresql+psycopg://; explicit drivers are kept."""
    assert (
        load_settings({"IGTOKEN_DATABASE_URL": "postgres://u@h/db"}).database_url
        == "postgresql+psycopg://u@h/db"
    )
    assert load_settings({"IGTOKEN_DATABASE_URL": "postgresql://u@h/db"}).database_url == (
        "postgresql+psycopg://u@h/db"
    )
    url = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    assert load_settings({"IGTOKEN_DATABASE_URL": url}).database_url == url


def test_secrets_and_database_password_never_appear_in_repr():
    """Keys, the admin password and a database password are masked in repr and describe()."""
    settings = load_settings(
        {
            "IGTOKEN_KEYS": "k1:c2VjcmV0LWtleS1tYXRlcmlhbA",
            "IGTOKEN_ADMIN_PASSWORD": "hunter2-very-secret",
            "IGTOKEN_DATABASE_URL": "postgresql+psycopg://app:db-pass-123@db.internal/igtoken",
        }
    )
    assert isinstance(settings.keys, Secret) and settings.keys.reveal() == "k1:c2VjcmV0LWtleS1tYXRlcmlhbA"
    assert settings.database_url == "postgresql+psycopg://app:db-pass-123@db.internal/igtoken"
    shown = repr(settings) + str(settings.describe())
    for secret in ("c2VjcmV0LWtleS1tYXRlcmlhbA", "hunter2-very-secret", "db-pass-123"):
        assert secret not in shown
    assert "app:***@db.internal" in shown


def test_bad_database_url_error_hides_the_password():
    """The error for an unsupported database URL does not repeat its password."""
    with pytest.raises(ConfigurationError) as info:
        load_settings({"IGTOKEN_DATABASE_URL": "mysql://root:topsecret@db/x"})
    assert "topsecret" not in str(info.value)


def test_unknown_variables_are_warned_with_close_matches(tmp_path):
    """Misspelt IGTOKEN_* names, from either source, come back as warnings suggesting the right name."""
    env_file = write_env(tmp_path, "IGTOKEN_WROKER=0\nOTHER_APP_SETTING=1\n")
    settings = load_settings(
        {
            "IGTOKEN_SANBOX": "1",
            "IGTOKEN_TEST_DATABASE_URL": "sqlite://",
            "HOME": "/root",
            "IGTOKEN_ZZZ": "1",
        },
        env_file,
    )
    assert settings.sandbox is False
    assert len(settings.warnings) == 3
    by_name = {w.split()[2]: w for w in settings.warnings}
    assert "did you mean IGTOKEN_SANDBOX?" in by_name["IGTOKEN_SANBOX"]
    assert "from the environment" in by_name["IGTOKEN_SANBOX"]
    assert "did you mean IGTOKEN_WORKER?" in by_name["IGTOKEN_WROKER"]
    assert "from the .env" in by_name["IGTOKEN_WROKER"]
    assert "it is ignored" in by_name["IGTOKEN_ZZZ"]


def test_known_variables_cover_every_setting():
    """Every Settings field has an IGTOKEN_ variable, and the test-only database variable is known."""
    assert "IGTOKEN_TEST_DATABASE_URL" in known_variables()
    assert {f"IGTOKEN_{name.upper()}" for name in Settings.__dataclass_fields__} - {
        "IGTOKEN_WARNINGS",
        "IGTOKEN_SOURCES",
    } <= known_variables()


def test_missing_dotenv_file_is_a_configuration_error(tmp_path):
    """Asking for a .env file that does not exist is an error, not a silent default."""
    with pytest.raises(ConfigurationError, match="does not exist"):
        load_settings({}, tmp_path / "nope.env")


def test_dotenv_syntax():
    """Comments, export, quotes, escapes and trailing comments parse as a shell user expects."""
    text = """
# a comment
export IGTOKEN_HOST=192.0.2.10
IGTOKEN_A = plain value # trailing comment
IGTOKEN_B='single # not a comment'
IGTOKEN_C="double \\"quoted\\"\\nnext" # comment
IGTOKEN_D=http://x/#frag
IGTOKEN_E=
IGTOKEN_A=later wins
"""
    assert parse_dotenv(text) == {
        "IGTOKEN_HOST": "192.0.2.10",
        "IGTOKEN_A": "later wins",
        "IGTOKEN_B": "single # not a comment",
        "IGTOKEN_C": 'double "quoted"\nnext',
        "IGTOKEN_D": "http://x/#frag",
        "IGTOKEN_E": "",
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("IGTOKEN_KEYS supersecretvalue", "line 2: expected NAME=value"),
        ("9BAD=supersecretvalue", "line 2: expected NAME=value"),
        ("IGTOKEN_KEYS='supersecretvalue", "line 2: the single quote is not closed"),
        ('IGTOKEN_KEYS="supersecretvalue', "line 2: the double quote is not closed"),
        ('IGTOKEN_KEYS="supersecretvalue" tail', "line 2: unexpected text after the closing quote"),
    ],
)
def test_dotenv_errors_name_the_line_not_the_value(text, message):
    """A malformed .env line is an error naming file and line, never echoing the (maybe secret) value."""
    with pytest.raises(ConfigurationError) as info:
        parse_dotenv("# first\n" + text, source="prod.env")
    assert info.value.message == f"prod.env, {message}"
    assert "supersecretvalue" not in str(info.value)


def test_read_dotenv_rejects_non_utf8(tmp_path):
    """A .env file that is not UTF-8 text is a clear configuration error."""
    path = tmp_path / "bin.env"
    path.write_bytes(b"IGTOKEN_HOST=\xff\xfe\n")
    with pytest.raises(ConfigurationError, match="cannot read"):
        read_dotenv(path)


@pytest.mark.parametrize("raw", ["ftp://me:url-pass-99@example.com", "https://me:url-pass-99@example.com/"])
def test_url_errors_hide_embedded_passwords(raw):
    """A rejected base URL with credentials in it is not repeated with its password."""
    with pytest.raises(ConfigurationError) as info:
        load_settings({"IGTOKEN_META_BASE_URL": raw})
    assert "url-pass-99" not in str(info.value)


def test_webhook_urls_parse_and_require_a_secret():
    """IGTOKEN_WEBHOOK_URLS is a comma list of http(s) URLs and needs IGTOKEN_WEBHOOK_SECRET."""
    settings = load_settings(
        {
            "IGTOKEN_WEBHOOK_URLS": "https://a.example/hook, http://127.0.0.1:9/h",
            "IGTOKEN_WEBHOOK_SECRET": "s" * 32,
        },
        None,
    )
    assert settings.webhook_urls == ("https://a.example/hook", "http://127.0.0.1:9/h")
    assert "s" * 32 not in repr(settings)
    with pytest.raises(ConfigurationError, match="IGTOKEN_WEBHOOK_SECRET"):
        load_settings({"IGTOKEN_WEBHOOK_URLS": "https://a.example/hook"}, None)
    with pytest.raises(ConfigurationError, match="IGTOKEN_WEBHOOK_URLS"):
        load_settings({"IGTOKEN_WEBHOOK_URLS": "ftp://nope", "IGTOKEN_WEBHOOK_SECRET": "x"}, None)


@pytest.mark.parametrize("raw", ["abc", "0123456789abcdef short", "whsec_"])
def test_a_webhook_secret_the_worker_would_refuse_is_refused_by_the_settings(raw):
    """One rule for every door: a secret too short (or empty after whsec_) fails when read, naming it."""
    with pytest.raises(ConfigurationError) as caught:
        load_settings(
            {"IGTOKEN_WEBHOOK_URLS": "https://hooks.example/igtoken", "IGTOKEN_WEBHOOK_SECRET": raw}
        )
    assert "IGTOKEN_WEBHOOK_SECRET" in caught.value.message and "generate_secret" in (caught.value.fix or "")


def test_several_webhook_secrets_while_rotating_are_each_checked():
    good = "0123456789abcdef0123"
    settings = load_settings(
        {"IGTOKEN_WEBHOOK_URLS": "https://hooks.example/igtoken", "IGTOKEN_WEBHOOK_SECRET": f"{good} {good}x"}
    )
    assert settings.webhook_secret is not None and len(settings.webhook_secret.reveal().split()) == 2
