"""The lab's context knobs: defaults, strings from `-c`, and one-line errors naming the knob."""

import pytest

from stacks.settings import LabSettings, SettingsError


def settings(**context):
    return LabSettings.from_context(context.get)


def test_defaults():
    assert settings() == LabSettings(2, "t3.small", 2, 4, frozenset({"static", "dynamic"}))


def test_strings_from_the_command_line_are_parsed():
    parsed = settings(**{"lab:instanceCount": "3", "lab:staticDesiredCount": "3", "lab:labs": "static"})
    assert (parsed.instance_count, parsed.static_desired_count, parsed.labs) == (3, 3, frozenset({"static"}))


def test_static_count_defaults_to_one_task_per_instance():
    assert settings(**{"lab:instanceCount": 4}).static_desired_count == 4


@pytest.mark.parametrize(
    "context, message",
    [
        ({"lab:instanceCount": "two"}, "lab:instanceCount='two' is not an integer; allowed: an integer from 1 to 10."),
        ({"lab:instanceCount": 0}, "lab:instanceCount=0 is out of range; allowed: an integer from 1 to 10."),
        ({"lab:instanceCount": True}, "lab:instanceCount=True is not an integer"),
        (
            {"lab:staticDesiredCount": 3},
            "lab:staticDesiredCount=3 is out of range; allowed: an integer from 0 to 2 (static host port 8080 "
            "fits one task per instance and lab:instanceCount is 2).",
        ),
        ({"lab:dynamicDesiredCount": 51}, "lab:dynamicDesiredCount=51 is out of range"),
        ({"lab:instanceType": "large"}, "lab:instanceType='large' is not an EC2 instance type"),
        ({"lab:labs": "static,awsvpc"}, "lab:labs='static,awsvpc' is not a list of labs; allowed: a comma-separated subset of static, dynamic"),
        ({"lab:labs": ""}, "at least one"),
    ],
)
def test_bad_knobs_stop_with_one_line_naming_the_knob(context, message):
    with pytest.raises(SettingsError) as error:
        settings(**context)
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_cdk_json_leaves_the_static_count_to_follow_the_instance_count():
    from tests.conftest import CDK_CONTEXT

    context = {**CDK_CONTEXT, "lab:instanceCount": "3"}
    assert LabSettings.from_context(context.get).static_desired_count == 3
