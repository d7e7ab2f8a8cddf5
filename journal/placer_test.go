package journal

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// statusAfterLoss is the CIB status section (trimmed to what lostHolders reads, values as
// Pacemaker 2.1.5 wrote them in the lab) seconds after lab-1, the holder, was powered off.
const statusAfterLoss = `<status>
  <node_state id="1" uname="lab-1" in_ccm="false" crmd="offline" join="down" expected="member">
    <lrm id="1"><lrm_resources>
      <lrm_resource id="vip-lab" type="vip" class="ocf" provider="vipctl">
        <lrm_rsc_op id="vip-lab_last_0" operation_key="vip-lab_start_0" operation="start" rc-code="0" op-status="0" last-rc-change="1796616308"/>
        <lrm_rsc_op id="vip-lab_monitor_10000" operation_key="vip-lab_monitor_10000" operation="monitor" rc-code="0" op-status="0" last-rc-change="1796616308"/>
      </lrm_resource>
      <lrm_resource id="other" type="Dummy" class="ocf" provider="pacemaker">
        <lrm_rsc_op id="other_last_0" operation="start" rc-code="0" op-status="0" last-rc-change="1796616308"/>
      </lrm_resource>
    </lrm_resources></lrm>
  </node_state>
  <node_state id="2" uname="lab-2" in_ccm="true" crmd="online" join="member" expected="member">
    <lrm id="2"><lrm_resources>
      <lrm_resource id="vip-lab" type="vip" class="ocf" provider="vipctl">
        <lrm_rsc_op id="vip-lab_last_0" operation="start" rc-code="0" op-status="0" last-rc-change="1796616313"/>
      </lrm_resource>
    </lrm_resources></lrm>
  </node_state>
  <node_state id="3" uname="lab-3" in_ccm="false" crmd="offline" join="down" expected="member">
    <lrm id="3"><lrm_resources>
      <lrm_resource id="vip-lab" type="vip" class="ocf" provider="vipctl">
        <lrm_rsc_op id="vip-lab_last_0" operation="monitor" rc-code="7" op-status="0" last-rc-change="1796616300"/>
      </lrm_resource>
    </lrm_resources></lrm>
  </node_state>
</status>`

// TestLostHolders: only a node that left, and only where the resource last ran successfully.
func TestLostHolders(t *testing.T) {
	got := lostHolders([]byte(statusAfterLoss), func(r string) bool { return r == "vip-lab" })
	want := []Sighting{{Resource: "vip-lab", Node: "lab-1", At: time.Unix(1796616308, 0).UTC()}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if got := lostHolders([]byte("not xml"), nil); len(got) != 0 {
		t.Errorf("from garbage: %v", got)
	}
}
