"""Log groups encrypted with a KMS key whose policy lets CloudWatch Logs use it for them alone.

CloudWatch Logs uses a log group's key under the encryption context ``aws:logs:arn`` = the log
group's ARN, so the key policy can name the groups it serves
(``kms:EncryptionContext:aws:logs:arn``). It cannot name them by reference: a log group that
uses the key depends on the key, and a key policy that read the group's ARN would close a cycle.
So the name is set here, in two parts:

- a prefix known at synth: the owner's unique path in the app (stack name, construct path and a
  hash, as ``Names.unique_resource_name`` writes them) and the log group's id;
- a suffix known at deploy: the first group of the stack's UUID, so a group that outlives its
  stack (``RemovalPolicy.RETAIN``) never fails the next deployment with "already exists".

The key policy allows that prefix followed by anything (``ArnLike``). An exact ARN would put the
stack's ID into the key policy, and a key kept in another stack (a shared cluster stack) would
then depend on the stack whose log group depends on it. No other construct of any app writes
names under the prefix, which ends in the owner's path hash.
"""

from __future__ import annotations

from typing import Optional

from aws_cdk import (
    Annotations,
    Fn,
    Names,
    RemovalPolicy,
    Stack,
    aws_iam as iam,
    aws_kms as kms,
    aws_logs as logs,
)
from constructs import Construct

#: What CloudWatch Logs does with a log group's key (the actions AWS documents for it).
CLOUDWATCH_LOGS_KEY_ACTIONS = (
    "kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*",
)

# Log group names allow [A-Za-z0-9_/.#-] and 512 characters; the suffix adds 9.
_NAME_CHARACTERS = "/_.-"  # "-" last: CDK puts these into a regex character class
_PREFIX_MAX_CHARS = 255


def log_group(
    scope: Construct,
    construct_id: str,
    *,
    encryption_key: Optional[kms.IKey],
    retention: logs.RetentionDays,
    removal_policy: RemovalPolicy,
) -> logs.LogGroup:
    """A log group; with ``encryption_key``, named so the key's policy can allow it and no other.

    Without a key the group keeps a name CloudFormation generates and CloudWatch Logs' own
    encryption. With one, the key's policy gets a statement letting CloudWatch Logs use the key
    for this group's name prefix only; an imported key's policy cannot be changed from here, and
    the group carries a warning saying what that policy must allow.
    """
    if encryption_key is None:
        return logs.LogGroup(scope, construct_id, retention=retention, removal_policy=removal_policy)
    stack = Stack.of(scope)
    prefix = name_prefix(scope, construct_id)
    stack_uuid = Fn.select(2, Fn.split("/", stack.stack_id))
    group = logs.LogGroup(
        scope,
        construct_id,
        log_group_name=Fn.join("", [prefix, Fn.select(0, Fn.split("-", stack_uuid))]),
        encryption_key=encryption_key,
        retention=retention,
        removal_policy=removal_policy,
    )
    arn_pattern = f"arn:{stack.partition}:logs:{stack.region}:{stack.account}:log-group:{prefix}*"
    added = encryption_key.add_to_resource_policy(
        iam.PolicyStatement(
            principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
            actions=list(CLOUDWATCH_LOGS_KEY_ACTIONS),
            resources=["*"],
            conditions={"ArnLike": {"kms:EncryptionContext:aws:logs:arn": arn_pattern}},
        )
    )
    if not added.statement_added:
        Annotations.of(group).add_warning_v2(
            "constructs-lib:importedLogKey",
            "The log group's KMS key is imported, so its policy was not changed: it must let "
            f"logs.<region>.amazonaws.com use the key for log groups named {prefix}*.",
        )
    return group


def name_prefix(scope: Construct, construct_id: str) -> str:
    """The part of an encrypted log group's name known at synth: ``/<unique path>/<id>-``."""
    owner = Names.unique_resource_name(
        scope, max_length=_PREFIX_MAX_CHARS, separator="/", allowed_special_characters=_NAME_CHARACTERS
    )
    return f"/{owner}/{construct_id}-"
