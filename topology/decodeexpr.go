package topology

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/gocty"
)

// decodeExpression evaluates expr (no variables, no functions) into *dst, converting the
// value to dst's Go type, with the diagnostics gohcl.DecodeExpression gives. topology does
// not import gohcl: gohcl imports hclwrite, which links go-cmp into vipctl, and go-cmp's
// package init costs every run of the binary — every OCF agent monitor — about 0.5 ms.
func decodeExpression[T any](expr hcl.Expression, dst *T) hcl.Diagnostics {
	val, diags := expr.Value(nil)
	ty, err := gocty.ImpliedType(dst)
	if err != nil {
		panic(fmt.Sprintf("topology: no HCL type for %T: %v", dst, err))
	}
	if val, err = convert.Convert(val, ty); err == nil {
		err = gocty.FromCtyValue(val, dst)
	}
	if err != nil {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Unsuitable value type",
			Detail:   fmt.Sprintf("Unsuitable value: %s", err.Error()),
			Subject:  expr.StartRange().Ptr(),
			Context:  expr.Range().Ptr(),
		})
	}
	return diags
}
