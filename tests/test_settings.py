"""The lab's context knobs: defaults, strings from `-c`, JSON from cdk.json, and one-line errors
naming the knob for anything else."""

import pytest
from hypothesis import given, settings as hypothesis_settings, strategies as st

from stacks.settings import KNOBS, LabSettings, SettingsError, check_knob_names, parse_compliance, parse_instance_type


def settings(**context):
    return LabSettings.from_app_context(context)


def error_of(**context):
    with pytest.raises(SettingsError) as error:
        settings(**context)
    message = str(error.value)
    assert "\n" not in message and len(message) < 300, message
    return message


def test_defaults():
    assert settings() == LabSettings(2, "t3.small", 2, 4, frozenset({"static", "dynamic"}))


def test_strings_from_the_command_line_are_parsed():
    parsed = settings(**{"lab:instanceCount": "3", "lab:staticDesiredCount": "3", "lab:labs": "static"})
    assert (parsed.instance_count, parsed.static_desired_count, parsed.labs) == (3, 3, frozenset({"static"}))


def test_json_values_from_cdk_json_are_parsed():
    parsed = settings(**{"lab:instanceCount": 3, "lab:dynamicDesiredCount": 0, "lab:labs": ["dynamic", "static"]})
    assert (parsed.instance_count, parsed.dynamic_desired_count, parsed.labs) == (3, 0, frozenset(LabSettings().labs))


def test_static_count_defaults_to_one_task_per_instance():
    assert settings(**{"lab:instanceCount": 4}).static_desired_count == 4


