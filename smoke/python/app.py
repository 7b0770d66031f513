"""Smoke test of the Python binding: synthesize VpcCniOwnership on an aws-eks-v2 cluster and check the template."""
import aws_cdk as cdk
from aws_cdk import assertions
from aws_cdk import aws_eks_v2 as eks

from cdk_vpc_cni_ownership import ClusterTarget, CniAction, CrdPolicy, OwnedByOthers, VpcCniOwnership

app = cdk.App()
stack = cdk.Stack(app, "Smoke", env=cdk.Environment(account="111111111111", region="eu-west-1"))
cluster = eks.Cluster(
    stack,
    "Cluster",
    version=eks.KubernetesVersion.V1_33,
    default_capacity_type=eks.DefaultCapacityType.NODEGROUP,
    default_capacity=0,
)
cni = VpcCniOwnership(
    stack,
    "VpcCni",
    cluster=ClusterTarget.from_eks_v2_cluster(cluster),
    action=CniAction.remove(crd_policy=CrdPolicy.KEEP),
    if_owned_by_others=OwnedByOthers.SKIP,
)
cdk.CfnOutput(stack, "PreviousOwner", value=cni.previous_owner)

template = assertions.Template.from_stack(stack)
resources = template.find_resources("Custom::VpcCniOwnership")
assert len(resources) == 1, resources
props = next(iter(resources.values()))["Properties"]
# Each action field is a property of its own.
assert {k: props[k] for k in ("ActionType", "CrdPolicy")} == {"ActionType": "REMOVE", "CrdPolicy": "KEEP"}, props
assert "Action" not in props, props
assert props["IfOwnedByOthers"] == "SKIP", props
assert props["DryRun"] == "false", props
cluster_id = next(iter(template.find_resources("AWS::EKS::Cluster")))
assert props["ClusterName"] == {"Ref": cluster_id}, props
template.has_resource_properties("AWS::Lambda::Function", {"Runtime": "nodejs24.x", "Handler": "index.handler"})
print("python smoke: VpcCniOwnership synthesized with", props["ActionType"], props["CrdPolicy"])
