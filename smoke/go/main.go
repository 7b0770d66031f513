// Smoke test of the Go binding: synthesize VpcCniOwnership on an aws-eks-v2 cluster and check the template.
package main

import (
	"fmt"
	"os"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseksv2"
	"github.com/aws/jsii-runtime-go"
	cni "github.com/cdk-vpc-cni-ownership/cdk-vpc-cni-ownership-go/cdkvpccniownership"
)

func main() {
	defer jsii.Close()
	app := awscdk.NewApp(nil)
	stack := awscdk.NewStack(app, jsii.String("Smoke"), &awscdk.StackProps{
		Env: &awscdk.Environment{Account: jsii.String("111111111111"), Region: jsii.String("eu-west-1")},
	})
	cluster := awseksv2.NewCluster(stack, jsii.String("Cluster"), &awseksv2.ClusterProps{
		Version:             awseksv2.KubernetesVersion_V1_33(),
		DefaultCapacityType: awseksv2.DefaultCapacityType_NODEGROUP,
		DefaultCapacity:     jsii.Number(0),
	})
	cni.NewVpcCniOwnership(stack, jsii.String("VpcCni"), &cni.VpcCniOwnershipProps{
		Cluster: cni.ClusterTarget_FromEksV2Cluster(cluster, nil),
		Action:  cni.CniAction_Disable(),
		DryRun:  jsii.Bool(true),
	})

	template := assertions.Template_FromStack(stack, nil)
	resources := *template.FindResources(jsii.String("Custom::VpcCniOwnership"), nil)
	if len(resources) != 1 {
		fail("expected one Custom::VpcCniOwnership, got %v", resources)
	}
	for _, r := range resources {
		props := (*r)["Properties"].(map[string]interface{})
		// Each action field is a property of its own.
		if props["ActionType"] != "DISABLE" {
			fail("ActionType: %v", props["ActionType"])
		}
		if props["DryRun"] != "true" {
			fail("DryRun: %v", props["DryRun"])
		}
		fmt.Println("go smoke: VpcCniOwnership synthesized with", props["ActionType"])
	}
}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "go smoke: "+format+"\n", args...)
	os.Exit(1)
}
