package cib

import (
	"fmt"
	"os"
)

// PlanFor shows, without a cluster, what apply would do to a captured live CIB: here a cluster
// where someone set no-quorum-policy by hand and pcs made its own rsc_defaults set.
func ExamplePlanFor() {
	live, err := os.ReadFile("testdata/live/hand-edited.xml")
	if err != nil {
		fmt.Println(err)
		return
	}
	topo := liveTopology()
	desired, err := Render(topo)
	if err != nil {
		fmt.Println(err)
		return
	}
	plan, err := PlanFor(live, topo, desired)
	if err != nil {
		fmt.Println(err)
		return
	}
	var props []Change
	for _, c := range plan.Changes {
		if c.Element == "nvpair" {
			props = append(props, c)
		}
	}
	if err := WriteChanges(os.Stdout, props); err != nil {
		fmt.Println(err)
	}
	fmt.Println(len(plan.Changes), "changes to CIB", plan.Version)
	// Output:
	// ~ crm_config cib-bootstrap-options: no-quorum-policy: ignore → stop
	// + crm_config cib-bootstrap-options: stonith-enabled: true
	// + crm_config cib-bootstrap-options: start-failure-is-fatal: false
	// ~ rsc_defaults build-resource-defaults: resource-stickiness: 1 → 100
	// 10 changes to CIB 0.10.0
}
