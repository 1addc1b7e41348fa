"""Every hookspec is documented in one line and exercised by a test named test_hook_<name>."""
import inspect

import pytest

from zoo import DatasetSpec, ModelSpec, RecipeSpec, hookimpl
from zoo.plugins import PluginManager, PluginStatus, hookspecs

HOOKSPECS = [name for name, fn in vars(hookspecs).items() if name.startswith("zoo_") and callable(fn)]


class Plugin:
    @hookimpl
    def zoo_datasets(self):
        return [DatasetSpec(name="t/data", summary="d", factory="m:f", task="classification")]

    @hookimpl
    def zoo_models(self):
        return [ModelSpec(name="t/model", summary="m", factory="m:f")]

    @hookimpl
    def zoo_recipes(self):
        return [RecipeSpec(name="t/recipe", summary="r", dataset="t/data", model="t/model", task="classification")]


@pytest.fixture
def manager():
    manager = PluginManager()
    manager.add_plugin(Plugin(), PluginStatus(name="zoo-test"))
    return manager


def test_hook_zoo_datasets(manager):
    assert manager.registry.get("t/data").kind == "dataset"
    assert manager.registry.get("t/data").provider == "zoo-test"


def test_hook_zoo_models(manager):
    assert manager.registry.get("t/model").kind == "model"


def test_hook_zoo_recipes(manager):
    assert manager.registry.get("t/recipe").kind == "recipe"
    assert manager.statuses[0].contributed == ["t/data", "t/model", "t/recipe"]


@pytest.mark.parametrize("name", HOOKSPECS)
def test_every_hookspec_is_documented_and_tested(name):
    doc = inspect.getdoc(getattr(hookspecs, name)) or ""
    assert doc and "\n" not in doc.strip(), f"hookspec {name} needs a one-line docstring"
    assert f"test_hook_{name}" in globals(), f"hookspec {name} has no test_hook_{name}"


def test_hookspecs_are_validated():
    class Wrong:
        @hookimpl
        def zoo_datasets(self, unexpected):
            return []

    class Unknown:
        @hookimpl
        def zoo_widgets(self):
            return []

    manager = PluginManager()
    manager.add_plugin(Wrong(), PluginStatus(name="zoo-wrong"))
    manager.add_plugin(Unknown(), PluginStatus(name="zoo-unknown"))
    errors = {s.name: s.error for s in manager.statuses}
    assert "unexpected" in errors["zoo-wrong"]
    assert "zoo_widgets" in errors["zoo-unknown"]


def test_a_hook_returning_the_wrong_thing_is_reported():
    class Bad:
        @hookimpl
        def zoo_models(self):
            return ["not a spec"]

    manager = PluginManager()
    manager.add_plugin(Bad(), PluginStatus(name="zoo-bad"))
    assert manager.statuses[0].status == "failed"
    assert "not a zoo entry" in manager.statuses[0].error


class CommandPlugin:
    @hookimpl
    def zoo_commands(self, cli):
        import click

        @cli.command("hello")
        @click.argument("name")
        def hello(name):
            """Say hello."""
            click.echo(f"hello {name}")

    @hookimpl
    def zoo_predict_options(self):
        import click
        return [click.Option(["--temperature"], type=float, help="softmax temperature")]


def fresh_cli():
    import click

    from zoo.cli import training

    @click.group()
    def cli():
        pass

    predict = click.Command("predict", params=list(training.predict.params), callback=training.predict.callback)
    cli.add_command(predict)
    return cli


def test_hook_zoo_commands():
    from click.testing import CliRunner

    manager = PluginManager()
    manager.add_plugin(CommandPlugin(), PluginStatus(name="zoo-cmd"))
    cli = fresh_cli()
    manager.extend_cli(cli)
    assert CliRunner().invoke(cli, ["hello", "zoo"]).output == "hello zoo\n"


def test_hook_zoo_predict_options():
    manager = PluginManager()
    manager.add_plugin(CommandPlugin(), PluginStatus(name="zoo-cmd"))
    cli = fresh_cli()
    manager.extend_cli(cli)
    assert "--temperature" in [o for p in cli.commands["predict"].params for o in getattr(p, "opts", [])]


def test_a_plugin_whose_cli_hook_fails_is_reported_and_the_others_keep_theirs():
    class Clashing:
        @hookimpl
        def zoo_predict_options(self):
            import click
            return [click.Option(["--json"], is_flag=True)]  # zoo predict has --json already

    class Broken:
        @hookimpl
        def zoo_commands(self, cli):
            raise RuntimeError("boom")

    manager = PluginManager()
    for name, plugin in (("zoo-clash", Clashing()), ("zoo-broken", Broken()), ("zoo-cmd", CommandPlugin())):
        manager.add_plugin(plugin, PluginStatus(name=name))
    cli = fresh_cli()
    manager.extend_cli(cli)
    errors = {s.name: s.error for s in manager.statuses}
    assert "zoo predict already has --json" in errors["zoo-clash"]
    assert "zoo_commands failed: RuntimeError: boom" in errors["zoo-broken"]
    assert "hello" in cli.commands and errors["zoo-cmd"] == ""