@pytest.mark.parametrize(
    "context, message",
    [
        ({"lab:instanceCount": "two"}, "lab:instanceCount='two' is not an integer; allowed: an integer from 1 to 10."),
        ({"lab:instanceCount": 0}, "lab:instanceCount=0 is out of range; allowed: an integer from 1 to 10."),
        ({"lab:instanceCount": "-1"}, "lab:instanceCount=-1 is out of range"),
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
    assert message in error_of(**context)


@pytest.mark.parametrize(
    "raw, shown",
    [
        ("\u0663", "'\u0663'"),          # ARABIC-INDIC DIGIT THREE: int() and \d would read 3
        ("\uff13", "'\uff13'"),          # FULLWIDTH DIGIT THREE
        ("3\n", "'3\\n'"),               # $ in a regex matches before a trailing newline
        (" 3", "' 3'"),
        ("+3", "'+3'"),
        ("3.0", "'3.0'"),
        ("0x3", "'0x3'"),
        ("3_0", "'3_0'"),                # int() accepts underscores
        (True, "True"),
        (False, "False"),
        (2.5, "2.5"),
        (3.0, "3.0"),
        (["3"], "['3']"),
        ({"n": 3}, "<a JSON object>"),
    ],
)
def test_integer_knobs_take_ascii_digits_and_json_integers_only(raw, shown):
    assert error_of(**{"lab:instanceCount": raw}) == (
        f"lab:instanceCount={shown} is not an integer; allowed: an integer from 1 to 10."
    )


def test_a_huge_integer_string_is_one_line_not_a_traceback():
    # int() of more than 4,300 digits raises ValueError; the length bound comes first
    message = error_of(**{"lab:instanceCount": "7" * 5000})
    assert message == (
        "lab:instanceCount='77777777777777777777'... (5000 characters) is not an integer; "
        "allowed: an integer from 1 to 10."
    )


def test_a_huge_json_integer_is_out_of_range_and_shown_short():
    assert error_of(**{"lab:dynamicDesiredCount": 10**400}) == (
        "lab:dynamicDesiredCount=<an integer of about 401 digits> is out of range; allowed: an integer from 0 to 50."
    )


def test_a_knob_without_a_value_is_an_error():
    # cdk.json numbers beyond a double (1e400) arrive from the CDK as null
    assert error_of(**{"lab:instanceCount": None}) == (
        "lab:instanceCount has no value (null, or a number too large to read); remove it or give it a value."
    )


def test_control_characters_are_escaped_in_messages():
    message = error_of(**{"lab:instanceType": "t3.small\x1b[2J"})
    assert "\x1b" not in message and "\\x1b[2J" in message


@pytest.mark.parametrize(
    "raw",
    [["static", 1], ["static", None], ["static", ["dynamic"]], ["static", "static"], ["static", "dynamic", "static"],
     "static,,dynamic", "static,static", 1, True, {"static": True}, "s" * 100],
)
def test_labs_knob_refuses_anything_but_distinct_lab_names(raw):
    assert "is not a list of labs; allowed: a comma-separated subset of static, dynamic, at least one, each once." in (
        error_of(**{"lab:labs": raw})
    )


def test_labs_knob_shows_a_mixed_list_as_it_is():
    assert error_of(**{"lab:labs": ["static", 1]}).startswith("lab:labs=['static', 1] is not a list of labs")


@pytest.mark.parametrize("value", ["t3.small", "m7i.large", "t4g.medium", "c6gn.16xlarge", "m7i-flex.large",
                                   "m8gd.metal-24xl", "x2iedn.32xlarge", "a1.medium", "r7iz.metal-16xl", "t2.nano"])
def test_instance_types_of_ec2_form_pass(value):
    assert parse_instance_type(value) == value


@pytest.mark.parametrize("value", ["t9.small", "mac2.metal", "t2.8xlarge", "c4.metal"])
def test_instance_types_of_ec2_form_that_do_not_exist_are_refused(value):
    # GIVEN a name of EC2's form that no EC2 instance type has (or a macOS type, where ECS cannot run)
    with pytest.raises(SettingsError, match="is not an EC2 instance type ECS can run on; allowed: .* known types: EC2"):
        parse_instance_type(value)


@pytest.mark.parametrize("value", ["foo.bar", "t3.Small", "T3.small", "t3", "t3.", ".small", "t3.small ",
                                   "t\u0663.small", "t3..small", "t3.small.large", "t123.small", "u-6tb1.metal",
                                   "t3.0xlarge", "t3.smal", "t3.metal-xl", 3, None, ["t3.small"], "t3.small" * 10])
def test_instance_types_outside_the_form_are_refused(value):
    with pytest.raises(SettingsError, match="is not an EC2 instance type; allowed: a lowercase EC2 instance type"):
        parse_instance_type(value)


def test_every_accepted_instance_type_is_one_cdk_can_read():
    # CDK picks the AMI's architecture from the type; a form it cannot read fails deep in jsii
    from aws_cdk import aws_ec2 as ec2

    for value in ["t3.small", "m7i-flex.large", "m8gd.metal-24xl", "c6gn.16xlarge", "x2iedn.32xlarge"]:
        assert ec2.InstanceType(parse_instance_type(value)).architecture is not None


@given(st.text(max_size=40))
@hypothesis_settings(max_examples=300, deadline=None)
def test_any_text_as_any_knob_is_a_value_or_one_line(text):
    for knob in KNOBS:
        try:
            settings(**{knob: text})
        except SettingsError as error:
            assert "\n" not in str(error) and str(error).startswith(knob)


def test_an_unknown_lab_knob_names_the_known_ones():
    assert error_of(**{"lab:instancecount": 3}) == (
        "unknown knob 'lab:instancecount' (did you mean lab:instanceCount?); known knobs: lab:instanceCount, "
        "lab:instanceType, lab:staticDesiredCount, lab:dynamicDesiredCount, lab:labs."
    )
    assert error_of(**{"lab:flavour": "x"}).startswith("unknown knob 'lab:flavour'; known knobs: lab:instanceCount")
    assert error_of(**{"LAB:labs": "static"}).startswith("unknown knob 'LAB:labs' (did you mean lab:labs?)")


def test_other_context_keys_are_not_the_labs_business():
    check_knob_names(["@aws-cdk/core:checkSecretUsage", "compliance", "aws:cdk:enable-path-metadata", *KNOBS])


def test_compliance_knob():
    packs = ("nist80053r5",)
    assert parse_compliance(None, packs) is None
    assert parse_compliance("nist80053r5", packs) == "nist80053r5"
    for raw, shown in [("pci", "'pci'"), (["nist80053r5"], "['nist80053r5']"), (True, "True")]:
        with pytest.raises(SettingsError) as error:
            parse_compliance(raw, packs)
        assert str(error.value) == f"compliance={shown} is not a known pack; allowed: nist80053r5."


def test_cdk_json_knobs_are_known_and_valid():
    from tests.conftest import CDK_CONTEXT

    settings(**CDK_CONTEXT)
    context = {**CDK_CONTEXT, "lab:instanceCount": "3"}
    assert LabSettings.from_app_context(context).static_desired_count == 3


def test_from_context_reads_through_a_getter():
    # the getter form (app.node.try_get_context) is still what a single knob lookup uses
    assert LabSettings.from_context({"lab:instanceCount": "3"}.get).instance_count == 3
