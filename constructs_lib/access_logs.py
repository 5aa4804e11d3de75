"""Load balancer access logs to S3 in a region-agnostic stack.

CDK's ``log_access_logs`` needs a concrete region to pick who delivers the logs. Regions opened
before August 2022 deliver from a regional Elastic Load Balancing account; later ones from the
``logdelivery.elasticloadbalancing.amazonaws.com`` service principal. Here the template decides
at deploy time: a condition on ``AWS::Region`` picks the regional account where there is one.
"""

from __future__ import annotations

from aws_cdk import (
    Aws,
    CfnCondition,
    CfnMapping,
    Fn,
    ICfnConditionExpression,
    Stack,
    Token,
    aws_elasticloadbalancingv2 as elbv2,
    aws_iam as iam,
    aws_s3 as s3,
)
from aws_cdk.region_info import RegionInfo

LOG_DELIVERY_SERVICE = "logdelivery.elasticloadbalancing.amazonaws.com"
_MAPPING_ID = "ElbLogDeliveryAccounts"
_CONDITION_ID = "ElbLogDeliveryFromAccount"
_FN_OR_LIMIT = 10


def enable_access_logs(load_balancer: elbv2.ApplicationLoadBalancer, bucket: s3.IBucket) -> None:
    """Send the balancer's access logs to ``bucket``, granting the right deliverer for the region."""
    stack = Stack.of(load_balancer)
    if not Token.is_unresolved(stack.region):
        load_balancer.log_access_logs(bucket)
        return
    mapping, condition = _regional_accounts(stack)
    regional_deliverer = Fn.join(
        "", ["arn:", Aws.PARTITION, ":iam::", mapping.find_in_map(Aws.REGION, "account"), ":root"]
    )
    # Outside the legacy regions the first principal falls back to this account, which owns the
    # bucket anyway; the service principal does the delivering there.
    own_account = Fn.join("", ["arn:", Aws.PARTITION, ":iam::", Aws.ACCOUNT_ID, ":root"])
    deliverer = Fn.condition_if(condition.logical_id, regional_deliverer, own_account).to_string()
    bucket.add_to_resource_policy(
        iam.PolicyStatement(
            sid="AllowElbLogDelivery",
            principals=[iam.ArnPrincipal(deliverer), iam.ServicePrincipal(LOG_DELIVERY_SERVICE)],
            actions=["s3:PutObject"],
            resources=[bucket.arn_for_objects(f"AWSLogs/{Aws.ACCOUNT_ID}/*")],
        )
    )
    load_balancer.set_attribute("access_logs.s3.enabled", "true")
    load_balancer.set_attribute("access_logs.s3.bucket", bucket.bucket_name)
    if bucket.policy is not None:
        load_balancer.node.add_dependency(bucket.policy)


def _regional_accounts(stack: Stack) -> tuple[CfnMapping, CfnCondition]:
    """One mapping and one condition per stack, shared by every balancer in it."""
    existing = stack.node.try_find_child(_MAPPING_ID)
    if existing is not None:
        return existing, stack.node.find_child(_CONDITION_ID)  # type: ignore[return-value]
    accounts = {
        region.name: {"account": region.elbv2_account}
        for region in RegionInfo.regions
        if region.elbv2_account
    }
    mapping = CfnMapping(stack, _MAPPING_ID, mapping=accounts)
    checks = [Fn.condition_equals(Aws.REGION, name) for name in sorted(accounts)]
    condition = CfnCondition(stack, _CONDITION_ID, expression=_any_of(checks))
    return mapping, condition


def _any_of(checks: list[ICfnConditionExpression]) -> ICfnConditionExpression:
    """Fn::Or takes 2-10 conditions: nest groups of ten."""
    while len(checks) > _FN_OR_LIMIT:
        checks = [
            Fn.condition_or(*checks[i : i + _FN_OR_LIMIT]) if len(checks[i : i + _FN_OR_LIMIT]) > 1
            else checks[i]
            for i in range(0, len(checks), _FN_OR_LIMIT)
        ]
    return Fn.condition_or(*checks) if len(checks) > 1 else checks[0]
