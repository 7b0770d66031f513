package smoke;

import io.github.cdkvpccniownership.ClusterTarget;
import io.github.cdkvpccniownership.CniAction;
import io.github.cdkvpccniownership.AdoptIntoHelmOptions;
import io.github.cdkvpccniownership.VpcCniOwnership;
import java.util.Map;
import software.amazon.awscdk.App;
import software.amazon.awscdk.Environment;
import software.amazon.awscdk.Stack;
import software.amazon.awscdk.StackProps;
import software.amazon.awscdk.assertions.Template;
import software.amazon.awscdk.services.eks_v2.Cluster;
import software.amazon.awscdk.services.eks_v2.DefaultCapacityType;
import software.amazon.awscdk.services.eks_v2.KubernetesVersion;

/** Smoke test of the Java binding: synthesize VpcCniOwnership on an aws-eks-v2 cluster and check the template. */
public final class SmokeApp {
    public static void main(final String[] args) {
        App cdkApp = new App();
        Stack stack = new Stack(cdkApp, "Smoke", StackProps.builder()
            .env(Environment.builder().account("111111111111").region("eu-west-1").build()).build());
        Cluster cluster = Cluster.Builder.create(stack, "Cluster")
            .version(KubernetesVersion.V1_33)
            .defaultCapacityType(DefaultCapacityType.NODEGROUP)
            .defaultCapacity(0)
            .build();
        VpcCniOwnership.Builder.create(stack, "VpcCni")
            .cluster(ClusterTarget.fromEksV2Cluster(cluster))
            .action(CniAction.adoptIntoHelm(AdoptIntoHelmOptions.builder().releaseName("vpc-cni").build()))
            .build();

        Template template = Template.fromStack(stack);
        Map<String, Map<String, Object>> resources = template.findResources("Custom::VpcCniOwnership");
        if (resources.size() != 1) throw new AssertionError("expected one Custom::VpcCniOwnership, got " + resources);
        @SuppressWarnings("unchecked")
        Map<String, Object> props = (Map<String, Object>) resources.values().iterator().next().get("Properties");
        // Each action field is a property of its own.
        String action = props.get("ActionType") + " " + props.get("ReleaseName") + " " + props.get("ReleaseNamespace") + " " + props.get("FieldManager");
        if (!"ADOPT vpc-cni kube-system helm".equals(action)) throw new AssertionError("action properties: " + props);
        if (props.containsKey("Action")) throw new AssertionError("no single Action property expected: " + props);
        if (!"FAIL".equals(props.get("IfOwnedByOthers"))) throw new AssertionError("IfOwnedByOthers: " + props);
        template.hasResourceProperties("AWS::Lambda::Function", Map.of("Runtime", "nodejs24.x"));
        System.out.println("java smoke: VpcCniOwnership synthesized with " + action);
    }
}
