package nomad

import (
	"fmt"
	"os"

	"github.com/hashicorp/nomad/api"
)

// JobHCL writes any job built from the api types it knows, keeping Nomad's runtime
// interpolations and escaping everything else.
func ExampleJobHCL() {
	job := &api.Job{
		ID:          new("hello"),
		Type:        new(api.JobTypeService),
		Datacenters: []string{"dc1"},
		TaskGroups: []*api.TaskGroup{{
			Name: new("web"),
			Tasks: []*api.Task{{
				Name:   "echo",
				Driver: "docker",
				Config: map[string]any{"image": "hashicorp/http-echo", "args": []string{"-text", "${NOMAD_ALLOC_INDEX} costs $5 ${not-nomad}"}},
			}},
		}},
	}
	b, err := JobHCL(job)
	if err != nil {
		fmt.Println(err)
		return
	}
	os.Stdout.Write(b)
	// Output:
	// job "hello" {
	//   type        = "service"
	//   datacenters = ["dc1"]
	//
	//   group "web" {
	//     task "echo" {
	//       driver = "docker"
	//       config {
	//         args  = ["-text", "${NOMAD_ALLOC_INDEX} costs $5 $${not-nomad}"]
	//         image = "hashicorp/http-echo"
	//       }
	//     }
	//   }
	// }
}
