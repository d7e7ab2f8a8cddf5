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

// statusAfterDrain is the CIB status section (trimmed to what handover reads, values as
// Pacemaker 2.1.5 wrote them in the lab's pe-input-20 during TestDrainMovesOnce) right after
// lab-1 was drained: the VIP stopped there and started on lab-2 within one second; lab-3 only
// probed it.
const statusAfterDrain = `<status>
  <node_state id="3" uname="lab-3" in_ccm="true" crmd="online" join="member" expected="member">
    <lrm id="3"><lrm_resources>
      <lrm_resource id="vip-lab" type="vip" class="ocf" provider="vipctl">
        <lrm_rsc_op id="vip-lab_last_0" operation_key="vip-lab_monitor_0" operation="monitor" rc-code="7" op-status="0" interval="0" last-rc-change="1796656013"/>
      </lrm_resource>
    </lrm_resources></lrm>
  </node_state>
  <node_state id="2" uname="lab-2" in_ccm="true" crmd="online" join="member" expected="member">
    <lrm id="2"><lrm_resources>
      <lrm_resource id="vip-lab" type="vip" class="ocf" provider="vipctl">
        <lrm_rsc_op id="vip-lab_last_0" operation_key="vip-lab_start_0" operation="start" rc-code="0" op-status="0" interval="0" last-rc-change="1796656070"/>
      </lrm_resource>
    </lrm_resources></lrm>
  </node_state>
  <node_state id="1" uname="lab-1" in_ccm="true" crmd="online" join="member" expected="member">
    <lrm id="1"><lrm_resources>
      <lrm_resource id="vip-lab" type="vip" class="ocf" provider="vipctl">
        <lrm_rsc_op id="vip-lab_last_0" operation_key="vip-lab_stop_0" operation="stop" rc-code="0" op-status="0" interval="0" last-rc-change="1796656070"/>
      </lrm_resource>
      <lrm_resource id="other" type="Dummy" class="ocf" provider="pacemaker">
        <lrm_rsc_op id="other_last_0" operation="stop" rc-code="0" op-status="0" last-rc-change="1796656071"/>
      </lrm_resource>
    </lrm_resources></lrm>
  </node_state>
</status>`

// TestHandover: the node the VIP was stopped on just before it started here, placed before
// the start even when Pacemaker's whole second equals or follows it; nothing for a stop too
// old or after the start, for this node's own stop, or for another resource.
func TestHandover(t *testing.T) {
	stop := time.Unix(1796656070, 0).UTC()
	for _, c := range []struct {
		name     string
		rsc      string
		node     string
		started  time.Time
		want     Sighting
		wantSeen bool
	}{
		{"the drain's start", "vip-lab", "lab-2", stop.Add(230 * time.Millisecond), Sighting{Resource: "vip-lab", Node: "lab-1", At: stop, Stopped: true}, true},
		{"in the same whole second", "vip-lab", "lab-2", stop, Sighting{Resource: "vip-lab", Node: "lab-1", At: stop.Add(-time.Millisecond), Stopped: true}, true},
		{"a later start, within the window", "vip-lab", "lab-3", stop.Add(HandoverWindow), Sighting{Resource: "vip-lab", Node: "lab-1", At: stop, Stopped: true}, true},
		{"a stop too long before", "vip-lab", "lab-3", stop.Add(HandoverWindow + time.Second), Sighting{}, false},
		{"a stop after the start", "vip-lab", "lab-2", stop.Add(-time.Second), Sighting{}, false},
		{"its own stop", "vip-lab", "lab-1", stop.Add(time.Second), Sighting{}, false},
		{"another resource", "vip-other", "lab-2", stop.Add(time.Second), Sighting{}, false},
	} {
		got, ok := handover([]byte(statusAfterDrain), c.rsc, c.node, c.started)
		if ok != c.wantSeen || !cmp.Equal(c.want, got) {
			t.Errorf("%s: %+v, %v; want %+v, %v", c.name, got, ok, c.want, c.wantSeen)
		}
	}
	if _, ok := handover([]byte("not xml"), "vip-lab", "lab-2", stop); ok {
		t.Error("a handover from garbage")
	}
}
